{#
    Number of Monday-Friday dates in [1970-01-05, d): a monotone index, so
    index(b) - index(a) counts the business days in [a, b). Portable
    arithmetic on dbt.datediff; no holiday calendar.
#}
{% macro business_day_index(date_expr) %}
    {%- set n = dbt.datediff("cast('1970-01-05' as date)", date_expr, 'day') -%}
    cast(5 * floor(({{ n }}) / 7) + least(({{ n }}) - 7 * floor(({{ n }}) / 7), 5) as {{ dbt.type_bigint() }})
{% endmacro %}
