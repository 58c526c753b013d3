-- Clean `users`: the latest version of each user (greatest updated_at); conflicting
-- rows are in the quarantine (docs/CONTRACT.md §3). Nothing is copied: on DuckDB
-- this is a view of the settled base rows.
{{ config(materialized=staging_materialization()) }}

with

base as (

    {{ settled_base('users') | indent(4) }}

),

final as (

    select
        user_id,
        external_id,
        email,
        phone,
        first_name,
        last_name,
        team_code,
        created_at,
        updated_at,
        source_file

    from base
    where _status = 'clean'

)

select * from final
