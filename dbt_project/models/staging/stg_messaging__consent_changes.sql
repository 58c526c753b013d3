-- Clean `consent_changes`: one row per change_id, exact duplicates removed.
-- Incremental: a build recomputes only the keys its new files carry, from all
-- their rows, and replaces them (delete+insert), as a full rebuild would.
{{
    config(
        materialized=keyed_incremental_materialization(),
        unique_key='change_id',
        incremental_strategy='delete+insert',
    )
}}

with

ranked as (

    {{ ranked_valid_rows('consent_changes', keys_of_this_batch=is_incremental()) | indent(4) }}

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
