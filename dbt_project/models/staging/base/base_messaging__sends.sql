-- Landing rows of `sends`: raw text, typed values and invalid_reason.
-- Incremental by file: each run appends the files not loaded yet (the
-- landing view holds only those); see macros/landing.sql.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        post_hook="{{ persist_landing_rejects('sends') }}",
    )
}}

{{ landing_base('sends') }}
