-- The instant that closes retention windows: var('as_of') if set, else the
-- latest clean event.
{%- set as_of = var('as_of') %}
{%- if as_of %}
    {%- if not modules.re.match(iso_timestamp_pattern(), as_of | string) %}
        {{ exceptions.raise_compiler_error("var as_of must be an ISO-8601 timestamp such as 2026-01-31T00:00:00Z, got: " ~ as_of) }}
    {%- endif %}
    select {{ parse_utc_timestamp(optout_sql_string(as_of)) }} as as_of
{%- else %}
    select max(occurred_at) as as_of from {{ ref('stg_messaging__events') }}
{%- endif %}
