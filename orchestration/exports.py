"""Exports of docs/CONTRACT.md §6, read from the marts through `orchestration.marts`.

`KINDS` is the one registry of export kinds: the CLI (`--kind` and its help), the Dagster
export assets (names, descriptions, mart dependencies) and the dashboard all read it, so a
new kind is one `ExportKind` entry here. The CLI and the Dagster assets both call
`write_export`, so the same range over the same marts gives the same bytes from either, and
from either engine (DuckDB or Spark): the queries use the SQL both share, and the
timestamps are formatted here, not in SQL.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from orchestration.config import Settings
from orchestration.marts import MartsSource, MartsUnavailable, as_marts_source, read_marts
from orchestration.ranges import RANGES, DateRange, UsageError, check_format, parse_choice

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ExportKind:
    name: str
    file_prefix: str
    query: str  # parameters: $start and $end dates (ranged kinds only); {channels}
    asset_name: str  # the Dagster asset that writes it
    title: str  # what a reader calls it (CLI help, asset and dashboard labels)
    description: str  # one sentence: which rows (docs/CONTRACT.md §6)
    empty: str  # why a file of this kind can have no rows ({scope}: the range)
    integer_columns: tuple[str, ...] = ()
    # CSV: text as TIMESTAMP_FORMAT (UTC); Parquet: timestamp (UTC), to the second as well.
    timestamp_columns: tuple[str, ...] = ()
    ranged: bool = True

    @property
    def marts(self) -> tuple[str, ...]:
        """The marts its query reads (the Dagster asset's and the dbt exposure's
        dependencies), from the query itself so the two cannot drift apart."""
        return tuple(sorted(set(re.findall(r"\bmarts\.(\w+)", self.query))))


USERS = ExportKind(
    name="users",
    file_prefix="optout_users",
    asset_name="optout_users_export",
    title="Opted-out users",
    description="one row per user with an opt-out in the range, sorted by user_id",
    empty="no opt-outs dated {scope}",
    integer_columns=("optout_count",),
    timestamp_columns=("first_opted_out_at", "last_opted_out_at"),
    query="""
        with optouts as (
            select * from marts.fct_optouts
            where opted_out_date between $start and $end
        ),
        per_user as (
            select
                user_id,
                {channels} as channels,
                count(*) as optout_count,
                min(opted_out_at) as first_opted_out_at,
                max(opted_out_at) as last_opted_out_at
            from optouts
            group by user_id
        )
        select
            per_user.user_id,
            users.external_id,
            users.email,
            users.phone,
            users.first_name,
            users.last_name,
            users.team_code,
            per_user.channels,
            per_user.optout_count,
            per_user.first_opted_out_at,
            per_user.last_opted_out_at
        from per_user
        left join marts.dim_users as users on per_user.user_id = users.user_id
        order by try_cast(per_user.user_id as bigint) nulls last, per_user.user_id
    """,
)

STATUS_CHANGES = ExportKind(
    name="status_changes",
    file_prefix="optout_status_changes",
    asset_name="optout_changes_export",
    title="Opt-out status changes",
    description="every opt-out and opt-in back (imports excluded) in the range",
    empty="no status changes dated {scope}",
    timestamp_columns=("status_time",),
    query="""
        select
            users.first_name,
            users.last_name,
            changes.user_id,
            users.external_id,
            users.team_code,
            users.phone,
            changes.channel,
            case changes.status when 'opted_out' then 'Opted Out' else 'Opted In' end as status,
            changes.changed_at as status_time
        from marts.fct_status_changes as changes
        left join marts.dim_users as users on changes.user_id = users.user_id
        where changes.changed_date between $start and $end
        order by
            changes.changed_at,
            try_cast(changes.user_id as bigint) nulls last, changes.user_id,
            changes.channel,
            try_cast(changes.change_id as bigint) nulls last, changes.change_id
    """,
)

SUPPRESSION = ExportKind(
    name="suppression",
    file_prefix="optout_suppression",
    asset_name="optout_suppression_export",
    title="Suppression list",
    description="the users currently opted out, per channel (the current state: no range)",
    empty="nobody is opted out",
    ranged=False,
    timestamp_columns=("opted_out_at",),
    query="""
        select
            consent.user_id,
            users.external_id,
            users.email,
            users.phone,
            users.first_name,
            users.last_name,
            users.team_code,
            consent.channel,
            consent.status_since as opted_out_at,
            consent.status_since_source as source
        from marts.dim_consent_current as consent
        left join marts.dim_users as users on consent.user_id = users.user_id
        where consent.is_suppressed
        order by try_cast(consent.user_id as bigint) nulls last, consent.user_id, consent.channel
    """,
)

KINDS = {kind.name: kind for kind in (USERS, STATUS_CHANGES, SUPPRESSION)}


def scope_label(date_range: DateRange | None) -> str:
    return f"{date_range.start} .. {date_range.end}" if date_range else "current state"


def empty_reason(kind: ExportKind, date_range: DateRange | None) -> str:
    """Why an export has no rows, for the note that says so (the file is written anyway:
    an empty range is an answer, not an error)."""
    return kind.empty.format(scope=scope_label(date_range)) + "; the file has the header only"


class ExportError(RuntimeError):
    """The export could not be written; nothing was written."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    row_count: int
    date_range: DateRange | None
    fmt: str
    sha256: str


def query_export(
    where: MartsSource | Settings | Path, kind: ExportKind, date_range: DateRange | None
):
    """(column names, rows) of an export; timestamps as naive UTC datetimes, truncated to
    the second (what both file formats hold)."""
    source = as_marts_source(where)
    params = {"start": date_range.start, "end": date_range.end} if kind.ranged else {}
    sql = kind.query.replace("{channels}", source.sorted_distinct_join("channel", "|"))
    try:
        columns, rows = read_marts(source, sql, params)
    except MartsUnavailable as exc:
        raise ExportError(str(exc)) from None
    positions = [columns.index(name) for name in kind.timestamp_columns]
    return columns, [_to_seconds(row, positions) for row in rows]


def _to_seconds(row: tuple, positions: list[int]) -> tuple:
    values = list(row)
    for i in positions:
        if values[i] is not None:
            values[i] = values[i].replace(microsecond=0, tzinfo=None)
    return tuple(values)


# A spreadsheet runs a cell starting with one of these as a formula. Numbers
# and phone numbers (+905551234567, -12.5) are left alone.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_LIKE = re.compile(r"^[+-]?[0-9][0-9 ().-]*$")


def neutralize_formula(value: object) -> object:
    """Prefix a text cell a spreadsheet would evaluate with a quote (OWASP CSV injection)."""
    if (
        isinstance(value, str)
        and value.startswith(_FORMULA_START)
        and not _NUMBER_LIKE.match(value)
    ):
        return "'" + value
    return value


def csv_rows(columns: list[str], rows: list[tuple], kind: ExportKind) -> list[tuple]:
    """The rows as the CSV file holds them: timestamps as TIMESTAMP_FORMAT text (UTC),
    empty values as None (the CLI's file and the dashboard's table)."""
    stamps = {columns.index(name) for name in kind.timestamp_columns}
    return [
        tuple(
            v.strftime(TIMESTAMP_FORMAT) if i in stamps and v is not None else v
            for i, v in enumerate(row)
        )
        for row in rows
    ]


def render_csv(
    columns: list[str], rows: list[tuple], kind: ExportKind, escape_formulas: bool = False
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in csv_rows(columns, rows, kind):
        cells = ["" if v is None else v for v in row]
        if escape_formulas:
            cells = [neutralize_formula(v) for v in cells]
        writer.writerow(cells)
    return buffer.getvalue().encode("utf-8")


def render_parquet(columns: list[str], rows: list[tuple], kind: ExportKind) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def arrow_type(name: str) -> pa.DataType:
        if name in kind.integer_columns:
            return pa.int64()
        if name in kind.timestamp_columns:
            return pa.timestamp("us", tz="UTC")  # naive values are UTC wall clock
        return pa.string()

    arrays = [
        pa.array([row[i] for row in rows], type=arrow_type(name)) for i, name in enumerate(columns)
    ]
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, names=columns), buffer, compression="zstd")
    return buffer.getvalue()


def atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write all of `data` to `path` or leave nothing: temp file, fsync, rename.

    The file gets `mode` (default: readable and writable by its owner only).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def export_path(
    settings: Settings,
    kind: ExportKind,
    date_range: DateRange | None,
    fmt: str,
    output: str | None = None,
) -> Path:
    """The file to write: a name derived from kind and range, or `output`,
    which must be a plain file name inside the export folder."""
    if output is None:
        suffix = f"_{date_range.label}" if date_range is not None else ""
        return settings.export_dir / f"{kind.file_prefix}{suffix}.{fmt}"
    name = str(output)
    export_dir = settings.export_dir.resolve()
    path = (export_dir / name).resolve()
    if not name or "/" in name or "\\" in name or name.startswith(".") or path.parent != export_dir:
        raise UsageError(
            f"--output must be a plain file name inside the export folder {export_dir}, "
            f"got {name!r}"
        )
    return path


def write_export(
    settings: Settings,
    kind_name: str,
    date_range: DateRange | None,
    fmt: str = "csv",
    *,
    output: str | None = None,
    escape_formulas: bool = False,
    marts: MartsSource | Path | None = None,
) -> ExportResult:
    """Query the marts and write one export file atomically.

    `date_range` is required for ranged kinds and must be None for the
    suppression list, which is the current state. The marts are those of
    `settings` unless `marts` says otherwise.
    """
    fmt = check_format(fmt)
    kind = export_kind(kind_name)
    if kind.ranged and date_range is None:
        raise UsageError(f"--kind {kind.name} needs --range ({' | '.join(RANGES)})")
    if not kind.ranged and date_range is not None:
        raise UsageError(f"--kind {kind.name} is the current state; leave out --range")
    path = export_path(settings, kind, date_range, fmt, output)
    columns, rows = query_export(settings if marts is None else marts, kind, date_range)
    if fmt == "csv":
        data = render_csv(columns, rows, kind, escape_formulas=escape_formulas)
    else:
        data = render_parquet(columns, rows, kind)
    atomic_write(path, data, settings.export_file_mode)
    return ExportResult(
        path=path,
        row_count=len(rows),
        date_range=date_range,
        fmt=fmt,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def export_kind(kind_name: str) -> ExportKind:
    return KINDS[parse_choice(kind_name, tuple(KINDS), "--kind")]
