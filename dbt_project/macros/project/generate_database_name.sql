{#
    DuckDB: the relations readers see (schemas marts, quarantine and semantic,
    the metrics' time spine) go to
    the attached database `published`, a file of its own that a build writes
    fresh and swaps in whole; everything else (landing state, staging,
    intermediate) stays in `state`, updated in place by each build
    (docs/OPERATIONS.md "How a build publishes"). Spark has one catalog.
#}
{% macro generate_database_name(custom_database_name=none, node=none) -%}
    {%- if target.type == 'duckdb' and node is not none and node.config.schema in ('marts', 'quarantine', 'semantic') -%}
        published
    {%- elif custom_database_name is none -%}
        {{ target.database }}
    {%- else -%}
        {{ custom_database_name | trim }}
    {%- endif -%}
{%- endmacro %}
