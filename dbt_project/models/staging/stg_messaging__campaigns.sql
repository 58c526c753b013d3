-- Clean `campaigns`: one row per campaign_id, exact duplicates removed.
-- Incremental: a build recomputes only the keys its new files carry, from all
-- their rows, and replaces them (delete+insert), as a full rebuild would.
{{
    config(
        materialized=keyed_incremental_materialization(),
        unique_key='campaign_id',
        incremental_strategy='delete+insert',
    )
}}

with

ranked as (

    {{ ranked_valid_rows('campaigns', keys_of_this_batch=is_incremental()) | indent(4) }}

),

final as (

    select
        campaign_id,
        campaign_name,
        channel,
        message_category,
        started_at,
        source_file

    from ranked
    where _key_rank = 1

)

select * from final
