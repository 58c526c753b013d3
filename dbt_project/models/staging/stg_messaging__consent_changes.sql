-- Clean `consent_changes`: one row per change_id, exact duplicates removed.
with

ranked as (

    {{ ranked_valid_rows('consent_changes') | indent(4) }}

),

final as (

    select
        change_id,
        user_id,
        channel,
        status,
        changed_at,
        source,
        keyword,
        reason,
        source_file

    from ranked
    where _key_rank = 1

)

select * from final
