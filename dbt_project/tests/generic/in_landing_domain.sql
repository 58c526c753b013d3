{#
    The column's values are in its domain in the landing contract
    (dbt_project.yml var landing_sources, docs/CONTRACT.md §2.4): the one
    definition of the domains, not a copy in each YAML.
#}
{% test in_landing_domain(model, column_name, source_name) %}
    {%- set domain = optout_sources()[source_name]['enums'][column_name] -%}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} not in ({{ optout_sql_list(domain) }})
{% endtest %}
