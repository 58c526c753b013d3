{#
    Spark version of settle_landing_load (settle_landing_load.sql), for
    Parquet tables, which can append and overwrite partitions but neither
    update nor delete rows (docs/DECISIONS.md "Spark: incremental staging by load
    partition").

    base_messaging__<source> is partitioned by `_load_id`: the model appends
    this load's partition (dbt_project.yml), and this post-hook:

    1. Accounts for every line: per new file, the rows read against the
       lines counted without the CSV parser. Only a file that falls short is
       read again for its rejected rows (its rejects view); when those do
       not make up the difference, or one swallowed the lines after it (an
       unterminated quote), the file is read line by line, as on DuckDB, and
       the load's partition is rewritten without its first reading.
    2. Settles duplicates, conflicts and versions in a side table,
       staging.landing_repeated__<source>: every valid row of every key that
       has more than one, with its status. Keys the load does not repeat
       keep their rows; keys it does are ranked again from all their rows.
       settled_base() reads base rows of other keys as inserted, and these.
    3. Records the load's files in the ledger, last: a load whose id is not
       there died half-way and the next build undoes it
       (spark__landing_recover).
#}
{% macro spark__settle_landing_load(source_name) %}
    {% set spec = optout_sources()[source_name] %}
    {% set ledger = this.schema ~ '.landing_files__' ~ source_name %}
    {% set repeated = spark__repeated_relation(this.schema, source_name) %}
    {% set load = spark__optout_sql_string(invocation_id) %}
    {% set scratch = this.schema ~ '.landing_scratch__' ~ source_name %}
    {% if flags.FULL_REFRESH or not is_incremental() %}
        {% do run_query('drop table if exists ' ~ ledger) %}
        {% do spark__drop_if_cached(this.schema, 'landing_repeated__' ~ source_name) %}
    {% endif %}
    {% do run_query('create table if not exists ' ~ ledger ~ ' (source_file string, format string, '
        ~ 'data_lines bigint, line_breaks_in_fields bigint, raw_rows bigint, read_mode string, '
        ~ '_load_id string, loaded_at timestamp_ntz) using parquet') %}
    {# Scratch tables a killed build left behind (dbt's relation cache lists them). #}
    {% for kind in ['rejects', 'reload', 'touched', 'repeated'] %}
        {% do spark__drop_if_cached(this.schema, 'landing_scratch__' ~ source_name ~ '_' ~ kind) %}
    {% endfor %}

    {# 1. Every line accounted for. #}
    {% set files = spark__landing_accounting(source_name, spec, load) %}
    {% set short = files | selectattr('short') | list %}
    {% if short %}
        {# Marks the files whose rejects do not make up the difference for a re-read. #}
        {% do spark__landing_read_rejects(source_name, spec, load, short, scratch ~ '_rejects') %}
    {% endif %}
    {% set reload = files | selectattr('reload') | list %}
    {% if reload %}
        {% do spark__landing_reload_by_line(source_name, spec, load, reload, scratch ~ '_reload') %}
    {% endif %}

    {# 2. Duplicates, conflicts and versions of the keys this load repeats. #}
    {% do spark__settle_keys(source_name, spec, load, repeated, scratch) %}

    {# 3. The ledger, last. #}
    {% set rows = [] %}
    {% for file in files %}
        {% set breaks = 0 if file.reload else file.breaks %}
        {% set mode = 'parquet' if file.format == 'parquet' else ('line by line' if file.reload else 'csv') %}
        {% do rows.append('(' ~ spark__optout_sql_string(file.source_file) ~ ", '" ~ file.format ~ "', "
            ~ file.data_lines ~ ', ' ~ breaks ~ ', ' ~ (file.data_lines - breaks) ~ ", '" ~ mode ~ "', " ~ load ~ ')') %}
    {% endfor %}
    {% for chunk in rows | batch(500) %}
        {% do run_query('insert into ' ~ ledger ~ ' select *, localtimestamp() from values ' ~ chunk | join(', ')
            ~ ' as v(source_file, format, data_lines, line_breaks_in_fields, raw_rows, read_mode, _load_id)') %}
    {% endfor %}
    {% if short %}{% do run_query('drop table ' ~ scratch ~ '_rejects') %}{% endif %}
    {% if reload %}{% do run_query('drop table ' ~ scratch ~ '_reload') %}{% endif %}
    {{ return('') }}
{% endmacro %}


{# staging.landing_repeated__<source>: the valid rows of repeated keys, with their settled status. #}
{% macro spark__repeated_relation(schema, source_name) %}
    {{ return(schema ~ '.landing_repeated__' ~ source_name) }}
{% endmacro %}


{#
    Drop a table dbt's relation cache knows, through the adapter so that the
    cache forgets it (spark__settle_keys reads it). The cache lists what
    existed when the build started: a cache hit instead of a `drop table if
    exists` (a Thrift round trip of about 0.3 s) for each scratch table.
#}
{% macro spark__drop_if_cached(schema, identifier) %}
    {% set relation = adapter.get_relation(database=none, schema=schema, identifier=identifier) %}
    {% if relation is not none %}{% do adapter.drop_relation(relation) %}{% endif %}
{% endmacro %}


{# The columns of base_messaging__<source> with `_status` taken from `status`, for selects. #}
{% macro spark__base_select(spec, status='_status', load_id=true) %}
    {% set columns = [] %}
    {% for col in base_columns(spec) if load_id or col != '_load_id' %}
        {% do columns.append(status ~ ' as _status' if col == '_status' else col) %}
    {% endfor %}
    {{ return(columns | join(', ')) }}
{% endmacro %}


{#
    Per new file of this load: {source_file, format, data_lines, records,
    breaks, short, reload}. `short`: rows read plus line breaks inside
    their fields fall short of the file's lines (some were rejected).
#}
{% macro spark__landing_accounting(source_name, spec, load) %}
    {% set counts = run_query("select counted.source_file, counted.format, counted.data_lines, coalesce(loaded.records, 0)
        from global_temp.optout_file_counts__" ~ source_name ~ " as counted
        left join (
            select source_file, count(*) as records from " ~ this ~ " where _load_id = " ~ load ~ " group by source_file
        ) as loaded on counted.source_file = loaded.source_file
        order by counted.source_file") %}
    {% set files = [] %}
    {% for row in counts.rows %}
        {% do files.append({'source_file': row[0], 'format': row[1], 'data_lines': row[2], 'records': row[3],
                            'breaks': 0, 'short': false, 'reload': false}) %}
    {% endfor %}
    {% set uneven = [] %}
    {% for file in files if file.format == 'csv' and file.records != file.data_lines %}
        {% do uneven.append(spark__optout_sql_string(file.source_file)) %}
    {% endfor %}
    {% if uneven %}
        {% set text_fields = [] %}
        {% for col in spec['columns'] %}
            {% do text_fields.append("coalesce(raw_" ~ col ~ ", cast(" ~ col ~ " as string), '')") %}
        {% endfor %}
        {% set text = 'concat(' ~ text_fields | join(', ') ~ ')' %}
        {% set breaks = {} %}
        {% for row in run_query("select source_file, sum(length(" ~ text ~ ") - length(replace(" ~ text ~ ", char(10), '')))
            from " ~ this ~ " where _load_id = " ~ load ~ " and source_file in (" ~ uneven | join(', ') ~ ")
            group by source_file").rows %}
            {% do breaks.update({row[0]: row[1]}) %}
        {% endfor %}
        {% for file in files if file.format == 'csv' and file.records != file.data_lines %}
            {% do file.update({'breaks': breaks.get(file.source_file, 0)}) %}
            {% set read = file.records + file.breaks %}
            {% do file.update({'short': read < file.data_lines, 'reload': read > file.data_lines}) %}
        {% endfor %}
    {% endif %}
    {{ return(files) }}
{% endmacro %}


{#
    The rejected rows of the files that fell short, kept in a scratch table.
    Where they make up the difference they become `unreadable` rows of the
    load; otherwise (or when one spans several lines: an unterminated quote
    swallowed the lines after it) the file is marked for a line-by-line read.
#}
{% macro spark__landing_read_rejects(source_name, spec, load, short, scratch) %}
    {% set raw_dir = landing_raw_dir() %}
    {% set selects = [] %}
    {% for file in short %}
        {% do selects.append('select * from global_temp.' ~ spark__landing_file_view('rejects', raw_dir ~ '/' ~ file.source_file)) %}
    {% endfor %}
    {% do run_query('create table ' ~ scratch ~ ' using parquet as ' ~ selects | join(' union all ')) %}
    {% set found = {} %}
    {% for row in run_query("select source_file,
            sum(size(filter(split(raw_line, char(10)), l -> replace(l, char(13), '') <> ''))),
            max(instr(regexp_replace(raw_line, '^[\\r\\n]+|[\\r\\n]+$', ''), char(10)) > 0)
        from " ~ scratch ~ " group by source_file").rows %}
        {% do found.update({row[0]: (row[1], row[2])}) %}
    {% endfor %}
    {% set accepted = [] %}
    {% for file in short %}
        {% set lines, swallowed = found.get(file.source_file, (0, false)) %}
        {% if swallowed or file.records + file.breaks + lines != file.data_lines %}
            {% do file.update({'reload': true}) %}
        {% else %}
            {% do accepted.append(spark__optout_sql_string(file.source_file)) %}
        {% endif %}
    {% endfor %}
    {% if accepted %}
        {% do run_query('insert into ' ~ this ~ ' partition (_load_id = ' ~ load ~ ') '
            ~ spark__unreadable_rows(spec, 'source_file, raw_line, invalid_reason', scratch
                ~ ' where source_file in (' ~ accepted | join(', ') ~ ')')) %}
    {% endif %}
{% endmacro %}


{# A select of base columns (without _load_id) for unreadable rows (source_file, raw_line, invalid_reason). #}
{% macro spark__unreadable_rows(spec, columns, relation) %}
    {% set values = [] %}
    {% for col in base_columns(spec) if col != '_load_id' %}
        {% if col in ['source_file', 'raw_line', 'invalid_reason'] %}
            {% do values.append(col) %}
        {% elif col == '_status' %}
            {% do values.append("'unreadable' as _status") %}
        {% else %}
            {% do values.append('cast(null as ' ~ ('timestamp_ntz' if col in spec['timestamps'] else 'string') ~ ') as ' ~ col) %}
        {% endif %}
    {% endfor %}
    {{ return('select ' ~ values | join(', ') ~ ' from (select ' ~ columns ~ ' from ' ~ relation ~ ') as unreadable') }}
{% endmacro %}


{#
    Rewrite this load's partition with the files in `reload` read line by
    line: each physical line is a record of its own, parsed with the RFC
    4180 field rules (the regular expression DuckDB's reader uses); a line
    that does not parse, has the wrong number of fields or holds bytes that
    are not UTF-8 is an unreadable row with its text. The partition is
    copied to a scratch table first (Spark cannot overwrite what it reads).
#}
{% macro spark__landing_reload_by_line(source_name, spec, load, reload, scratch) %}
    {% set raw_dir = landing_raw_dir() %}
    {% set names = [] %}
    {% for file in reload %}{% do names.append(spark__optout_sql_string(file.source_file)) %}{% endfor %}
    {% do run_query('create table ' ~ scratch ~ ' using parquet as select * from ' ~ this ~ ' where _load_id = '
        ~ load ~ ' and source_file not in (' ~ names | join(', ') ~ ')') %}
    {% set field = landing_csv_field_regex() %}
    {% for file in reload %}
        {% set path = raw_dir ~ '/' ~ file.source_file %}
        {% set header = landing_header_names(spark__landing_csv_headers([path])[path]) %}
        {% do run_query("create or replace temporary view optout_reread as
            with lines as (
                select value as line, monotonically_increasing_id() as position from " ~ spark__file_relation('text', path) ~ "
            ),
            numbered as (
                select line, row_number() over (order by position) as line_number from lines
            )
            select
                line,
                line_number,
                case when line rlike '^(?:" ~ field ~ ")(?:,(?:" ~ field ~ "))*$' and instr(line, '\\uFFFD') = 0
                    then transform(
                        regexp_extract_all(line, '(?:^|,)(" ~ field ~ ")', 1),
                        f -> case when startswith(f, '\"') then replace(substr(f, 2, length(f) - 2), '\"\"', '\"') else f end)
                end as fields
            from numbered
            where line_number > 1 and trim(line) <> ''") %}
        {% set read = run_query('select count(*) from optout_reread').rows[0][0] %}
        {% if read < file.data_lines %}
            {{ exceptions.raise_compiler_error(
                "landing file " ~ path ~ " has lines the CSV reader could not parse and " ~ (file.data_lines - read)
                ~ " line(s) the line reader lost; nothing was loaded from it. Fix the file (or move it out of "
                ~ "the landing zone) and build again.") }}
        {% endif %}
        {% set columns = [] %}
        {% for name in header %}
            {% do columns.append('fields[' ~ loop.index0 ~ '] as ' ~ spark__quote_name(name)) %}
        {% endfor %}
        {% set parsed = "(select " ~ landing_text_columns(spec, header, spark__quote_name) ~ ", "
            ~ spark__optout_sql_string(file.source_file) ~ " as source_file from (select " ~ columns | join(', ')
            ~ " from optout_reread where size(fields) = " ~ header | length ~ ") as parsed) as parsed_lines" %}
        {% do run_query('insert into ' ~ scratch ~ ' select * from (' ~ landing_typed(source_name, parsed) ~ ') as typed') %}
        {% do run_query("insert into " ~ scratch ~ " select *, " ~ load ~ " from (" ~ spark__unreadable_rows(spec,
            spark__optout_sql_string(file.source_file) ~ " as source_file, line as raw_line, 'unreadable_row:' || case "
            ~ "when instr(line, '\\uFFFD') > 0 then 'invalid_encoding' when fields is null then 'malformed_quotes' "
            ~ "else 'wrong_field_count' end || ' (line ' || line_number || ': read line by line; ' "
            ~ "|| coalesce(size(fields), 0) || ' of " ~ header | length ~ " fields)' as invalid_reason",
            "optout_reread where fields is null or size(fields) <> " ~ header | length) ~ ") as unreadable") %}
        {% do run_query('drop view optout_reread') %}
    {% endfor %}
    {% do run_query('insert overwrite table ' ~ this ~ ' partition (_load_id = ' ~ load ~ ') select '
        ~ spark__base_select(spec, load_id=false) ~ ' from ' ~ scratch) %}
{% endmacro %}


{#
    Settle the keys this load repeats (settle_landing_load step 3) into the
    table of repeated keys. Without that table (first load, full refresh,
    after a recovery) it is computed from every row: a hash aggregate finds
    the keys with more than one valid row, and only their rows are ranked.
#}
{% macro spark__settle_keys(source_name, spec, load, repeated, scratch) %}
    {% set pk = spec['primary_key'] %}
    {% set valid = "_status not in ('invalid', 'unreadable')" %}
    {% set raw_tie = [] %}
    {% for col in spec['columns'] %}{% do raw_tie.append('raw_' ~ col) %}{% endfor %}
    {% set exists = adapter.get_relation(database=none, schema=this.schema, identifier=repeated.split('.')[-1]) %}
    {% if exists is none %}
        {% set keys = 'select ' ~ pk ~ ' as _key from ' ~ this ~ ' where ' ~ valid ~ ' group by ' ~ pk ~ ' having count(*) > 1' %}
        {% do run_query('create table ' ~ repeated ~ ' using parquet as
            with pool as (
                select base.* from ' ~ this ~ ' as base left semi join (' ~ keys ~ ') as keys on base.' ~ pk ~ ' = keys._key
                where base.' ~ valid ~ '
            ),
            ' ~ settle_rank_sql(spec, 'pool', raw_tie | join(', ')) ~ '
            select ' ~ spark__base_select(spec, '_status_settled') ~ ' from ranked') %}
        {{ return('') }}
    {% endif %}
    {% do run_query('create table ' ~ scratch ~ '_touched using parquet as
        select ' ~ pk ~ ' as _key from ' ~ this ~ '
        where ' ~ valid ~ ' and ' ~ pk ~ ' in (select ' ~ pk ~ ' from ' ~ this ~ ' where _load_id = ' ~ load ~ ' and ' ~ valid ~ ')
        group by ' ~ pk ~ ' having count(*) > 1') %}
    {% if run_query('select count(*) from ' ~ scratch ~ '_touched').rows[0][0] > 0 %}
        {% do run_query('create table ' ~ scratch ~ '_repeated using parquet as
            with pool as (
                select base.* from ' ~ this ~ ' as base left semi join ' ~ scratch ~ '_touched as touched
                    on base.' ~ pk ~ ' = touched._key
                where base.' ~ valid ~ '
            ),
            ' ~ settle_rank_sql(spec, 'pool', raw_tie | join(', ')) ~ '
            select ' ~ spark__base_select(spec) ~ ' from ' ~ repeated ~ ' as kept
                left anti join ' ~ scratch ~ '_touched as touched on kept.' ~ pk ~ ' = touched._key
            union all
            select ' ~ spark__base_select(spec, '_status_settled') ~ ' from ranked') %}
        {% do run_query('insert overwrite table ' ~ repeated ~ ' select * from ' ~ scratch ~ '_repeated') %}
        {% do run_query('drop table ' ~ scratch ~ '_repeated') %}
    {% endif %}
    {% do run_query('drop table ' ~ scratch ~ '_touched') %}
{% endmacro %}
