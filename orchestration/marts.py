"""Reading the marts, whichever engine built them (OPTOUT_TARGET = duckdb | spark).

Exports, `optout status`, the dashboard's queries and the Dagster export assets all read
through `read_marts`. The SQL they pass is the dialect DuckDB and Spark SQL 4 share
(try_cast, `nulls last`, `filter (where …)`, `group by all`, `date '…'` literals), with
`$name` parameters; the one construct they spell differently, a sorted distinct list joined
into text, comes from `MartsSource.sorted_distinct_join`.

- duckdb: one short read-only connection per query; since builds replace the file with
  os.replace, a connection always sees one complete build.
- spark, method thrift: through the cluster's Spark Thrift server (PyHive), never the file
  system, so a reader needs no access to the warehouse folder. Each query first reads the
  latest build in `published.builds` and reads that build's database (`marts__<id>`), so
  it sees one whole build even while a publish repoints the `marts` views
  (macros/project/publish_spark.sql).
- spark, method session (no server): one local SparkSession per process with an in-memory
  catalog, into which the table folders of the latest published build
  (`<OPTOUT_SPARK_WAREHOUSE>/marts__<id>.db`, found from `published.db/builds`) are
  attached as `marts.<table>`. A reader never opens the build's Derby metastore, which
  admits one process at a time, so a dashboard does not block builds.
"""

from __future__ import annotations

import contextlib
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
class Published:
    """The build whose marts readers see: its id, when it was published, and the database
    (or, for a local Spark warehouse, the folder) holding its marts."""

    build_id: str | None  # none: marts written in place by a plain `dbt build`
    published_at: dt.datetime | None
    database: str


@dataclass(frozen=True)
class MartsSource:
    """Where the marts are: a DuckDB file, the folder of a local Spark warehouse, or a
    Spark Thrift server (location thrift://host:port)."""

    target: str
    location: Path | str
    spark_master: str = "local[2]"
    spark_driver_memory: str = "3g"
    spark_method: str = "session"
    spark_host: str = "127.0.0.1"
    spark_port: int = 10000
    spark_user: str = "optout"

    @property
    def exists(self) -> bool:
        if self.target == "duckdb":
            return Path(self.location).exists()
        try:
            return self.published() is not None
        except MartsUnavailable:
            return False

    def published(self) -> Published | None:
        """The published build (Spark); none when nothing was built yet."""
        if self.spark_method == "thrift":
            return _thrift_call(self, _thrift_published)
        return _session_published(Path(self.location))

    @property
    def version(self) -> tuple | None:
        """Changes whenever a build publishes new marts (for caches)."""
        try:
            if self.target == "duckdb":
                info = Path(self.location).stat()
                return (info.st_mtime_ns, info.st_size)
            published = self.published()
            if published is None:
                return None
            if published.build_id is not None:
                return (published.build_id,)
            folder = Path(self.location) / f"{published.database}.db"
            return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir()))
        except (OSError, MartsUnavailable):
            return None

    @property
    def built_at(self) -> dt.datetime | None:
        """When the marts were last published (UTC)."""
        try:
            if self.target == "duckdb":
                stamp = Path(self.location).stat().st_mtime
                return dt.datetime.fromtimestamp(stamp, dt.UTC)
            published = self.published()
            if published is None:
                return None
            if published.published_at is not None:
                return published.published_at.replace(tzinfo=dt.UTC)
            folder = Path(self.location) / f"{published.database}.db"
            stamp = max(p.stat().st_mtime for p in folder.iterdir())
            return dt.datetime.fromtimestamp(stamp, dt.UTC)
        except (OSError, ValueError, MartsUnavailable):
            return None

    def sorted_distinct_join(self, column: str, separator: str) -> str:
        """SQL: the distinct values of `column` in the group, sorted, joined by separator."""
        sep = "'" + separator.replace("'", "''") + "'"
        if self.target == "spark":
            return f"array_join(array_sort(collect_set({column})), {sep})"
        return f"string_agg(distinct {column}, {sep} order by {column})"


def marts_source(settings: Settings) -> MartsSource:
    if settings.target == "spark":
        thrift = settings.spark_method == "thrift"
        return MartsSource(
            "spark",
            f"thrift://{settings.spark_host}:{settings.spark_port}"
            if thrift
            else settings.spark_warehouse,
            spark_master=settings.spark_master,
            spark_driver_memory=settings.spark_driver_memory,
            spark_method=settings.spark_method,
            spark_host=settings.spark_host,
            spark_port=settings.spark_port,
            spark_user=settings.spark_user,
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
    if source.target == "duckdb":
        if not source.exists:
            raise MartsUnavailable(f"no warehouse at {source.location}; run `optout build` first")
        return _read_duckdb(Path(source.location), sql, params or {})
    if source.spark_method == "thrift":
        return _thrift_call(source, _thrift_query, sql, params or {})
    published = _session_published(Path(source.location))
    if published is None:
        raise MartsUnavailable(f"no warehouse at {source.location}; run `optout build` first")
    return _read_spark(source, Path(source.location) / f"{published.database}.db", sql, params)


def mart_names(where: MartsSource | Settings | Path | str) -> list[str]:
    """The tables of the `marts` schema, sorted."""
    source = as_marts_source(where)
    if source.target == "duckdb":
        sql = (
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by table_name"
        )
        return [row[0] for row in read_marts(source, sql)[1]]
    if source.spark_method == "thrift":
        return _thrift_call(source, _thrift_mart_names)
    published = _session_published(Path(source.location))
    if published is None:
        raise MartsUnavailable(f"no warehouse at {source.location}; run `optout build` first")
    folder = Path(source.location) / f"{published.database}.db"
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


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
_MART_NAME = re.compile(r"\bmarts\.`?(\w+)", re.IGNORECASE)
_MARTS_SCHEMA = re.compile(r"\bmarts\.", re.IGNORECASE)
_SPARK_EXTRA = (
    "OPTOUT_TARGET=spark needs the spark extra: `pip install -e .[spark]` "
    "or requirements-spark.lock"
)

# --- spark, method session: a local Spark over the published build's folders ----------


def _session_published(warehouse: Path) -> Published | None:
    """The latest build in <warehouse>/published.db/builds (read with pyarrow: no JVM), or
    the in-place marts of a plain `dbt build`."""
    builds = warehouse / "published.db" / "builds"
    if builds.is_dir():
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(builds).sort_by([("published_at", "descending")])
        except OSError as exc:
            raise MartsUnavailable(f"cannot read {builds} ({exc})") from None
        if table.num_rows:
            row = table.slice(0, 1).to_pylist()[0]
            return Published(row["build_id"], row["published_at"], f"marts__{row['build_id']}")
    if (warehouse / "marts.db").is_dir():
        return Published(None, None, "marts")
    return None


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
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _read_spark(
    source: MartsSource, folder: Path, sql: str, params: dict | None
) -> tuple[list[str], list[tuple]]:
    try:
        from pyspark.errors import AnalysisException
    except ImportError:
        raise MartsUnavailable(_SPARK_EXTRA) from None
    spark = _spark_session(source.spark_master, source.spark_driver_memory)
    with _spark_lock:  # the attach below and the query see one catalog state
        try:
            _attach_marts(spark, folder, sql)
            frame = spark.sql(_PARAM.sub(r":\1", sql), args=params or None)
            return list(frame.columns), [tuple(row) for row in frame.collect()]
        except AnalysisException as exc:
            raise MartsUnavailable(
                f"the Spark warehouse at {source.location} cannot be read "
                f"({str(exc).splitlines()[0]}); run `optout build` first"
            ) from None


_attached: dict[str, tuple] = {}  # table -> (folder, its files) as attached now


def _attach_marts(spark, folder: Path, sql: str) -> None:
    """Attach (again, if another build was published) every mart the query names."""
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


# --- spark, method thrift: through the cluster's Spark Thrift server -------------------

# The session settings of the dbt profile's thrift method that change results (a Thrift
# server applies only keys prefixed set:hiveconf:).
THRIFT_SESSION = {
    "set:hiveconf:spark.sql.session.timeZone": "UTC",
    "set:hiveconf:spark.sql.timestampType": "TIMESTAMP_NTZ",
    "set:hiveconf:spark.sql.ansi.enabled": "false",
}
_thrift_lock = threading.Lock()  # one PyHive connection per server, used by one thread
_thrift_connections: dict[tuple[str, int, str], object] = {}


def thrift_connect(host: str, port: int, user: str = "optout"):
    """A PyHive connection to a Spark Thrift server, with the warehouse's session settings."""
    from pyhive import hive

    return hive.connect(
        host=host,
        port=port,
        username=user,
        configuration=THRIFT_SESSION,
    )


def _thrift_call(source: MartsSource, function, *args):
    """function(cursor, *args) on the server's connection, reconnecting once if the server
    dropped it; a server that cannot be reached or a failing query is MartsUnavailable."""
    try:
        from pyhive import exc as hive_errors
        from thrift.transport.TTransport import TTransportException
    except ImportError:
        raise MartsUnavailable(_SPARK_EXTRA) from None
    key = (source.spark_host, source.spark_port, source.spark_user)
    with _thrift_lock:
        retry = key in _thrift_connections  # a cached connection may have been dropped
        while True:
            try:
                if key not in _thrift_connections:
                    _thrift_connections[key] = thrift_connect(*key)
                with contextlib.closing(_thrift_connections[key].cursor()) as cursor:
                    return function(cursor, *args)
            except (TTransportException, EOFError, OSError) as exc:
                _thrift_connections.pop(key, None)
                if not retry:
                    raise MartsUnavailable(
                        f"cannot reach the Spark Thrift server at {source.location} ({exc}); "
                        "is the cluster running (`make spark-cluster`)? Check "
                        "OPTOUT_SPARK_HOST / OPTOUT_SPARK_PORT"
                    ) from None
                retry = False
            except hive_errors.OperationalError as exc:
                raise MartsUnavailable(
                    f"the marts at {source.location} cannot be read ({_hive_message(exc)}); "
                    "run `optout build` first"
                ) from None


def _hive_message(exc: Exception) -> str:
    response = exc.args[0] if exc.args else None
    message = getattr(getattr(response, "status", None), "errorMessage", None) or str(exc)
    return message.strip().splitlines()[0].removeprefix("Error running query: ")


def _thrift_published(cursor) -> Published | None:
    from pyhive import exc as hive_errors

    try:
        # The connection is kept between reads, and its Spark session keeps the table's file
        # list: without a refresh it would not see the builds published since (other sessions).
        cursor.execute("refresh table published.builds")
        cursor.execute(
            "select build_id, published_at from published.builds order by published_at desc limit 1"
        )
        row = cursor.fetchone()
    except hive_errors.OperationalError:
        row = None  # no build published: a plain `dbt build` writes marts in place
    if row is not None:
        return Published(row[0], row[1], f"marts__{row[0]}")
    cursor.execute("show databases like 'marts'")
    return Published(None, None, "marts") if cursor.fetchall() else None


def _thrift_mart_names(cursor) -> list[str]:
    published = _thrift_published(cursor)
    if published is None:
        raise MartsUnavailable("no marts published on the Spark cluster yet; run `optout build`")
    cursor.execute(f"show tables in {published.database}")
    return sorted(row[1] for row in cursor.fetchall() if not row[2])


def _thrift_query(cursor, sql: str, params: dict) -> tuple[list[str], list[tuple]]:
    published = _thrift_published(cursor)
    if published is None:
        raise MartsUnavailable("no marts published on the Spark cluster yet; run `optout build`")
    query = _MARTS_SCHEMA.sub(f"{published.database}.", sql)
    cursor.execute(_PARAM.sub(lambda m: spark_literal(params[m.group(1)]), query))
    types = [d[1] for d in cursor.description]
    convert = [_THRIFT_TYPES.get(t) for t in types]
    rows = [
        tuple(v if f is None or v is None else f(v) for f, v in zip(convert, row, strict=True))
        for row in cursor.fetchall()
    ]
    return [d[0] for d in cursor.description], rows


# PyHive gives dates as text (timestamps it parses itself).
_THRIFT_TYPES = {"DATE_TYPE": dt.date.fromisoformat}


def spark_literal(value) -> str:
    """A Python value as a Spark SQL literal (the Thrift protocol has no parameters)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"timestamp '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"date '{value.isoformat()}'"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"
