-- Clean `campaigns`: one row per campaign_id, duplicates removed; conflicting
-- rows are in the quarantine (docs/CONTRACT.md §3). Nothing is copied: on DuckDB
-- this is a view of the settled base rows.
{{ config(materialized=staging_materialization()) }}

with

base as (

    {{ settled_base('campaigns') | indent(4) }}

),

final as (

    select
        campaign_id,
        campaign_name,
        channel,
        message_category,
        started_at,
        source_file

    from base
    where _status = 'clean'

)

select * from final
