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

opted_in_at_start as (

    select
        daily.date,
        daily.channel,
        count(distinct history.user_id) as opted_in_users_at_start

    from daily
    left join history
        on
            (daily.channel = history.channel or daily.channel = 'all')
            and history.status = 'opted_in'
            and history.valid_from < cast(daily.date as {{ dbt.type_timestamp() }})
            and (
                history.valid_to is null
                or history.valid_to >= cast(daily.date as {{ dbt.type_timestamp() }})
            )
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
