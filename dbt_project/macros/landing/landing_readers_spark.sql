{#
    Spark versions of the landing-zone readers of create_landing_views.sql
    (docs/DECISIONS.md "Spark", landing views).

    - The landing views are global temporary views (global_temp.<source>;
      the source `landing` points there on Spark): a permanent view cannot
      read files with options, and a build's hook, models and post-hooks use
      several sessions (method: thrift). They live as long as the Spark
      application: the dbt process (method: session) or the Thrift server,
      where each build replaces them and drops its helper views.
    - Paths are paths, not patterns: every path handed to a Spark file
      source is a Hadoop glob with \ { } [ ] * ? escaped.
    - The landing zone is listed with the binaryFile source (no content is
      read). Like every Spark file source it never lists names starting with
      `_` or `.`, so hidden files are not in the inventory (on DuckDB they
      are, as `not read`).
    - Each CSV file has its own reader (PERMISSIVE: a record whose field
      count differs from the header lands in `_corrupt_record`). Spark
      decodes bytes that are not UTF-8 as U+FFFD instead of rejecting the
      line: a row holding U+FFFD is rejected as invalid_encoding, as DuckDB
      rejects the line. Rejected rows stay out of the landing view; the
      base model's post-hook reads them only for files whose lines are not
      all accounted for (macros/staging/settle_landing_load_spark.sql).
#}

{# A path as a Hadoop glob that matches exactly that path. #}
{% macro spark__glob_literal(path) %}
    {{ return(modules.re.sub('([\\\\{}\\[\\]*?])', '\\\\\\1', path | string)) }}
{% endmacro %}

{# A file as a relation of a Spark file source, e.g. text.`/raw/sends/a.csv`. #}
{% macro spark__file_relation(format, path) %}
    {{ return(format ~ '.`' ~ spark__glob_literal(path) | replace('`', '``') ~ '`') }}
{% endmacro %}

{# A Spark string literal: backslash escapes (two quotes would be two adjacent literals). #}
{% macro spark__optout_sql_string(value) %}
    {{ return("'" ~ (value | string | replace('\\', '\\\\') | replace("'", "\\'")) ~ "'") }}
{% endmacro %}

{# A column name in backticks, backticks inside doubled. #}
{% macro spark__quote_name(name) %}
    {{- return('`' ~ name | replace('`', '``') ~ '`') -}}
{% endmacro %}

{# The name of a helper view of one landing file (global_temp.optout_<kind>_<hash>). #}
{% macro spark__landing_file_view(kind, path) %}
    {{ return('optout_' ~ kind ~ '_' ~ local_md5(path)[:16]) }}
{% endmacro %}

{#
    [(path, size)] of every file under raw_dir, sorted. Local paths come
    back as file:/…: the prefix is dropped so paths start with raw_dir.
#}
{% macro spark__landing_list_entries(raw_dir) %}
    {% set local = raw_dir.startswith('/') %}
    {% if not local and '://' not in raw_dir %}
        {{ exceptions.raise_compiler_error("var raw_dir must be an absolute path or a URI (s3a://…, gs://…, hdfs://…) "
            ~ "on Spark, got: " ~ raw_dir ~ " (`optout build` passes OPTOUT_RAW_DIR made absolute)") }}
    {% endif %}
    {% do run_query("create or replace temporary view optout_landing_listing using binaryFile options (path "
        ~ spark__optout_sql_string(spark__glob_literal(raw_dir)) ~ ", recursiveFileLookup 'true')") %}
    {% set result = run_query('select path, length from optout_landing_listing order by path') %}
    {% set entries = [] %}
    {% for row in result.rows %}
        {% set path = row[0][5:] if local and row[0].startswith('file:/') else row[0] %}
        {% do entries.append((path, row[1])) %}
    {% endfor %}
    {{ return(entries) }}
{% endmacro %}

{#
    Before anything is read: drop the helper views of earlier builds (the
    Thrift server outlives builds), then undo what a build that died
    half-way through a load left (spark__landing_recover).
#}
{% macro spark__landing_prepare() %}
    {% set views = run_query("show views in global_temp like 'optout_*'") %}
    {% for row in views.rows %}
        {% do run_query('drop view if exists global_temp.' ~ row[1]) %}
    {% endfor %}
    {% if not flags.FULL_REFRESH %}
        {% for source_name in optout_sources() %}
            {% do spark__landing_recover(source_name) %}
        {% endfor %}
    {% endif %}
{% endmacro %}

{#
    A Spark load is not one transaction: the base model appends the load's
    partition, then the post-hook adds rejected lines, settles statuses and
    finally records the files in the ledger (its commit point). A load
    whose id is not in the ledger died half-way: its partition is dropped
    (its files load again) and the settled keys are recomputed from the
    whole table (the table of repeated keys is dropped first, so a build
    dying here too leaves the same state). A base table without a ledger is
    dropped (the first load died).
#}
{% macro spark__landing_recover(source_name) %}
    {% set base = adapter.get_relation(database=none, schema='staging', identifier='base_messaging__' ~ source_name) %}
    {% if base is none %}{{ return('') }}{% endif %}
    {% set ledger = adapter.get_relation(database=none, schema='staging', identifier='landing_files__' ~ source_name) %}
    {% if ledger is none %}
        {% do spark__drop_if_cached('staging', 'landing_repeated__' ~ source_name) %}
        {% do adapter.drop_relation(base) %}  {# and from dbt's relation cache #}
        {{ return('') }}
    {% endif %}
    {% set committed = run_query('select distinct _load_id from ' ~ ledger).columns[0].values() | list %}
    {% set orphans = [] %}
    {% for row in run_query('show partitions ' ~ base).rows %}
        {% set load = row[0].split('=', 1)[1] %}
        {% if load not in committed %}{% do orphans.append(load) %}{% endif %}
    {% endfor %}
    {% if orphans %}
        {{ log("landing " ~ source_name ~ ": dropping " ~ orphans | length ~ " load(s) an interrupted build left unfinished", info=true) }}
        {% do spark__drop_if_cached('staging', 'landing_repeated__' ~ source_name) %}
        {% for load in orphans %}
            {% do run_query('alter table ' ~ base ~ ' drop if exists partition (_load_id = ' ~ spark__optout_sql_string(load) ~ ')') %}
        {% endfor %}
    {% endif %}
{% endmacro %}

{#
    {file: its first line, or none}. A scalar subquery with limit 1 reads a
    file's splits in order, so the first line comes back even when Spark
    splits a large file. Spark decodes as UTF-8 with U+FFFD for bad bytes,
    which landing_header_names refuses like undecodable input.
#}
{% macro spark__landing_csv_headers(files) %}
    {% set headers = {} %}
    {% for chunk in files | batch(100) %}
        {% set selects = [] %}
        {% for file in chunk %}
            {% do selects.append('(select value from ' ~ spark__file_relation('text', file) ~ ' limit 1) as h' ~ loop.index) %}
        {% endfor %}
        {% set row = run_query('select ' ~ selects | join(', ')).rows[0] %}
        {% for file in chunk %}{% do headers.update({file: row[loop.index0]}) %}{% endfor %}
    {% endfor %}
    {{ return(headers) }}
{% endmacro %}

{#
    global_temp.optout_file_counts__<source>: (source_file, format,
    data_lines) of the new files, counted without the CSV parser: non-empty
    lines after the header (the text source), or a Parquet file's rows. The
    counts are taken now and kept as literal rows, so the post-hook does not
    read the files again.
#}
{% macro spark__landing_count_rows(source_name, csv_entries, parquet_entries) %}
    {% set selects = [] %}
    {% for entry in csv_entries %}
        {% do selects.append("select " ~ spark__optout_sql_string(entry.source_file) ~ " as source_file, 'csv' as format, "
            ~ "greatest(count(*) - 1, 0) as data_lines from " ~ spark__file_relation('text', entry.path)
            ~ " where replace(value, char(13), '') <> ''") %}
    {% endfor %}
    {% for entry in parquet_entries %}
        {% do selects.append("select " ~ spark__optout_sql_string(entry.source_file) ~ ", 'parquet', count(*) from "
            ~ spark__file_relation('parquet', entry.path)) %}
    {% endfor %}
    {% set rows = [] %}
    {% for chunk in selects | batch(100) %}
        {% for row in run_query(chunk | join(' union all ')).rows %}
            {% do rows.append('(' ~ spark__optout_sql_string(row[0]) ~ ", '" ~ row[1] ~ "', " ~ row[2] ~ ')') %}
        {% endfor %}
    {% endfor %}
    {% do run_query('create or replace global temporary view optout_file_counts__' ~ source_name ~ ' as '
        ~ spark__values_select(rows, ['source_file string', 'format string', 'data_lines bigint'])) %}
{% endmacro %}

{# A select of literal rows ['(…)', …] with typed columns ['name type', …]; none is no row. #}
{% macro spark__values_select(rows, columns) %}
    {% set casts, names = [], [] %}
    {% for column in columns %}
        {% set name, type = column.split(' ') %}
        {% do names.append(name) %}
        {% do casts.append('cast(' ~ name ~ ' as ' ~ type ~ ') as ' ~ name) %}
    {% endfor %}
    {% if rows | length == 0 %}
        {% set nulls = [] %}
        {% for name in names %}{% do nulls.append('null') %}{% endfor %}
        {% set rows = ['(' ~ nulls | join(', ') ~ ')'] %}
        {{ return('select ' ~ casts | join(', ') ~ ' from values ' ~ rows[0] ~ ' as v(' ~ names | join(', ') ~ ') where false') }}
    {% endif %}
    {{ return('select ' ~ casts | join(', ') ~ ' from values ' ~ rows | join(', ') ~ ' as v(' ~ names | join(', ') ~ ')') }}
{% endmacro %}

{#
    One CSV file, RFC 4180, every column as text. Two views: the file's
    reader (its header's columns and _corrupt_record) and its rejected rows
    (global_temp.optout_rejects_<hash>: source_file, raw_line, reason). The
    part returned carries `_rejected` so the landing view keeps the others.
#}
{% macro spark__landing_csv_part(source_name, spec, entry, header) %}
    {% set reader = spark__landing_file_view('csv', entry.path) %}
    {% set columns, quoted = [], [] %}
    {% for name in header %}
        {% do columns.append(spark__quote_name(name) ~ ' string') %}
        {% do quoted.append(spark__quote_name(name)) %}
    {% endfor %}
    {% do run_query("create or replace global temporary view " ~ reader
        ~ " (" ~ columns | join(', ') ~ ", _corrupt_record string) using csv options ("
        ~ "path " ~ spark__optout_sql_string(spark__glob_literal(entry.path)) ~ ", header 'true', multiLine 'true', "
        ~ "sep ',', quote '\"', escape '\"', encoding 'UTF-8', mode 'PERMISSIVE', "
        ~ "columnNameOfCorruptRecord '_corrupt_record')") %}
    {% set source_file = spark__optout_sql_string(entry.source_file) %}
    {% set rejected = "case when _corrupt_record is not null then 'malformed_row' "
        ~ "when instr(concat_ws(',', " ~ quoted | join(', ') ~ "), '\\uFFFD') > 0 then 'invalid_encoding' end" %}
    {# Spark refuses a query that reads nothing but _corrupt_record from a CSV file: the columns are read too. #}
    {% do run_query("create or replace global temporary view " ~ spark__landing_file_view('rejects', entry.path) ~ " as "
        ~ "select source_file, raw_line, 'unreadable_row:' || rejected || ' (' || case rejected "
        ~ "when 'malformed_row' then 'the number of fields differs from the header' "
        ~ "else 'bytes that are not UTF-8' end || ')' as invalid_reason "
        ~ "from (select " ~ source_file ~ " as source_file, coalesce(_corrupt_record, concat_ws(',', "
        ~ quoted | join(', ') ~ ")) as raw_line, " ~ rejected ~ " as rejected from global_temp." ~ reader ~ ") "
        ~ "where rejected is not null") %}
    {{ return('select ' ~ landing_text_columns(spec, header, spark__quote_name) ~ ', ' ~ source_file
        ~ ' as source_file, ' ~ rejected ~ ' is not null as _rejected from global_temp.' ~ reader) }}
{% endmacro %}

{% macro spark__landing_parquet_file_relation(file) %}
    {{ return(spark__file_relation('parquet', file)) }}
{% endmacro %}

{# One reader per Parquet file, so each row's source_file is a literal (Spark's file names are URL-encoded). #}
{% macro spark__landing_parquet_part(source_name, spec, files, names) %}
    {% set raw_dir = landing_raw_dir() %}
    {% set parts = [] %}
    {% for file in files %}
        {% set present = optout_column_names(spark__file_relation('parquet', file)).values() | list %}
        {% do parts.append('select ' ~ landing_text_columns(spec, present, spark__quote_name) ~ ', '
            ~ spark__optout_sql_string(file[raw_dir | length + 1:]) ~ ' as source_file, false as _rejected from '
            ~ spark__file_relation('parquet', file)) %}
    {% endfor %}
    {{ return(parts | join(' union all ')) }}
{% endmacro %}

{# global_temp.<source>: the rows read, without the rejected ones. #}
{% macro spark__landing_create_view(source_name, spec, parts) %}
    {% if parts | length == 0 %}
        {% set parts = [landing_empty_select(spec) | replace(' where false', ', false as _rejected where false')] %}
    {% endif %}
    {% do run_query('create or replace global temporary view ' ~ source_name ~ ' as select '
        ~ (spec['columns'] + ['source_file']) | join(', ') ~ ' from (' ~ parts | join(' union all ')
        ~ ') as landing where not _rejected') %}
{% endmacro %}

{% macro spark__landing_inventory_relation() %}
    {{ return('global_temp.optout_inventory') }}
{% endmacro %}

{# global_temp.optout_inventory: every file of the landing zone and what this build does with it. #}
{% macro spark__landing_record_inventory(inventory) %}
    {% set rows = [] %}
    {% for entry in inventory %}
        {% set values = [] %}
        {% for value in [entry.source_file, entry.source, entry.status, entry.reason] %}
            {% do values.append('null' if value is none else spark__optout_sql_string(value)) %}
        {% endfor %}
        {% do rows.append('(' ~ values | join(', ') ~ ', ' ~ entry.size ~ ')') %}
    {% endfor %}
    {% do run_query('create or replace global temporary view optout_inventory as ' ~ spark__values_select(
        rows, ['source_file string', 'source_name string', 'status string', 'reason string', 'size_bytes bigint'])) %}
{% endmacro %}
