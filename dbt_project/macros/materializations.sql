{#
    Materialization of the models that replace rows by key (delete+insert, or
    a delete pre-hook): incremental where the adapter can delete rows, as
    DuckDB can. Parquet tables on Spark cannot, so there these models are
    rebuilt as tables on every run (with Delta or Iceberg tables a merge
    strategy would keep them incremental; see README "Running on Spark").
#}
{% macro keyed_incremental_materialization() %}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{% endmacro %}

{#
    `materialized` where the engine takes the hint: a CTE that a query reads
    several times is then computed once (DuckDB may inline it at each use).
#}
{% macro cte_materialized() %}
    {{- return(adapter.dispatch('cte_materialized', 'optout')()) -}}
{% endmacro %}

{% macro default__cte_materialized() %}{% endmacro %}

{% macro duckdb__cte_materialized() %}materialized{% endmacro %}
