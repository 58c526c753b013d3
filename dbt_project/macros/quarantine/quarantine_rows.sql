{#
    Body of quarantine.<source> (docs/CONTRACT.md §2): every landing row of
    the source that breaks the contract (`invalid`), that lost to another row
    of its key (`conflict`, sources without latest_by) or that could not be
    read at all (`unreadable`, its text in raw_line), with its values as
    text, `reason` and `source_file`. In consent_changes the raw `reason`
    column is renamed `raw_reason` so `reason` always names the broken rule.
#}
{% macro quarantine_rows(source_name) %}
    {%- set spec = optout_sources()[source_name] -%}
    with

    base as (

        {{ settled_base(source_name) | indent(8) }}

    ),

    final as (

        select
            {%- for col in spec['columns'] %}
            {#- A valid row keeps only the text that differs from its value. #}
            coalesce(raw_{{ col }}, {{ timestamp_text(col) if col in spec['timestamps'] else col }})
                as {{ 'raw_reason' if col == 'reason' else col }},
            {%- endfor %}
            case
                when _status = 'conflict' then 'conflicting_duplicate_key'
                else invalid_reason
            end as reason,
            source_file,
            raw_line

        from base
        where _status in ('invalid', 'conflict', 'unreadable')

    )

    select * from final
{% endmacro %}
