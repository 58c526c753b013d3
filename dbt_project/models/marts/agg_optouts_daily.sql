-- One row per (UTC date, channel) with any opt-out or opt-in. The rate's
-- denominator is the number of users whose effective status on the channel
-- (fct_consent_history: `all` applies to every channel, imports are state)
-- was opted_in just before 00:00 UTC; for channel `all`, users opted in on
-- any channel. Definitions: docs/CONTRACT.md §5.6.
with

timeline as (

    select * from {{ ref('int_consent_timeline') }}

),

history as (

    select * from {{ ref('fct_consent_history') }}

),

daily as (

    select
        cast(changed_at as date) as date,
        channel,
        count(case when is_optout then 1 end) as optouts,
        count(case when is_optin then 1 end) as optins

    from timeline
    where is_optout or is_optin
    group by cast(changed_at as date), channel

),

-- An opted_in stretch [valid_from, valid_to) covers the 00:00 of the dates
-- date(valid_from) + 1 … date(valid_to) (a change at exactly 00:00 is of that
-- day). The denominators are running sums of +1 / -1 per day, not a join of
-- every day with every user.
covering as (

    select
        user_id,
        channel,
        {{ date_add_days('cast(valid_from as date)', 1) }} as first_day,
        cast(valid_to as date) as last_day

    from history
    where status = 'opted_in'

),

covering_days as (

    select * from covering
    where last_day is null or last_day >= first_day

),

-- `all`: the days a user is opted in on any channel, as islands that do not
-- overlap, so a user counts once a day. Both windows need one total order
-- (channel breaks ties: a user's stretches on one channel never share a
-- first day), or an engine may order tied stretches differently in each and
-- split an island.
by_start as (

    select
        user_id,
        channel,
        first_day,
        last_day,
        max(coalesce(last_day, {{ far_future_date() }})) over (
            partition by user_id
            order by first_day, last_day, channel
            rows between unbounded preceding and 1 preceding
        ) as previous_end

    from covering_days

),

islands as (

    select
        user_id,
        first_day,
        last_day,
        sum(case when previous_end is null or first_day > previous_end then 1 else 0 end) over (
            partition by user_id
            order by first_day, last_day, channel
            rows between unbounded preceding and current row
        ) as island

    from by_start

),

merged as (

    select
        user_id,
        min(first_day) as first_day,
        max(coalesce(last_day, {{ far_future_date() }})) as last_day

    from islands
    group by user_id, island

),

deltas as (

    select
        channel,
        first_day as day,
        1 as delta
    from covering_days
    union all
    select
        channel,
        {{ date_add_days('last_day', 1) }} as day,
        -1 as delta
    from covering_days
    where last_day is not null
    union all
    select
        'all' as channel,
        first_day as day,
        1 as delta
    from merged
    union all
    select
        'all' as channel,
        {{ date_add_days('last_day', 1) }} as day,
        -1 as delta
    from merged
    where last_day < {{ far_future_date() }}

),

per_day as (

    select
        channel,
        day,
        sum(delta) as delta
    from deltas
    group by channel, day

),

opted_in_at_start as (

    select
        daily.date,
        daily.channel,
        cast(coalesce(sum(per_day.delta), 0) as {{ dbt.type_bigint() }}) as opted_in_users_at_start

    from daily
    left join per_day
        on daily.channel = per_day.channel and per_day.day <= daily.date
    group by daily.date, daily.channel

),

final as (

    select
        daily.date,
        daily.channel,
        daily.optouts,
        daily.optins,
        opted_in_at_start.opted_in_users_at_start,
        cast(daily.optouts as double)
        / nullif(opted_in_at_start.opted_in_users_at_start, 0) as optout_rate

    from daily
    inner join opted_in_at_start
        on
            daily.date = opted_in_at_start.date
            and daily.channel = opted_in_at_start.channel

)

select * from final
