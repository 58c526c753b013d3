-- One row per (UTC date, channel, sends_7d): the users at risk on the channel
-- at the date's 00:00 UTC with exactly sends_7d delivered sends on it in the
-- 7 x 24h before, and how many of them opted out that day in a way that
-- removed the channel. At risk: opted in (fct_consent_history), or without
-- any consent record on the channel yet but reached by it (from the day after
-- their first delivered send there).
--
-- Cheap at any scale: per (user, channel) only runs of days are joined (runs
-- of being at risk, runs of a constant sends_7d); each run adds +1 where it
-- starts and -1 where it ends, a running sum per (channel, sends_7d) gives
-- the users per day, and only those counts are spread over the calendar.
with

calendar as (

    select * from {{ ref('int_calendar') }}

),

history as (

    select * from {{ ref('fct_consent_history') }}

),

delivered_daily as (

    select * from {{ ref('int_delivered_sends_daily') }}

),

pressure_runs as (

    select * from {{ ref('int_sends_7d_runs') }}

),

optout_channels as (

    select * from {{ ref('int_optouts_by_channel') }}

),

bounds as (

    select
        min(date_day) as first_date,
        max(date_day) as last_date,
        {{ date_add_days('max(date_day)', 1) }} as end_date

    from calendar

),

-- Opted in at D 00:00 (valid_from < D 00:00 <= valid_to): D in
-- [date(valid_from) + 1, date(valid_to) + 1).
consent_runs as (

    select
        history.user_id,
        history.channel,
        {{ date_add_days('cast(history.valid_from as date)', 1) }} as from_date,
        coalesce(
            {{ date_add_days('cast(history.valid_to as date)', 1) }}, bounds.end_date
        ) as to_date

    from history
    cross join bounds
    where history.status = 'opted_in'

),

first_records as (

    select
        user_id,
        channel,
        min(valid_from) as first_changed_at

    from history
    group by user_id, channel

),

first_deliveries as (

    select
        user_id,
        channel,
        min(sent_date) as first_sent_date

    from delivered_daily
    group by user_id, channel

),

-- No consent record before D 00:00, a delivered send before it.
reached_runs as (

    select
        first_deliveries.user_id,
        first_deliveries.channel,
        {{ date_add_days('first_deliveries.first_sent_date', 1) }} as from_date,
        coalesce(
            {{ date_add_days('cast(first_records.first_changed_at as date)', 1) }},
            bounds.end_date
        ) as to_date

    from first_deliveries
    cross join bounds
    left join first_records
        on
            first_deliveries.user_id = first_records.user_id
            and first_deliveries.channel = first_records.channel

),

at_risk_runs as (

    select
        user_id,
        channel,
        from_date,
        least(to_date, end_date) as to_date
    from (
        select * from consent_runs
        union all
        select * from reached_runs
    ) as runs
    cross join bounds
    where from_date < to_date and from_date < end_date

),

-- At risk with sends_7d > 0: the overlap of the two kinds of runs.
pressure_segments as (

    select
        at_risk_runs.channel,
        pressure_runs.sends_7d,
        greatest(at_risk_runs.from_date, pressure_runs.from_date) as from_date,
        least(at_risk_runs.to_date, pressure_runs.to_date) as to_date

    from at_risk_runs
    inner join pressure_runs
        on
            at_risk_runs.user_id = pressure_runs.user_id
            and at_risk_runs.channel = pressure_runs.channel
            and pressure_runs.from_date < at_risk_runs.to_date
            and at_risk_runs.from_date < pressure_runs.to_date

),

-- sends_7d = -1 stands for every user at risk, whatever their sends.
steps as (

    select
        channel,
        sends_7d,
        from_date as date_day,
        1 as step
    from pressure_segments
    union all
    select
        channel,
        sends_7d,
        to_date as date_day,
        -1 as step
    from pressure_segments
    union all
    select
        channel,
        -1 as sends_7d,
        from_date as date_day,
        1 as step
    from at_risk_runs
    union all
    select
        channel,
        -1 as sends_7d,
        to_date as date_day,
        -1 as step
    from at_risk_runs

),

net_steps as (

    select
        channel,
        sends_7d,
        date_day,
        sum(step) as step

    from steps
    group by channel, sends_7d, date_day

),

user_counts as (

    select
        channel,
        sends_7d,
        date_day as from_date,
        lead(date_day) over (
            partition by channel, sends_7d order by date_day
        ) as to_date,
        sum(step) over (
            partition by channel, sends_7d
            order by date_day
            rows between unbounded preceding and current row
        ) as users

    from net_steps

),

users_by_day as (

    select
        calendar.date_day as date,
        user_counts.channel,
        user_counts.sends_7d,
        user_counts.users

    from user_counts
    inner join calendar
        on
            calendar.date_day >= user_counts.from_date
            and calendar.date_day < user_counts.to_date
    where user_counts.users > 0

),

with_sends as (

    select
        date,
        channel,
        sum(users) as users

    from users_by_day
    where sends_7d > 0
    group by date, channel

),

user_days as (

    select
        date,
        channel,
        sends_7d,
        users as user_days
    from users_by_day
    where sends_7d > 0

    union all

    select
        totals.date,
        totals.channel,
        0 as sends_7d,
        totals.users - coalesce(with_sends.users, 0) as user_days

    from users_by_day as totals
    left join with_sends
        on totals.date = with_sends.date and totals.channel = with_sends.channel
    where totals.sends_7d = -1 and totals.users > coalesce(with_sends.users, 0)

),

optout_user_days as (

    select distinct
        user_id,
        channel,
        opted_out_date as date

    from optout_channels

),

optouts_at_risk as (

    select
        optout_user_days.date,
        optout_user_days.channel,
        coalesce(pressure_runs.sends_7d, 0) as sends_7d,
        count(*) as optouts

    from optout_user_days
    inner join at_risk_runs
        on
            optout_user_days.user_id = at_risk_runs.user_id
            and optout_user_days.channel = at_risk_runs.channel
            and optout_user_days.date >= at_risk_runs.from_date
            and optout_user_days.date < at_risk_runs.to_date
    left join pressure_runs
        on
            optout_user_days.user_id = pressure_runs.user_id
            and optout_user_days.channel = pressure_runs.channel
            and optout_user_days.date >= pressure_runs.from_date
            and optout_user_days.date < pressure_runs.to_date
    group by optout_user_days.date, optout_user_days.channel, coalesce(pressure_runs.sends_7d, 0)

),

final as (

    select
        user_days.date,
        user_days.channel,
        cast(user_days.sends_7d as {{ dbt.type_bigint() }}) as sends_7d,
        cast(user_days.user_days as {{ dbt.type_bigint() }}) as user_days,
        cast(coalesce(optouts_at_risk.optouts, 0) as {{ dbt.type_bigint() }}) as optouts

    from user_days
    left join optouts_at_risk
        on
            user_days.date = optouts_at_risk.date
            and user_days.channel = optouts_at_risk.channel
            and user_days.sends_7d = optouts_at_risk.sends_7d

)

select * from final
