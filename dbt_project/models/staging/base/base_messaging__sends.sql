-- Landing rows of `sends`: raw text, typed values and invalid_reason. The
-- post-hook saves the CSV rows DuckDB could not parse for the quarantine.
{{ config(post_hook="{{ persist_landing_rejects('sends') }}") }}

{{ landing_base('sends') }}
