-- The daily aggregate counts exactly the opt-outs of fct_optouts.
{{ config(meta={'dagster': {'ref': {'name': 'agg_optouts_daily'}}}) }}
with

from_fct as (

    select
        opted_out_date as date,
        channel,
        count(*) as optouts
    from {{ ref('fct_optouts') }}
    group by opted_out_date, channel

),

from_agg as (

    select
        date,
        channel,
        optouts
    from {{ ref('agg_optouts_daily') }}
    where optouts > 0

)

select * from from_fct
full outer join from_agg using (date, channel)
where from_fct.optouts is null or from_agg.optouts is null or from_fct.optouts != from_agg.optouts
