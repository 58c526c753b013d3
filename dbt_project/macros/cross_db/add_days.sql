{#
    A timestamp plus a number of days (negative: minus), to the microsecond.
    dbt-spark's dateadd goes through unix seconds and drops the fraction.
#}
{% macro add_days(days, timestamp_expr) %}
    {{ return(adapter.dispatch('add_days', 'optout')(days, timestamp_expr)) }}
{% endmacro %}

{% macro duckdb__add_days(days, timestamp_expr) %}
    {{ dbt.dateadd('day', days, timestamp_expr) }}
{% endmacro %}

{% macro spark__add_days(days, timestamp_expr) %}
    timestampadd(day, {{ days }}, {{ timestamp_expr }})
{% endmacro %}
