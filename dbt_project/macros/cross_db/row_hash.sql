{#
    A 64-bit hash of a row's values, to group identical rows cheaply. Used
    together with the primary key, so a collision would need two rows of the
    same key to collide.
#}
{% macro row_hash(columns) %}
    {{ return(adapter.dispatch('row_hash', 'optout')(columns)) }}
{% endmacro %}

{% macro duckdb__row_hash(columns) %}
    hash({{ columns | join(', ') }})
{% endmacro %}

{# Spark's hash skips nulls, so (a, null) and (null, a) would hash alike: each column's nullness is hashed too. #}
{% macro spark__row_hash(columns) %}
    {%- set parts = [] -%}
    {%- for col in columns %}{% do parts.append(col ~ ', ' ~ col ~ ' is null') %}{% endfor -%}
    xxhash64({{ parts | join(', ') }})
{% endmacro %}
