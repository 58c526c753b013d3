-- One row per opt-out (docs/CONTRACT.md §4.4), with the user's external id.
with

optouts as (

    select * from {{ ref('int_optouts') }}

),

users as (

    select * from {{ ref('stg_messaging__users') }}

),

final as (

    select
        optouts.optout_id,
        optouts.user_id,
        users.external_id,
        optouts.channel,
        optouts.opted_out_at,
        optouts.opted_out_date,
        optouts.source,
        optouts.keyword,
        {{ normalize_keyword('optouts.keyword') }} as keyword_normalized,
        optouts.reason

    from optouts
    left join users
        on optouts.user_id = users.user_id

)

select * from final
