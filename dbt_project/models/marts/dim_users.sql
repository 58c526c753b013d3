-- One row per known user: the latest version of the profile.
with

users as (

    select * from {{ ref('stg_messaging__users') }}

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
        updated_at

    from users

)

select * from final
