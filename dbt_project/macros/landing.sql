{#
    on-run-start: one view per source, `landing.<source>`, over every *.csv
    and *.parquet file of its folder under var('raw_dir'), every column as
    text plus `source_file`. Only the formats present are read (DuckDB
    cannot bind a glob that matches nothing), a missing column reads as
    null, and an empty folder gives an empty view.
#}
{% macro create_landing_views() %}
    {{ return(adapter.dispatch('create_landing_views', 'optout')()) }}
{% endmacro %}

{% macro duckdb__create_landing_views() %}
    {% if not execute %}{{ return('') }}{% endif %}
    {% set raw_dir = var('raw_dir') | string %}
    {% set statements = ['create schema if not exists landing'] %}
    {% for source_name, spec in optout_sources().items() %}
        {% set parts = [] %}
        {% for reader in ['csv', 'parquet'] %}
            {% set files = optout_list_files(raw_dir ~ '/' ~ source_name ~ '/*.' ~ reader) %}
            {% if files | length > 0 %}
                {% set relation = duckdb__landing_reader(reader, files) %}
                {% set present = optout_column_names(relation) %}
                {% set cols = [] %}
                {% for col in spec['columns'] %}
                    {% if col in present %}
                        {% do cols.append('cast(' ~ adapter.quote(present[col]) ~ ' as varchar) as ' ~ col) %}
                    {% else %}
                        {% do cols.append('cast(null as varchar) as ' ~ col) %}
                    {% endif %}
                {% endfor %}
                {% do parts.append('select ' ~ cols | join(', ') ~ ', cast(filename as varchar) as source_file from ' ~ relation) %}
            {% endif %}
        {% endfor %}
        {% if parts | length == 0 %}
            {% set cols = [] %}
            {% for col in spec['columns'] + ['source_file'] %}
                {% do cols.append('cast(null as varchar) as ' ~ col) %}
            {% endfor %}
            {% do parts.append('select ' ~ cols | join(', ') ~ ' where false') %}
        {% endif %}
        {% do statements.append('create or replace view landing.' ~ source_name ~ ' as ' ~ parts | join(' union all ')) %}
    {% endfor %}
    {{ return(statements | join(';\n') ~ ';') }}
{% endmacro %}

{% macro duckdb__landing_reader(reader, files) %}
    {% set quoted = [] %}
    {% for f in files %}{% do quoted.append(optout_sql_string(f)) %}{% endfor %}
    {% set file_list = '[' ~ quoted | join(', ') ~ ']' %}
    {% if reader == 'csv' %}
        {{ return("read_csv(" ~ file_list ~ ", header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', union_by_name = true, filename = true, auto_detect = true, encoding = 'utf-8')") }}
    {% else %}
        {{ return("read_parquet(" ~ file_list ~ ", union_by_name = true, filename = true)") }}
    {% endif %}
{% endmacro %}

{% macro optout_list_files(pattern) %}
    {% set result = run_query('select file from glob(' ~ optout_sql_string(pattern) ~ ') order by file') %}
    {{ return(result.columns[0].values() | list) }}
{% endmacro %}

{# Lower-cased, trimmed header name -> the name as it appears in the files. #}
{% macro optout_column_names(relation) %}
    {% set result = run_query('describe select * from ' ~ relation) %}
    {% set names = {} %}
    {% for name in result.columns[0].values() %}
        {% do names.update({name | trim | lower: name}) %}
    {% endfor %}
    {{ return(names) }}
{% endmacro %}

{% macro optout_sql_string(value) %}
    {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{% endmacro %}
