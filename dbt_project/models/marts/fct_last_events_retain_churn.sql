-- One row per (opt-out, retention window, event name the user fired in the W
-- days before the opt-out), with how many times.
with

retention as (

    select * from {{ ref('fct_optout_retention') }}

),

events as (

    select
        user_id,
        event_name,
        occurred_at

    from {{ ref('stg_messaging__events') }}

),

final as (

    select
        retention.optout_id,
        retention.user_id,
        retention.channel,
        retention.opted_out_at,
        retention.window_days,
        retention.retention_status,
        events.event_name,
        count(*) as event_count

    from retention
    inner join events
        on
            retention.user_id = events.user_id
            and events.occurred_at >= {{ add_days('-retention.window_days', 'retention.opted_out_at') }}
            and events.occurred_at < retention.opted_out_at
    group by
        retention.optout_id,
        retention.user_id,
        retention.channel,
        retention.opted_out_at,
        retention.window_days,
        retention.retention_status,
        events.event_name

)

select * from final
