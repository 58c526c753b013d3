{# A timestamp as the warehouse prints it: 2026-01-31T12:00:00Z (UTC, whole seconds). #}
{% macro timestamp_text(expr) %}
    {{ return(adapter.dispatch('timestamp_text', 'optout')(expr)) }}
{% endmacro %}

{% macro duckdb__timestamp_text(expr) %}
    strftime({{ expr }}, '%Y-%m-%dT%H:%M:%SZ')
{% endmacro %}

{% macro spark__timestamp_text(expr) %}
    date_format({{ expr }}, "yyyy-MM-dd'T'HH:mm:ss'Z'")
{% endmacro %}
