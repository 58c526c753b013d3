{#
    An inbound keyword normalised for reporting: STOP, STOPALL, UNSUBSCRIBE,
    CANCEL, END, QUIT, REVOKE or OPTOUT (also OPT-OUT, "opt out"), in any
    case and with surrounding white space; any other keyword is `other`, no
    keyword is null.
#}
{% macro normalize_keyword(expr) %}
    {%- set compact = "replace(replace(upper(" ~ clean_text(expr) ~ "), '-', ''), ' ', '')" -%}
    case
        when {{ clean_text(expr) }} is null then null
        when {{ compact }} in ('STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT')
            then {{ compact }}
        else 'other'
    end
{% endmacro %}
