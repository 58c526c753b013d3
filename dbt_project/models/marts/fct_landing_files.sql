-- One row per file of the landing zone: whether the build read it, and what
-- became of its rows (docs/CONTRACT.md §2).
with

inventory as (

    -- Written by this build's on-run-start hook (macros/landing/create_landing_views.sql).
    select * from {{ landing_inventory_relation() }}

),

loaded as (

    {% for source_name in optout_sources() %}
        select
            source_file,
            read_mode,
            raw_rows,
            loaded_at
        from {{ landing_ledger(source_name) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

row_counts as (

    {% for source_name in optout_sources() %}
        select
            source_file,
            count(case when _status in ('clean', 'version') then 1 end) as clean_rows,
            count(case when _status in ('invalid', 'conflict', 'unreadable') then 1 end) as quarantined_rows,
            count(case when _status = 'duplicate' then 1 end) as duplicate_rows
        from ({{ settled_base(source_name) }}) as base
        group by source_file
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        inventory.source_file,
        inventory.source_name,
        case
            when loaded.source_file is not null then 'loaded'
            when inventory.status = 'unread' then 'not read'
            else inventory.status
        end as status,
        inventory.reason,
        inventory.size_bytes,
        loaded.read_mode,
        loaded.raw_rows,
        row_counts.clean_rows,
        row_counts.quarantined_rows,
        row_counts.duplicate_rows,
        loaded.loaded_at

    from inventory
    left join loaded on inventory.source_file = loaded.source_file
    left join row_counts on inventory.source_file = row_counts.source_file

)

select * from final
