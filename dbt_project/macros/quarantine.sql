{#
    Body of quarantine.<source> (docs/CONTRACT.md §3): every landing row
    that breaks a rule of §2.3-§2.6, with its raw values as text, `reason`
    and `source_file`; plus, for sources
    other than users, rows whose primary key repeats with different values
    and that lost to the row from the latest file (reason
    conflicting_duplicate_key); plus the CSV lines that could not be parsed
    at all (reason unreadable_row:<error>, the line's text in raw_line). In
    consent_changes the raw `reason` column is renamed `raw_reason` so
    `reason` always names the broken rule.
#}
{% macro quarantine_rows(source_name, incremental=false) %}
    {%- set spec = optout_sources()[source_name] -%}
    {%- set outputs = [] -%}
    {%- for col in spec['columns'] -%}
        {%- do outputs.append('raw_' ~ col ~ ' as ' ~ ('raw_reason' if col == 'reason' else col)) -%}
    {%- endfor -%}
    with

    invalid as (

        select
            {{ outputs | join(',\n            ') }},
            invalid_reason as reason,
            source_file

        from {{ ref('base_messaging__' ~ source_name) }}
        where invalid_reason is not null
        {%- if incremental %}
            and _batch_id = '{{ invocation_id }}'
        {%- endif %}

    ),

    ranked as (

        {{ ranked_valid_rows(source_name, keys_of_this_batch=incremental, only_repeated_keys=true) | indent(8) }}

    ),

    conflicting as (

        select
            {{ outputs | join(',\n            ') }},
            'conflicting_duplicate_key' as reason,
            source_file

        from ranked
        where _key_rank > 1 and {{ 'false' if source_name == 'users' else 'true' }}

    ),

    unreadable as (

        select
            {%- for col in spec['columns'] %}
            cast(null as {{ dbt.type_string() }}) as {{ 'raw_reason' if col == 'reason' else col }},
            {%- endfor %}
            -- Spark reports no line number: the reason then omits it (`||` with a null is null).
            'unreadable_row:' || lower(replace(error_type, ' ', '_'))
            || coalesce(' (line ' || cast(line_number as {{ dbt.type_string() }}) || ': ', ' (')
            || error_message || ')' as reason,
            source_file,
            raw_line

        from {{ landing_rejects_relation(source_name) }}
        {%- if incremental %}
        where _batch_id = '{{ invocation_id }}'
        {%- endif %}

    )

    select *, cast(null as {{ dbt.type_string() }}) as raw_line from invalid
    union all
    select *, cast(null as {{ dbt.type_string() }}) as raw_line from conflicting
    union all
    select * from unreadable
{% endmacro %}


{#
    Pre-hook of an incremental quarantine model: the conflict rows of the keys
    this batch touches are recomputed, so drop the old ones first.
#}
{% macro forget_batch_conflicts(source_name) %}
    {%- if not execute or not is_incremental() or source_name == 'users' -%}{{ return('') }}{%- endif -%}
    {%- set pk = optout_sources()[source_name]['primary_key'] -%}
    {{ return("delete from " ~ this ~ " where reason = 'conflicting_duplicate_key' and "
        ~ clean_text(pk) ~ " in (" ~ batch_keys(source_name) ~ ")") }}
{% endmacro %}


{# The rejects table the base model's post-hook writes (see persist_landing_rejects). #}
{% macro landing_rejects_relation(source_name) %}
    {%- set base = ref('base_messaging__' ~ source_name) -%}
    {{ return(base.schema ~ '.landing_rejects__' ~ source_name) }}
{% endmacro %}


{# Counts for agg_load_reconciliation: raw = clean + quarantined + duplicates. #}
{% macro reconciliation_counts(source_name) %}
    select
        '{{ source_name }}' as source_name,
        -- Counted from the base model, not the landing view: DuckDB only
        -- rejects a bad field when its column is read, and base reads all.
        (select count(*) from {{ ref('base_messaging__' ~ source_name) }})
        + (select count(*) from {{ landing_rejects_relation(source_name) }}) as raw_rows,
        {%- if source_name == 'users' %}
        (select count(*) from {{ ref('base_messaging__users') }} where invalid_reason is null)
        - {{ distinct_valid_rows('users') }} as duplicate_rows_removed,
        {{ distinct_valid_rows('users') }} as clean_rows,
        {%- else %}
        (select count(*) from {{ ref('base_messaging__' ~ source_name) }} where invalid_reason is null)
        - {{ distinct_valid_rows(source_name) }} as duplicate_rows_removed,
        (select count(*) from {{ ref('stg_messaging__' ~ source_name) }}) as clean_rows,
        {%- endif %}
        (select count(*) from {{ ref('quarantine_' ~ source_name) }}) as quarantined_rows
{% endmacro %}


{# Number of distinct valid rows of a source (identical values = one row). #}
{% macro distinct_valid_rows(source_name) %}
    {%- set spec = optout_sources()[source_name] -%}
    (select count(*) from (
        select distinct {{ spec['primary_key'] }}, {{ row_hash(spec['columns']) }}
        from {{ ref('base_messaging__' ~ source_name) }} where invalid_reason is null
    ) as d)
{%- endmacro %}


{# Natural order of text ids: numeric ids by value, before other ids by text. #}
{% macro id_order(col, descending=false) %}
    {%- set num = try_cast_bigint(col) | trim -%}
    {%- if descending -%}
        {{ num }} desc nulls first, {{ col }} desc
    {%- else -%}
        {{ num }} asc nulls last, {{ col }} asc
    {%- endif -%}
{% endmacro %}
