-- Clean `campaigns`: one row per campaign_id, exact duplicates removed.
with

ranked as (

    {{ ranked_valid_rows('campaigns') | indent(4) }}

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
