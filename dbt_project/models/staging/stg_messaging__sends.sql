-- Clean `sends`: one row per send_id, exact duplicates removed.
with

ranked as (

    {{ ranked_valid_rows('sends') | indent(4) }}

),

final as (

    select
        send_id,
        user_id,
        campaign_id,
        channel,
        message_category,
        sent_at,
        delivery_status,
        source_file

    from ranked
    where _key_rank = 1

)

select * from final
