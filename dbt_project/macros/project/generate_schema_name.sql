{#
    Custom schemas are used as named (marts, staging, ...), not prefixed with
    the target schema. Spark builds the published schemas into fresh
    databases of their own (macros/project/publish_spark.sql).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.type == 'spark' and custom_schema_name | trim in ('marts', 'quarantine') -%}
        {{ spark_build_schema(custom_schema_name | trim) }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
