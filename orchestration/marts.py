"""Reading the marts, whichever engine built them (OPTOUT_TARGET = duckdb | spark).

Exports, `optout status` and the dashboard's queries all read through `read_marts`.
The SQL they pass is the dialect DuckDB and Spark SQL 4 share (try_cast, `nulls last`,
`filter (where …)`, `group by all`, `date '…'` literals), with `$name` parameters;
the one construct they spell differently, a sorted distinct list joined into text, comes
from `MartsSource.sorted_distinct_join`.

- duckdb: one short read-only connection per query; since builds replace the file with
  os.replace, a connection always sees one complete build.
- spark: one local SparkSession per process with an in-memory catalog, into which every
  table folder of `<OPTOUT_SPARK_WAREHOUSE>/marts.db` is attached as `marts.<table>`
  (Parquet, as dbt-spark wrote it). A reader never opens the build's Derby metastore,
  which admits one process at a time, so a dashboard does not block builds. Spark
  writes a table in place: a read during a build may fail, and is retried by the caller
  (see docs/DECISIONS.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from orchestration.config import Settings


class MartsUnavailable(RuntimeError):
    """The marts cannot be read right now; the message says what to do."""


@dataclass(frozen=True)
class MartsSource:
    """Where the marts are: a DuckDB file, or the folder of a local Spark warehouse."""

    target: str
    location: Path
    spark_master: str = "local[2]"
    spark_driver_memory: str = "3g"

    @property
    def exists(self) -> bool:
        marts = self.location / "marts.db" if self.target == "spark" else self.location
        return marts.exists()

    @property
    def version(self) -> tuple | None:
        """Changes whenever a build publishes new marts (for caches)."""
        try:
            if self.target == "duckdb":
                info = self.location.stat()
                return (info.st_mtime_ns, info.st_size)
            folder = self.location / "marts.db"
            return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir()))
        except OSError:
            return None

    @property
    def built_at(self) -> dt.datetime | None:
        """When the marts were last written (UTC)."""
        try:
            if self.target == "duckdb":
                stamp = self.location.stat().st_mtime
            else:
                stamp = max(p.stat().st_mtime for p in (self.location / "marts.db").iterdir())
        except (OSError, ValueError):
            return None
        return dt.datetime.fromtimestamp(stamp, dt.UTC)

    def sorted_distinct_join(self, column: str, separator: str) -> str:
        """SQL: the distinct values of `column` in the group, sorted, joined by separator."""
        sep = "'" + separator.replace("'", "''") + "'"
        if self.target == "spark":
            return f"array_join(array_sort(collect_set({column})), {sep})"
        return f"string_agg(distinct {column}, {sep} order by {column})"


def marts_source(settings: Settings) -> MartsSource:
    if settings.target == "spark":
        return MartsSource(
            "spark",
            settings.spark_warehouse,
            spark_master=settings.spark_master,
            spark_driver_memory=settings.spark_driver_memory,
        )
    return MartsSource("duckdb", settings.warehouse)


def as_marts_source(where: MartsSource | Settings | Path | str) -> MartsSource:
    """A MartsSource from itself, from Settings, or from the path of a DuckDB file."""
    if isinstance(where, MartsSource):
        return where
    if isinstance(where, Settings):
        return marts_source(where)
    return MartsSource("duckdb", Path(where))


def read_marts(
    where: MartsSource | Settings | Path | str, sql: str, params: dict | None = None
) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of a query over the `marts` schema."""
    source = as_marts_source(where)
    if not source.exists:
        raise MartsUnavailable(f"no warehouse at {source.location}; run `optout build` first")
    if source.target == "spark":
        return _read_spark(source, sql, params or {})
    return _read_duckdb(source.location, sql, params or {})


def _read_duckdb(path: Path, sql: str, params: dict) -> tuple[list[str], list[tuple]]:
    import duckdb

    try:
        with duckdb.connect(os.fspath(path), read_only=True) as con:
            cursor = con.execute(sql, params)
            return [d[0] for d in cursor.description], cursor.fetchall()
    except duckdb.CatalogException as exc:
        raise MartsUnavailable(
            f"the warehouse at {path} has no marts yet ({exc}); run `optout build` first"
        ) from None
    except duckdb.IOException as exc:
        # Someone (e.g. `dbt build` run directly) holds the file open for writing.
        raise MartsUnavailable(
            f"the warehouse at {path} cannot be opened read-only right now ({exc}); "
            "try again when the writer has finished"
        ) from None


_PARAM = re.compile(r"\$([A-Za-z_]\w*)")
_spark_lock = threading.Lock()


@functools.cache
def _spark_session(master: str, driver_memory: str):
    from pyspark.sql import SparkSession

    # The settings of the dbt profile's spark target that change results.
    spark = (
        SparkSession.builder.master(master)
        .appName("optout-marts-reader")
        .config("spark.driver.memory", driver_memory)
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.timestampType", "TIMESTAMP_NTZ")
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _read_spark(source: MartsSource, sql: str, params: dict) -> tuple[list[str], list[tuple]]:
    try:
        from pyspark.errors import AnalysisException
    except ImportError:
        raise MartsUnavailable(
            "OPTOUT_TARGET=spark needs pyspark: install the spark extra "
            "(`pip install -e .[spark]` or requirements-spark.lock)"
        ) from None
    spark = _spark_session(source.spark_master, source.spark_driver_memory)
    with _spark_lock:  # the attach below and the query see one catalog state
        try:
            _attach_marts(spark, source.location / "marts.db", sql)
            frame = spark.sql(_PARAM.sub(r":\1", sql), args=params or None)
            return list(frame.columns), [tuple(row) for row in frame.collect()]
        except AnalysisException as exc:
            raise MartsUnavailable(
                f"the Spark warehouse at {source.location} cannot be read "
                f"({str(exc).splitlines()[0]}); run `optout build` first"
            ) from None


_MART_NAME = re.compile(r"\bmarts\.`?(\w+)", re.IGNORECASE)
_attached: dict[str, tuple] = {}  # table -> (folder, its files) as attached now


def _attach_marts(spark, folder: Path, sql: str) -> None:
    """Attach (again, if a build rewrote it) every mart the query names."""
    spark.sql("create database if not exists marts")
    for name in sorted({m.lower() for m in _MART_NAME.findall(sql)}):
        table = folder / name
        if not table.is_dir():
            continue  # the query fails with Spark's own "table not found"
        state = (
            str(folder),
            tuple(sorted((p.name, p.stat().st_mtime_ns) for p in table.iterdir())),
        )
        if _attached.get(name) == state:
            continue
        location = "'" + table.resolve().as_uri().replace("'", "\\'") + "'"
        spark.sql(f"drop table if exists marts.`{name}`")
        spark.sql(f"create table marts.`{name}` using parquet location {location}")
        _attached[name] = state
