{# A value as a SQL string literal (Spark's: landing_readers_spark.sql). #}
{% macro optout_sql_string(value) %}
    {{ return(adapter.dispatch('optout_sql_string', 'optout')(value)) }}
{% endmacro %}

{# Quotes doubled. #}
{% macro default__optout_sql_string(value) %}
    {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{% endmacro %}

{# A value as a SQL literal: null for none, else a string literal. #}
{% macro optout_sql_literal(value) %}
    {{ return('null' if value is none else optout_sql_string(value)) }}
{% endmacro %}

{# Lower-cased, trimmed column name -> the name as it appears in the relation. #}
{% macro optout_column_names(relation) %}
    {% set result = run_query('select * from ' ~ relation ~ ' limit 0') %}
    {% set names = {} %}
    {% for name in result.column_names %}
        {% do names.update({name | trim | lower: name}) %}
    {% endfor %}
    {{ return(names) }}
{% endmacro %}

{# Values as a comma-separated list of SQL string literals (for `in (...)`). #}
{% macro optout_sql_list(values) %}
    {% set quoted = [] %}
    {% for value in values %}{% do quoted.append(optout_sql_string(value)) %}{% endfor %}
    {{ return(quoted | join(', ')) }}
{% endmacro %}
