-- Clean `events`: one row per event_id, duplicates removed; conflicting
-- rows are in the quarantine (docs/CONTRACT.md §3). Nothing is copied: on DuckDB
-- this is a view of the settled base rows.
{{ config(materialized=staging_materialization()) }}

with

base as (

    {{ settled_base('events') | indent(4) }}

),

final as (

    select
        event_id,
        user_id,
        event_name,
        occurred_at,
        source_file

    from base
    where _status = 'clean'

)

select * from final
