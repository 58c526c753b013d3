{#
    Body of base_messaging__<source>: the landing rows with their raw text
    (raw_<column>, for the quarantine), the cleaned and typed values
    (<column>) and `invalid_reason`, null when the row obeys docs/CONTRACT.md §2.3-§2.6.
#}
{% macro landing_base(source_name) %}
    {%- set spec = optout_sources()[source_name] -%}
    with

    landing as (

        select * from {{ source('landing', source_name) }}

    ),

    cleaned as (

        select
            {%- for col in spec['columns'] %}
            {{ col }} as raw_{{ col }},
            {%- if col in spec['enums'] %}
            lower({{ clean_text(col) }}) as {{ col }}_text,
            {%- else %}
            {{ clean_text(col) }} as {{ col }}_text,
            {%- endif %}
            {%- endfor %}
            source_file

        from landing

    ),

    typed as (

        select
            *,
            {%- for col in spec['columns'] %}
            {%- if col in spec['timestamps'] %}
            {{ parse_utc_timestamp(col ~ '_text') }} as {{ col }}
            {%- else %}
            {{ col }}_text as {{ col }}
            {%- endif %}
            {%- if not loop.last %},{% endif %}
            {%- endfor %}

        from cleaned

    ),

    checked as (

        select
            *,
            nullif(concat_ws('; ',
                {%- for col in spec['required'] %}
                case when {{ col }}_text is null then 'missing_required:{{ col }}' end,
                {%- endfor %}
                {%- for col in spec['timestamps'] %}
                case when {{ col }}_text is not null and {{ col }} is null then 'unparseable_timestamp:{{ col }}' end,
                case
                    when {{ col }} < {{ timestamp_literal(var('min_valid_timestamp')) }}
                        or {{ col }} > {{ timestamp_literal(var('max_valid_timestamp')) }}
                        then 'timestamp_out_of_range:{{ col }}'
                end,
                {%- endfor %}
                {%- for col, domain in spec['enums'].items() %}
                case
                    when {{ col }}_text not in ('{{ domain | join("', '") }}')
                        then 'invalid_value:{{ col }}'
                end,
                {%- endfor %}
                cast(null as {{ dbt.type_string() }})
            ), '') as invalid_reason

        from typed

    )

    select
        {%- for col in spec['columns'] %}
        raw_{{ col }},
        {%- endfor %}
        {%- for col in spec['columns'] %}
        {{ col }},
        {%- endfor %}
        source_file,
        invalid_reason,
        -- The dbt invocation that loaded the row: downstream incremental models
        -- recompute only the keys it touched.
        cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as _batch_id

    from checked
{% endmacro %}


{#
    The valid rows of a base model, ranked for deduplication:
    - _copy_rank: 1 for the first of a set of rows with identical values
      (redelivered files); the others are duplicates.
    - _key_rank: among distinct rows sharing a primary key, 1 for the kept
      one. users: the latest updated_at wins (updates); other sources: a key
      with differing values is a conflict, the row from the latest file wins
      and the others are quarantined.
    With keys_of_this_batch, only the keys that rows loaded by this dbt
    invocation carry: an incremental model recomputes those keys from all
    their rows, which gives what a full rebuild gives. With
    only_repeated_keys, only the rows of keys that occur more than once (all
    a quarantine needs).
#}
{% macro ranked_valid_rows(source_name, keys_of_this_batch=false, only_repeated_keys=false) %}
    {%- set spec = optout_sources()[source_name] -%}
    {%- set pk = spec['primary_key'] -%}
    with

    -- Read three times below: computed once where the engine allows.
    valid as {{ cte_materialized() }} (

        select * from {{ ref('base_messaging__' ~ source_name) }}
        where invalid_reason is null
        {%- if keys_of_this_batch %}
            and {{ pk }} in ({{ batch_keys(source_name) }})
        {%- endif %}

    ),

    -- Most keys occur once. A hash aggregate finds the others, and only their
    -- rows are ranked: two window sorts over every row cost far more.
    repeated_keys as {{ cte_materialized() }} (

        select {{ pk }} as _repeated_key
        from valid
        group by {{ pk }}
        having count(*) > 1

    ),

    repeated as (

        select valid.*
        from valid
        inner join repeated_keys
            on valid.{{ pk }} = repeated_keys._repeated_key

    ),

    copies as (

        select
            *,
            row_number() over (
                partition by {{ pk }}, {{ row_hash(spec['columns']) }}
                order by source_file
            ) as _copy_rank

        from repeated

    ),

    distinct_rows as (

        select
            *,
            row_number() over (
                partition by {{ pk }}
                order by
                    {%- if source_name == 'users' %}
                    updated_at desc,
                    {%- endif %}
                    source_file desc,
                    {{ spec['columns'] | join(' nulls first, ') }} nulls first
            ) as _key_rank

        from copies
        where _copy_rank = 1

    )

    {%- if only_repeated_keys %}

    select * from distinct_rows
    {%- else %},

    singles as (

        select
            valid.*,
            cast(1 as {{ dbt.type_bigint() }}) as _copy_rank,
            cast(1 as {{ dbt.type_bigint() }}) as _key_rank

        from valid
        left join repeated_keys
            on valid.{{ pk }} = repeated_keys._repeated_key
        where repeated_keys._repeated_key is null

    )

    select * from singles
    union all
    select * from distinct_rows
    {%- endif %}
{% endmacro %}


{# The primary keys that rows loaded by this dbt invocation carry. #}
{% macro batch_keys(source_name) %}
    {%- set pk = optout_sources()[source_name]['primary_key'] -%}
    select distinct {{ pk }}
    from {{ ref('base_messaging__' ~ source_name) }}
    where _batch_id = '{{ invocation_id }}' and {{ pk }} is not null
{%- endmacro %}
