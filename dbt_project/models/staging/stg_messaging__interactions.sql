-- Clean `interactions`: one row per interaction_id, exact duplicates removed.
with

ranked as (

    {{ ranked_valid_rows('interactions') | indent(4) }}

),

final as (

    select
        interaction_id,
        user_id,
        campaign_id,
        send_id,
        channel,
        interaction_type,
        occurred_at,
        source_file

    from ranked
    where _key_rank = 1

)

select * from final
