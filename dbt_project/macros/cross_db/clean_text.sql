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

{#
    true when the text needs no cleaning: its first and last characters are
    not white space (nor other control characters). Most landing values are
    clean, and this check costs a fraction of trimming every value.
#}
{% macro text_is_clean(expr) %}
    (ascii({{ expr }}) > 32 and ascii(right({{ expr }}, 1)) > 32)
{% endmacro %}
