"""The same dbt project on a real Spark standalone cluster, through `method: thrift`.

One module-scoped cluster (a Master, one Worker and the Spark Thrift server, started from
the pyspark wheel on free loopback ports; orchestration/lib/spark_cluster.py) serves every
test here. A small landing zone, with a re-delivered file, is built on DuckDB and through
the Thrift server: every mart must be identical row for row and the exports byte-identical,
and the readers must work without any access to the cluster's folders. One Spark build (it
costs minutes); the dialect edges, incremental loads and the failed build are
tests/test_spark.py's, on the same macros through a local Spark.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys

import pytest
from conftest import build, hidden_from_spark, settings_for

from orchestration.exports import KINDS, write_export
from orchestration.generator import generate
from orchestration.lib.spark_cluster import Cluster, start, status, stop
from orchestration.marts import mart_names, marts_source, read_marts, thrift_connect
from orchestration.ranges import resolve_range

# The module's first test also runs its fixture: a cluster start and a Spark build,
# minutes on 2 cores and several times that on a machine shared by other suites.
# Left out of `make test` (a cluster and a Spark build are minutes of CI's 20 on 2 cores):
# `make test-spark` runs them (OPTOUT_TEST_SPARK=1).
pytestmark = [
    pytest.mark.timeout(2400),
    pytest.mark.skipif(
        os.environ.get("OPTOUT_TEST_SPARK") != "1",
        reason="the Spark cluster tests run with `make test-spark`",
    ),
]

END = dt.date(2026, 1, 31)
# When a file was loaded differs from build to build.
_BUILD_TIME_COLUMNS = {"fct_landing_files": "loaded_at"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A standalone cluster on free loopback ports, stopped when the module is done."""
    spark = Cluster(
        home=tmp_path_factory.mktemp("spark-cluster"),
        master_port=_free_port(),
        thrift_port=_free_port(),
        ui_port=_free_port(),
        workers=1,
        worker_cores=2,
        worker_memory="2g",
        executor_memory="1g",
        driver_memory="1g",
    )
    try:
        start(spark)
        yield spark
    finally:
        stop(spark)
    assert set(status(spark).values()) == {None}  # every daemon stopped


@pytest.fixture(scope="module")
def engines(cluster, tmp_path_factory):
    """(duckdb settings, spark settings), both built on the same landing zone."""
    root = tmp_path_factory.mktemp("cluster-engines")
    raw = root / "landing"
    generate(raw, users=60, days=5, seed=7, end_date=END)
    early = sorted(raw.glob("sends/sends_*.csv"))[1]
    shutil.copyfile(early, raw / "sends" / (early.stem + " re-sent.csv"))
    duck = dataclasses.replace(settings_for(root / "duckdb"), raw_dir=raw)
    spark = dataclasses.replace(
        settings_for(root / "spark"),
        raw_dir=raw,
        target="spark",
        spark_method="thrift",
        spark_host=cluster.host,
        spark_port=cluster.thrift_port,
        spark_warehouse=root / "spark" / "local",  # the build's lock and dbt's artifacts
    )
    build(duck)
    build(spark)
    return duck, spark


def _rows(settings, table: str) -> tuple[list[str], list[tuple]]:
    columns, rows = read_marts(settings, f"select * from marts.{table}")
    if table == "fct_landing_files":
        at = columns.index("source_file")
        rows = [r for r in rows if not hidden_from_spark(r[at])]
    if table in _BUILD_TIME_COLUMNS:
        keep = [i for i, c in enumerate(columns) if c != _BUILD_TIME_COLUMNS[table]]
        columns, rows = [columns[i] for i in keep], [tuple(r[i] for i in keep) for r in rows]
    return columns, sorted(rows, key=lambda row: [(v is None, str(v)) for v in row])


def test_every_mart_is_identical_row_for_row(engines):
    duck, spark = engines
    assert mart_names(spark) == mart_names(duck)
    differing, empty = [], []
    for table in mart_names(spark):
        duck_rows, spark_rows = _rows(duck, table), _rows(spark, table)
        if not duck_rows[1]:
            empty.append(table)
        if spark_rows != duck_rows:
            differing.append((table, set(duck_rows[1]) ^ set(spark_rows[1])))
    assert differing == []
    # Five days are too few for an alert's baseline; every other mart has rows to compare.
    assert empty == ["agg_optout_alerts"]


def test_exports_through_thrift_are_byte_identical(engines, tmp_path):
    duck, spark = engines
    date_range = resolve_range("last_month", as_of=END.isoformat())
    for kind in KINDS:
        files = [
            write_export(
                dataclasses.replace(s, export_dir=tmp_path / s.target),
                kind,
                None if kind == "suppression" else date_range,
            ).path.read_bytes()
            for s in (duck, spark)
        ]
        assert files[0] == files[1], kind
        assert files[0].count(b"\n") > 1, kind


def _spark_sql(cluster: Cluster, sql: str) -> list[tuple]:
    """A query straight to the Thrift server (what a BI tool sees)."""
    connection = thrift_connect(cluster.host, cluster.thrift_port)
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        connection.close()


def test_the_marts_views_point_at_the_published_build(engines, cluster):
    """What a BI tool reads (the `marts` views) is the build readers see."""
    _, spark = engines
    published = marts_source(spark).published()
    assert published is not None and published.build_id
    views = _spark_sql(cluster, "show views in marts")
    assert sorted(v[1] for v in views if not v[2]) == mart_names(spark)
    assert (
        _spark_sql(cluster, "select count(*) from marts.fct_optouts")
        == read_marts(spark, "select count(*) from marts.fct_optouts")[1]
    )
    databases = [d[0] for d in _spark_sql(cluster, "show databases like 'marts__*'")]
    assert databases == [f"marts__{published.build_id}"]


# Run in a process of its own: any access to the forbidden folders raises.
_NO_FILES = """
import sys
forbidden = tuple(sys.argv[1].split("|"))
def guard(event, args):
    if event in ("open", "os.listdir", "os.scandir", "os.mkdir") and args and isinstance(
            args[0], (str, bytes)) and str(args[0]).startswith(forbidden):
        raise PermissionError(f"{event} {args[0]}: the reader went to the file system")
sys.addaudithook(guard)
from orchestration.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_readers_need_no_access_to_the_warehouse_folder(engines, cluster, tmp_path):
    """`optout export` and `optout status` through the Thrift server, in a process that may
    not open anything under the cluster's folder or OPTOUT_SPARK_WAREHOUSE (unreadable)."""
    duck, spark = engines
    unreadable = tmp_path / "no-access"
    unreadable.mkdir(mode=0)
    env = {
        **os.environ,
        **spark.dbt_env(),
        "OPTOUT_SPARK_WAREHOUSE": str(unreadable),
        "OPTOUT_EXPORT_DIR": str(tmp_path / "exports"),
    }
    forbidden = f"{cluster.home}|{unreadable}"
    run = [sys.executable, "-c", _NO_FILES, forbidden]
    export = subprocess.run(
        [*run, "export", "--kind", "status_changes", "--range", "last_month",
         "--as-of", END.isoformat()],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    [written] = (tmp_path / "exports").glob("*.csv")
    expected = write_export(
        dataclasses.replace(duck, export_dir=tmp_path / "duckdb"),
        "status_changes",
        resolve_range("last_month", as_of=END.isoformat()),
        "csv",
    )
    assert written.read_bytes() == expected.path.read_bytes()
    status_run = subprocess.run(
        [*run, "status"], env=env, capture_output=True, text=True, check=False
    )
    assert status_run.returncode == 0, status_run.stderr
    assert "events" in status_run.stdout and " NO" not in status_run.stdout
    # The guard works: the same reader told to read local files fails.
    local = subprocess.run(
        [*run, "status"],
        env={**env, "OPTOUT_SPARK_METHOD": "session"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert local.returncode != 0
