-- Every clean consent change in its (user_id, channel) timeline
-- (docs/CONTRACT.md §4.1): ordered by changed_at then change_id, `all` being
-- a channel of its own.
with

changes as (

    select * from {{ ref('stg_messaging__consent_changes') }}

),

ordered as (

    select
        change_id,
        user_id,
        channel,
        status,
        changed_at,
        source,
        keyword,
        reason,
        row_number() over timeline as change_seq,
        lag(status) over timeline as previous_status,
        lead(changed_at) over timeline as next_changed_at

    from changes
    window timeline as (
        partition by user_id, channel
        order by changed_at asc, {{ id_order('change_id') }}
    )

),

final as (

    select
        *,
        coalesce(previous_status != status, true) as is_status_change,
        source = 'import' as is_import

    from ordered

)

select
    *,
    is_status_change and not is_import and status = 'opted_out' as is_optout,
    is_status_change and not is_import and status = 'opted_in' as is_optin

from final
