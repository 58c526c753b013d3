-- One row per (user_id, channel, UTC date) with a delivered send: how many
-- were delivered. The 7-day pressure of agg_optout_pressure is summed from
-- these days, never from single sends.
with

delivered as (

    select * from {{ ref('stg_messaging__sends') }}
    where delivery_status = 'delivered'

),

final as (

    select
        user_id,
        channel,
        cast(sent_at as date) as sent_date,
        count(*) as deliveries

    from delivered
    group by user_id, channel, cast(sent_at as date)

)

select * from final
