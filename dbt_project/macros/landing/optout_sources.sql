{#
    The landing contract (docs/CONTRACT.md §2): source name -> columns,
    primary_key, required, timestamps, event_time, enums and (for sources
    whose repeated keys are versions) latest_by. Defined once, as the var
    `landing_sources` in dbt_project.yml, which Python reads too
    (orchestration/contract.py).
#}
{% macro optout_sources() %}
    {{ return(var('landing_sources')) }}
{% endmacro %}
