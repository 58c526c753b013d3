{#
    on-run-start: one view per source, `landing.<source>`, over every *.csv
    and *.parquet file of its folder under var('raw_dir'), every column as
    text plus `source_file`.

    - Only the formats present are read (DuckDB cannot bind a glob that
      matches nothing); an empty folder gives an empty view; a 0-byte file
      holds no rows and is skipped.
    - Each CSV file's header is read first: a file that has no readable
      header (binary, not UTF-8) or lacks a required column of the source
      fails the build with a message naming the file. Files are read by
      header, so column order may differ between files; a missing optional
      column reads as null.
    - CSV rows that cannot be parsed (bad UTF-8, wrong number of fields) are
      not dropped: DuckDB's store_rejects keeps them, and the base model's
      post-hook `persist_landing_rejects` saves them for the quarantine.
    - Incremental loading: files are never edited in place, so a file
      already in base_messaging__<source> is not read again. The view holds
      only the files still to load (every file on --full-refresh or when the
      base table does not exist yet). A loaded file that disappeared fails
      the build, asking for --full-refresh.
#}
{% macro create_landing_views() %}
    {% if not execute %}{{ return('') }}{% endif %}
    {% set raw_dir = var('raw_dir') | string %}
    {% do landing_prepare(raw_dir) %}
    {% for source_name, spec in optout_sources().items() %}
        {% set folder = raw_dir ~ '/' ~ source_name %}
        {% set loaded = optout_loaded_files(source_name) %}
        {% set csv_files = landing_list_files(source_name, folder, 'csv') %}
        {% set parquet_files_all = landing_list_files(source_name, folder, 'parquet') %}
        {% set current = [] %}
        {% for file in csv_files + parquet_files_all %}
            {% do current.append(landing_file_name(source_name, file)) %}
        {% endfor %}
        {% set removed = loaded | reject('in', current) | list %}
        {% if removed %}
            {{ exceptions.raise_compiler_error(
                removed | length ~ " file(s) loaded by an earlier build are no longer in " ~ folder
                ~ " (first: " ~ removed[0].split('/')[-1] ~ "). Rebuild from the files present with "
                ~ "`optout build --full-refresh` (or `dbt build --full-refresh`).") }}
        {% endif %}
        {% set parts = [] %}

        {# CSV: group the files by header so each group is one reader. #}
        {% set groups = {} %}
        {% for file in csv_files if landing_file_name(source_name, file) not in loaded and optout_file_in_load_window(file) %}
            {% set header = landing_csv_header(file) %}
            {% if header is none %}
                {% if landing_file_size(file) > 0 %}
                    {{ exceptions.raise_compiler_error(
                        "landing file " ~ file ~ " is not a readable CSV file (no UTF-8 header row; binary?). "
                        ~ "Move it out of " ~ folder ~ " (or replace it with the correct file) and build again.") }}
                {% endif %}
            {% else %}
                {% set missing = [] %}
                {% for col in spec['required'] %}
                    {% if col not in header | map('lower') | list %}{% do missing.append(col) %}{% endif %}
                {% endfor %}
                {% if missing %}
                    {{ exceptions.raise_compiler_error(
                        "landing file " ~ file ~ " is not a " ~ source_name ~ " file: its header lacks "
                        ~ missing | join(', ') ~ " (expected " ~ spec['columns'] | join(',') ~ "). "
                        ~ "Fix its header or move it out of " ~ folder ~ ", then build again.") }}
                {% endif %}
                {% set key = header | join(',') %}
                {% if key not in groups %}{% do groups.update({key: {'header': header, 'files': []}}) %}{% endif %}
                {% do groups[key]['files'].append(file) %}
            {% endif %}
        {% endfor %}
        {% for group in groups.values() %}
            {% do parts.append(landing_csv_part(source_name, spec, loop.index, group['files'], group['header'])) %}
        {% endfor %}

        {# Parquet: each file's schema is checked, then all are read at once. #}
        {% set parquet_files = [] %}
        {% for file in parquet_files_all if landing_file_name(source_name, file) not in loaded and optout_file_in_load_window(file) %}
            {% do parquet_files.append(file) %}
        {% endfor %}
        {% if parquet_files | length > 0 %}
            {% set names = [] %}
            {% for file in parquet_files %}
                {% set file_columns = optout_column_names(landing_parquet_file_relation(file)) %}
                {% for col in spec['required'] %}
                    {% if col not in file_columns %}
                        {{ exceptions.raise_compiler_error(
                            "landing file " ~ file ~ " is not a " ~ source_name ~ " file: it has no column "
                            ~ col ~ ". Fix it or move it out of " ~ folder ~ ", then build again.") }}
                    {% endif %}
                {% endfor %}
                {% for lowered, name in file_columns.items() %}
                    {% if name not in names %}{% do names.append(name) %}{% endif %}
                {% endfor %}
            {% endfor %}
            {% do parts.append(landing_parquet_part(source_name, spec, parquet_files, names)) %}
        {% endif %}

        {% do landing_create_view(source_name, spec, parts) %}
    {% endfor %}
    {{ return('') }}
{% endmacro %}

{#
    The dialect-specific steps of create_landing_views. Each reader returns
    a select of the source's columns as text plus `source_file`; the Spark
    ones add `_corrupt_record` (see landing_spark.sql).
#}
{% macro landing_prepare(raw_dir) %}
    {{ return(adapter.dispatch('landing_prepare', 'optout')(raw_dir)) }}
{% endmacro %}

{% macro landing_list_files(source_name, folder, extension) %}
    {{ return(adapter.dispatch('landing_list_files', 'optout')(source_name, folder, extension)) }}
{% endmacro %}

{% macro landing_csv_header(file) %}
    {{ return(adapter.dispatch('landing_csv_header', 'optout')(file)) }}
{% endmacro %}

{% macro landing_file_size(file) %}
    {{ return(adapter.dispatch('landing_file_size', 'optout')(file)) }}
{% endmacro %}

{% macro landing_csv_part(source_name, spec, index, files, header) %}
    {{ return(adapter.dispatch('landing_csv_part', 'optout')(source_name, spec, index, files, header)) }}
{% endmacro %}

{% macro landing_parquet_file_relation(file) %}
    {{ return(adapter.dispatch('landing_parquet_file_relation', 'optout')(file)) }}
{% endmacro %}

{% macro landing_parquet_part(source_name, spec, files, names) %}
    {{ return(adapter.dispatch('landing_parquet_part', 'optout')(source_name, spec, files, names)) }}
{% endmacro %}

{% macro landing_create_view(source_name, spec, parts) %}
    {{ return(adapter.dispatch('landing_create_view', 'optout')(source_name, spec, parts)) }}
{% endmacro %}

{# DuckDB: views in the schema `landing`, read by read_csv / read_parquet. #}
{% macro duckdb__landing_prepare(raw_dir) %}
    {% do run_query('create schema if not exists landing') %}
{% endmacro %}

{% macro duckdb__landing_list_files(source_name, folder, extension) %}
    {{ return(optout_list_files(folder ~ '/*.' ~ extension)) }}
{% endmacro %}

{% macro duckdb__landing_csv_part(source_name, spec, index, files, header) %}
    {{ return(duckdb__landing_select(source_name, spec, header, duckdb__read_csv_call(files, header))) }}
{% endmacro %}

{% macro duckdb__landing_parquet_file_relation(file) %}
    {{ return('read_parquet(' ~ optout_sql_string(file) ~ ')') }}
{% endmacro %}

{% macro duckdb__landing_parquet_part(source_name, spec, files, names) %}
    {% set quoted = [] %}
    {% for f in files %}{% do quoted.append(optout_sql_string(f)) %}{% endfor %}
    {% set relation = 'read_parquet([' ~ quoted | join(', ') ~ '], union_by_name = true, filename = true)' %}
    {{ return(duckdb__landing_select(source_name, spec, names, relation)) }}
{% endmacro %}

{% macro duckdb__landing_create_view(source_name, spec, parts) %}
    {% if parts | length == 0 %}
        {% set parts = [landing_empty_select(spec)] %}
    {% endif %}
    {% do run_query('create or replace view landing.' ~ source_name ~ ' as ' ~ parts | join(' union all ')) %}
{% endmacro %}

{# A select of the source's columns and source_file that yields no rows. #}
{% macro landing_empty_select(spec, extra_columns=[]) %}
    {% set cols = [] %}
    {% for col in spec['columns'] + ['source_file'] + extra_columns %}
        {% do cols.append('cast(null as ' ~ dbt.type_string() ~ ') as ' ~ col) %}
    {% endfor %}
    {{ return('select ' ~ cols | join(', ') ~ ' where false') }}
{% endmacro %}

{# select the source's columns (as text) from a reader whose columns are `present`. #}
{% macro duckdb__landing_select(source_name, spec, present, relation) %}
    {{ return('select ' ~ landing_text_columns(spec, present, adapter.quote) ~ ', '
        ~ duckdb__landing_file_name(source_name, 'filename') ~ ' as source_file from ' ~ relation) }}
{% endmacro %}

{#
    The source's columns as text, from a reader whose columns are `present`
    (matched case-insensitively; a missing one is null). quote_name quotes a
    column name in the engine's syntax.
#}
{% macro landing_text_columns(spec, present, quote_name) %}
    {% set by_lower = {} %}
    {% for name in present %}{% do by_lower.update({name | lower: name}) %}{% endfor %}
    {% set cols = [] %}
    {% for col in spec['columns'] %}
        {% set value = quote_name(by_lower[col]) if col in by_lower else 'null' %}
        {% do cols.append('cast(' ~ value ~ ' as ' ~ dbt.type_string() ~ ') as ' ~ col) %}
    {% endfor %}
    {{ return(cols | join(', ')) }}
{% endmacro %}

{#
    `source_file` is the file's name within the landing zone, <source>/<file>,
    so a warehouse does not depend on where the landing zone is mounted.
#}
{% macro landing_file_name(source_name, file) %}
    {{ return(source_name ~ '/' ~ (file | string).split('/')[-1]) }}
{% endmacro %}

{% macro duckdb__landing_file_name(source_name, path_expr) %}
    {{ return(optout_sql_string(source_name ~ '/') ~ " || regexp_extract(cast(" ~ path_expr ~ " as varchar), '[^/]+$')") }}
{% endmacro %}

{# RFC 4180 CSV files sharing one header; every column as text; bad rows to the rejects tables. #}
{% macro duckdb__read_csv_call(files, header) %}
    {% set quoted = [] %}
    {% for f in files %}{% do quoted.append(optout_sql_string(f)) %}{% endfor %}
    {% set columns = [] %}
    {% for name in header %}{% do columns.append(optout_sql_string(name) ~ ": 'VARCHAR'") %}{% endfor %}
    {{ return("read_csv([" ~ quoted | join(', ') ~ "], header = true, auto_detect = false, columns = {"
        ~ columns | join(', ') ~ "}, delim = ',', quote = '\"', escape = '\"', encoding = 'utf-8', "
        ~ "filename = true, store_rejects = true)") }}
{% endmacro %}

{#
    The header row of a CSV file as a list of names, or none if it cannot be
    read. Read by the single-threaded reader: with preserve_insertion_order
    off, a parallel read may return any line first.
#}
{% macro duckdb__landing_csv_header(file) %}
    {% set result = run_query(
        "select line from read_csv(" ~ optout_sql_string(file) ~ ", header = false, "
        ~ "columns = {'line': 'VARCHAR'}, delim = e'\\x01', quote = '', escape = '', "
        ~ "auto_detect = false, ignore_errors = true, strict_mode = false, "
        ~ "parallel = false) limit 1") %}
    {{ return(landing_header_names(result.rows[0][0] if result.rows | length > 0 else none)) }}
{% endmacro %}

{#
    A CSV header line -> its column names, or none for no line or a line with
    control characters or undecodable bytes (a binary file, not CSV).
#}
{% macro landing_header_names(line) %}
    {% if line is none or modules.re.search('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]', line) %}
        {{ return(none) }}
    {% endif %}
    {% set names = [] %}
    {% for name in line.split(',') %}
        {% do names.append(name.strip().strip('"').strip()) %}
    {% endfor %}
    {{ return(names) }}
{% endmacro %}

{% macro duckdb__landing_file_size(file) %}
    {{ return(run_query('select size from read_blob(' ~ optout_sql_string(file) ~ ')').rows[0][0]) }}
{% endmacro %}

{#
    Post-hook of base_messaging__<source>: the CSV lines of that source that
    DuckDB could not parse during this run's scan (store_rejects) are added
    to staging.landing_rejects__<source>, kept in step with the incremental
    base model (rebuilt on a full refresh).
#}
{% macro persist_landing_rejects(source_name) %}
    {% if not execute %}{{ return('') }}{% endif %}
    {{ return(adapter.dispatch('persist_landing_rejects', 'optout')(source_name)) }}
{% endmacro %}

{% macro duckdb__persist_landing_rejects(source_name) %}
    {% set table = this.schema ~ '.landing_rejects__' ~ source_name %}
    {% set folder = var('raw_dir') | string ~ '/' ~ source_name ~ '/' %}
    {% set statements = [] %}
    {% if flags.FULL_REFRESH or not is_incremental() %}
        {% do statements.append('drop table if exists ' ~ table) %}
    {% endif %}
    {% do statements.append("create table if not exists " ~ table ~ " (
        source_file varchar, line_number bigint, raw_line varchar,
        error_type varchar, error_message varchar, _batch_id varchar)") %}
    {% set has_rejects = run_query(
        "select count(*) from duckdb_tables() where table_name = 'reject_errors' and temporary"
    ).rows[0][0] > 0 %}
    {% if has_rejects %}
        {# One row per file line: several scans may have rejected the same line. #}
        {% do statements.append("insert into " ~ table ~ "
            select
                " ~ duckdb__landing_file_name(source_name, 'scans.file_path') ~ ",
                errors.line,
                errors.csv_line,
                cast(errors.error_type as varchar),
                errors.error_message,
                '" ~ invocation_id ~ "'
            from reject_errors as errors
            inner join reject_scans as scans
                on errors.scan_id = scans.scan_id and errors.file_id = scans.file_id
            where starts_with(scans.file_path, " ~ optout_sql_string(folder) ~ ")
            qualify row_number() over (
                partition by scans.file_path, errors.line
                order by errors.error_type, errors.error_message
            ) = 1") %}
    {% endif %}
    {{ return(statements | join(';\n')) }}
{% endmacro %}

{#
    Files already loaded (rows in base_messaging__<source> or lines in its
    rejects table), or none on a full refresh / first build.
#}
{% macro optout_loaded_files(source_name) %}
    {% if flags.FULL_REFRESH %}{{ return([]) }}{% endif %}
    {% set base = adapter.get_relation(
        database=target.database, schema='staging', identifier='base_messaging__' ~ source_name) %}
    {% set rejects = adapter.get_relation(
        database=target.database, schema='staging', identifier='landing_rejects__' ~ source_name) %}
    {% if base is none or rejects is none %}{{ return([]) }}{% endif %}
    {% set result = run_query('select distinct source_file from ' ~ base
        ~ ' union select distinct source_file from ' ~ rejects) %}
    {{ return(result.columns[0].values() | list) }}
{% endmacro %}



{% macro optout_list_files(pattern) %}
    {% set result = run_query('select file from glob(' ~ optout_sql_string(pattern) ~ ') order by file') %}
    {{ return(result.columns[0].values() | list) }}
{% endmacro %}

{# Lower-cased, trimmed column name -> the name as it appears in the relation. #}
{% macro optout_column_names(relation) %}
    {% set result = run_query('select * from ' ~ relation ~ ' limit 0') %}
    {% set names = {} %}
    {% for name in result.column_names %}
        {% do names.update({name | trim | lower: name}) %}
    {% endfor %}
    {{ return(names) }}
{% endmacro %}

{% macro optout_sql_string(value) %}
    {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{% endmacro %}
