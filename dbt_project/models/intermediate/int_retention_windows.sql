-- One row per window of var('retention_windows'), in days.
{%- set windows = var('retention_windows') %}
{%- if windows is string %}{% set windows = fromjson(windows) %}{% endif %}

{% for w in windows -%}
    select cast({{ w | int }} as {{ dbt.type_int() }}) as window_days
    {% if not loop.last %}union all{% endif %}
{% endfor %}
