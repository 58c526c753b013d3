{#
    Day and hour arithmetic that DuckDB and Spark spell differently, for the
    exposure, attribution and alert marts. Results are exact (dates stay
    dates, timestamps keep their microseconds).
#}

{# A date plus a whole number of days (negative: minus), as a date. #}
{% macro date_add_days(date_expr, days) %}
    {{ return(adapter.dispatch('date_add_days', 'optout')(date_expr, days)) }}
{% endmacro %}

{% macro default__date_add_days(date_expr, days) %}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{% endmacro %}

{% macro duckdb__date_add_days(date_expr, days) %}
    ({{ date_expr }} + {{ days }})
{% endmacro %}

{% macro spark__date_add_days(date_expr, days) %}
    date_add({{ date_expr }}, {{ days }})
{% endmacro %}

{#
    A timestamp plus a whole number of hours, to the microsecond (dbt-spark's
    dateadd goes through unix seconds and drops the fraction).
#}
{% macro add_hours(hours, timestamp_expr) %}
    {{ return(adapter.dispatch('add_hours', 'optout')(hours, timestamp_expr)) }}
{% endmacro %}

{% macro default__add_hours(hours, timestamp_expr) %}
    {{ dbt.dateadd('hour', hours, timestamp_expr) }}
{% endmacro %}

{% macro spark__add_hours(hours, timestamp_expr) %}
    timestampadd(hour, {{ hours }}, {{ timestamp_expr }})
{% endmacro %}

{#
    One row per date from first_date to last_date (inclusive, columns of
    `relation`), as `date_day`: `select {{ days_from(...) }} from relation`.
#}
{% macro days_from(first_date, last_date) %}
    {{ return(adapter.dispatch('days_from', 'optout')(first_date, last_date)) }}
{% endmacro %}

{% macro duckdb__days_from(first_date, last_date) %}
    cast(unnest(generate_series({{ first_date }}, {{ last_date }}, interval 1 day)) as date) as date_day
{% endmacro %}

{% macro spark__days_from(first_date, last_date) %}
    explode(sequence({{ first_date }}, {{ last_date }}, interval 1 day)) as date_day
{% endmacro %}
