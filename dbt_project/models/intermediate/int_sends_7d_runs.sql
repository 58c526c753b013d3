-- One row per run of consecutive UTC days over which a user's delivered sends
-- on a channel in the 7 days before the day's 00:00 UTC stay the same (> 0).
-- The window [D 00:00 - 7 x 24h, D 00:00) is exactly the dates D-7 .. D-1, so
-- a day's deliveries enter the count on the next day and leave it 7 days
-- later: a running sum of those changes, not a join of days with sends.
with

daily as (

    select * from {{ ref('int_delivered_sends_daily') }}

),

changes as (

    select
        user_id,
        channel,
        {{ date_add_days('sent_date', 1) }} as date_day,
        deliveries as delta
    from daily

    union all

    select
        user_id,
        channel,
        {{ date_add_days('sent_date', 8) }} as date_day,
        -deliveries as delta
    from daily

),

net_changes as (

    select
        user_id,
        channel,
        date_day,
        sum(delta) as delta

    from changes
    group by user_id, channel, date_day
    having sum(delta) != 0

),

runs as (

    select
        user_id,
        channel,
        date_day as from_date,
        lead(date_day) over (
            partition by user_id, channel order by date_day
        ) as to_date,
        sum(delta) over (
            partition by user_id, channel
            order by date_day
            rows between unbounded preceding and current row
        ) as sends_7d

    from net_changes

),

final as (

    select
        user_id,
        channel,
        from_date,
        to_date,
        cast(sends_7d as {{ dbt.type_bigint() }}) as sends_7d

    from runs
    -- Every delivery leaves the window again, so the last run has 0 and a run > 0 ends.
    where sends_7d > 0

)

select * from final
