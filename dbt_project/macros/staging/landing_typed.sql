{#
    Body of base_messaging__<source>, one pass over the landing rows
    (docs/CONTRACT.md §2-3): the cleaned and typed values (<column>),
    `invalid_reason` (null when the row obeys the contract), `_status`
    (clean / invalid; the post-hook settles duplicates, conflicts and
    versions) and the raw text only where it is needed: for an invalid row
    every raw_<column>; for a valid row only the values that needed cleaning
    (surrounding white space, upper case, a timestamp in another shape), so
    the quarantine can always show a row's text while clean rows store it
    once.

    Most values need no cleaning, and checking that (`<column>_as_is`) is
    far cheaper than cleaning: only the others are trimmed, lower-cased or
    parsed the slow way.

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

    checked_as_is as (

        select
            *,
            {%- for col in spec['columns'] %}
            {%- if col in spec['enums'] %}
            {{ col }} in ({{ optout_sql_list(spec['enums'][col]) }}) as {{ col }}_as_is
            {%- elif col in spec['timestamps'] %}
            {{ is_canonical_timestamp(col) }} as {{ col }}_as_is
            {%- else %}
            {{ text_is_clean(col) }} as {{ col }}_as_is
            {%- endif %}
            {%- if not loop.last %},{% endif %}
            {%- endfor %}

        from landing

    ),

    cleaned as (

        select
            *,
            {%- for col in spec['columns'] %}
            case
                when {{ col }}_as_is then {{ col }}
                else {{ 'lower(' ~ clean_text(col) ~ ')' if col in spec['enums'] else clean_text(col) }}
            end as {{ col }}_text
            {%- if not loop.last %},{% endif %}
            {%- endfor %}

        from checked_as_is

    ),

    typed as (

        select
            *,
            {%- for col in spec['timestamps'] %}
            case
                when {{ col }}_as_is then {{ strptime_canonical(col) }}
                else {{ parse_utc_timestamp(col ~ '_text') }}
            end as {{ col }}_value
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
                case when {{ col }}_text is not null and {{ col }}_value is null then 'unparseable_timestamp:{{ col }}' end,
                case
                    when {{ col }}_value < {{ timestamp_literal(var('min_valid_timestamp')) }}
                        or {{ col }}_value > {{ timestamp_literal(var('max_valid_timestamp')) }}
                        then 'timestamp_out_of_range:{{ col }}'
                end,
                {%- endfor %}
                {%- for col, domain in spec['enums'].items() %}
                case
                    when not {{ col }}_as_is and {{ col }}_text not in ({{ optout_sql_list(domain) }})
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
            {{ col ~ '_value' if col in spec['timestamps'] else col ~ '_text' }} as {{ col }},
            {%- endfor %}
            {%- for col in spec['columns'] %}
            case
                when invalid_reason is not null or not {{ col }}_as_is then {{ col }}
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
