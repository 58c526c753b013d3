{# A date plus a whole number of days, still a date. #}
{% macro date_plus_days(days, date_expr) %}
    {{ return(adapter.dispatch('date_plus_days', 'optout')(days, date_expr)) }}
{% endmacro %}

{% macro duckdb__date_plus_days(days, date_expr) %}
    ({{ date_expr }} + {{ days }})
{% endmacro %}

{% macro spark__date_plus_days(days, date_expr) %}
    date_add({{ date_expr }}, {{ days }})
{% endmacro %}

{# A date after any real one, for open-ended ranges that must sort and compare. #}
{% macro far_future_date() %}
    cast('9999-12-30' as date)
{% endmacro %}
