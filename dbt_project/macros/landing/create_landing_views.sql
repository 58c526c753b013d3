{#
    on-run-start: one view per source, `landing.<source>`, over the landing
    files of its folder (var raw_dir, docs/CONTRACT.md §2) that no build has
    loaded yet, every column as text plus `source_file`.

    - The landing zone is listed once, recursively. Read: `*.csv`,
      `*.csv.gz` and `*.parquet` directly in a source folder, extensions in
      any case. Everything else (other extensions, files in sub-folders,
      folders that are not a source) is not read and is reported in
      landing.inventory (published as marts.fct_landing_files, printed by
      `optout build` and `optout status`).
    - A missing landing zone fails the build; so does one without a single
      data file, unless var allow_empty_landing is true (an unmounted or
      mistyped folder must not publish empty marts).
    - Paths are paths, not patterns: folder names may hold [ ] * ?.
    - Each new CSV file's header is read first: no readable header (binary,
      not UTF-8), a missing required column or a repeated column name fails
      the build naming the file. Files are read by header, so column order
      may differ; extra columns are ignored; a missing optional column is
      null.
    - CSV files are read one reader per file (DuckDB records rejected lines
      reliably only then), and their lines are counted separately: the base
      model's post-hook checks that every line was read or rejected and
      re-reads a file line by line when not (macros/staging/settle_landing_load.sql).
    - Incremental: a file already loaded is not read again (files are never
      edited in place). A loaded file that disappeared fails the build,
      asking for --full-refresh.
#}
{% macro create_landing_views() %}
    {% if not execute %}{{ return('') }}{% endif %}
    {% set raw_dir = landing_raw_dir() %}
    {% set entries = landing_list_entries(raw_dir) %}
    {% if entries is none %}
        {{ exceptions.raise_compiler_error(
            "landing zone " ~ raw_dir ~ " does not exist (is it mounted? is OPTOUT_RAW_DIR right?); "
            ~ "nothing was built and the published marts are unchanged") }}
    {% endif %}
    {% set sources = optout_sources() %}
    {% set inventory = landing_classify(raw_dir, entries, sources) %}
    {% set readable = inventory | selectattr('status', 'equalto', 'readable') | list %}
    {% if readable | length == 0 and not var('allow_empty_landing', false) %}
        {{ exceptions.raise_compiler_error(
            "landing zone " ~ raw_dir ~ " holds no data file (*.csv, *.csv.gz, *.parquet in "
            ~ sources | join('/, ') ~ "/): is it mounted, is OPTOUT_RAW_DIR right? Nothing was built "
            ~ "and the published marts are unchanged; build with --allow-empty to publish empty marts") }}
    {% endif %}
    {% do landing_prepare() %}
    {% for source_name, spec in sources.items() %}
        {% set folder = raw_dir ~ '/' ~ source_name %}
        {% set loaded = optout_loaded_files(source_name) %}
        {% set present = [] %}
        {% set new_csv = [] %}
        {% set new_parquet = [] %}
        {% for entry in readable if entry.source == source_name %}
            {% do present.append(entry.source_file) %}
            {% if entry.source_file in loaded %}
                {% do entry.update({'status': 'loaded'}) %}
            {% elif not optout_file_in_load_window(entry.path) %}
                {% do entry.update({'status': 'waiting', 'reason': 'dated after load_through ' ~ optout_load_through()}) %}
            {% elif entry.format == 'parquet' %}
                {% do new_parquet.append(entry) %}
            {% elif entry.size > 0 %}
                {% do new_csv.append(entry) %}
            {% else %}
                {% do entry.update({'status': 'empty', 'reason': 'a 0-byte file holds no rows'}) %}
            {% endif %}
        {% endfor %}
        {% set removed = loaded | reject('in', present) | list %}
        {% if removed %}
            {{ exceptions.raise_compiler_error(
                removed | length ~ " file(s) loaded by an earlier build are no longer in " ~ folder
                ~ " (first: " ~ removed[0].split('/')[-1] ~ "). Rebuild from the files present with "
                ~ "`optout build --full-refresh` (or `dbt build --full-refresh`).") }}
        {% endif %}
        {% set parts = [] %}
        {% set headers = landing_csv_headers(new_csv | map(attribute='path') | list) %}
        {% for entry in new_csv %}
            {% set header = landing_header_names(headers[entry.path]) %}
            {% do landing_check_header(entry.path, source_name, spec, header) %}
            {% do entry.update({'status': 'new'}) %}
            {% do parts.append(landing_csv_part(source_name, spec, entry, header)) %}
        {% endfor %}
        {% if new_parquet %}
            {% set names = [] %}
            {% for entry in new_parquet %}
                {% set file_columns = optout_column_names(landing_parquet_file_relation(entry.path)) %}
                {% for col in spec['required'] if col not in file_columns %}
                    {{ exceptions.raise_compiler_error(
                        "landing file " ~ entry.path ~ " is not a " ~ source_name ~ " file: it has no column "
                        ~ col ~ ". Fix it or move it out of " ~ folder ~ ", then build again.") }}
                {% endfor %}
                {% for lowered, name in file_columns.items() if name not in names %}
                    {% do names.append(name) %}
                {% endfor %}
                {% do entry.update({'status': 'new'}) %}
            {% endfor %}
            {% do parts.append(landing_parquet_part(source_name, spec, new_parquet | map(attribute='path') | list, names)) %}
        {% endif %}
        {% do landing_count_rows(source_name, new_csv, new_parquet) %}
        {% do landing_create_view(source_name, spec, parts) %}
    {% endfor %}
    {% do landing_record_inventory(inventory) %}
    {{ return('') }}
{% endmacro %}


{#
    Every file under the landing zone, classified: {path, source_file,
    source, format, size, status, reason}. status `readable` for a data file
    of a source folder, `unread` (with the reason) for anything else.
#}
{% macro landing_classify(raw_dir, entries, sources) %}
    {% set inventory = [] %}
    {% for path, size in entries %}
        {% set relative = path[raw_dir | length + 1:] %}
        {% set parts = relative.split('/') %}
        {% set name = parts[-1] %}
        {% set lowered = name | lower %}
        {% set format = 'parquet' if lowered.endswith('.parquet') else ('csv' if lowered.endswith('.csv') or lowered.endswith('.csv.gz') else none) %}
        {% set entry = {'path': path, 'source_file': relative, 'source': parts[0] if parts | length > 1 else none,
                        'format': format, 'size': size, 'status': 'unread', 'reason': none} %}
        {% if relative == '.optout-generate.json' %}
            {#- `optout generate`'s record of the files it wrote (RECORD_NAME in orchestration/generator/files.py): not input -#}
            {% do entry.update({'status': 'metadata', 'reason': 'optout generate\'s record of the files it wrote'}) %}
        {% elif parts | length == 1 %}
            {% do entry.update({'reason': 'not inside a source folder'}) %}
        {% elif parts[0] not in sources %}
            {% set hint = landing_close_source(parts[0], sources) %}
            {% do entry.update({'reason': 'folder ' ~ parts[0] ~ '/ is not a source' ~ (' (did you mean ' ~ hint ~ '/?)' if hint else '')}) %}
        {% elif parts | length > 2 %}
            {% do entry.update({'reason': 'in a sub-folder of ' ~ parts[0] ~ '/ (only files directly in it are read)'}) %}
        {% elif name.startswith('.') or name.startswith('_') %}
            {% do entry.update({'reason': 'hidden file (name starts with . or _)'}) %}
        {% elif format is none %}
            {% do entry.update({'reason': 'not a .csv, .csv.gz or .parquet file'}) %}
        {% else %}
            {% do entry.update({'status': 'readable'}) %}
        {% endif %}
        {% do inventory.append(entry) %}
    {% endfor %}
    {{ return(inventory) }}
{% endmacro %}


{# The source whose name differs from `name` only in case, `-` for `_` or a plural s, if any. #}
{% macro landing_close_source(name, sources) %}
    {% set key = (name | lower).replace('-', '_').replace(' ', '_').rstrip('s') %}
    {% for source in sources if source.rstrip('s') == key %}{{ return(source) }}{% endfor %}
    {{ return(none) }}
{% endmacro %}


{# A new CSV file's header must name the required columns, each column once. #}
{% macro landing_check_header(file, source_name, spec, header) %}
    {% set folder = file.rsplit('/', 1)[0] %}
    {% if header is none %}
        {{ exceptions.raise_compiler_error(
            "landing file " ~ file ~ " is not a readable CSV file (no UTF-8 header row; binary?). "
            ~ "Move it out of " ~ folder ~ " (or replace it with the correct file) and build again.") }}
    {% endif %}
    {% set lowered = header | map('lower') | list %}
    {% for name in lowered if name and lowered.count(name) > 1 %}
        {{ exceptions.raise_compiler_error(
            "landing file " ~ file ~ " names the column " ~ name ~ " " ~ lowered.count(name)
            ~ " times in its header; fix the header (each column once) or move the file out of "
            ~ folder ~ ", then build again.") }}
    {% endfor %}
    {% set missing = spec['required'] | reject('in', lowered) | list %}
    {% if missing %}
        {{ exceptions.raise_compiler_error(
            "landing file " ~ file ~ " is not a " ~ source_name ~ " file: its header lacks "
            ~ missing | join(', ') ~ " (expected " ~ spec['columns'] | join(',') ~ "). "
            ~ "Fix its header or move it out of " ~ folder ~ ", then build again.") }}
    {% endif %}
{% endmacro %}


{#
    One CSV field by the RFC 4180 rules, for the line-by-line readers: a
    quoted field (a doubled quote inside is a quote) or an unquoted one.
    Written as an unrolled loop: Spark's regex engine backtracks, and the
    nested `(?:[^"]+|"")*` took 2^n steps on an unterminated quote (a 30-byte
    field held a build for half a minute); a loop over single characters
    recurses per character there. DuckDB's RE2 reads it the same way.
#}
{% macro landing_csv_field_regex() %}
    {{ return('"[^"]*(?:""[^"]*)*"|[^,"]*') }}
{% endmacro %}


{#
    A CSV header line -> its column names (an empty name, e.g. from a trailing
    comma, becomes `_column<N>`, which no source has), or none for no line or
    a line with control characters or undecodable bytes (not a CSV file).
#}
{% macro landing_header_names(line) %}
    {% if line is none or modules.re.search('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]', line) %}
        {{ return(none) }}
    {% endif %}
    {% set names = [] %}
    {% for name in line.lstrip('\ufeff').rstrip('\r\n').split(',') %}
        {% set clean = name.strip().strip('"').strip() %}
        {% do names.append(clean if clean else '_column' ~ loop.index) %}
    {% endfor %}
    {{ return(names) }}
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


{# A select of the source's columns, source_file and `extra_columns` that yields no rows. #}
{% macro landing_empty_select(spec, extra_columns=[]) %}
    {% set cols = [] %}
    {% for col in spec['columns'] + ['source_file'] + extra_columns %}
        {% do cols.append('cast(null as ' ~ dbt.type_string() ~ ') as ' ~ col) %}
    {% endfor %}
    {{ return('select ' ~ cols | join(', ') ~ ' where false') }}
{% endmacro %}


{#
    The engine-specific steps of create_landing_views (landing_readers_duckdb.sql,
    landing_readers_spark.sql).
#}
{% macro landing_list_entries(raw_dir) %}
    {{ return(adapter.dispatch('landing_list_entries', 'optout')(raw_dir)) }}
{% endmacro %}

{% macro landing_prepare() %}
    {{ return(adapter.dispatch('landing_prepare', 'optout')()) }}
{% endmacro %}

{% macro landing_csv_headers(files) %}
    {{ return(adapter.dispatch('landing_csv_headers', 'optout')(files)) }}
{% endmacro %}

{% macro landing_count_rows(source_name, csv_entries, parquet_entries) %}
    {{ return(adapter.dispatch('landing_count_rows', 'optout')(source_name, csv_entries, parquet_entries)) }}
{% endmacro %}

{% macro landing_csv_part(source_name, spec, entry, header) %}
    {{ return(adapter.dispatch('landing_csv_part', 'optout')(source_name, spec, entry, header)) }}
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

{% macro landing_record_inventory(inventory) %}
    {{ return(adapter.dispatch('landing_record_inventory', 'optout')(inventory)) }}
{% endmacro %}

{#
    The table the hook fills with every file it found and what it does with
    it (source_file, source_name, status, reason, size_bytes); it lives as
    long as the dbt invocation (fct_landing_files publishes it).
#}
{% macro landing_inventory_relation() %}
    {{ return(adapter.dispatch('landing_inventory_relation', 'optout')()) }}
{% endmacro %}
