-- One row per (UTC date, channel, normalised keyword) with opt-outs.
-- Opt-outs without a keyword are counted under keyword `none`.
with

optouts as (

    select * from {{ ref('fct_optouts') }}

),

final as (

    select
        opted_out_date as date,
        channel,
        coalesce({{ normalize_keyword('keyword') }}, 'none') as keyword,
        count(*) as optouts

    from optouts
    group by 1, 2, 3

)

select * from final
