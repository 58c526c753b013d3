{#
    Text cleaning and ISO-8601 parsing shared by every base model. Dialect
    specifics sit behind adapter.dispatch so the models stay portable.
#}

{# Trimmed text, empty -> null. Trims tabs and line breaks as well as spaces. #}
{% macro clean_text(expr) %}
    {{ return(adapter.dispatch('clean_text', 'optout')(expr)) }}
{% endmacro %}

{% macro duckdb__clean_text(expr) %}
    nullif(trim({{ expr }}, e' \t\r\n'), '')
{% endmacro %}

{% macro spark__clean_text(expr) %}
    nullif(trim(both ' \t\r\n' from {{ expr }}), '')
{% endmacro %}
