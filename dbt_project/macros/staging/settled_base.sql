{#
    The base rows of a source with their settled `_status` (clean, version,
    duplicate, conflict, invalid, unreadable; see settle_landing_load.sql).
    DuckDB settles each load as it lands, so this is the base table itself.
#}
{% macro settled_base(source_name) %}
    {{ return(adapter.dispatch('settled_base', 'optout')(source_name)) }}
{% endmacro %}

{% macro duckdb__settled_base(source_name) %}
    select * from {{ ref('base_messaging__' ~ source_name) }}
{% endmacro %}

{#
    Spark: the base rows of keys with one valid row keep the status they were
    inserted with; the valid rows of repeated keys come, settled, from the
    side table the post-hook keeps (settle_landing_load_spark.sql).
#}
{% macro spark__settled_base(source_name) %}
    {%- set spec = optout_sources()[source_name] -%}
    {%- set base = ref('base_messaging__' ~ source_name) -%}
    {%- set repeated = spark__repeated_relation(base.schema, source_name) -%}
    select {{ base_columns(spec) | join(', ') }}
    from {{ base }} as base
    left anti join (select distinct {{ spec['primary_key'] }} as _key from {{ repeated }}) as repeated_keys
        on base.{{ spec['primary_key'] }} = repeated_keys._key
        and base._status not in ('invalid', 'unreadable')
    union all
    select {{ base_columns(spec) | join(', ') }} from {{ repeated }}
{% endmacro %}

{# stg_* models: views of the settled base rows on both engines (nothing copied). #}
{% macro staging_materialization() %}
    {{ return('view') }}
{% endmacro %}

{# The columns of base_messaging__<source>, in order (macros/staging/landing_typed.sql). #}
{% macro base_columns(spec) %}
    {% set columns = [] %}
    {% for col in spec['columns'] %}{% do columns.append(col) %}{% endfor %}
    {% for col in spec['columns'] %}{% do columns.append('raw_' ~ col) %}{% endfor %}
    {{ return(columns + ['raw_line', 'source_file', 'invalid_reason', '_status', '_load_id']) }}
{% endmacro %}
