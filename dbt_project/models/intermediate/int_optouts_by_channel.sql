-- One row per (opt-out, messaging channel it removed): an opt-out on a
-- channel removes that channel, one on `all` removes push, email, sms and
-- whatsapp.
with

optouts as (

    select * from {{ ref('int_optouts') }}

),

changes_by_channel as (

    select * from {{ ref('int_consent_changes_by_channel') }}

),

final as (

    select
        optouts.optout_id,
        optouts.user_id,
        changes_by_channel.channel,
        optouts.channel as optout_channel,
        optouts.opted_out_at,
        optouts.opted_out_date

    from optouts
    inner join changes_by_channel
        on optouts.optout_id = changes_by_channel.change_id

)

select * from final
