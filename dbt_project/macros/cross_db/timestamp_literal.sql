{# A literal timestamp (from a var) as a typed SQL expression. #}
{% macro timestamp_literal(value) %}
    cast({{ optout_sql_string(value) }} as {{ dbt.type_timestamp() }})
{% endmacro %}
