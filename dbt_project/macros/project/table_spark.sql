{#
    dbt-spark's `table` materialization with one change: it drops the old
    table only when dbt's relation cache holds one. The adapter's own issues
    `drop table if exists` before every table, although the marts and the
    quarantine of each build go into fresh databases (publish_spark.sql):
    a Thrift round trip per table for nothing. Parquet tables only (the
    project's file_format): the Delta/Iceberg `create or replace` path, the
    Python models and grants of the adapter's version are left out.
    docs/DECISIONS.md "Spark: a table is dropped only when it exists".

    A second change: Parquet tables do not enforce a contract's not_null
    constraints (DuckDB does, when it builds the table), so one query counts
    the nulls of those columns and a null fails the model, as on DuckDB.
    docs/DECISIONS.md "Not null is a constraint of the marts' contracts".
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

    {% do optout_check_not_null_constraints(target_relation, model) %}

    {% do persist_docs(target_relation, model) %}
    {% do persist_constraints(target_relation, model) %}

    {{ run_hooks(post_hooks) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% macro optout_check_not_null_constraints(relation, model) %}
    {%- if not config.get('contract').enforced -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for column in model.columns.values() -%}
        {%- if column.constraints | selectattr('type', 'equalto', 'not_null') | list -%}
            {%- do columns.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if columns -%}
        {%- call statement('not_null_constraints', fetch_result=True) -%}
            select
            {%- for column in columns %}
                sum(case when {{ adapter.quote(column) }} is null then 1 else 0 end){{ ',' if not loop.last }}
            {%- endfor %}
            from {{ relation }}
        {%- endcall -%}
        {%- set counts = load_result('not_null_constraints').table.rows[0] -%}
        {%- set failed = [] -%}
        {%- for column in columns -%}
            {%- if (counts[loop.index0] or 0) > 0 -%}
                {%- do failed.append(column ~ ' (' ~ counts[loop.index0] ~ ' rows)') -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if failed -%}
            {{ exceptions.raise_compiler_error('NOT NULL constraint failed on ' ~ relation ~ ': ' ~ failed | join(', ')) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
