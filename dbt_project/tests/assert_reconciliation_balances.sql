-- docs/CONTRACT.md §3: for every source, raw = clean + quarantined + duplicates removed. Every
-- source of the landing contract has exactly one row with every count given, so a
-- missing source (or an empty table) fails too.
with

expected as (

    {% for source_name in optout_sources() -%}
        select '{{ source_name }}' as source_name
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

reconciliation as (

    select * from {{ ref('agg_load_reconciliation') }}

),

rows_per_source as (

    select
        source_name,
        count(*) as n_rows
    from reconciliation
    group by source_name

),

problems as (

    select
        expected.source_name,
        'missing source' as problem
    from expected
    left join rows_per_source on expected.source_name = rows_per_source.source_name
    where rows_per_source.source_name is null

    union all

    select
        source_name,
        'more than one row' as problem
    from rows_per_source
    where n_rows > 1

    union all

    select
        reconciliation.source_name,
        'unknown source' as problem
    from reconciliation
    left join expected on reconciliation.source_name = expected.source_name
    where expected.source_name is null

    union all

    select
        source_name,
        'counts missing or unbalanced' as problem
    from reconciliation
    where
        raw_rows is null
        or clean_rows is null
        or quarantined_rows is null
        or duplicate_rows_removed is null
        or raw_rows != clean_rows + quarantined_rows + duplicate_rows_removed

)

select * from problems
