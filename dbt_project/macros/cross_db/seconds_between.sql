{# Whole seconds from a to b, counted as second boundaries crossed (DuckDB's date_diff). #}
{% macro seconds_between(a, b) %}
    {{ return(adapter.dispatch('seconds_between', 'optout')(a, b)) }}
{% endmacro %}

{% macro duckdb__seconds_between(a, b) %}
    {{ dbt.datediff(a, b, 'second') }}
{% endmacro %}

{% macro spark__seconds_between(a, b) %}
    (unix_timestamp({{ b }}) - unix_timestamp({{ a }}))
{% endmacro %}
