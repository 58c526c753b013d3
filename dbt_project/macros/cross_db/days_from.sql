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
