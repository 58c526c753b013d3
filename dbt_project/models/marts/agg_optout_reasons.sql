-- One row per (UTC date, channel, reason) for opt-outs that gave a reason.
with

optouts as (

    select * from {{ ref('fct_optouts') }}
    where reason is not null

),

final as (

    select
        opted_out_date as date,
        channel,
        reason,
        count(*) as optouts

    from optouts
    group by 1, 2, 3

)

select * from final
