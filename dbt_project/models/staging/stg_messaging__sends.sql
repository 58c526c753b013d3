-- Clean `sends`: one row per send_id, exact duplicates removed.
-- Incremental: a build recomputes only the keys its new files carry, from all
-- their rows, and replaces them (delete+insert), as a full rebuild would.
{{
    config(
        materialized=keyed_incremental_materialization(),
        unique_key='send_id',
        incremental_strategy='delete+insert',
    )
}}

with

ranked as (

    {{ ranked_valid_rows('sends', keys_of_this_batch=is_incremental()) | indent(4) }}

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

    from ranked
    where _key_rank = 1

)

select * from final
