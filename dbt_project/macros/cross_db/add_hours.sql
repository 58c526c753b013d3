{#
    A timestamp plus a whole number of hours, to the microsecond (dbt-spark's
    dateadd goes through unix seconds and drops the fraction).
#}
{% macro add_hours(hours, timestamp_expr) %}
    {{ return(adapter.dispatch('add_hours', 'optout')(hours, timestamp_expr)) }}
{% endmacro %}

{% macro duckdb__add_hours(hours, timestamp_expr) %}
    {{ dbt.dateadd('hour', hours, timestamp_expr) }}
{% endmacro %}

{% macro spark__add_hours(hours, timestamp_expr) %}
    timestampadd(hour, {{ hours }}, {{ timestamp_expr }})
{% endmacro %}
