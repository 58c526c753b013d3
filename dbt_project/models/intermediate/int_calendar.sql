-- One row per UTC date from the first to the last day the landing zone
-- covers (earliest to latest clean send or consent change).
with

sends as (

    select sent_at as happened_at from {{ ref('stg_messaging__sends') }}

),

changes as (

    select changed_at as happened_at from {{ ref('stg_messaging__consent_changes') }}

),

bounds as (

    select
        cast(min(happened_at) as date) as first_date,
        cast(max(happened_at) as date) as last_date

    from (
        select happened_at from sends
        union all
        select happened_at from changes
    ) as instants

),

final as (

    select {{ days_from('first_date', 'last_date') }}
    from bounds
    where first_date is not null

)

select * from final
