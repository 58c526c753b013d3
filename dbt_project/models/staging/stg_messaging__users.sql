-- Clean `users`: the latest version of each user (greatest updated_at).
with

ranked as (

    {{ ranked_valid_rows('users') | indent(4) }}

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
