{#
    The select of an enforced contract's table on Spark (dbt's own lists the
    contract's columns): a column the contract marks not_null passes through
    coalesce(column, raise_error(...)), so a null fails the statement that
    writes the table. Parquet tables do not enforce not_null (DuckDB does, when
    it builds the table), and this costs no query of its own.
    docs/DECISIONS.md "Not null is a constraint of the marts' contracts".
#}
{% macro spark__get_select_subquery(sql) %}
    select
    {%- for column in model['columns'].values() %}
        {%- set name = adapter.quote(column['name']) if column.get('quote') else column['name'] %}
        {%- if column['constraints'] | selectattr('type', 'equalto', 'not_null') | list %}
        coalesce({{ name }}, raise_error('NOT NULL constraint failed on {{ this }}: {{ column['name'] }}')) as {{ name }}
        {%- else %}
        {{ name }}
        {%- endif %}{{ ',' if not loop.last }}
    {%- endfor %}
    from (
        {{ sql }}
    ) as model_subq
{%- endmacro %}
