-- One row per (consent change, channel it applies to): the effective status
-- of the user on that channel from valid_from until valid_to (the next
-- change, from either the channel itself or `all`).
with

changes as (

    select * from {{ ref('int_consent_changes_by_channel') }}

),

ordered as (

    select
        *,
        lag(status) over timeline as previous_status,
        lead(changed_at) over timeline as valid_to

    from changes
    window timeline as (
        partition by user_id, channel
        order by changed_at asc, {{ id_order('change_id') }}
    )

),

streaks as (

    select
        *,
        -- Number of the run of equal statuses this change belongs to.
        sum(case when previous_status = status then 0 else 1 end) over (
            partition by user_id, channel
            order by changed_at asc, {{ id_order('change_id') }}
            rows between unbounded preceding and current row
        ) as status_streak

    from ordered

),

final as (

    select
        change_id,
        user_id,
        channel,
        change_channel,
        status,
        source,
        source = 'import' as is_import,
        changed_at as valid_from,
        valid_to,
        valid_to is null as is_current,
        first_value(change_id) over streak as status_since_change_id,
        first_value(changed_at) over streak as status_since

    from streaks
    window streak as (
        partition by user_id, channel, status_streak
        order by changed_at asc, {{ id_order('change_id') }}
        rows between unbounded preceding and current row
    )

)

select * from final
