{#
    The base rows of a source with their settled `_status` (clean, version,
    duplicate, conflict, invalid, unreadable; see settle_landing_load.sql).
    DuckDB settles each load as it lands, so this is the base table itself.
    Spark tables cannot update rows: there the ranking runs over every row.
#}
{% macro settled_base(source_name) %}
    {{ return(adapter.dispatch('settled_base', 'optout')(source_name)) }}
{% endmacro %}

{% macro duckdb__settled_base(source_name) %}
    select * from {{ ref('base_messaging__' ~ source_name) }}
{% endmacro %}

{% macro spark__settled_base(source_name) %}
    {%- set spec = optout_sources()[source_name] -%}
    with
    base as (
        select * from {{ ref('base_messaging__' ~ source_name) }}
    ),
    valid as (
        select * from base where _status not in ('invalid', 'unreadable')
    ),
    {{ settle_rank_sql(spec, 'valid', '_load_id') }}
    {%- set columns = base_columns(spec) %}
    select {{ columns | join(', ') | replace('_status,', '_status_settled as _status,') }} from ranked
    union all
    select {{ columns | join(', ') }} from base where _status in ('invalid', 'unreadable')
{% endmacro %}

{# stg_* models: a view on DuckDB (nothing copied), a table on Spark (the ranking runs once). #}
{% macro staging_materialization() %}
    {{ return('table' if target.type == 'spark' else 'view') }}
{% endmacro %}

{# The columns of base_messaging__<source>, in order (macros/staging/landing_typed.sql). #}
{% macro base_columns(spec) %}
    {% set columns = [] %}
    {% for col in spec['columns'] %}{% do columns.append(col) %}{% endfor %}
    {% for col in spec['columns'] %}{% do columns.append('raw_' ~ col) %}{% endfor %}
    {{ return(columns + ['raw_line', 'source_file', 'invalid_reason', '_status', '_load_id']) }}
{% endmacro %}
