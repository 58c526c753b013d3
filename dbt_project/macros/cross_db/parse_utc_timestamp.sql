{#
    An ISO-8601 timestamp -> UTC timestamp without time zone, or null if it
    does not parse. Accepted: a date, optionally `T`/space and HH:MM[:SS[.f]],
    optionally `Z` or an offset ±HH[[:]MM] between -14:00 and +14:00. No
    offset means UTC.
#}
{% macro iso_timestamp_pattern() %}
    {{- return('^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[Tt ]([0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.][0-9]+)?)?))?([Zz]|[+-](?:(?:0[0-9]|1[0-3])(?::?[0-5][0-9])?|14(?::?00)?))?$') -}}
{% endmacro %}

{% macro parse_utc_timestamp(expr) %}
    {{ return(adapter.dispatch('parse_utc_timestamp', 'optout')(expr)) }}
{% endmacro %}

{% macro duckdb__parse_utc_timestamp(expr) %}
    {%- set pattern = "'" ~ iso_timestamp_pattern() ~ "'" -%}
    case
        {#- Fast path for the common shape 2026-01-31T12:00:00Z: same result, one regex. #}
        when {{ is_canonical_timestamp(expr) }}
            then {{ strptime_canonical(expr) }}
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

{#
    Spark: the offset is rewritten as ±HH:MM, the text read as an instant in
    UTC (the session time zone) and kept as a timestamp without time zone.
    An impossible date casts to null (dbt-spark turns ANSI mode off).
#}
{% macro spark__parse_utc_timestamp(expr) %}
    {%- set pattern = "'" ~ iso_timestamp_pattern() ~ "'" -%}
    {%- set offset = "upper(regexp_extract(" ~ expr ~ ", " ~ pattern ~ ", 3))" -%}
    {%- set time = "regexp_extract(" ~ expr ~ ", " ~ pattern ~ ", 2)" -%}
    case
        when {{ expr }} rlike {{ pattern }}
            then cast(cast(
                regexp_extract({{ expr }}, {{ pattern }}, 1)
                || ' '
                {#- HH:MM gets :00 (Spark needs seconds); fractions beyond microseconds are cut, as DuckDB does. #}
                || case length({{ time }})
                    when 0 then '00:00:00'
                    when 5 then {{ time }} || ':00'
                    else regexp_replace({{ time }}, '([.][0-9]{6})[0-9]+$', '$1')
                end
                || case
                    when {{ offset }} in ('', 'Z') then '+00:00'
                    else substr({{ offset }}, 1, 3) || ':' || coalesce(nullif(substr(replace({{ offset }}, ':', ''), 4, 2), ''), '00')
                end
                as timestamp_ltz) as timestamp_ntz)
    end
{% endmacro %}

{#
    true when the text has the shape of the warehouse's own timestamps,
    2026-01-31T12:00:00Z: parsing it is one strptime (which rejects an
    impossible date), and its raw text need not be kept. LIKE, not a regex:
    it runs on every timestamp of every landing row.
#}
{% macro is_canonical_timestamp(expr) %}
    ({{ expr }} like '____-__-__T__:__:__Z')
{% endmacro %}

{# A timestamp in the canonical shape (is_canonical_timestamp) -> its value, or null if impossible. #}
{% macro strptime_canonical(expr) %}
    {{ return(adapter.dispatch('strptime_canonical', 'optout')(expr)) }}
{% endmacro %}

{% macro duckdb__strptime_canonical(expr) %}
    try_strptime({{ expr }}, '%Y-%m-%dT%H:%M:%SZ')
{% endmacro %}

{% macro spark__strptime_canonical(expr) %}
    to_timestamp_ntz({{ expr }}, "yyyy-MM-dd'T'HH:mm:ss'Z'")
{% endmacro %}
