{# A date after any real one, for open-ended ranges that must sort and compare. #}
{% macro far_future_date() %}
    cast('9999-12-30' as date)
{% endmacro %}
