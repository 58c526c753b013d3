{# Counts for agg_load_reconciliation: raw = clean + quarantined + duplicates. #}
{% macro reconciliation_counts(source_name) %}
    select
        '{{ source_name }}' as source_name,
        -- Counted from the base model, not the landing view: DuckDB only
        -- rejects a bad field when its column is read, and base reads all.
        (select count(*) from {{ ref('base_messaging__' ~ source_name) }})
        + (select count(*) from {{ landing_rejects_relation(source_name) }}) as raw_rows,
        {%- if optout_sources()[source_name].get('latest_by') %}
        {#- Versions are clean rows: every distinct one counts, the latest is staged. #}
        (select count(*) from {{ ref('base_messaging__' ~ source_name) }} where invalid_reason is null)
        - {{ distinct_valid_rows(source_name) }} as duplicate_rows_removed,
        {{ distinct_valid_rows(source_name) }} as clean_rows,
        {%- else %}
        (select count(*) from {{ ref('base_messaging__' ~ source_name) }} where invalid_reason is null)
        - {{ distinct_valid_rows(source_name) }} as duplicate_rows_removed,
        (select count(*) from {{ ref('stg_messaging__' ~ source_name) }}) as clean_rows,
        {%- endif %}
        (select count(*) from {{ ref('quarantine_' ~ source_name) }}) as quarantined_rows
{% endmacro %}


{# Number of distinct valid rows of a source (identical values = one row). #}
{% macro distinct_valid_rows(source_name) %}
    {%- set spec = optout_sources()[source_name] -%}
    (select count(*) from (
        select distinct {{ spec['primary_key'] }}, {{ row_hash(spec['columns']) }}
        from {{ ref('base_messaging__' ~ source_name) }} where invalid_reason is null
    ) as d)
{%- endmacro %}
