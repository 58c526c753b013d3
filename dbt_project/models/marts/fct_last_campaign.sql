-- One row per opt-out: the last campaign the user interacted with before it.
with

optouts as (

    select * from {{ ref('int_optouts') }}

),

campaign_interactions as (

    select
        interaction_id,
        user_id,
        campaign_id,
        interaction_type,
        occurred_at

    from {{ ref('stg_messaging__interactions') }}
    where campaign_id is not null

),

campaigns as (

    select * from {{ ref('stg_messaging__campaigns') }}

),

last_interactions as (

    {{ last_interaction_before('optouts', 'campaign_interactions') | indent(4) }}

),

final as (

    select
        optouts.optout_id,
        optouts.user_id,
        optouts.channel,
        optouts.opted_out_at,
        last_interactions.campaign_id as last_campaign_id,
        campaigns.campaign_name as last_campaign_name,
        last_interactions.interaction_type as last_interaction_type,
        last_interactions.occurred_at as last_interaction_at

    from optouts
    left join last_interactions
        on optouts.optout_id = last_interactions.optout_id
    left join campaigns
        on last_interactions.campaign_id = campaigns.campaign_id

)

select * from final
