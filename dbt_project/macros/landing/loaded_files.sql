{#
    The files of a source that earlier builds loaded (the ledger the base
    model's post-hook keeps), or none on a full refresh / first build.
#}
{% macro optout_loaded_files(source_name) %}
    {% if flags.FULL_REFRESH %}{{ return([]) }}{% endif %}
    {% set base = adapter.get_relation(
        database=target.database, schema='staging', identifier='base_messaging__' ~ source_name) %}
    {% set ledger = adapter.get_relation(
        database=target.database, schema='staging', identifier='landing_files__' ~ source_name) %}
    {% if base is none or ledger is none %}{{ return([]) }}{% endif %}
    {% set result = run_query('select source_file from ' ~ ledger) %}
    {{ return(result.columns[0].values() | list) }}
{% endmacro %}
