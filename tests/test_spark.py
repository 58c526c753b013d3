"""The same dbt project on Apache Spark: a standalone cluster through its Thrift server.

One module-scoped cluster (a Master, one Worker and the Spark Thrift server, started from
the pyspark wheel on free loopback ports; orchestration/lib/spark_cluster.py) serves every
test here (`make test-spark`); `OPTOUT_TEST_SPARK_METHOD=session` runs the same tests on a
local Spark inside dbt instead (`make test-spark-session`). One landing zone, in a folder
whose name holds [ ] * ? (paths are not globs), with synthetic days plus deliberate edge
rows (time-zone offsets, fractional seconds on a window boundary, duplicates, a conflicting
key, bad values, lines with too few fields, bytes that are not UTF-8, an unterminated
quote, a quoted line break, a Parquet file, hidden files) is built on DuckDB and on Spark.
Every published mart must be identical row for row, and every export byte-identical,
whichever engine built and serves it. Then the second load (a re-delivered and a late file
among it) comes with a Spark build that fails a test: it publishes nothing, and the marts
it wrote, on staging appended to, equal DuckDB's on both loads. Two Spark builds shared
by the module (each costs minutes), and a third by the last test: a full refresh of the
warehouse they left (with OPTOUT_TEST_SPARK=all, as `make test-spark` sets; not in CI).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import COLUMNS, build, hidden_from_spark, not_null_columns, settings_for, write_csv

from orchestration.build import BuildError, build_target_path, run_build
from orchestration.exports import KINDS, write_export
from orchestration.generator import generate
from orchestration.lib import spark_cluster
from orchestration.lib.spark_cluster import Cluster
from orchestration.marts import mart_names, marts_source, read_marts, thrift_connect
from orchestration.ranges import RANGES, resolve_range

# The module's first test also runs its fixture: a cluster start and two Spark builds
# (docs/DECISIONS.md "The Spark tests"). Part of `make test` and CI, which install Java;
# without Java the module skips, except in CI (env CI set), where it fails.
# OPTOUT_TEST_SPARK: 0 leaves the module out, `all` adds the full-refresh test.
pytestmark = [
    pytest.mark.timeout(2400),
    pytest.mark.skipif(
        os.environ.get("OPTOUT_TEST_SPARK") == "0", reason="OPTOUT_TEST_SPARK=0 leaves them out"
    ),
    pytest.mark.skipif(
        shutil.which("java") is None and not os.environ.get("CI"),
        reason="the Spark tests need Java 17+ (Debian: openjdk-17-jre-headless); in CI required",
    ),
]
METHOD = os.environ.get("OPTOUT_TEST_SPARK_METHOD", "thrift")
thrift_only = pytest.mark.skipif(METHOD != "thrift", reason="a cluster's Thrift server")

END = dt.date(2026, 1, 31)
EDGE_OPTOUT = "edge-optout"

# Opt-out at .500 s past 10:00; the 7-day window starts at 2026-01-13T10:00:00.500Z inclusive.
EDGE_ROWS = {
    "users": [
        {
            "user_id": "edge-u1",
            "external_id": "X-1",
            "phone": "+15550001",
            "updated_at": "2026-01-01T00:00:00Z",
        },
    ],
    "consent_changes": [
        {
            "change_id": "edge-c0",
            "user_id": "edge-u1",
            "channel": "PUSH ",
            "status": "opted_in",
            "changed_at": "2026-01-02 08:00:00+05:30",
            "source": "app_settings",
        },
        {
            "change_id": EDGE_OPTOUT,
            "user_id": "edge-u1",
            "channel": "push",
            "status": " Opted_Out",
            "changed_at": "2026-01-20T10:00:00.500Z",
            "source": "inbound_keyword",
            "keyword": " stop ",
        },
        {
            "change_id": "edge-c2",
            "user_id": "edge-u1",
            "channel": "sms",
            "status": "opted_out",
            "changed_at": "2026-01-21T01:30-0800",
            "source": "api",
        },
        {
            "change_id": "edge-c3",
            "user_id": "edge-u1",
            "channel": "email",
            "status": "opted_out",
            "changed_at": "2026-01-22",
            "source": "unsubscribe_link",
            "reason": "too many",
        },
        {
            "change_id": "edge-c4",
            "user_id": "edge-u1",
            "channel": "whatsapp",
            "status": "opted_out",
            "changed_at": "2026-01-23T07:00:00+05",
            "source": "admin",
        },
        {
            "change_id": "edge-c5",
            "user_id": "edge-u1",
            "channel": "push",
            "status": "opted_in",
            "changed_at": "2026-01-24T12:00:00.1234567Z",
            "source": "app_settings",
        },
        {
            "change_id": "edge-bad1",
            "user_id": "edge-u1",
            "channel": "push",
            "status": "opted_out",
            "changed_at": "2026-02-30T00:00:00Z",
            "source": "api",
        },
        {
            "change_id": "edge-bad2",
            "user_id": "edge-u1",
            "channel": "fax",
            "status": "opted_out",
            "changed_at": "2026-01-24T00:00:00Z",
            "source": "api",
        },
    ],
    "sends": [
        # In the window (its first microsecond), just before it, and undelivered.
        {
            "send_id": "edge-s1",
            "user_id": "edge-u1",
            "channel": "push",
            "message_category": "marketing",
            "sent_at": "2026-01-13T10:00:00.500Z",
            "delivery_status": "delivered",
        },
        {
            "send_id": "edge-s2",
            "user_id": "edge-u1",
            "channel": "push",
            "message_category": "marketing",
            "sent_at": "2026-01-13T10:00:00.499999Z",
            "delivery_status": "delivered",
        },
        {
            "send_id": "edge-s3",
            "user_id": "edge-u1",
            "channel": " Push",
            "message_category": "utility",
            "sent_at": "2026-01-20T15:30:00.5+05:30",
            "delivery_status": "delivered",
        },
        {
            "send_id": "edge-s4",
            "user_id": "edge-u1",
            "channel": "push",
            "message_category": "marketing",
            "sent_at": "2026-01-19T00:00:00Z",
            "delivery_status": "failed",
        },
        # Sent after the opt-out: a compliance row.
        {
            "send_id": "edge-s5",
            "user_id": "edge-u1",
            "channel": "push",
            "message_category": "marketing",
            "sent_at": "2026-01-27T09:00:00.250Z",
            "delivery_status": "delivered",
        },
    ],
    "interactions": [
        {
            "interaction_id": "9",
            "user_id": "edge-u1",
            "campaign_id": "edge-camp",
            "channel": "push",
            "interaction_type": "open",
            "occurred_at": "2026-01-20T10:00:00.4Z",
        },
        {
            "interaction_id": "10",
            "user_id": "edge-u1",
            "campaign_id": "edge-camp2",
            "channel": "push",
            "interaction_type": "click",
            "occurred_at": "2026-01-20T10:00:00.400Z",
        },
    ],
}
# Redelivered (identical) and conflicting rows, in a second file.
REDELIVERED = {
    "sends": [EDGE_ROWS["sends"][0], {**EDGE_ROWS["sends"][3], "delivery_status": "bounced"}],
}
EDGE_EVENTS = [  # a Parquet file
    {
        "event_id": "edge-e1",
        "user_id": "edge-u1",
        "event_name": "app_open",
        "occurred_at": "2026-01-20T10:00:00.500001Z",
    },
    {
        "event_id": "edge-e2",
        "user_id": "edge-u1",
        "event_name": "app_open",
        "occurred_at": "2026-01-19T10:00:00.5Z",
    },
]


def _write_edges(raw: Path) -> None:
    for source, rows in EDGE_ROWS.items():
        write_csv(raw / source / f"{source}_edge.csv", source, rows)
    for source, rows in REDELIVERED.items():
        write_csv(raw / source / f"{source}_edge_again.csv", source, rows)
    columns = COLUMNS["events"]
    table = pa.table({c: [row.get(c) for row in EDGE_EVENTS] for c in columns})
    pq.write_table(table, raw / "events" / "events_edge.parquet")
    header = ",".join(columns) + "\n"
    # Lines both readers reject (too few and too many fields, bytes that are not UTF-8):
    # raw rows, quarantined with their text.
    (raw / "events" / "events_edge.csv").write_bytes(
        (header + "edge-e3,edge-u1,app_open,2026-01-21T00:00:00Z\nedge-e4,edge-u1\n").encode()
        + b"edge-e5,edge-u1,caf\xe9,2026-01-21T00:00:00Z\n"
        + b"edge-e6,edge-u1,app_open,2026-01-21T00:00:00Z,extra\n"
    )
    # An unterminated quote swallows the lines after it unless the file is read line by
    # line; a quoted line break is one field. edge-q1 and edge-q3 are clean rows. The open
    # field is long: a backtracking regex takes 2^length steps on it (the build would hang).
    (raw / "events" / "events_quotes.csv").write_text(
        header
        + "edge-q1,edge-u1,app_open,2026-01-21T01:00:00Z\n"
        + 'edge-q2,edge-u1,"app_open, a note whose quote never closes,2026-01-21T02:00:00Z\n'
        + "edge-q3,edge-u1,app_open,2026-01-21T03:00:00Z\n",
        encoding="utf-8",
    )
    (raw / "events" / "events_multiline.csv").write_text(
        header + 'edge-m1,edge-u1,"two\nlines",2026-01-21T04:00:00Z\n', encoding="utf-8"
    )
    # Spark's file sources never list names starting with . or _ (DuckDB reports them).
    for hidden in (".events_hidden.csv", "_events_partial.csv"):
        (raw / "events" / hidden).write_text(header, encoding="utf-8")


HIDDEN = {"events/.events_hidden.csv", "events/_events_partial.csv"}


def _second_load(raw: Path, held: Path) -> list[Path]:
    """The files of the second load, moved out of the landing zone: the last day, a
    re-delivered copy of an earlier day's sends and a late consent file."""
    files = sorted(raw.rglob(f"*_{END.isoformat()}.csv"))
    early = sorted(raw.glob("sends/sends_*.csv"))[2]
    redelivered = raw / "sends" / (early.stem + " re-sent [2].csv")
    shutil.copyfile(early, redelivered)
    late = raw / "consent_changes" / "consent_changes_2026-01-20_late.csv"
    write_csv(late, "consent_changes", [{
        "change_id": "late-c1", "user_id": "edge-u1", "channel": "email",
        "status": "opted_in", "changed_at": "2026-01-20T08:00:00Z", "source": "api",
    }])  # fmt: skip
    moved = []
    for file in [*files, redelivered, late]:
        target = held / file.relative_to(raw)
        target.parent.mkdir(parents=True, exist_ok=True)
        file.rename(target)
        moved.append(target)
    return moved


def _deliver(raw: Path, held: Path, files: list[Path]) -> None:
    for file in files:
        shutil.copyfile(file, raw / file.relative_to(held))


@dataclasses.dataclass
class Engines:
    duck: object  # DuckDB after the first load: what Spark's published marts must equal
    spark: object
    duck_both: object  # DuckDB after both loads: what the failed build's marts must equal
    published: object  # Spark's published build after the first load
    before: dict  # Spark's published marts after the first load
    failed: dict  # the build that failed a test: its error, and what readers saw after it
    tables: Path  # Spark's Parquet folders: the cluster's warehouse, or the local one


# Rows are few here and statements many (a build is some 380 statements): generating and
# compiling Java code for each query costs more CPU than interpreting it (one full build on
# the fixture's data, 2 cores: 248 core-seconds with code generation, 206 without; the
# same results either way, which Spark's own tests check).
TINY_DATA_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A standalone cluster on free loopback ports, stopped when the module is done (none
    for the session method)."""
    if METHOD != "thrift":
        yield None
        return
    spark = Cluster.on_free_ports(
        tmp_path_factory.mktemp("spark-cluster"),
        workers=1,
        worker_cores=2,
        worker_memory="2g",
        executor_memory="1g",
        driver_memory="1g",
        conf=TINY_DATA_CONF,
    )
    try:
        spark_cluster.start(spark)
        yield spark
    finally:
        spark_cluster.stop(spark)
    assert set(spark_cluster.status(spark).values()) == {None}  # every daemon stopped


# dbt's own generic tests (adapter macros, 116 of the project's 148 tests) stay out of the
# Spark builds here: each is a Spark job of about a second, and DuckDB's builds in CI run
# them on the same rows. Our generic tests, the singular ones and the marts' not-null
# constraints (in the statement that writes each mart) still run.
DBT_GENERIC_TESTS = ("not_null", "unique", "accepted_values", "relationships")


def _spark_settings(root: Path, raw: Path, cluster: Cluster | None):
    settings = dataclasses.replace(
        settings_for(root), raw_dir=raw, target="spark", spark_warehouse=root / "warehouse"
    )
    if cluster is None:
        return dataclasses.replace(settings, spark_method="session", spark_driver_memory="1500m")
    return dataclasses.replace(  # the local folder holds the build's lock and dbt's artifacts
        settings, spark_method="thrift", spark_host=cluster.host, spark_port=cluster.thrift_port
    )


def _copy_warehouse(source, copy) -> None:
    """A copy of a built DuckDB warehouse (published and state files; same file names, so
    the same database names) that the next build of `copy` updates incrementally."""
    copy.warehouse.parent.mkdir(parents=True)
    shutil.copy2(source.warehouse, copy.warehouse)
    shutil.copy2(source.state_file, copy.state_file)


@pytest.fixture(scope="module")
def built(cluster, tmp_path_factory) -> Engines:
    """Two Spark builds (each costs minutes): the first load, then the second load with a
    build that fails a test after its marts were written."""
    root = tmp_path_factory.mktemp("engines")
    raw, held = root / "landing [a]*?", root / "held"
    generate(raw, users=150, days=14, seed=11, end_date=END)
    _write_edges(raw)
    second = _second_load(raw, held)
    duck = dataclasses.replace(settings_for(root / "duckdb"), raw_dir=raw)
    duck_both = dataclasses.replace(settings_for(root / "duckdb-both"), raw_dir=raw)
    spark = _spark_settings(root / "spark", raw, cluster)
    tables = cluster.warehouse if cluster else spark.spark_warehouse  # the Parquet folders
    build(duck)
    _copy_warehouse(duck, duck_both)  # the same first build; the second load is its own
    build(spark, skip_tests=DBT_GENERIC_TESTS)
    published = marts_source(spark).published()
    before = _snapshot(spark)
    _deliver(raw, held, second)
    build(duck_both)
    # Retention windows given twice fail a uniqueness test on fct_optout_retention after
    # the marts of the build were written.
    with pytest.raises(BuildError, match="dbt build failed") as error:
        run_build(
            spark,
            extra_vars={"retention_windows": [1, 3, 3]},
            log=lambda line: None,
            skip_tests=DBT_GENERIC_TESTS,
        )
    failed = {
        "error": str(error.value),
        "published": marts_source(spark).published(),
        "marts": _snapshot(spark),
        "databases": sorted(p.name for p in tables.glob("marts__*.db")),
    }
    return Engines(duck, spark, duck_both, published, before, failed, tables)


@pytest.fixture(scope="module")
def engines(built) -> tuple:
    """(duckdb settings, spark settings), both built on the first load."""
    return built.duck, built.spark


def _mart_tables(settings) -> list[str]:
    return mart_names(settings)


# When a file was loaded differs from build to build.
_BUILD_TIME_COLUMNS = {"fct_landing_files": "loaded_at"}


def _rows(settings, table: str) -> tuple[list[str], list[tuple]]:
    columns, rows = read_marts(settings, f"select * from marts.{table}")
    return _comparable(table, columns, rows)


def _comparable(table: str, columns: list[str], rows: list[tuple]) -> tuple[list, list]:
    """(columns, rows) without what differs by design: when a file was loaded, and the
    hidden files Spark does not list (test below); rows sorted."""
    if table == "fct_landing_files":
        at = columns.index("source_file")
        rows = [r for r in rows if not hidden_from_spark(r[at])]
    if table in _BUILD_TIME_COLUMNS:
        keep = [i for i, c in enumerate(columns) if c != _BUILD_TIME_COLUMNS[table]]
        columns, rows = [columns[i] for i in keep], [tuple(r[i] for i in keep) for r in rows]
    # Same values, same types: DuckDB gives Decimal for no mart column, Spark neither.
    assert not any(isinstance(v, decimal.Decimal) for row in rows for v in row)
    return columns, sorted(rows, key=lambda row: [(v is None, str(v)) for v in row])


def _differing_marts(duck, spark_marts: dict) -> list:
    """The marts whose rows differ between DuckDB and Spark's snapshot (`_snapshot`)."""
    differing = []
    for table, (spark_columns, spark_rows) in spark_marts.items():
        duck_columns, duck_rows = _rows(duck, table)
        assert spark_columns == duck_columns, table
        assert duck_rows, f"{table} is empty: the comparison would prove nothing"
        if spark_rows != duck_rows:
            differing.append((table, set(duck_rows) ^ set(spark_rows)))
    return differing


def test_spark_builds_every_mart_of_duckdb(engines):
    duck, spark = engines
    duck_tables = mart_names(duck)
    assert _mart_tables(spark) == duck_tables
    for name in (
        "fct_optouts",
        "fct_push_before_optout_7d",
        "fct_last_campaign",
        "fct_optout_retention",
        "fct_last_events_retain_churn",
        "agg_optouts_daily",
        "agg_optout_pressure",
        "fct_optout_attribution",
        "agg_campaign_optouts",
        "agg_optout_alerts",
        "fct_landing_files",
    ):
        assert name in duck_tables


def test_every_mart_is_identical_row_for_row(built):
    assert sorted(built.before) == mart_names(built.duck)  # the fixture read every mart
    assert _differing_marts(built.duck, built.before) == []


def test_spark_gets_the_dialect_sensitive_edges_right(engines):
    """Hand-computed on the edge rows: offsets, microseconds on the 7-day boundary."""
    _, spark = engines
    sql = (
        "select push_count_7d, marketing_push_count_7d from marts.fct_push_before_optout_7d "
        "where optout_id = $id"
    )
    # edge-s1 at the window's first microsecond counts, edge-s2 a microsecond earlier does
    # not, edge-s3 (10:00:00.5 UTC, the opt-out's instant) is not before it, edge-s4 failed.
    assert read_marts(spark, sql, {"id": EDGE_OPTOUT})[1] == [(1, 1)]
    sql = (
        "select last_campaign_id, last_interaction_at from marts.fct_last_campaign "
        "where optout_id = $id"
    )
    # Interactions 9 and 10 tie at 10:00:00.4: the greater id (10, numerically) wins.
    assert read_marts(spark, sql, {"id": EDGE_OPTOUT})[1] == [
        ("edge-camp2", dt.datetime(2026, 1, 20, 10, 0, 0, 400000))
    ]
    sql = (
        "select optout_id, opted_out_at from marts.fct_optouts where user_id = 'edge-u1' "
        "order by opted_out_at"
    )
    assert read_marts(spark, sql)[1] == [
        (EDGE_OPTOUT, dt.datetime(2026, 1, 20, 10, 0, 0, 500000)),
        ("edge-c2", dt.datetime(2026, 1, 21, 9, 30)),
        ("edge-c3", dt.datetime(2026, 1, 22, 0, 0)),
        ("edge-c4", dt.datetime(2026, 1, 23, 2, 0)),
    ]
    sql = (
        "select window_days, events_before, events_after from marts.fct_optout_retention "
        "where optout_id = $id and window_days <= 3 order by 1"
    )
    # Before: edge-e2, exactly one day earlier. After, within the day: edge-e1 a microsecond
    # after, and on the 21st edge-e3 (00:00, CSV with bad lines), edge-q1 and edge-q3 (01:00
    # and 03:00, read line by line), edge-m1 (04:00, a quoted line break).
    assert read_marts(spark, sql, {"id": EDGE_OPTOUT})[1] == [(1, 1, 5), (3, 1, 5)]


def test_quarantine_counts_agree(engines):
    duck, spark = engines
    sql = "select * from marts.agg_load_reconciliation order by source_name"
    spark_counts = read_marts(spark, sql)[1]
    assert spark_counts == read_marts(duck, sql)[1]
    counts = {row[0]: row for row in spark_counts}
    assert counts["events"][1] >= 3  # the Parquet rows and both CSV lines are raw rows


@pytest.mark.parametrize("range_name", RANGES)
def test_exports_are_byte_identical(engines, tmp_path, range_name):
    duck, spark = engines
    start, end = ("2026-01-10", "2026-01-25") if range_name == "between" else (None, None)
    date_range = resolve_range(range_name, start=start, end=end, as_of=END.isoformat())
    for kind in ("users", "status_changes"):
        for fmt in ("csv", "parquet"):
            files = []
            for settings in (duck, spark):
                out = dataclasses.replace(settings, export_dir=tmp_path / settings.target)
                files.append(write_export(out, kind, date_range, fmt).path.read_bytes())
            assert files[0] == files[1], (kind, fmt)
            assert files[0].count(b"\n") > 1 or fmt == "parquet"


def test_suppression_export_is_byte_identical(engines, tmp_path):
    files = []
    for settings in engines:
        out = dataclasses.replace(settings, export_dir=tmp_path / settings.target)
        files.append(write_export(out, "suppression", None).path.read_bytes())
    assert files[0] == files[1]
    assert b"edge-u1" in files[0]


def test_every_export_kind_is_covered():
    assert set(KINDS) == {"users", "status_changes", "suppression"}
    assert marts_source(settings_for(Path("/x"))).target == "duckdb"


def _asset_graph(manifest: dict) -> dict:
    """Asset key -> upstream asset keys, as the Dagster definitions derive them."""
    from orchestration.defs.dbt.translator import OptoutTranslator

    translator = OptoutTranslator()
    nodes = {**manifest["nodes"], **manifest["sources"]}
    keys = {
        uid: translator.get_asset_key(props)
        for uid, props in nodes.items()
        if props["resource_type"] in ("model", "source")
    }
    return {
        keys[uid]: sorted(str(keys[d]) for d in nodes[uid].get("depends_on", {}).get("nodes", []))
        for uid in keys
    }


def test_dagster_asset_graph_is_the_same_on_spark(tmp_path):
    """The Dagster assets come from the manifest: parsed for Spark, it gives the same graph."""
    from orchestration.build import dbt_executable
    from orchestration.config import DBT_PROJECT_DIR
    from orchestration.defs.dbt.resources import manifest_identity, prepare_manifest

    spark = dataclasses.replace(
        settings_for(tmp_path), target="spark", spark_warehouse=tmp_path / "spark-warehouse"
    )
    env = {**os.environ, **spark.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    subprocess.run(
        [dbt_executable(), "parse", "--quiet", "--target-path", str(tmp_path / "target")],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
    )
    spark_manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    duck_manifest = prepare_manifest()
    assert manifest_identity(spark_manifest) == ("spark", None)
    assert manifest_identity(duck_manifest)[0] == "duckdb"
    assert _asset_graph(spark_manifest) == _asset_graph(duck_manifest)
    assert len(_asset_graph(duck_manifest)) > 40


def test_dashboard_queries_give_the_same_numbers(engines):
    """Every dashboard query, through the same reader, on both engines."""
    import pandas as pd

    from orchestration.dashboard import queries as q

    duck, spark = (marts_source(s) for s in engines)
    period = q.period("between", start="2026-01-10", end="2026-01-31")
    rng = period.current
    [(alert_day,)] = read_marts(duck, "select max(date) from marts.agg_optout_alerts")[1]
    calls = [
        ("optout_span", ()),
        ("optouts_by_day", (rng,)),
        ("optouts_by_day", (rng, "push")),
        ("rate_by_day", (rng,)),
        ("trend_summary", (period,)),
        ("trend_summary", (period, "sms")),
        ("trend_by_channel", (period,)),
        ("push_histogram", (rng,)),
        ("push_histogram", (rng, True)),
        ("last_campaigns", (rng, 5)),
        ("last_campaign_totals", (rng,)),
        ("retention_windows", ()),
        ("retention_counts", (rng, 7)),
        ("last_events", (rng, 7, "total")),
        ("last_events", (rng, 7, "unique")),
        ("data_span", ()),
        ("optouts_by_day", (rng, None, "week")),
        ("rate_by_day", (rng,)),
        ("rate_by_day", (rng, "push", "week")),
        ("exposure", (rng, "email")),
        ("pressure_curve", (rng, "push")),
        ("campaign_ranking", (rng, 0)),
        ("attribution_totals", (rng,)),
        ("attribution_windows", ()),
        ("default_min_deliveries", ()),
        ("alerts", (rng,)),
        ("latest_day_alerts", (alert_day,)),
        ("optout_keywords", (rng,)),
        ("compliance_by_campaign", ()),
        ("retention_window_status", (rng,)),
        ("opted_out_users", (rng,)),
    ]
    for name, args in calls:
        got_duck = getattr(q, name)(duck, *args)
        got_spark = getattr(q, name)(spark, *args)
        if isinstance(got_duck, tuple):  # (latest day, its alerts)
            assert got_spark[0] == got_duck[0], name
            got_duck, got_spark = got_duck[1], got_spark[1]
        if isinstance(got_duck, pd.DataFrame):
            assert len(got_duck) > 0, name
            pd.testing.assert_frame_equal(
                got_spark.reset_index(drop=True),
                got_duck.reset_index(drop=True),
                check_dtype=False,
                obj=name,
            )
        else:
            assert got_spark == got_duck, name
    assert q.export_file(spark, rng) == q.export_file(duck, rng)
    assert q.trend_summary(spark, period) == q.trend_summary(duck, period)


def test_dagster_export_assets_read_spark_when_the_resource_says_so(engines, tmp_path):
    """The `optout` resource's target picks the engine: the export assets, materialized by
    Dagster against Spark's marts, write the same bytes as against DuckDB's."""
    from dagster import DagsterInstance, materialize

    from orchestration.defs.exports.assets import export_assets
    from orchestration.defs.resources import OptoutSettings
    from orchestration.defs.schedules import export_run_config

    written = []
    for settings in engines:
        export_dir = tmp_path / settings.target
        resource = OptoutSettings(
            raw_dir=str(settings.raw_dir),
            warehouse=str(settings.warehouse),
            export_dir=str(export_dir),
            target=settings.target,
            spark_warehouse=str(settings.spark_warehouse),
            spark_method=settings.spark_method,
            spark_host=settings.spark_host,
            spark_port=settings.spark_port,
        )
        result = materialize(
            export_assets,
            resources={"optout": resource},
            run_config=export_run_config("last_month", as_of=END.isoformat()),
            instance=DagsterInstance.ephemeral(),
        )
        assert result.success
        written.append(
            {p.name: p.read_bytes() for p in sorted(export_dir.iterdir()) if p.suffix == ".csv"}
        )
    assert len(written[0]) == 3  # users, status changes, suppression
    assert written[0] == written[1]


def test_an_unknown_target_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    from orchestration import cli

    monkeypatch.setenv("OPTOUT_TARGET", "bigquery")
    monkeypatch.setenv("OPTOUT_EXPORT_DIR", str(tmp_path / "exports"))
    assert cli.main(["export", "--range", "last_week"]) == 2
    assert capsys.readouterr().err == (
        "optout: error: OPTOUT_TARGET must be duckdb or spark, got 'bigquery'\n"
    )
    assert not (tmp_path / "exports").exists()


def test_an_unknown_spark_method_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    from orchestration import cli

    monkeypatch.setenv("OPTOUT_TARGET", "spark")
    monkeypatch.setenv("OPTOUT_SPARK_METHOD", "connect")
    assert cli.main(["export", "--range", "last_week"]) == 2
    assert capsys.readouterr().err == (
        "optout: error: OPTOUT_SPARK_METHOD must be session or thrift, got 'connect'\n"
    )


# --- what Spark reads, and what it does not -----------------------------------------------


def test_lines_a_csv_reader_cannot_parse_are_quarantined_with_their_text(engines):
    """Both engines: too few / too many fields and bytes that are not UTF-8 are unreadable
    rows; the unterminated quote of edge-q2 is read line by line, so edge-q3 after it is a
    clean row and edge-q2 alone is quarantined; a quoted line break is one clean row."""
    sql = (
        "select source_file, read_mode, raw_rows, clean_rows, quarantined_rows "
        "from marts.fct_landing_files where source_file in "
        "('events/events_edge.csv', 'events/events_quotes.csv', 'events/events_multiline.csv') "
        "order by source_file"
    )
    expected = [
        ("events/events_edge.csv", "csv", 4, 1, 3),
        ("events/events_multiline.csv", "csv", 1, 1, 0),
        ("events/events_quotes.csv", "line by line", 3, 2, 1),
    ]
    for settings in engines:
        assert read_marts(settings, sql)[1] == expected, settings.target
    _, spark = engines
    balanced = read_marts(
        spark,
        "select count(*) from marts.agg_load_reconciliation where source_name = 'events' "
        "and raw_rows = clean_rows + quarantined_rows + duplicate_rows_removed",
    )[1]
    assert balanced == [(1,)]


def test_hidden_files_are_not_listed_by_spark(engines):
    """A known difference: Spark's file sources never list names starting with . or _, so
    its inventory lacks them; DuckDB lists them as not read. Neither reads them."""
    duck, spark = engines
    sql = "select source_file, status from marts.fct_landing_files order by source_file"
    duck_files = dict(read_marts(duck, sql)[1])
    spark_files = dict(read_marts(spark, sql)[1])
    assert {f: duck_files[f] for f in HIDDEN} == dict.fromkeys(HIDDEN, "not read")
    assert HIDDEN.isdisjoint(spark_files)
    assert {f: s for f, s in duck_files.items() if not hidden_from_spark(f)} == spark_files


def _snapshot(settings) -> dict:
    return {t: _rows(settings, t) for t in _mart_tables(settings)}


def test_a_build_that_fails_a_test_leaves_the_published_marts(built):
    """The failed build wrote its marts (its own database), and published nothing: readers
    saw the first build's marts, whole and unchanged."""
    failed = built.failed
    assert "dbt build failed" in failed["error"]
    assert failed["published"] == built.published
    assert failed["marts"] == built.before
    # The first build's marts and the failed build's own, never published.
    assert len(failed["databases"]) == 2
    assert f"marts__{built.published.build_id}.db" in failed["databases"]


_NOT_NULL_GUARD = re.compile(
    r"coalesce\((\w+), raise_error\('NOT NULL constraint failed on ([\w.]+): (\w+)'\)\) as (\w+)"
)


def test_a_null_in_a_not_null_column_fails_the_statement_that_writes_the_mart(built):
    """Parquet tables do not enforce not_null: the statement that wrote each mart in the
    Spark builds guards exactly the columns its contract marks not_null, and the guard, run
    on the engine, fails on a null with the table and column in the message."""
    declared = not_null_columns()
    run = build_target_path(built.spark) / "run" / "optout" / "models" / "marts"
    statements = {table: (run / f"{table}.sql").read_text() for table in declared}
    guarded = {}
    for table, statement in statements.items():
        found = _NOT_NULL_GUARD.findall(statement)
        assert all(c == out == col and on.endswith(f".{table}") for c, on, col, out in found)
        guarded[table] = {c for c, *_ in found}
    assert guarded == declared
    expression = next(
        m.group(0).rsplit(" as ", 1)[0]
        for m in _NOT_NULL_GUARD.finditer(statements["dim_campaigns"])
        if m.group(1) == "channel"
    )
    _, rows = read_marts(
        built.spark, f"select {expression} from (select 'push' as channel) as model_subq"
    )
    assert rows == [("push",)]
    with pytest.raises(Exception, match=r"NOT NULL constraint failed on \S+dim_campaigns: channel"):
        read_marts(
            built.spark,
            f"select {expression} from (select cast(null as string) as channel) as model_subq",
        )


# The marts the failed build's retention windows (1, 3, 3) change, or that it skipped.
_RETENTION_MARTS = {"fct_optout_retention", "fct_last_events_retain_churn"}


def test_the_second_load_is_incremental_and_agrees_with_duckdb(built):
    """The failed build's own marts, built on the second load appended to the first (a
    re-delivered and a late file among it): every mart the retention windows do not touch
    equals DuckDB's, built on both loads, row for row."""
    [failed] = [d for d in built.failed["databases"] if built.published.build_id not in d]
    folder = built.tables / failed
    compared = []
    for table in sorted(p.name for p in folder.iterdir() if p.is_dir()):
        if table in _RETENTION_MARTS:
            continue
        columns, rows = _unpublished_rows(built, folder, table)
        expected = _rows(built.duck_both, table)
        assert _comparable(table, columns, rows) == expected, table
        compared.append(table)
    assert len(compared) >= len(built.before) - len(_RETENTION_MARTS)
    # The second load changed the marts: the comparison is not the first load's again.
    assert _rows(built.duck_both, "fct_optouts") != built.before["fct_optouts"]


def _unpublished_rows(built: Engines, folder: Path, table: str) -> tuple[list, list]:
    """A table of a build's own marts database (folder), read through the engine."""
    from orchestration.marts import _read_spark, _thrift_call, _thrift_query

    spark = marts_source(built.spark)
    if METHOD == "thrift":
        database = folder.name.removesuffix(".db")
        return _thrift_call(spark, _thrift_query, f"select * from {database}.{table}", {})
    return _read_spark(spark, folder, f"select * from marts.{table}", None)


def _parquet_rows(folder: Path, columns: list[str]) -> list[tuple]:
    table = pq.read_table(folder, columns=columns)
    return list(zip(*(table.column(c).to_pylist() for c in columns), strict=True))


def test_each_load_is_a_partition_and_repeated_keys_are_settled_apart(built):
    """Incremental staging on Parquet: two loads, two partitions of the base table (no file
    read twice; the failed build's load is kept, its marts were not published), and the
    repeated keys (a re-delivered day of sends, the conflicting key) in the side table that
    settles them, not a ranking of every row."""
    staging = built.tables / "staging.db"
    partitions = sorted(
        p.name.split("=", 1)[1] for p in (staging / "base_messaging__sends").glob("_load_id=*")
    )
    assert len(partitions) == 2
    ledger = _parquet_rows(staging / "landing_files__sends", ["source_file", "_load_id"])
    assert sorted({load for _, load in ledger}) == partitions
    files = [f for f, _ in ledger]
    assert len(files) == len(set(files)) > 14
    statuses = {}
    for (status,) in _parquet_rows(staging / "landing_repeated__sends", ["_status"]):
        statuses[status] = statuses.get(status, 0) + 1
    sql = (
        "select duplicate_rows_removed from marts.agg_load_reconciliation "
        "where source_name = 'sends'"
    )
    [(first,)] = read_marts(built.duck, sql)[1]
    [(both,)] = read_marts(built.duck_both, sql)[1]
    assert statuses["duplicate"] == both > first > 0  # the re-delivered day's rows
    assert statuses["conflict"] == 1  # edge-s4's first row lost to the later file's


# --- the cluster: what BI tools and readers elsewhere see ----------------------------------


def _spark_sql(cluster: Cluster, sql: str) -> list[tuple]:
    """A query straight to the Thrift server (what a BI tool sees)."""
    connection = thrift_connect(cluster.host, cluster.thrift_port)
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        connection.close()


@thrift_only
def test_the_marts_views_point_at_the_published_build(built, cluster):
    """What a BI tool reads (the `marts` views) is the build readers see, the failed
    build's database beside it, never published."""
    spark = built.spark
    published = marts_source(spark).published()
    assert published == built.published and published.build_id
    views = _spark_sql(cluster, "show views in marts")
    assert sorted(v[1] for v in views if not v[2]) == mart_names(spark)
    assert (
        _spark_sql(cluster, "select count(*) from marts.fct_optouts")
        == read_marts(spark, "select count(*) from marts.fct_optouts")[1]
    )
    databases = [d[0] for d in _spark_sql(cluster, "show databases like 'marts__*'")]
    assert sorted(f"{d}.db" for d in databases) == built.failed["databases"]


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


@thrift_only
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
    assert written.read_bytes().count(b"\n") > 1
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


# Last in the module: it replaces the published marts that the tests above read. A third
# Spark build (about 4 min of a 2-core machine): `make test-spark` runs it, `make test` and
# CI leave it out (docs/DECISIONS.md "The Spark tests").
@pytest.mark.skipif(
    os.environ.get("OPTOUT_TEST_SPARK") != "all",
    reason="a third Spark build: OPTOUT_TEST_SPARK=all (`make test-spark`) runs it",
)
def test_a_full_refresh_of_the_existing_warehouse_rebuilds_every_load(built):
    """`optout build --full-refresh` on a Spark warehouse that already holds tables (two
    loads' partitions, the tables of repeated keys, a failed build's marts): rebuilt from
    every landing file in one load, it publishes a new build equal to DuckDB's on both loads,
    every mart row for row (the retention windows back at their default)."""
    spark = built.spark
    build(spark, full_refresh=True, skip_tests=DBT_GENERIC_TESTS)
    assert marts_source(spark).published().build_id != built.published.build_id
    staging = built.tables / "staging.db"
    assert len(list((staging / "base_messaging__sends").glob("_load_id=*"))) == 1
    marts = _snapshot(spark)
    assert sorted(marts) == sorted(built.before)
    for table, rows in marts.items():
        assert rows == _rows(built.duck_both, table), table
