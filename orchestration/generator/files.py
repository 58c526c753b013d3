"""Writing the landing zone: text formatting of ids, enums and timestamps, and the files
(one per source and UTC day, or one per source)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.generator.parameters import COLUMNS, DAY

if TYPE_CHECKING:
    from orchestration.generator.calendars import Window

# ==================================================================================================
# Text
# ==================================================================================================


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded ids (`u000042`); negative numbers become nulls (empty references)."""
    nums = pa.array(numbers, mask=numbers < 0)
    padded = pc.utf8_lpad(pc.cast(nums, pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, padded, "")


def labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Enum codes to their text; code -1 becomes null (an empty optional value)."""
    return pa.array(values, pa.string()).take(pa.array(codes, mask=codes < 0))


@functools.cache
def _time_of_day_strings() -> pa.Array:
    """'HH:MM:SSZ' for every second of a day: timestamps become prefix + lookup (fast)."""
    sec = np.arange(DAY)
    return pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in sec.tolist()])


def day_timestamps(date: dt.date, sec_of_day: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(
        f"{date.isoformat()}T", _time_of_day_strings().take(sec_of_day), ""
    )


def epoch_strings(epoch: np.ndarray) -> pa.Array:
    text = np.datetime_as_string(epoch.astype("datetime64[s]"), unit="s")
    return pc.binary_join_element_wise(pa.array(text), "Z", "")


# ==================================================================================================
# Files
# ==================================================================================================

CSV_OPTIONS = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
# What one run wrote (relative path, size, mtime): a later run with `force` removes exactly
# these files, and only while they are unchanged.
RECORD_NAME = ".optout-generate.json"


class GeneratorContractError(RuntimeError):
    """The generator does not produce the columns the landing contract lists."""


class OutDirNotEmpty(ValueError):
    """The output folder holds files and `force` was not given."""


def conform(table: pa.Table, source: str) -> pa.Table:
    """The table in the contract's column order; fails loudly when the contract lists a
    column the generator does not fill (or the other way round), instead of leaving it
    silently empty."""
    expected = COLUMNS[source]
    missing = [c for c in expected if c not in table.column_names]
    extra = [c for c in table.column_names if c not in expected]
    if missing or extra:
        raise GeneratorContractError(
            f"the landing contract of {source} (dbt_project.yml vars.landing_sources) "
            f"lists {', '.join(missing) or 'no column'} that the generator does not write"
            + (f", and not {', '.join(extra)} that it writes" if extra else "")
            + "; make orchestration/generator fill the same columns"
        )
    return table.select(list(expected))


class Written:
    """The files a run writes under `out`, recorded in RECORD_NAME when the run ends."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.paths: list[Path] = []

    def add(self, path: Path) -> Path:
        if path not in self.paths:
            self.paths.append(path)
        return path

    def save(self, arguments: dict) -> None:
        files = []
        for path in sorted(self.paths):
            stat = path.stat()
            files.append([path.relative_to(self.out).as_posix(), stat.st_size, stat.st_mtime_ns])
        lines = ",\n".join("    " + json.dumps(entry) for entry in files)
        text = f'{{\n  "arguments": {json.dumps(arguments)},\n  "files": [\n{lines}\n  ]\n}}\n'
        (self.out / RECORD_NAME).write_text(text, "utf-8")


def prepare_out_dir(out: Path, force: bool, planned: set[str]) -> list[str]:
    """Refuse a folder with anything in it unless `force`; with `force`, remove the files
    the previous run recorded that are still as it wrote them, and refuse if a file this
    run would write (`planned`, relative paths) is there all the same: someone else's
    file is never removed or overwritten. Returns the names of recorded files kept
    because they were changed since."""
    if out.exists() and not out.is_dir():
        raise OutDirNotEmpty(f"{out} is a file, not a folder")
    entries = sorted(out.iterdir()) if out.is_dir() else []
    if not entries:
        return []
    if not force:
        raise OutDirNotEmpty(
            f"{out} is not empty ({len(entries)} entries); pick an empty folder, or pass "
            "--force to write into it (files an earlier `optout generate` wrote there are "
            "replaced, every other file is kept)"
        )
    record_path = out / RECORD_NAME
    try:
        record = json.loads(record_path.read_text("utf-8"))
    except (OSError, ValueError):
        record = {}
    ours = {}
    for name, size, mtime_ns in record.get("files", []):
        path = out / name
        try:
            stat = path.stat()
        except OSError:
            continue
        ours[name] = path.is_file() and (stat.st_size, stat.st_mtime_ns) == (size, mtime_ns)
    theirs = sorted(name for name in planned if (out / name).exists() and not ours.get(name))
    if theirs:
        raise OutDirNotEmpty(
            f"{out} holds {theirs[0]}"
            + (f" and {len(theirs) - 1} more" if len(theirs) > 1 else "")
            + ", which this run would write but an earlier `optout generate` did not (or "
            "it was changed since); move it away or pick another folder"
        )
    for name, unchanged in ours.items():
        if unchanged:
            (out / name).unlink()
    record_path.unlink(missing_ok=True)
    return sorted(name for name, unchanged in ours.items() if not unchanged)


def write_whole(table: pa.Table, path: Path, fmt: str, written: Written) -> None:
    """Small tables whose free text may need quoting: pandas quotes minimally (RFC 4180)."""
    table = conform(table, path.parent.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    written.add(path)
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        frame = table.to_pandas()
        frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


class Sink:
    """Collects rows of one daily source and writes them per UTC day of their timestamp.

    Rows can be added for later days (a reaction crossing midnight); they are written when
    that day is flushed. Ids are given at flush time in timestamp order, so ids grow with
    time. Rows after the window end have not happened yet and are dropped.
    """

    def __init__(
        self,
        source: str,
        window: Window,
        out: Path,
        fmt: str,
        per_day: bool,
        prefix: str,
        formatter,
        written: Written,
    ) -> None:
        self.source, self.window, self.fmt, self.per_day = source, window, fmt, per_day
        self.prefix, self.formatter, self.written = prefix, formatter, written
        self.folder = out / source
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pending: dict[int, list[dict[str, np.ndarray]]] = {}
        self.flushed = -1
        self.rows = 0
        self.files = 0
        self.writer: pacsv.CSVWriter | pq.ParquetWriter | None = None
        self.schema = pa.schema([(c, pa.string()) for c in COLUMNS[source]])

    def add(self, cols: dict[str, np.ndarray]) -> None:
        t = cols["t"]
        if len(t) == 0:
            return
        day = (t - self.window.start) // DAY
        if day.min() <= self.flushed:
            raise AssertionError(f"{self.source}: row for an already written day")
        for d in np.unique(day[day < self.window.days]).tolist():
            mask = day == d
            self.pending.setdefault(d, []).append({k: v[mask] for k, v in cols.items()})

    def flush(self, day: int) -> dict[str, np.ndarray]:
        """Write the rows of `day`; return them sorted by time with their id numbers."""
        parts = self.pending.pop(day, [])
        self.flushed = day
        if not parts:
            return {}
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        order = np.argsort(cols["t"], kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
        cols["id"] = self.rows + 1 + np.arange(len(order), dtype=np.int64)
        self.rows += len(order)
        date = self.window.dates[day]
        stamps = day_timestamps(date, cols["t"] - self.window.day_start(day))
        table = self.formatter(cols, stamps)
        self._write(conform(table, self.source), date)
        return cols

    def _write(self, table: pa.Table, date: dt.date) -> None:
        self.files += 1
        if self.per_day:
            path = self.written.add(self.folder / f"{self.source}_{date.isoformat()}.{self.fmt}")
            if self.fmt == "csv":
                pacsv.write_csv(table, path, CSV_OPTIONS)
            else:
                pq.write_table(table, path)
            return
        if self.writer is None:
            path = self.written.add(self.folder / f"{self.source}.{self.fmt}")
            self.writer = (
                pacsv.CSVWriter(path, self.schema, write_options=CSV_OPTIONS)
                if self.fmt == "csv"
                else pq.ParquetWriter(path, self.schema)
            )
        self.writer.write_table(table)

    def close(self) -> None:
        if self.files == 0:  # keep the folder readable: a header-only file
            self._write(self.schema.empty_table(), self.window.dates[-1])
        if self.writer is not None:
            self.writer.close()
