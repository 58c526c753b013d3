{#
    The landing zone's root, without a trailing slash: var raw_dir when given
    (--vars), else $OPTOUT_RAW_DIR, else ../data/raw (relative paths resolve
    from the directory dbt runs in; `optout build` passes an absolute path).
    Read when the build runs, not in dbt_project.yml: a var rendered there is
    part of dbt's parse state, so every other landing zone would cost a full
    re-parse (docs/DECISIONS.md "One parse for every warehouse").
#}
{% macro landing_raw_dir() %}
    {% set root = var('raw_dir', none) or env_var('OPTOUT_RAW_DIR', '../data/raw') %}
    {{ return((root | string).rstrip('/')) }}
{% endmacro %}
