-- Clean `interactions`: one row per interaction_id, duplicates removed; conflicting
-- rows are in the quarantine (docs/CONTRACT.md §3). Nothing is copied: on DuckDB
-- this is a view of the settled base rows.
{{ config(materialized=staging_materialization()) }}

with

base as (

    {{ settled_base('interactions') | indent(4) }}

),

final as (

    select
        interaction_id,
        user_id,
        campaign_id,
        send_id,
        channel,
        interaction_type,
        occurred_at,
        source_file

    from base
    where _status = 'clean'

)

select * from final
