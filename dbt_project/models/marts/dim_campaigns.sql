-- One row per campaign.
with

campaigns as (

    select * from {{ ref('stg_messaging__campaigns') }}

),

final as (

    select
        campaign_id,
        campaign_name,
        channel,
        message_category,
        started_at

    from campaigns

)

select * from final
