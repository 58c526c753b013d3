-- The `all` rows' denominator, recounted without the model's islands: the
-- distinct users with an opted_in stretch on any channel that covers the
-- date's 00:00 UTC (a stretch covers date(valid_from) + 1 … date(valid_to)).
-- A split island counts a user twice; an engine that orders tied stretches
-- differently in the model's two windows would split one.
{{ config(meta={'dagster': {'ref': {'name': 'agg_optouts_daily'}}}) }}
with

all_days as (

    select
        date,
        opted_in_users_at_start
    from {{ ref('agg_optouts_daily') }}
    where channel = 'all'

),

opted_in as (

    select
        user_id,
        cast(valid_from as date) as from_date,
        coalesce(cast(valid_to as date), {{ far_future_date() }}) as to_date
    from {{ ref('fct_consent_history') }}
    where status = 'opted_in'

),

recounted as (

    select
        all_days.date,
        count(distinct opted_in.user_id) as users
    from all_days
    inner join opted_in
        on
            all_days.date > opted_in.from_date
            and all_days.date <= opted_in.to_date
    group by all_days.date

),

final as (

    select
        all_days.date,
        all_days.opted_in_users_at_start,
        coalesce(recounted.users, 0) as recounted_users
    from all_days
    left join recounted on all_days.date = recounted.date
    where all_days.opted_in_users_at_start != coalesce(recounted.users, 0)

)

select * from final
