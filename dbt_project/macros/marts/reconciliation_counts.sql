{#
    One row of agg_load_reconciliation (docs/CONTRACT.md §2): raw_rows from
    the landing ledger (each file's rows counted apart from the CSV reader:
    physical data lines, or a Parquet file's footer), the rest from the
    settled statuses of its base rows, so the test that
    raw = clean + quarantined + duplicates can fail when a reader drops lines.
#}
{% macro reconciliation_counts(source_name) %}
    with

    files as (

        select cast(coalesce(sum(raw_rows), 0) as {{ dbt.type_bigint() }}) as raw_rows
        from {{ landing_ledger(source_name) }}

    ),

    statuses as (

        select
            count(case when _status = 'duplicate' then 1 end) as duplicate_rows_removed,
            count(case when _status in ('clean', 'version') then 1 end) as clean_rows,
            count(case when _status in ('invalid', 'conflict', 'unreadable') then 1 end) as quarantined_rows

        from ({{ settled_base(source_name) }}) as base

    )

    select
        '{{ source_name }}' as source_name,
        files.raw_rows,
        statuses.duplicate_rows_removed,
        statuses.clean_rows,
        statuses.quarantined_rows

    from files
    cross join statuses
{% endmacro %}

{# The ledger of loaded files that the base model's post-hook keeps beside it. #}
{% macro landing_ledger(source_name) %}
    {%- set base = ref('base_messaging__' ~ source_name) -%}
    {{ return(api.Relation.create(database=base.database, schema=base.schema,
        identifier='landing_files__' ~ source_name)) }}
{% endmacro %}
