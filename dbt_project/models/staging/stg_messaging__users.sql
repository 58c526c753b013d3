-- Clean `users`: the latest version of each user (greatest updated_at).
-- Incremental: a build recomputes only the keys its new files carry, from all
-- their rows, and replaces them (delete+insert), as a full rebuild would.
{{
    config(
        materialized=keyed_incremental_materialization(),
        unique_key='user_id',
        incremental_strategy='delete+insert',
    )
}}

with

ranked as (

    {{ ranked_valid_rows('users', keys_of_this_batch=is_incremental()) | indent(4) }}

),

final as (

    select
        user_id,
        external_id,
        email,
        phone,
        first_name,
        last_name,
        team_code,
        created_at,
        updated_at,
        source_file

    from ranked
    where _key_rank = 1

)

select * from final
