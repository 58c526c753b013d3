{#
    Post-hook of base_messaging__<source>. It runs inside the model's
    transaction, so a load of new files is all or nothing: a build killed at
    any point leaves either the whole load or none of it, and the next build
    catches up (docs/OPERATIONS.md "Incremental builds").

    1. The CSV lines DuckDB could not parse become rows of the file with
       `raw_line` and reason unreadable_row:<error> (_status `unreadable`).
    2. Every line is accounted for: per new file, the rows read plus the
       lines rejected must equal the file's data lines counted without any
       CSV parsing (duckdb__landing_line_counts; line breaks inside quoted
       fields allowed for). A file that fails, or where one rejected "line"
       swallowed the lines after it (an unterminated quote), is read again
       line by line: each line parses on its own or is quarantined with its
       text. The counts land in staging.landing_files__<source>, the
       reconciliation's independent `raw_rows`.
    3. Keys the load repeats (within itself, or keys loaded before) are
       settled from all their rows (docs/CONTRACT.md §3): identical rows are
       copies, the one from the first file (by name) is kept and the others
       are `duplicate`; among distinct rows the winner is `clean` and the
       others are `version` (sources with latest_by: the greatest value
       wins) or `conflict` (otherwise: the row from the latest file wins).
       The result is what a build of every file at once gives.
#}
{% macro settle_landing_load(source_name) %}
    {% if not execute %}{{ return('') }}{% endif %}
    {{ return(adapter.dispatch('settle_landing_load', 'optout')(source_name)) }}
{% endmacro %}

{% macro duckdb__settle_landing_load(source_name) %}
    {% set spec = optout_sources()[source_name] %}
    {% set ledger = landing_files_relation(source_name) %}
    {% set load = optout_sql_string(invocation_id) %}
    {% if flags.FULL_REFRESH or not is_incremental() %}
        {% do run_query('drop table if exists ' ~ ledger) %}
    {% endif %}
    {% do run_query('create table if not exists ' ~ ledger ~ ' (source_file varchar, format varchar, '
        ~ 'data_lines bigint, line_breaks_in_fields bigint, raw_rows bigint, read_mode varchar, '
        ~ '_load_id varchar, loaded_at timestamp)') %}

    {# 1. Lines the CSV reader rejected. #}
    {% set rejected = duckdb__landing_rejected_lines(source_name) %}
    {% if rejected %}
        {% do run_query('insert into ' ~ this ~ ' by name select source_file, raw_line, invalid_reason, '
            ~ "'unreadable' as _status, " ~ load ~ ' as _load_id from (' ~ rejected ~ ')') %}
    {% endif %}

    {# 2. Every line accounted for, or the file read again line by line. #}
    {% set files = run_query('select source_file, path, format from memory.landing.new_files__' ~ source_name).rows %}
    {% do run_query('create or replace temp table optout_file_counts as ' ~ duckdb__landing_line_counts(files)) %}
    {% set counts = run_query(duckdb__landing_accounting_sql(source_name, load)) %}
    {% set short = [] %}
    {% for row in counts.rows if row[1] == 'csv' and row[3] + row[6] + row[4] != row[2] %}
        {% do short.append(row[0]) %}
    {% endfor %}
    {% set recount = [] %}
    {% for file in files if file[0] in short %}{% do recount.append(file) %}{% endfor %}
    {% if recount %}
        {% do run_query('delete from optout_file_counts where source_file in ('
            ~ optout_sql_list(recount | map(attribute=0) | list) ~ ')') %}
        {% do run_query('insert into optout_file_counts ' ~ duckdb__landing_line_counts(recount, 'latin-1')) %}
        {% set counts = run_query(duckdb__landing_accounting_sql(source_name, load)) %}
    {% endif %}
    {% set ledger_rows = [] %}
    {% for row in counts.rows %}
        {% set source_file, format, data_lines, records, rejected_lines, swallowed, breaks = row %}
        {% set mode = 'parquet' if format == 'parquet' else 'csv' %}
        {% if format == 'csv' and (swallowed or records + breaks + rejected_lines != data_lines) %}
            {% do duckdb__landing_reload_by_line(source_name, spec, source_file, load) %}
            {% set mode = 'line by line' %}
            {% set breaks = 0 %}
        {% endif %}
        {% do ledger_rows.append('(' ~ optout_sql_string(source_file) ~ ', ' ~ optout_sql_string(format) ~ ', '
            ~ data_lines ~ ', ' ~ breaks ~ ', ' ~ (data_lines - breaks) ~ ', ' ~ optout_sql_string(mode) ~ ', '
            ~ load ~ ', current_timestamp::timestamp)') %}
    {% endfor %}
    {% for chunk in ledger_rows | batch(500) %}
        {% do run_query('insert into ' ~ ledger ~ ' values ' ~ chunk | join(', ')) %}
    {% endfor %}

    {% do run_query('drop table optout_file_counts') %}

    {# 3. Duplicates, conflicts and versions of the keys this load touches. #}
    {% do run_query(duckdb__settle_keys_sql(source_name, spec, load)) %}
    {{ return('') }}
{% endmacro %}


{# staging.landing_files__<source>: one row per loaded file with its independent line count. #}
{% macro landing_files_relation(source_name) %}
    {{ return(this.database ~ '.' ~ this.schema ~ '.landing_files__' ~ source_name) }}
{% endmacro %}


{#
    Per file of this load: (source_file, format, data lines counted without
    parsing, rows read, lines rejected, whether a rejected entry spans
    several lines, line breaks inside the fields of the rows read).
#}
{% macro duckdb__landing_accounting_sql(source_name, load) %}
    {% set spec = optout_sources()[source_name] %}
    {% set text_fields = [] %}
    {% for col in spec['columns'] %}
        {% do text_fields.append("coalesce(raw_" ~ col ~ ", cast(" ~ col ~ " as varchar), '')") %}
    {% endfor %}
    {{ return("with
        counted as (select source_file, format, data_lines from optout_file_counts),
        loaded as (
            select
                source_file,
                count(*) filter (where _status <> 'unreadable') as records,
                coalesce(sum(len(list_filter(string_split(raw_line, chr(10)), lambda l: trim(l, chr(13)) <> '')))
                    filter (where _status = 'unreadable'), 0) as rejected_lines,
                coalesce(bool_or(contains(trim(raw_line, e'\\r\\n'), chr(10))) filter (where _status = 'unreadable'), false) as swallowed
            from " ~ this ~ "
            where _load_id = " ~ load ~ "
            group by source_file
        ),
        breaks as (
            select source_file, sum(len(" ~ text_fields | join(' || ') ~ ") - len(replace(" ~ text_fields | join(' || ')
                ~ ", chr(10), ''))) as line_breaks
            from " ~ this ~ "
            where _load_id = " ~ load ~ " and _status <> 'unreadable'
                and source_file in (
                    select counted.source_file from counted left join loaded using (source_file)
                    where counted.format = 'csv'
                        and coalesce(loaded.records, 0) + coalesce(loaded.rejected_lines, 0) <> counted.data_lines
                )
            group by source_file
        )
        select
            counted.source_file, counted.format, counted.data_lines,
            coalesce(loaded.records, 0), coalesce(loaded.rejected_lines, 0),
            coalesce(loaded.swallowed, false), coalesce(breaks.line_breaks, 0)
        from counted
        left join loaded using (source_file)
        left join breaks using (source_file)
        order by counted.source_file") }}
{% endmacro %}


{#
    Replace this load's rows of one CSV file with a line-by-line read: each
    physical line is a record of its own, parsed with the RFC 4180 field
    rules; a line that does not parse (an unterminated quote, a stray quote)
    or has the wrong number of fields is an unreadable row with its text.
#}
{% macro duckdb__landing_reload_by_line(source_name, spec, source_file, load) %}
    {% set raw_dir = landing_raw_dir() %}
    {% set path = raw_dir ~ '/' ~ source_file %}
    {% set header = landing_header_names(landing_csv_headers([path])[path]) %}
    {% set field = landing_csv_field_regex() %}
    {% do run_query('delete from ' ~ this ~ ' where _load_id = ' ~ load ~ ' and source_file = ' ~ optout_sql_string(source_file)) %}
    {% do run_query("create or replace temp table optout_reread as
        with lines as (
            select rtrim(line, chr(13)) as line, row_number() over () as line_number
            from read_csv(" ~ optout_sql_string(duckdb__glob_literal(path)) ~ ", " ~ duckdb__line_reader_options()
                ~ ", ignore_errors = true, strict_mode = false, parallel = false, "
                ~ duckdb__compression_option(path) ~ ")
        )
        select
            line,
            line_number,
            case when regexp_full_match(line, '(?:" ~ field ~ ")(?:,(?:" ~ field ~ "))*')
                then list_transform(
                    regexp_extract_all(line, '(?:^|,)(" ~ field ~ ")', 1),
                    lambda f: case when starts_with(f, '\"') then replace(f[2:-2], '\"\"', '\"') else f end)
            end as fields
        from lines
        where line_number > 1 and trim(line) <> ''") %}
    {% set read = run_query('select count(*) from optout_reread').rows[0][0] %}
    {% set expected = run_query('select data_lines from optout_file_counts'
        ~ ' where source_file = ' ~ optout_sql_string(source_file)).rows[0][0] %}
    {% if read < expected %}
        {# The UTF-8 line reader drops undecodable lines: better to stop than lose them. #}
        {{ exceptions.raise_compiler_error(
            "landing file " ~ path ~ " has lines the CSV reader could not parse (an unterminated quote?) "
            ~ "and " ~ (expected - read) ~ " line(s) that are not UTF-8; nothing was loaded from it. "
            ~ "Fix the file (or move it out of the landing zone) and build again.") }}
    {% endif %}
    {% set columns = [] %}
    {% for name in header %}
        {% do columns.append('fields[' ~ loop.index ~ '] as ' ~ adapter.quote(name)) %}
    {% endfor %}
    {% set parsed = "(select " ~ landing_text_columns(spec, header, adapter.quote) ~ ", "
        ~ optout_sql_string(source_file) ~ " as source_file from (select " ~ columns | join(', ')
        ~ " from optout_reread where len(fields) = " ~ header | length ~ ") as parsed)" %}
    {% do run_query('insert into ' ~ this ~ ' by name ' ~ landing_typed(source_name, parsed)) %}
    {% do run_query("insert into " ~ this ~ " by name
        select
            " ~ optout_sql_string(source_file) ~ " as source_file,
            line as raw_line,
            'unreadable_row:' || case when fields is null then 'malformed_quotes' else 'wrong_field_count' end
                || ' (line ' || line_number || ': read line by line; ' || coalesce(len(fields), 0)
                || ' of " ~ header | length ~ " fields)' as invalid_reason,
            'unreadable' as _status,
            " ~ load ~ " as _load_id
        from optout_reread
        where fields is null or len(fields) <> " ~ header | length) %}
    {% do run_query('drop table optout_reread') %}
{% endmacro %}


{#
    Settle the keys this load touches (see settle_landing_load): every row of
    such a key, old or new, gets its status again.
#}
{% macro duckdb__settle_keys_sql(source_name, spec, load) %}
    {% set pk = spec['primary_key'] %}
    {% set valid = "_status not in ('invalid', 'unreadable')" %}
    {{ return("update " ~ this ~ " as base
        set _status = settled._status
        from (
            with
            new_keys as (
                select " ~ pk ~ " as _key from " ~ this ~ " where _load_id = " ~ load ~ " and " ~ valid ~ "
            ),
            touched as (
                select _key from new_keys group by _key having count(*) > 1
                union
                select distinct old." ~ pk ~ " from " ~ this ~ " as old
                where old._load_id <> " ~ load ~ " and old." ~ valid ~ "
                    and old." ~ pk ~ " in (select _key from new_keys)
            ),
            pool as (
                select rowid as _row, *
                from " ~ this ~ "
                where " ~ valid ~ " and " ~ pk ~ " in (select _key from touched)
            ),
            " ~ settle_rank_sql(spec, 'pool', '_row') ~ "
            select _row, _status_settled as _status from ranked
        ) as settled
        where base.rowid = settled._row and base._status <> settled._status") }}
{% endmacro %}


{#
    The ranking of settle_landing_load step 3 over the valid rows of
    `relation` (CTEs `copies` and `ranked`; `ranked._status` is the row's
    status). `tie` orders identical rows of one file.
#}
{% macro settle_rank_sql(spec, relation, tie) %}
    {% set pk = spec['primary_key'] %}
    {{ return("copies as (
                select
                    *,
                    row_number() over (
                        partition by " ~ pk ~ ", " ~ row_hash(spec['columns']) ~ "
                        order by source_file, " ~ tie ~ "
                    ) as _copy_rank
                from " ~ relation ~ "
            ),
            ranked as (
                select
                    *,
                    case
                        when _copy_rank > 1 then 'duplicate'
                        when row_number() over (
                            partition by " ~ pk ~ ", _copy_rank = 1
                            order by "
                                ~ (spec['latest_by'] ~ ' desc nulls last, ' if spec.get('latest_by') else '')
                                ~ "source_file desc, " ~ spec['columns'] | join(' nulls first, ') ~ " nulls first
                        ) = 1 then 'clean'
                        else '" ~ ('version' if spec.get('latest_by') else 'conflict') ~ "'
                    end as _status_settled
                from copies
            )") }}
{% endmacro %}
