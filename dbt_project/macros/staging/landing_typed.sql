{#
    Body of base_messaging__<source>, one pass over the landing rows
    (docs/CONTRACT.md §2-3): the cleaned and typed values (<column>),
    `invalid_reason` (null when the row obeys the contract), `_status`
    (clean / invalid; the post-hook settles duplicates, conflicts and
    versions) and the raw text only where it is needed: for an invalid row
    every raw_<column>; for a valid row only the columns whose text is not
    what the typed value prints as (surrounding white space, upper case, a
    timestamp in another shape), so the quarantine can always show a row's
    text while clean rows store it once.

    `relation` is the landing view by default; the post-hook passes the
    line-by-line reader of a file whose lines did not all parse.
#}
{% macro landing_typed(source_name, relation=none) %}
    {%- set spec = optout_sources()[source_name] -%}
    {%- set relation = relation or source('landing', source_name) -%}
    with

    landing as (

        select * from {{ relation }}

    ),

    cleaned as (

        select
            {%- for col in spec['columns'] %}
            {{ col }} as raw_{{ col }},
            {%- if col in spec['enums'] %}
            case
                when {{ col }} in ({{ optout_sql_list(spec['enums'][col]) }}) then {{ col }}
                else lower({{ clean_text(col) }})
            end as {{ col }}_text,
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
                    when {{ col }}_text not in ({{ optout_sql_list(domain) }})
                        then 'invalid_value:{{ col }}'
                end,
                {%- endfor %}
                cast(null as {{ dbt.type_string() }})
            ), '') as invalid_reason

        from typed

    ),

    final as (

        select
            {%- for col in spec['columns'] %}
            {{ col }},
            {%- endfor %}
            {%- for col in spec['columns'] %}
            case
                when invalid_reason is not null
                    {%- if col in spec['timestamps'] %}
                    or not {{ is_canonical_timestamp('raw_' ~ col) }}
                    {%- else %}
                    or raw_{{ col }} is distinct from {{ col }}_text
                    {%- endif %}
                    then raw_{{ col }}
            end as raw_{{ col }},
            {%- endfor %}
            cast(null as {{ dbt.type_string() }}) as raw_line,
            source_file,
            invalid_reason,
            case when invalid_reason is null then 'clean' else 'invalid' end as _status,
            cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as _load_id

        from checked

    )

    select * from final
{% endmacro %}
