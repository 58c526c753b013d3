{#
    `materialized` where the engine takes the hint: a CTE that a query reads
    several times is then computed once (DuckDB may inline it at each use).
#}
{% macro cte_materialized() %}
    {{- return(adapter.dispatch('cte_materialized', 'optout')()) -}}
{% endmacro %}

{% macro duckdb__cte_materialized() %}materialized{% endmacro %}

{% macro spark__cte_materialized() %}{% endmacro %}
