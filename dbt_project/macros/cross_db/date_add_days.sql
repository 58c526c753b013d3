{#
    Day and hour arithmetic that DuckDB and Spark spell differently, for the
    exposure, attribution and alert marts. Results are exact (dates stay
    dates, timestamps keep their microseconds).
#}

{# A date plus a whole number of days (negative: minus), as a date. #}
{% macro date_add_days(date_expr, days) %}
    {{ return(adapter.dispatch('date_add_days', 'optout')(date_expr, days)) }}
{% endmacro %}

{% macro duckdb__date_add_days(date_expr, days) %}
    ({{ date_expr }} + {{ days }})
{% endmacro %}

{% macro spark__date_add_days(date_expr, days) %}
    date_add({{ date_expr }}, {{ days }})
{% endmacro %}
