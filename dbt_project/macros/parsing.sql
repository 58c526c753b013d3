{#
    Text cleaning and ISO-8601 parsing shared by every base model. Dialect
    specifics sit behind adapter.dispatch so the models stay portable.
#}

{# Trimmed text, empty -> null. Trims tabs and line breaks as well as spaces. #}
{% macro clean_text(expr) %}
    {{ return(adapter.dispatch('clean_text', 'optout')(expr)) }}
{% endmacro %}

{% macro default__clean_text(expr) %}
    nullif(trim({{ expr }}), '')
{% endmacro %}

{% macro duckdb__clean_text(expr) %}
    nullif(trim({{ expr }}, e' \t\r\n'), '')
{% endmacro %}

{#
    An ISO-8601 timestamp -> UTC timestamp without time zone, or null if it
    does not parse. Accepted: a date, optionally `T`/space and HH:MM[:SS[.f]],
    optionally `Z` or an offset ±HH[[:]MM] between -14:00 and +14:00. No
    offset means UTC.
#}
{% macro iso_timestamp_pattern() %}
    {{- return('^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[Tt ]([0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.][0-9]+)?)?))?([Zz]|[+-](?:0[0-9]|1[0-4])(?::?[0-5][0-9])?)?$') -}}
{% endmacro %}

{% macro parse_utc_timestamp(expr) %}
    {{ return(adapter.dispatch('parse_utc_timestamp', 'optout')(expr)) }}
{% endmacro %}

{% macro duckdb__parse_utc_timestamp(expr) %}
    {%- set pattern = "'" ~ iso_timestamp_pattern() ~ "'" -%}
    case
        {#- Fast path for the common shape 2026-01-31T12:00:00Z: same result, one regex. #}
        when regexp_full_match({{ expr }}, '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z')
            then try_strptime({{ expr }}, '%Y-%m-%dT%H:%M:%SZ')
        when regexp_full_match({{ expr }}, {{ pattern }})
            then timezone('UTC', try_cast(
                regexp_extract({{ expr }}, {{ pattern }}, 1)
                || ' '
                || coalesce(nullif(regexp_extract({{ expr }}, {{ pattern }}, 2), ''), '00:00:00')
                || coalesce(nullif(upper(regexp_extract({{ expr }}, {{ pattern }}, 3)), 'Z'), '+00:00')
                as timestamptz
            ))
    end
{% endmacro %}

{# A literal timestamp (from a var) as a typed SQL expression. #}
{% macro timestamp_literal(value) %}
    cast({{ optout_sql_string(value) }} as {{ dbt.type_timestamp() }})
{% endmacro %}

{#
    A 64-bit hash of a row's values, to group identical rows cheaply. Used
    together with the primary key, so a collision would need two rows of the
    same key to collide.
#}
{% macro row_hash(columns) %}
    {{ return(adapter.dispatch('row_hash', 'optout')(columns)) }}
{% endmacro %}

{% macro default__row_hash(columns) %}
    xxhash64({{ columns | join(', ') }})
{% endmacro %}

{% macro duckdb__row_hash(columns) %}
    hash({{ columns | join(', ') }})
{% endmacro %}

{# Text -> bigint, or null when it is not an integer. #}
{% macro try_cast_bigint(expr) %}
    {{ return(adapter.dispatch('try_cast_bigint', 'optout')(expr)) }}
{% endmacro %}

{% macro default__try_cast_bigint(expr) %}
    {{ dbt.safe_cast(expr, api.Column.translate_type('bigint')) }}
{% endmacro %}

{% macro duckdb__try_cast_bigint(expr) %}
    try_cast({{ expr }} as bigint)
{% endmacro %}
