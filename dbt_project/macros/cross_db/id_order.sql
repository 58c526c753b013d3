{# Natural order of text ids: numeric ids by value, before other ids by text. #}
{% macro id_order(col, descending=false) %}
    {%- set num = try_cast_bigint(col) | trim -%}
    {%- if descending -%}
        {{ num }} desc nulls first, {{ col }} desc
    {%- else -%}
        {{ num }} asc nulls last, {{ col }} asc
    {%- endif -%}
{% endmacro %}
