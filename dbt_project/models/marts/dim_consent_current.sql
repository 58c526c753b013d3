-- One row per (user, channel) with any consent record: the effective current
-- status (the suppression list is its opted_out rows).
with

history as (

    select * from {{ ref('fct_consent_history') }}

),

final as (

    select
        user_id,
        channel,
        status,
        status = 'opted_out' as is_suppressed,
        change_id as decided_by_change_id,
        change_channel as decided_on_channel,
        valid_from as decided_at,
        source as decided_by_source,
        status_since

    from history
    where is_current

)

select * from final
