{#
    var('attribution_window_hours') checked: a mapping of every messaging
    channel to a whole number of hours > 0 (a JSON string from --vars works
    too). A bad value fails the build with one line saying what to fix.
#}
{% macro attribution_window_hours() %}
    {%- set windows = var('attribution_window_hours') -%}
    {%- if windows is string -%}{%- set windows = fromjson(windows) -%}{%- endif -%}
    {%- set channels = ['push', 'email', 'sms', 'whatsapp'] -%}
    {%- set checked = {} -%}
    {%- for channel in channels -%}
        {%- set hours = (windows or {}).get(channel) -%}
        {%- if hours is none or not (hours | string).isdigit() or (hours | int) < 1 -%}
            {{ exceptions.raise_compiler_error(
                "var attribution_window_hours needs a whole number of hours > 0 for each of "
                ~ channels | join(', ') ~ ", e.g. {push: 24, email: 120, sms: 24, whatsapp: 24}; got "
                ~ windows
            ) }}
        {%- endif -%}
        {%- do checked.update({channel: hours | int}) -%}
    {%- endfor -%}
    {{ return(checked) }}
{% endmacro %}

{# SQL: the attribution window, in hours, of the messaging channel in `channel_expr`. #}
{% macro attribution_window_case(channel_expr) %}
    case {{ channel_expr }}
        {%- for channel, hours in attribution_window_hours().items() %}
        when '{{ channel }}' then {{ hours }}
        {%- endfor %}
    end
{% endmacro %}
