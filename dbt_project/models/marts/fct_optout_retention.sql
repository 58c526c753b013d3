-- One row per (opt-out, retention window): the user's events in the W days
-- before and after the opt-out, and whether they stayed active.
with

optouts as (

    select * from {{ ref('int_optouts') }}

),

windows as (

    select * from {{ ref('int_retention_windows') }}

),

as_of as (

    select * from {{ ref('int_as_of') }}

),

events as (

    select
        user_id,
        occurred_at

    from {{ ref('stg_messaging__events') }}

),

optout_windows as (

    select
        optouts.optout_id,
        optouts.user_id,
        optouts.channel,
        optouts.opted_out_at,
        windows.window_days,
        {{ add_days('-windows.window_days', 'optouts.opted_out_at') }} as window_start,
        {{ add_days('windows.window_days', 'optouts.opted_out_at') }} as window_end

    from optouts
    cross join windows

),

counted as (

    select
        optout_windows.optout_id,
        optout_windows.window_days,
        count(case when events.occurred_at < optout_windows.opted_out_at then 1 end) as events_before,
        count(case when events.occurred_at > optout_windows.opted_out_at then 1 end) as events_after

    from optout_windows
    left join events
        on
            optout_windows.user_id = events.user_id
            and events.occurred_at >= optout_windows.window_start
            and events.occurred_at <= optout_windows.window_end
    group by optout_windows.optout_id, optout_windows.window_days

),

final as (

    select
        optout_windows.optout_id,
        optout_windows.user_id,
        optout_windows.channel,
        optout_windows.opted_out_at,
        optout_windows.window_days,
        case
            when counted.events_after > 0 then 'retain'
            when optout_windows.window_end <= as_of.as_of then 'churn'
            else 'pending'
        end as retention_status,
        counted.events_before,
        counted.events_after

    from optout_windows
    inner join counted
        on
            optout_windows.optout_id = counted.optout_id
            and optout_windows.window_days = counted.window_days
    cross join as_of

)

select * from final
