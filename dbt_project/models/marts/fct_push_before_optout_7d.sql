-- One row per opt-out: delivered push sends the user received in the 7 days
-- before it, [t - 7 x 24h, t). Seven is the contract (the model's and the
-- columns' names), not a var: docs/CONTRACT.md §5.2.
with

optouts as (

    select * from {{ ref('int_optouts') }}

),

pushes as (

    select
        user_id,
        sent_at,
        message_category

    from {{ ref('stg_messaging__sends') }}
    where channel = 'push' and delivery_status = 'delivered'

),

counted as (

    select
        optouts.optout_id,
        count(pushes.sent_at) as push_count_7d,
        count(case when pushes.message_category = 'marketing' then 1 end) as marketing_push_count_7d

    from optouts
    left join pushes
        on
            optouts.user_id = pushes.user_id
            and pushes.sent_at >= {{ add_days(-7, 'optouts.opted_out_at') }}
            and pushes.sent_at < optouts.opted_out_at
    group by optouts.optout_id

),

final as (

    select
        optouts.optout_id,
        optouts.user_id,
        optouts.channel,
        optouts.opted_out_at,
        counted.push_count_7d,
        counted.marketing_push_count_7d

    from optouts
    inner join counted
        on optouts.optout_id = counted.optout_id

)

select * from final
