{# Text -> bigint, or null when it is not an integer. #}
{% macro try_cast_bigint(expr) %}
    {{ return(adapter.dispatch('try_cast_bigint', 'optout')(expr)) }}
{% endmacro %}

{% macro duckdb__try_cast_bigint(expr) %}
    try_cast({{ expr }} as bigint)
{% endmacro %}

{% macro spark__try_cast_bigint(expr) %}
    try_cast({{ expr }} as bigint)
{% endmacro %}
