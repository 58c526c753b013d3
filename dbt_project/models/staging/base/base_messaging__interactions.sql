-- Every landing row of `interactions`, typed and validated in one pass, with its status
-- (docs/CONTRACT.md §3). Incremental by file: each build appends the files no
-- build has loaded (the landing view holds only those); the post-hook settles
-- the load in the same transaction (macros/staging/settle_landing_load.sql).
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        post_hook="{{ settle_landing_load('interactions') }}",
    )
}}

{{ landing_typed('interactions') }}
