{#
    Number of Monday-Friday dates in [1970-01-05, d): a monotone index, so
    index(b) - index(a) counts the business days in [a, b). Portable
    arithmetic on dbt.datediff; no holiday calendar.
#}
{% macro business_day_index(date_expr) %}
    {%- set n = dbt.datediff("cast('1970-01-05' as date)", date_expr, 'day') -%}
    cast(5 * floor(({{ n }}) / 7) + least(({{ n }}) - 7 * floor(({{ n }}) / 7), 5) as {{ dbt.type_bigint() }})
{% endmacro %}

{#
    Business days strictly between two dates, 0 when none (same date or the
    next one): index(end) - index(start + 1), floored at 0 because on the
    same date that difference is -1 when the date is itself a business day.
    See docs/CONTRACT.md §5.12.
#}
{% macro business_days_between(start_date_expr, end_date_expr) %}
    greatest(
        {{ business_day_index(end_date_expr) }}
        - {{ business_day_index(add_days(1, start_date_expr)) }},
        0
    )
{% endmacro %}
