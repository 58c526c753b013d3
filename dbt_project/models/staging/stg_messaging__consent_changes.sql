-- Clean `consent_changes`: one row per change_id, duplicates removed; conflicting
-- rows are in the quarantine (docs/CONTRACT.md §3). Nothing is copied: on DuckDB
-- this is a view of the settled base rows.
{{ config(materialized=staging_materialization()) }}

with

base as (

    {{ settled_base('consent_changes') | indent(4) }}

),

final as (

    select
        change_id,
        user_id,
        channel,
        status,
        changed_at,
        source,
        keyword,
        reason,
        source_file

    from base
    where _status = 'clean'

)

select * from final
