-- The opt-outs of docs/CONTRACT.md §4.4: status changes to opted_out that
-- are not imports.
with

timeline as (

    select * from {{ ref('int_consent_timeline') }}

),

final as (

    select
        change_id as optout_id,
        user_id,
        channel,
        changed_at as opted_out_at,
        cast(changed_at as date) as opted_out_date,
        source,
        keyword,
        reason

    from timeline
    where is_optout

)

select * from final
