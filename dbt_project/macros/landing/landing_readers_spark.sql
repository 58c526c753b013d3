{#
    Spark versions of the landing-zone readers of landing.sql.

    - The landing views are global temporary views, `global_temp.<source>`
      (a permanent view cannot read files with options); they live as long
      as the Spark application of this dbt invocation, which is all a build
      needs. The source `landing` points there on Spark (_landing__sources.yml).
    - CSV groups are read with Spark's CSV reader in PERMISSIVE mode: a line
      whose field count differs from the header lands in `_corrupt_record`,
      and the base model's post-hook saves it for the quarantine, as DuckDB's
      store_rejects lines are. Spark decodes bad UTF-8 as U+FFFD instead of
      rejecting the line.
    - Files are listed with the binaryFile source (which reads no content
      unless asked); like every Spark file source it skips names starting
      with `_` or `.`.
#}

{% macro spark__landing_prepare(raw_dir) %}
    {% do run_query("create or replace temporary view optout_landing_files using binaryFile options (path "
        ~ optout_sql_string(raw_dir) ~ ", recursiveFileLookup 'true')") %}
{% endmacro %}

{# Paths as Spark gives them (file:/…/<source>/<name>.<extension>), sorted. #}
{% macro spark__landing_list_files(source_name, folder, extension) %}
    {% set result = run_query("select path from optout_landing_files where path rlike "
        ~ optout_sql_string('/' ~ source_name ~ '/[^/]+[.]' ~ extension ~ '$') ~ " order by path") %}
    {{ return(result.columns[0].values() | list) }}
{% endmacro %}

{% macro spark__landing_csv_header(file) %}
    {% set result = run_query('select value from text.`' ~ file ~ '` limit 1') %}
    {{ return(landing_header_names(result.rows[0][0] if result.rows | length > 0 else none)) }}
{% endmacro %}

{% macro spark__landing_file_size(file) %}
    {% set result = run_query('select length from binaryFile.`' ~ file ~ '`') %}
    {{ return(result.rows[0][0] if result.rows | length > 0 else 0) }}
{% endmacro %}

{# One Hadoop glob for a list of files of one folder: <folder>/{a.csv,b.csv}. #}
{% macro spark__files_glob(files) %}
    {% set folder = files[0].rsplit('/', 1)[0] %}
    {% set names = [] %}
    {% for file in files %}
        {% do names.append(modules.re.sub('([{}\\[\\]*?\\\\,])', '\\\\\\1', file.rsplit('/', 1)[1])) %}
    {% endfor %}
    {{ return(folder ~ '/{' ~ names | join(',') ~ '}') }}
{% endmacro %}

{% macro spark__landing_csv_part(source_name, spec, index, files, header) %}
    {% set view = 'global_temp.' ~ source_name ~ '__csv' ~ index %}
    {% set columns = [] %}
    {% for name in header %}{% do columns.append(spark__quote_name(name) ~ ' string') %}{% endfor %}
    {% do run_query("create or replace global temporary view " ~ source_name ~ '__csv' ~ index
        ~ " (" ~ columns | join(', ') ~ ", _corrupt_record string) using csv options ("
        ~ "path " ~ optout_sql_string(spark__files_glob(files)) ~ ", header 'true', multiLine 'true', "
        ~ "sep ',', quote '\"', escape '\"', encoding 'UTF-8', mode 'PERMISSIVE', "
        ~ "columnNameOfCorruptRecord '_corrupt_record')") %}
    {{ return(spark__landing_select(source_name, spec, header, view, '_corrupt_record')) }}
{% endmacro %}

{% macro spark__landing_parquet_file_relation(file) %}
    {{ return('parquet.`' ~ file ~ '`') }}
{% endmacro %}

{% macro spark__landing_parquet_part(source_name, spec, files, names) %}
    {% do run_query("create or replace global temporary view " ~ source_name ~ "__parquet using parquet "
        ~ "options (path " ~ optout_sql_string(spark__files_glob(files)) ~ ", mergeSchema 'true')") %}
    {{ return(spark__landing_select(
        source_name, spec, names, 'global_temp.' ~ source_name ~ '__parquet', 'cast(null as string)')) }}
{% endmacro %}

{% macro spark__landing_select(source_name, spec, present, relation, corrupt_record) %}
    {{ return('select ' ~ landing_text_columns(spec, present, spark__quote_name) ~ ", "
        ~ optout_sql_string(source_name ~ '/')
        ~ " || regexp_extract(input_file_name(), '[^/]+$', 0) as source_file, "
        ~ corrupt_record ~ " as _corrupt_record from " ~ relation) }}
{% endmacro %}

{# A column name in backticks, backticks inside doubled. #}
{% macro spark__quote_name(name) %}
    {{- return('`' ~ name | replace('`', '``') ~ '`') -}}
{% endmacro %}

{# global_temp.<source>: the readable rows; global_temp.<source>__rejects: the others. #}
{% macro spark__landing_create_view(source_name, spec, parts) %}
    {% if parts | length == 0 %}
        {% set parts = [landing_empty_select(spec, ['_corrupt_record'])] %}
    {% endif %}
    {% set rows = '(' ~ parts | join(' union all ') ~ ') as landing' %}
    {% do run_query('create or replace global temporary view ' ~ source_name ~ ' as select '
        ~ (spec['columns'] + ['source_file']) | join(', ') ~ ' from ' ~ rows ~ ' where _corrupt_record is null') %}
    {# Spark refuses a query that reads nothing but _corrupt_record from a CSV file: read the key too. #}
    {% do run_query('create or replace global temporary view ' ~ source_name ~ '__rejects as select '
        ~ 'source_file, coalesce(_corrupt_record, ' ~ spec['primary_key'] ~ ') as raw_line from ' ~ rows
        ~ ' where _corrupt_record is not null') %}
{% endmacro %}

{#
    Post-hook of base_messaging__<source> on Spark: the rejected lines of the
    files this run loaded (the landing view holds only those).
#}
{% macro spark__persist_landing_rejects(source_name) %}
    {% set table = this.schema ~ '.landing_rejects__' ~ source_name %}
    {% if flags.FULL_REFRESH or not is_incremental() %}
        {% do run_query('drop table if exists ' ~ table) %}
    {% endif %}
    {% do run_query('create table if not exists ' ~ table ~ ' (
        source_file string, line_number bigint, raw_line string,
        error_type string, error_message string, _batch_id string) using parquet') %}
    {% do run_query("insert into " ~ table ~ "
        select
            source_file,
            cast(null as bigint),
            raw_line,
            'malformed row',
            'the number of fields differs from the header',
            '" ~ invocation_id ~ "'
        from global_temp." ~ source_name ~ "__rejects") %}
    {{ return('') }}
{% endmacro %}
