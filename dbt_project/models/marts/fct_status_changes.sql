-- One row per consent status change that is not an import (docs/CONTRACT.md §4.2): the
-- opt-outs and the opt-ins. Feeds the status-changes report.
with

timeline as (

    select * from {{ ref('int_consent_timeline') }}

),

final as (

    select
        change_id,
        user_id,
        channel,
        status,
        changed_at,
        cast(changed_at as date) as changed_date,
        source,
        keyword,
        reason

    from timeline
    where is_status_change and not is_import

)

select * from final
