-- One row per campaign with a delivered marketing send to an opted-out user:
-- how many such sends fell within and beyond the grace period.
with

violations as (

    select * from {{ ref('fct_sends_after_optout') }}

),

campaigns as (

    select * from {{ ref('stg_messaging__campaigns') }}

),

final as (

    select
        violations.campaign_id,
        campaigns.campaign_name,
        count(*) as sends_after_optout,
        count(case when not violations.is_beyond_grace then 1 end) as sends_within_grace,
        count(case when violations.is_beyond_grace then 1 end) as sends_beyond_grace,
        count(distinct violations.user_id) as users_affected

    from violations
    left join campaigns
        on violations.campaign_id = campaigns.campaign_id
    group by violations.campaign_id, campaigns.campaign_name

)

select * from final
