-- One row per campaign (in campaigns, or named by a delivered send): its
-- deliveries, recipients and the opt-outs attributed to it
-- (fct_optout_attribution), per 1,000 deliveries, against the same rate over
-- every campaign of its channel.
with

campaigns as (

    select * from {{ ref('stg_messaging__campaigns') }}

),

attribution as (

    select * from {{ ref('fct_optout_attribution') }}

),

delivered as (

    select * from {{ ref('stg_messaging__sends') }}
    where delivery_status = 'delivered' and campaign_id is not null

),

deliveries as (

    select
        campaign_id,
        min(channel) as send_channel,
        min(message_category) as send_category,
        count(*) as deliveries,
        count(distinct user_id) as recipients,
        min(sent_at) as first_delivered_at,
        max(sent_at) as last_delivered_at

    from delivered
    group by campaign_id

),

attributed as (

    select
        attributed_campaign_id as campaign_id,
        count(*) as attributed_optouts

    from attribution
    where is_attributed
    group by attributed_campaign_id

),

campaign_ids as (

    select campaign_id from campaigns
    union
    select campaign_id from deliveries

),

joined as (

    select
        campaign_ids.campaign_id,
        campaigns.campaign_name,
        coalesce(campaigns.channel, deliveries.send_channel) as channel,
        coalesce(campaigns.message_category, deliveries.send_category) as message_category,
        coalesce(deliveries.deliveries, 0) as deliveries,
        coalesce(deliveries.recipients, 0) as recipients,
        coalesce(attributed.attributed_optouts, 0) as attributed_optouts,
        deliveries.first_delivered_at,
        deliveries.last_delivered_at

    from campaign_ids
    left join campaigns
        on campaign_ids.campaign_id = campaigns.campaign_id
    left join deliveries
        on campaign_ids.campaign_id = deliveries.campaign_id
    left join attributed
        on campaign_ids.campaign_id = attributed.campaign_id

),

rated as (

    select
        *,
        -- Doubles throughout: both engines then give the same bits.
        cast(attributed_optouts as double) * 1000
        / nullif(deliveries, 0) as optouts_per_1k_deliveries,
        cast(sum(attributed_optouts) over (partition by channel) as double) * 1000
        / nullif(sum(deliveries) over (partition by channel), 0) as baseline_per_1k_deliveries

    from joined

),

final as (

    select
        campaign_id,
        campaign_name,
        channel,
        message_category,
        {{ attribution_window_case('channel') }} as attribution_window_hours,
        cast(deliveries as {{ dbt.type_bigint() }}) as deliveries,
        cast(recipients as {{ dbt.type_bigint() }}) as recipients,
        cast(attributed_optouts as {{ dbt.type_bigint() }}) as attributed_optouts,
        optouts_per_1k_deliveries,
        baseline_per_1k_deliveries,
        optouts_per_1k_deliveries / nullif(baseline_per_1k_deliveries, 0) as lift,
        first_delivered_at,
        last_delivered_at

    from rated

)

select * from final
