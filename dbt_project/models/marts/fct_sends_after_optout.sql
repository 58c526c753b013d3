-- One row per delivered marketing send to a user whose effective status on
-- the send's channel was opted_out at sent_at. Transactional, utility and OTP
-- messages are exempt.
with

sends as (

    select * from {{ ref('stg_messaging__sends') }}
    where delivery_status = 'delivered' and message_category = 'marketing'

),

history as (

    select * from {{ ref('fct_consent_history') }}

),

violations as (

    select
        sends.send_id,
        sends.user_id,
        sends.channel,
        sends.campaign_id,
        sends.sent_at,
        history.status_since_change_id as optout_id,
        history.status_since as opted_out_at,
        history.change_id as deciding_change_id

    from sends
    inner join history
        on
            sends.user_id = history.user_id
            and sends.channel = history.channel
            and sends.sent_at >= history.valid_from
            and (history.valid_to is null or sends.sent_at < history.valid_to)
    where history.status = 'opted_out'

),

aged as (

    select
        *,
        {{ seconds_between('opted_out_at', 'sent_at') }}
            as delay_seconds,
        {{ business_day_index('cast(sent_at as date)') }}
        - {{ business_day_index(add_days(1, 'cast(opted_out_at as date)')) }}
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
        deciding_change_id,
        delay_seconds,
        business_days_after_optout,
        business_days_after_optout >= {{ var('optout_grace_business_days') }} as is_beyond_grace

    from aged

)

select * from final
