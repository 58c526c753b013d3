{#
    dbt-spark's `table` materialization with one change: it drops the old
    table only when dbt's relation cache holds one. The adapter's own issues
    `drop table if exists` before every table, although the marts and the
    quarantine of each build go into fresh databases (publish_spark.sql):
    a Thrift round trip per table for nothing. Parquet tables only (the
    project's file_format): the Delta/Iceberg `create or replace` path, the
    Python models and grants of the adapter's version are left out.
    docs/DECISIONS.md "Spark: a table is dropped only when it exists".
#}
{% materialization table, adapter='spark' %}
    {%- set identifier = model['alias'] -%}
    {%- set old_relation = adapter.get_relation(database=database, schema=schema, identifier=identifier) -%}
    {%- set target_relation = api.Relation.create(
        identifier=identifier, schema=schema, database=database, type='table') -%}

    {{ run_hooks(pre_hooks) }}

    {% if old_relation is not none %}
        {% do adapter.drop_relation(old_relation) %}
    {% endif %}

    {%- call statement('main') -%}
        {{ create_table_as(False, target_relation, compiled_code) }}
    {%- endcall -%}

    {% do persist_docs(target_relation, model) %}
    {% do persist_constraints(target_relation, model) %}

    {{ run_hooks(post_hooks) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

