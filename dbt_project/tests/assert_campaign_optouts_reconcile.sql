-- Every opt-out is either credited to exactly one campaign of
-- agg_campaign_optouts or unattributed in fct_optout_attribution.
{{ config(meta={'dagster': {'ref': {'name': 'agg_campaign_optouts'}}}) }}
with

optouts as (

    select count(*) as n from {{ ref('fct_optouts') }}

),

attributed as (

    select coalesce(sum(attributed_optouts), 0) as n from {{ ref('agg_campaign_optouts') }}

),

unattributed as (

    select count(*) as n from {{ ref('fct_optout_attribution') }}
    where not is_attributed

)

select
    optouts.n as optouts,
    attributed.n as attributed,
    unattributed.n as unattributed

from optouts
cross join attributed
cross join unattributed
where optouts.n != attributed.n + unattributed.n
