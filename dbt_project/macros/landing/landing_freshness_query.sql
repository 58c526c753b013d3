{#
    loaded_at_query of every landing source (models/staging/_landing__sources.yml): the
    latest event time (the contract's event_time, e.g. sent_at) among the rows that have
    landed, whether already loaded (the valid rows of base_messaging__<source>) or still
    to load (the landing view, `this`, over the files no build has loaded yet). A
    loaded_at_field would read the landing view alone, which after every build holds
    nothing, and report a fresh landing zone as stale.
#}
{% macro landing_freshness_query(source_relation) %}
    {%- set source_name = source_relation.identifier -%}
    {%- set event_time = optout_sources()[source_name]['event_time'] -%}
    {#- ref() is not available to a source: the base model's relation from the graph. -#}
    {%- set base = graph.nodes['model.' ~ project_name ~ '.base_messaging__' ~ source_name] -%}
    {%- set loaded = api.Relation.create(database=base.database, schema=base.schema, identifier=base.alias) -%}
    select max(landed_at) as max_landed_at
    from (
        select max({{ event_time }}) as landed_at
        from {{ loaded }}
        where invalid_reason is null
        union all
        select max({{ parse_utc_timestamp(event_time) }}) as landed_at
        from {{ source_relation }}
    ) as landed
{% endmacro %}
