{#
    The atomic publish on Spark (docs/DECISIONS.md "Spark: atomic
    publish through views"). `optout build` gives each build an id (env
    OPTOUT_SPARK_BUILD, lower-case letters, digits, _): the marts and the
    quarantine are built into fresh databases marts__<id> and
    quarantine__<id>, and only when every model and test of the run passed
    does the on-run-end hook publish them:

    1. append (<id>, now) to published.builds: the commit point. Readers
       through orchestration/marts.py read the latest build named there, so
       each query sees one whole build;
    2. repoint the views marts.<table> and quarantine.<table> (what BI tools
       read) at the new databases, one statement each;
    3. drop the databases of every build but this one and the one before it
       (a reader may still be reading that).

    A failed build publishes nothing; its databases are dropped by the next
    build that publishes. Without OPTOUT_SPARK_BUILD (a plain `dbt build`)
    the models write marts and quarantine in place, as on DuckDB.
#}
{% macro spark_build_id() %}
    {% set build = env_var('OPTOUT_SPARK_BUILD', '') | trim %}
    {% if build and not modules.re.fullmatch('[a-z0-9_]+', build) %}
        {{ exceptions.raise_compiler_error("OPTOUT_SPARK_BUILD must be lower-case letters, digits and _, got: " ~ build) }}
    {% endif %}
    {{ return(build) }}
{% endmacro %}

{# The database a published schema (marts, quarantine) is built into by this build. #}
{% macro spark_build_schema(name) %}
    {%- set build = spark_build_id() -%}
    {{- return(name ~ '__' ~ build if build else name) -}}
{%- endmacro %}

{% macro optout_publish(results) %}
    {{ return(adapter.dispatch('optout_publish', 'optout')(results)) }}
{% endmacro %}

{# DuckDB: `optout build` swaps the published file in from Python (orchestration/build.py). #}
{% macro default__optout_publish(results) %}
    {{ return('') }}
{% endmacro %}

{% macro spark__optout_publish(results) %}
    {% set build = spark_build_id() %}
    {% if not execute or not build %}{{ return('') }}{% endif %}
    {% set failed = [] %}
    {% set passed = [] %}
    {% for result in results %}
        {% if result.status in ['error', 'fail', 'skipped', 'runtime error'] %}
            {% do failed.append(result.node.unique_id) %}
        {% else %}
            {% do passed.append(result.node.unique_id) %}
        {% endif %}
    {% endfor %}
    {% set published = [] %}
    {% set missing = [] %}
    {% for node in graph.nodes.values() if node.resource_type == 'model' and node.config.schema in ['marts', 'quarantine'] %}
        {% do published.append(node) %}
        {% if node.unique_id not in passed %}{% do missing.append(node.name) %}{% endif %}
    {% endfor %}
    {% if failed or missing %}
        {{ log("Spark build " ~ build ~ " not published (" ~ (failed | length ~ " failed" if failed else "did not build "
            ~ missing | join(', ')) ~ "): the published marts are unchanged", info=true) }}
        {{ return('') }}
    {% endif %}

    {% do run_query('create database if not exists published') %}
    {% do run_query('create table if not exists published.builds (build_id string, published_at timestamp_ntz) using parquet') %}
    {% do run_query("insert into published.builds select " ~ spark__optout_sql_string(build) ~ ", localtimestamp()") %}

    {# Tables a plain `dbt build` wrote in place give way to the views; views of removed models go. #}
    {% set expected = {'marts': [], 'quarantine': []} %}
    {% for node in published %}{% do expected[node.config.schema].append(node.alias) %}{% endfor %}
    {% for schema, names in expected.items() %}
        {% do run_query('create database if not exists ' ~ schema) %}
        {% set views = [] %}
        {% for row in run_query('show views in ' ~ schema).rows if not row[2] %}{% do views.append(row[1]) %}{% endfor %}
        {% for row in run_query('show tables in ' ~ schema).rows if not row[2] %}
            {% if row[1] not in views %}
                {% do run_query('drop table if exists ' ~ schema ~ '.' ~ row[1]) %}
            {% elif row[1] not in names %}
                {% do run_query('drop view if exists ' ~ schema ~ '.' ~ row[1]) %}
            {% endif %}
        {% endfor %}
    {% endfor %}
    {% for node in published %}
        {% do run_query('create or replace view ' ~ node.config.schema ~ '.' ~ node.alias
            ~ ' as select * from ' ~ node.schema ~ '.' ~ node.alias) %}
    {% endfor %}

    {% set keep = run_query('select build_id from published.builds order by published_at desc limit 2').columns[0].values() | list %}
    {% for row in run_query("show databases like 'marts__*|quarantine__*'").rows %}
        {% if row[0].split('__', 1)[1] not in keep %}
            {% do run_query('drop database if exists ' ~ row[0] ~ ' cascade') %}
        {% endif %}
    {% endfor %}
    {{ log("Spark build " ~ build ~ " published: marts and quarantine now read " ~ spark_build_schema('marts')
        ~ " and " ~ spark_build_schema('quarantine'), info=true) }}
    {{ return('') }}
{% endmacro %}
