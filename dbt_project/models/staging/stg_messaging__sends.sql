-- Clean `sends`: one row per send_id, duplicates removed; conflicting
-- rows are in the quarantine (docs/CONTRACT.md §3). Nothing is copied: on DuckDB
-- this is a view of the settled base rows.
{{ config(materialized=staging_materialization()) }}

with

base as (

    {{ settled_base('sends') | indent(4) }}

),

final as (

    select
        send_id,
        user_id,
        campaign_id,
        channel,
        message_category,
        sent_at,
        delivery_status,
        source_file

    from base
    where _status = 'clean'

)

select * from final
