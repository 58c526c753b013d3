-- Clean `events`: one row per event_id, exact duplicates removed.
with

ranked as (

    {{ ranked_valid_rows('events') | indent(4) }}

),

final as (

    select
        event_id,
        user_id,
        event_name,
        occurred_at,
        source_file

    from ranked
    where _key_rank = 1

)

select * from final
