-- The daily aggregate's opt-ins are exactly the opt-in status changes of
-- fct_status_changes (imports are not status changes there), per UTC date and channel.
{{ config(meta={'dagster': {'ref': {'name': 'agg_optouts_daily'}}}) }}
with

from_changes as (

    select
        changed_date as date,
        channel,
        count(*) as optins
    from {{ ref('fct_status_changes') }}
    where status = 'opted_in'
    group by changed_date, channel

),

from_agg as (

    select
        date,
        channel,
        optins
    from {{ ref('agg_optouts_daily') }}
    where optins > 0

)

select
    date,
    channel,
    from_changes.optins as status_change_optins,
    from_agg.optins as daily_optins
from from_changes
full outer join from_agg using (date, channel)
where
    from_changes.optins is null
    or from_agg.optins is null
    or from_changes.optins != from_agg.optins
