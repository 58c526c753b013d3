-- One row per (user, channel) with any consent record: the effective current
-- status (the suppression list is its opted_out rows). The status_since_*
-- columns describe the change that began the current run of the status, so
-- the suppression export's time and source come from one change
-- (docs/CONTRACT.md §5.11, §6.4).
with

history as (

    select * from {{ ref('fct_consent_history') }}

),

changes as (

    select * from {{ ref('stg_messaging__consent_changes') }}

),

final as (

    select
        history.user_id,
        history.channel,
        history.status,
        history.status = 'opted_out' as is_suppressed,
        history.change_id as decided_by_change_id,
        history.change_channel as decided_on_channel,
        history.valid_from as decided_at,
        history.source as decided_by_source,
        history.status_since,
        history.status_since_change_id,
        run_start.channel as status_since_channel,
        run_start.source as status_since_source

    from history
    inner join changes as run_start
        on history.status_since_change_id = run_start.change_id
    where history.is_current

)

select * from final
