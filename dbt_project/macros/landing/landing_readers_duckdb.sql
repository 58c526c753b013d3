{#
    DuckDB versions of the landing-zone readers of create_landing_views.sql.
    The landing views live in the schema `landing` of the in-memory catalog
    (the profile's main database): they exist for one dbt invocation.
#}

{# A path as a DuckDB glob that matches exactly that path: [ * ? become classes. #}
{% macro duckdb__glob_literal(path) %}
    {{ return(modules.re.sub('([\\[*?])', '[\\1]', path | string)) }}
{% endmacro %}

{#
    The read_csv compression option for a file, never left to detection
    (which misreads paths holding a `?`).
#}
{% macro duckdb__compression_option(path) %}
    {{- return("compression = '" ~ ('gzip' if (path | string | lower).endswith('.gz') else 'none') ~ "'") -}}
{% endmacro %}

{# [(path, size)] of every file under raw_dir, sorted by path. #}
{% macro duckdb__landing_list_entries(raw_dir) %}
    {% set result = run_query("select filename, size from read_blob("
        ~ optout_sql_string(duckdb__glob_literal(raw_dir) ~ '/**') ~ ") order by filename") %}
    {% set entries = [] %}
    {% for row in result.rows %}{% do entries.append((row[0], row[1])) %}{% endfor %}
    {{ return(entries) }}
{% endmacro %}

{% macro duckdb__landing_prepare() %}
    {% do run_query('create schema if not exists memory.landing') %}
{% endmacro %}

{#
    {file: its first line, or none}, read by the single-threaded reader (a
    parallel read may return any line first), one query for all files.
#}
{% macro duckdb__landing_csv_headers(files) %}
    {% set headers = {} %}
    {% if files | length == 0 %}{{ return(headers) }}{% endif %}
    {% set selects = [] %}
    {% for file in files %}
        {% do selects.append("select " ~ loop.index ~ " as i, (select line from read_csv("
            ~ optout_sql_string(duckdb__glob_literal(file)) ~ ", " ~ duckdb__line_reader_options() ~ ", "
            ~ "ignore_errors = true, strict_mode = false, parallel = false, "
            ~ duckdb__compression_option(file) ~ ") limit 1) as line") %}
    {% endfor %}
    {% set result = run_query(selects | join(' union all ')) %}
    {% for row in result.rows %}{% do headers.update({files[row[0] - 1]: row[1]}) %}{% endfor %}
    {{ return(headers) }}
{% endmacro %}

{#
    read_csv options that give one column `line` per physical line. latin-1
    decodes any bytes, so counting lines this way sees the lines a UTF-8
    reader would drop.
#}
{% macro duckdb__line_reader_options(encoding='utf-8') %}
    {{- return("header = false, columns = {'line': 'VARCHAR'}, delim = e'\\x01', quote = '', "
        ~ "escape = '', auto_detect = false, encoding = '" ~ encoding ~ "'") -}}
{% endmacro %}

{#
    memory.landing.new_files__<source>: (source_file, path, format) of the
    files this build loads. The base model's post-hook counts their lines
    (in parallel with the other sources, not here) and holds the rows read
    against the counts (macros/staging/settle_landing_load.sql).
#}
{% macro duckdb__landing_count_rows(source_name, csv_entries, parquet_entries) %}
    {% set rows = ["(cast(null as varchar), cast(null as varchar), cast(null as varchar))"] %}
    {% for entry in csv_entries + parquet_entries %}
        {% do rows.append('(' ~ optout_sql_string(entry.source_file) ~ ', ' ~ optout_sql_string(entry.path)
            ~ ', ' ~ optout_sql_string(entry.format) ~ ')') %}
    {% endfor %}
    {% do run_query('create or replace table memory.landing.new_files__' ~ source_name
        ~ ' as select * from (values ' ~ rows | join(', ') ~ ') as files (source_file, path, format)'
        ~ ' where source_file is not null') %}
{% endmacro %}

{#
    Data lines per file, counted without the CSV parser: non-empty physical
    lines after the header, or a Parquet file's row count from its footer.
    encoding utf-8 is the fast count; it skips lines that are not UTF-8, so a
    file whose count does not add up is counted again as latin-1 (any bytes).
#}
{% macro duckdb__landing_line_counts(files, encoding='utf-8') %}
    {% set selects = ["select cast(null as varchar) as source_file, 'csv' as format, cast(0 as bigint) as data_lines where false"] %}
    {% for source_file, path, format in files %}
        {% if format == 'parquet' %}
            {% do selects.append("select " ~ optout_sql_string(source_file) ~ ", 'parquet', num_rows "
                ~ "from parquet_file_metadata(" ~ optout_sql_string(duckdb__glob_literal(path)) ~ ")") %}
        {% else %}
            {% do selects.append("select " ~ optout_sql_string(source_file) ~ ", 'csv', greatest(count(*) - 1, 0) "
                ~ "from read_csv(" ~ optout_sql_string(duckdb__glob_literal(path)) ~ ", "
                ~ duckdb__line_reader_options(encoding) ~ ", ignore_errors = true, strict_mode = false, "
                ~ duckdb__compression_option(path) ~ ") "
                ~ "where line not in ('', chr(13))") %}
        {% endif %}
    {% endfor %}
    {{ return(selects | join(' union all ')) }}
{% endmacro %}

{#
    One CSV file, RFC 4180, every column as text; lines that cannot be parsed
    go to DuckDB's rejects tables. The file's own reader, not one for many
    files: a multi-file read can lose rejected lines without a trace.
#}
{% macro duckdb__landing_csv_part(source_name, spec, entry, header) %}
    {% set columns = [] %}
    {% for name in header %}{% do columns.append(optout_sql_string(name) ~ ": 'VARCHAR'") %}{% endfor %}
    {% set relation = "read_csv(" ~ optout_sql_string(duckdb__glob_literal(entry.path))
        ~ ", header = true, auto_detect = false, columns = {" ~ columns | join(', ') ~ "}, "
        ~ "delim = ',', quote = '\"', escape = '\"', encoding = 'utf-8', "
        ~ duckdb__compression_option(entry.path) ~ ", "
        ~ "filename = '_optout_path', store_rejects = true)" %}
    {{ return('select ' ~ landing_text_columns(spec, header, adapter.quote) ~ ', '
        ~ optout_sql_string(entry.source_file) ~ ' as source_file from ' ~ relation) }}
{% endmacro %}

{% macro duckdb__landing_parquet_file_relation(file) %}
    {{ return('read_parquet(' ~ optout_sql_string(duckdb__glob_literal(file)) ~ ')') }}
{% endmacro %}

{% macro duckdb__landing_parquet_part(source_name, spec, files, names) %}
    {% set quoted = [] %}
    {% for f in files %}{% do quoted.append(optout_sql_string(duckdb__glob_literal(f))) %}{% endfor %}
    {% set relation = 'read_parquet([' ~ quoted | join(', ') ~ "], union_by_name = true, filename = '_optout_path')" %}
    {% set raw_dir = landing_raw_dir() %}
    {{ return('select ' ~ landing_text_columns(spec, names, adapter.quote) ~ ', '
        ~ 'substr(_optout_path, ' ~ (raw_dir | length + 2) ~ ') as source_file from ' ~ relation) }}
{% endmacro %}

{% macro duckdb__landing_create_view(source_name, spec, parts) %}
    {% if parts | length == 0 %}
        {% set parts = [landing_empty_select(spec)] %}
    {% endif %}
    {% do run_query('create or replace view memory.landing.' ~ source_name ~ ' as ' ~ parts | join(' union all ')) %}
{% endmacro %}

{% macro duckdb__landing_inventory_relation() %}
    {{ return('memory.landing.inventory') }}
{% endmacro %}

{# memory.landing.inventory: every file of the landing zone and what this build does with it. #}
{% macro duckdb__landing_record_inventory(inventory) %}
    {% set rows = [] %}
    {% for entry in inventory %}
        {% set values = [] %}
        {% for value in [entry.source_file, entry.source, entry.status, entry.reason] %}
            {% do values.append(optout_sql_literal(value)) %}
        {% endfor %}
        {% do rows.append('(' ~ values | join(', ') ~ ', ' ~ entry.size ~ ')') %}
    {% endfor %}
    {% do run_query('create or replace table memory.landing.inventory (source_file varchar, source_name varchar, '
        ~ 'status varchar, reason varchar, size_bytes bigint)') %}
    {% for chunk in rows | batch(500) %}
        {% do run_query('insert into memory.landing.inventory values ' ~ chunk | join(', ')) %}
    {% endfor %}
{% endmacro %}

{#
    Post-hook of base_messaging__<source>: the CSV lines DuckDB could not
    parse in this run's scans (store_rejects), one row per line, as landing
    rows of that file with `raw_line` and the reason.
#}
{% macro duckdb__landing_rejected_lines(source_name) %}
    {% set has_rejects = run_query(
        "select count(*) from duckdb_tables() where table_name = 'reject_errors' and temporary"
    ).rows[0][0] > 0 %}
    {% if not has_rejects %}{{ return(none) }}{% endif %}
    {% set raw_dir = landing_raw_dir() %}
    {# Several scans may have rejected the same line: one row per file line. #}
    {{ return("select
            substr(scans.file_path, " ~ (raw_dir | length + 2) ~ ") as source_file,
            errors.line as line_number,
            errors.csv_line as raw_line,
            'unreadable_row:' || lower(replace(cast(errors.error_type as varchar), ' ', '_'))
                || ' (line ' || cast(errors.line as varchar) || ': ' || errors.error_message || ')' as invalid_reason
        from reject_errors as errors
        inner join reject_scans as scans
            on errors.scan_id = scans.scan_id and errors.file_id = scans.file_id
        where starts_with(scans.file_path, " ~ optout_sql_string(raw_dir ~ '/' ~ source_name ~ '/') ~ ")
        qualify row_number() over (
            partition by scans.file_path, errors.line
            order by errors.error_type, errors.error_message
        ) = 1") }}
{% endmacro %}
