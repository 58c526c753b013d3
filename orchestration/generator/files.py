"""Writing the landing zone: text formatting of ids, enums and timestamps, and the files
(one per source and UTC day, or one per source)."""

from __future__ import annotations

import datetime as dt
import functools
import re
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


def clear_generated_files(folder: Path, source: str) -> None:
    pattern = re.compile(rf"{source}(_\d{{4}}-\d{{2}}-\d{{2}})?\.(csv|parquet)")
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file() and pattern.fullmatch(path.name):
                path.unlink()


def write_whole(table: pa.Table, path: Path, fmt: str) -> None:
    """Small tables whose free text may need quoting: pandas quotes minimally (RFC 4180)."""
    path.parent.mkdir(parents=True, exist_ok=True)
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
    ) -> None:
        self.source, self.window, self.fmt, self.per_day = source, window, fmt, per_day
        self.prefix, self.formatter = prefix, formatter
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
        self._write(table.select(list(COLUMNS[self.source])), date)
        return cols

    def _write(self, table: pa.Table, date: dt.date) -> None:
        self.files += 1
        if self.per_day:
            path = self.folder / f"{self.source}_{date.isoformat()}.{self.fmt}"
            if self.fmt == "csv":
                pacsv.write_csv(table, path, CSV_OPTIONS)
            else:
                pq.write_table(table, path)
            return
        if self.writer is None:
            path = self.folder / f"{self.source}.{self.fmt}"
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
