{#
    Daily partitions (docs/CONTRACT.md §7.2): var('load_through'), an ISO date, limits a
    build to the landing files dated on or before that day.

    - A file's date is the first YYYY-MM-DD in its file name
      (sends/sends_2026-01-31.csv); a file without one (users.csv) belongs to
      every window.
    - Files of later days stay where they are for a later build: they are not
      loaded, and not taken for removed files either.
    - No lookback: loading is tracked per file (optout_loaded_files), so a
      late file of any age is loaded by the next build whose window reaches
      its date.
    - Pure Jinja (no SQL), so any adapter's landing macro can use it.
#}

{#
    The window's last day as 'YYYY-MM-DD', or none (no limit): var load_through
    (a plain `dbt build --vars`), else $OPTOUT_LOAD_THROUGH, which `optout build`
    and Dagster set (read when the build runs: a --vars value is part of dbt's
    parse state, docs/DECISIONS.md "One parse for every warehouse"). A
    malformed value fails the build.
#}
{% macro optout_load_through() %}
    {% set value = var('load_through', none) %}
    {% if value is none or (value | string | trim) == '' %}
        {% set value = env_var('OPTOUT_LOAD_THROUGH', '') %}
    {% endif %}
    {% if (value | string | trim) == '' %}{{ return(none) }}{% endif %}
    {# YAML reads an unquoted 2026-01-31 as a date: its string is the ISO form. #}
    {% set text = value | string | trim %}
    {% set match = modules.re.fullmatch('([0-9]{4})-([0-9]{2})-([0-9]{2})', text) %}
    {% set valid = false %}
    {% if match %}
        {% set year, month, day = match.group(1) | int, match.group(2) | int, match.group(3) | int %}
        {% set leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) %}
        {% set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] %}
        {% set valid = 1 <= month <= 12 and 1 <= day <= month_days[month - 1] %}
    {% endif %}
    {% if not valid %}
        {{ exceptions.raise_compiler_error(
            "load_through must be a calendar date as YYYY-MM-DD (the last landing day to load), got: "
            ~ value) }}
    {% endif %}
    {{ return(text) }}
{% endmacro %}

{# on-run-start: check the value before anything is read or written. #}
{% macro optout_check_load_window() %}
    {% if not execute %}{{ return('') }}{% endif %}
    {% do optout_load_through() %}
    {{ return('') }}
{% endmacro %}

{# The first YYYY-MM-DD in the file's name (not its folder), or none. #}
{% macro optout_file_date(file) %}
    {% set match = modules.re.search('[0-9]{4}-[0-9]{2}-[0-9]{2}', (file | string).split('/')[-1]) %}
    {{ return(match.group(0) if match else none) }}
{% endmacro %}

{# true when the file is to be loaded by a build through optout_load_through(). #}
{% macro optout_file_in_load_window(file) %}
    {% set through = optout_load_through() %}
    {% set day = optout_file_date(file) %}
    {{ return(through is none or day is none or day <= through) }}
{% endmacro %}
