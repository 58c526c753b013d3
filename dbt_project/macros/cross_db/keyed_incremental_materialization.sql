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
