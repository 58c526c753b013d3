-- One row per opt-out: the delivered send it is attributed to, the latest
-- delivered send to the user on a channel the opt-out removed (any channel for
-- `all`) within that channel's attribution window before it, [t - W h, t);
-- ties on sent_at go to the greatest send_id. No such send: unattributed.
with

optouts as (

    select * from {{ ref('int_optouts') }}

),

optout_channels as (

    select * from {{ ref('int_optouts_by_channel') }}

),

delivered as (

    select
        send_id,
        user_id,
        campaign_id,
        channel,
        sent_at

    from {{ ref('stg_messaging__sends') }}
    where delivery_status = 'delivered'

),

windows as (

    {% for channel, hours in attribution_window_hours().items() -%}
        select
            '{{ channel }}' as channel,
            {{ hours }} as window_hours
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

candidates as (

    select
        optout_channels.optout_id,
        delivered.send_id,
        delivered.campaign_id,
        delivered.channel,
        delivered.sent_at,
        row_number() over (
            partition by optout_channels.optout_id
            order by delivered.sent_at desc, {{ id_order('delivered.send_id', descending=true) }}
        ) as send_rank

    from optout_channels
    inner join windows
        on optout_channels.channel = windows.channel
    inner join delivered
        on
            optout_channels.user_id = delivered.user_id
            and optout_channels.channel = delivered.channel
            and delivered.sent_at < optout_channels.opted_out_at
            and delivered.sent_at >= {{ add_hours('-windows.window_hours', 'optout_channels.opted_out_at') }}

),

latest_sends as (

    select * from candidates
    where send_rank = 1

),

final as (

    select
        optouts.optout_id,
        optouts.user_id,
        optouts.channel,
        optouts.opted_out_at,
        optouts.opted_out_date,
        latest_sends.send_id as attributed_send_id,
        latest_sends.campaign_id as attributed_campaign_id,
        latest_sends.channel as attributed_channel,
        latest_sends.sent_at as attributed_sent_at,
        latest_sends.campaign_id is not null as is_attributed

    from optouts
    left join latest_sends
        on optouts.optout_id = latest_sends.optout_id

)

select * from final
