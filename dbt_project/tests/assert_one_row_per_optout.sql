-- The per-opt-out marts hold exactly the opt-outs of fct_optouts (the opted_out
-- status changes): one row each in fct_push_before_optout_7d and fct_last_campaign,
-- one per window of var('retention_windows') in fct_optout_retention, and in
-- fct_last_events_retain_churn rows for exactly the (opt-out, window) pairs with
-- events before, one per event name, adding up to events_before. Every row agrees
-- with its opt-out on user, channel and opted_out_at. An emptied mart fails.
-- (meta.dagster.ref: the asset check hangs on fct_optouts.)
{{ config(meta={'dagster': {'ref': {'name': 'fct_optouts'}}}) }}
{%- set windows = var('retention_windows') %}
{%- if windows is string %}{% set windows = fromjson(windows) %}{% endif %}
{%- set one_row_marts = ['fct_push_before_optout_7d', 'fct_last_campaign'] %}
{%- set all_marts = one_row_marts + ['fct_optout_retention', 'fct_last_events_retain_churn'] %}
with

optouts as (

    select
        optout_id,
        user_id,
        channel,
        opted_out_at
    from {{ ref('fct_optouts') }}

),

optout_changes as (

    select change_id
    from {{ ref('fct_status_changes') }}
    where status = 'opted_out'

),

windows as (

    {% for w in windows -%}
        select cast({{ w | int }} as {{ dbt.type_int() }}) as window_days
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

retention as (

    select * from {{ ref('fct_optout_retention') }}

),

last_events as (

    select * from {{ ref('fct_last_events_retain_churn') }}

),

last_events_per_window as (

    select
        optout_id,
        window_days,
        count(*) as n_rows,
        count(distinct event_name) as n_event_names,
        sum(event_count) as event_count
    from last_events
    group by optout_id, window_days

),

problems as (

    select
        'fct_optouts' as mart,
        coalesce(optouts.optout_id, optout_changes.change_id) as optout_id,
        cast(null as {{ dbt.type_int() }}) as window_days,
        'not the opted_out status changes of fct_status_changes' as problem
    from optouts
    full outer join optout_changes on optouts.optout_id = optout_changes.change_id
    where optouts.optout_id is null or optout_changes.change_id is null

    {% for mart in one_row_marts %}
        union all

        select
            '{{ mart }}' as mart,
            optouts.optout_id,
            cast(null as {{ dbt.type_int() }}) as window_days,
            'not exactly one row' as problem
        from optouts
        left join {{ ref(mart) }} as m on optouts.optout_id = m.optout_id
        group by optouts.optout_id
        having count(m.optout_id) != 1
    {% endfor %}

    union all

    select
        'fct_optout_retention' as mart,
        optouts.optout_id,
        windows.window_days,
        'not exactly one row for the window' as problem
    from optouts
    cross join windows
    left join retention
        on
            optouts.optout_id = retention.optout_id
            and windows.window_days = retention.window_days
    group by optouts.optout_id, windows.window_days
    having count(retention.optout_id) != 1

    union all

    select
        'fct_optout_retention' as mart,
        retention.optout_id,
        retention.window_days,
        'window not in retention_windows' as problem
    from retention
    left join windows on retention.window_days = windows.window_days
    where windows.window_days is null

    union all

    select
        'fct_last_events_retain_churn' as mart,
        retention.optout_id,
        retention.window_days,
        'event counts do not add up to events_before' as problem
    from retention
    left join last_events_per_window
        on
            retention.optout_id = last_events_per_window.optout_id
            and retention.window_days = last_events_per_window.window_days
    where coalesce(last_events_per_window.event_count, 0) != retention.events_before

    union all

    select
        'fct_last_events_retain_churn' as mart,
        last_events_per_window.optout_id,
        last_events_per_window.window_days,
        'no fct_optout_retention row, or an event name twice' as problem
    from last_events_per_window
    left join retention
        on
            last_events_per_window.optout_id = retention.optout_id
            and last_events_per_window.window_days = retention.window_days
    where
        retention.optout_id is null
        or last_events_per_window.n_rows != last_events_per_window.n_event_names

    union all

    select
        'fct_last_events_retain_churn' as mart,
        last_events.optout_id,
        last_events.window_days,
        'retention_status differs from fct_optout_retention' as problem
    from last_events
    inner join retention
        on
            last_events.optout_id = retention.optout_id
            and last_events.window_days = retention.window_days
    where last_events.retention_status is distinct from retention.retention_status

    {% for mart in all_marts %}
        union all

        select
            '{{ mart }}' as mart,
            m.optout_id,
            cast(null as {{ dbt.type_int() }}) as window_days,
            'no such opt-out, or user, channel or opted_out_at differ' as problem
        from {{ ref(mart) }} as m
        left join optouts on m.optout_id = optouts.optout_id
        where
            optouts.optout_id is null
            or m.user_id is distinct from optouts.user_id
            or m.channel is distinct from optouts.channel
            or m.opted_out_at is distinct from optouts.opted_out_at
    {% endfor %}

)

select * from problems
