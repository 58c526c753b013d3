-- One row per delivered marketing send to a user whose effective status on
-- the send's channel was opted_out at sent_at. Transactional, utility and OTP
-- messages are exempt. Definitions: docs/CONTRACT.md §5.12.
with

sends as (

    select * from {{ ref('stg_messaging__sends') }}
    where delivery_status = 'delivered' and message_category = 'marketing'

),

history as (

    select * from {{ ref('fct_consent_history') }}

),

changes as (

    select * from {{ ref('stg_messaging__consent_changes') }}

),

violations as (

    select
        sends.send_id,
        sends.user_id,
        sends.channel,
        sends.campaign_id,
        sends.sent_at,
        -- The violated opt-out is the change that began the opted-out run,
        -- whatever it was (an import, a change on `all`), not a later repeat.
        history.status_since_change_id as optout_id,
        history.status_since as opted_out_at,
        run_start.channel as optout_channel,
        run_start.source as optout_source,
        history.change_id as deciding_change_id

    from sends
    inner join history
        on
            sends.user_id = history.user_id
            and sends.channel = history.channel
            and sends.sent_at >= history.valid_from
            and (history.valid_to is null or sends.sent_at < history.valid_to)
    inner join changes as run_start
        on history.status_since_change_id = run_start.change_id
    where history.status = 'opted_out'

),

aged as (

    select
        *,
        {{ seconds_between('opted_out_at', 'sent_at') }}
            as delay_seconds,
        {{ business_days_between('cast(opted_out_at as date)', 'cast(sent_at as date)') }}
            as business_days_after_optout

    from violations

),

final as (

    select
        send_id,
        user_id,
        channel,
        campaign_id,
        sent_at,
        optout_id,
        opted_out_at,
        optout_channel,
        optout_source,
        deciding_change_id,
        delay_seconds,
        business_days_after_optout,
        business_days_after_optout >= {{ var('optout_grace_business_days') }} as is_beyond_grace

    from aged

)

select * from final
