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

{% macro spark__clean_text(expr) %}
    nullif(trim(both ' \t\r\n' from {{ expr }}), '')
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

{% macro spark__try_cast_bigint(expr) %}
    try_cast({{ expr }} as bigint)
{% endmacro %}

{% macro duckdb__try_cast_bigint(expr) %}
    try_cast({{ expr }} as bigint)
{% endmacro %}

{#
    A timestamp plus a number of days (negative: minus), to the microsecond.
    dbt-spark's dateadd goes through unix seconds and drops the fraction.
#}
{% macro add_days(days, timestamp_expr) %}
    {{ return(adapter.dispatch('add_days', 'optout')(days, timestamp_expr)) }}
{% endmacro %}

{% macro default__add_days(days, timestamp_expr) %}
    {{ dbt.dateadd('day', days, timestamp_expr) }}
{% endmacro %}

{% macro spark__add_days(days, timestamp_expr) %}
    timestampadd(day, {{ days }}, {{ timestamp_expr }})
{% endmacro %}

{# Whole seconds from a to b, counted as second boundaries crossed (DuckDB's date_diff). #}
{% macro seconds_between(a, b) %}
    {{ return(adapter.dispatch('seconds_between', 'optout')(a, b)) }}
{% endmacro %}

{% macro default__seconds_between(a, b) %}
    {{ dbt.datediff(a, b, 'second') }}
{% endmacro %}

{% macro spark__seconds_between(a, b) %}
    (unix_timestamp({{ b }}) - unix_timestamp({{ a }}))
{% endmacro %}
