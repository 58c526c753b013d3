"""Shared fixtures: landing zones written from Python rows, and real dbt builds
into real DuckDB files. dbt costs seconds per invocation, so scenario tests put
many small cases into one landing zone and build it once per module/session."""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.build import run_build
from orchestration.config import REPO_ROOT, Settings
from orchestration.contract import hidden_from_spark  # noqa: F401 - for the tests
from orchestration.lib.ports import free_port  # noqa: F401 - for the tests

# Longest modules first: with `--dist loadfile` a module is one unit of work, and a long one
# handed out last keeps one worker busy while the others have nothing left to do (the
# Makefile keeps xdist from re-ordering them). Ordered by their measured time in `make
# test` (2-core machine, 2026-12-01): landing_faults about 510 s, dagster_postgres 420,
# faults 365, cli 210, then 185 down to 65 s.
SLOW_FIRST = (
    "test_spark.py",  # a cluster and two Spark builds: the fixture took 606-825 s in CI
    "test_landing_faults.py",
    "test_dagster_postgres.py",
    "test_faults.py",
    "test_cli.py",
    "test_incremental.py",
    "test_dashboard_browser.py",
    "test_dagster_partitions.py",
    "test_load_window.py",
    "test_dagster_cli_report.py",
    "test_metrics.py",
    "test_dbt_invariants.py",
    "test_dagster_materialize.py",
    "test_freshness.py",
    "test_dagster_alert_check.py",
    "test_dagster_dev_smoke.py",
)


def pytest_collection_modifyitems(config, items) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: modules stay whole


def pytest_configure(config) -> None:
    # Before the test modules import the Dagster definitions: the partitions start where
    # the landing zone's data starts (the repository's data/raw after `make run`), and the
    # tests' partitions are days of 2025 and 2026 whatever it holds.
    os.environ.setdefault("OPTOUT_PARTITIONS_START", "2025-01-01")
    # `make test` exports the repository's DAGSTER_HOME: a CLI build in a test must not
    # record itself there (the tests that use an instance set their own).
    os.environ.pop("DAGSTER_HOME", None)


# Column order per source (docs/CONTRACT.md §2.2). Kept here on purpose, apart from the
# project's own definition of the landing contract (the var landing_sources in
# dbt_project/dbt_project.yml): the tests check the code against this independent statement,
# so do not derive it from the code.
COLUMNS = {
    "users": [
        "user_id",
        "external_id",
        "email",
        "phone",
        "first_name",
        "last_name",
        "team_code",
        "created_at",
        "updated_at",
    ],
    "campaigns": ["campaign_id", "campaign_name", "channel", "message_category", "started_at"],
    "sends": [
        "send_id",
        "user_id",
        "campaign_id",
        "channel",
        "message_category",
        "sent_at",
        "delivery_status",
    ],
    "interactions": [
        "interaction_id",
        "user_id",
        "campaign_id",
        "send_id",
        "channel",
        "interaction_type",
        "occurred_at",
    ],
    "events": ["event_id", "user_id", "event_name", "occurred_at"],
    "consent_changes": [
        "change_id",
        "user_id",
        "channel",
        "status",
        "changed_at",
        "source",
        "keyword",
        "reason",
    ],
}

SAMPLE_END_DATE = dt.date(2026, 1, 31)


def write_csv(path: Path, source: str, rows: Iterable[dict]) -> Path:
    """One CSV file of a source, contract column order, missing keys as empty."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS[source])
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row[c] for c in COLUMNS[source]])
    return path


def write_landing_zone(raw_dir: Path, tables: dict[str, list[dict]]) -> Path:
    """A landing zone with one file per source (every source folder exists)."""
    for source in COLUMNS:
        write_csv(raw_dir / source / f"{source}.csv", source, tables.get(source, []))
    return raw_dir


def write_two_batches(raw_dir: Path, batch_1: dict, batch_2: dict) -> None:
    """batch_1.csv and batch_2.csv in every source folder, batch_1 modified last: "the
    latest file" is the latest file name (batch_2), which only then differs from the
    latest modification time."""
    for source in COLUMNS:
        first = write_csv(raw_dir / source / "batch_1.csv", source, batch_1.get(source, []))
        second = write_csv(raw_dir / source / "batch_2.csv", source, batch_2.get(source, []))
        newer = second.stat().st_mtime + 3600
        os.utime(first, (newer, newer))


def reconciliation(warehouse: Path, source: str) -> list[tuple]:
    """[(raw, clean, quarantined, duplicates)] of a source in agg_load_reconciliation."""
    return query(
        warehouse,
        "select raw_rows, clean_rows, quarantined_rows, duplicate_rows_removed "
        "from marts.agg_load_reconciliation where source_name = ?",
        [source],
    )


def not_null_columns() -> dict[str, set[str]]:
    """Per mart, the columns its YAML declares `constraints: [{type: not_null}]`."""
    declared = {}
    for path in sorted((REPO_ROOT / "dbt_project" / "models" / "marts").glob("*.yml")):
        for model in yaml.safe_load(path.read_text())["models"]:
            declared[model["name"]] = {
                column["name"]
                for column in model["columns"]
                if {"type": "not_null"} in column.get("constraints", [])
            }
    return declared


def settings_for(root: Path) -> Settings:
    """Settings of a self-contained project under root (raw/, warehouse.duckdb, exports/)."""
    return Settings(
        raw_dir=root / "raw",
        warehouse=root / "warehouse.duckdb",
        export_dir=root / "exports",
    )


def build(
    settings: Settings,
    as_of: str | None = None,
    log: Callable[[str], None] | None = None,
    through: dt.date | str | None = None,
    full_refresh: bool = False,
    dbt_vars: dict | None = None,
    skip_tests: tuple[str, ...] = (),
) -> Path:
    """A real `dbt build` through the CLI's code path; returns the warehouse file.
    `dbt_vars` adds dbt vars (e.g. retention_windows) to the build's --vars."""
    lines: list[str] = []
    try:
        run_build(
            settings,
            as_of=as_of,
            log=log or lines.append,
            through=through,
            full_refresh=full_refresh,
            extra_vars=dbt_vars,
            skip_tests=skip_tests,
        )
    except Exception:
        print("\n".join(lines[-60:]))
        raise
    return settings.warehouse


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    """A query over the published warehouse (schemas marts and quarantine)."""
    with duckdb.connect(os.fspath(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def query_state(warehouse: Path, sql: str, params=None) -> list[tuple]:
    """A query over the warehouse's state file (landing rows, staging, intermediate),
    attached under the name the build gives it, as the views there expect."""
    state = Settings(raw_dir=warehouse.parent, warehouse=warehouse, export_dir=warehouse).state_file
    with duckdb.connect(":memory:") as con:
        con.execute("attach ? as state (read_only)", [os.fspath(state)])
        con.execute("use state")
        return con.execute(sql, params or []).fetchall()


def query_all(warehouse: Path, sql: str, params=None) -> list[tuple]:
    """A query over both files as one warehouse: `staging.x`, `intermediate.x`, `marts.x`
    and `quarantine.x` all resolve (views in an in-memory database over the state and the
    published file, attached under the names the build gives them)."""
    state = Settings(raw_dir=warehouse.parent, warehouse=warehouse, export_dir=warehouse).state_file
    with duckdb.connect(":memory:") as con:
        con.execute("attach ? as state (read_only)", [os.fspath(state)])
        con.execute("attach ? as published (read_only)", [os.fspath(warehouse)])
        relations = con.execute(
            "select database_name, schema_name, table_name from duckdb_tables() "
            "where database_name in ('state', 'published') union all "
            "select database_name, schema_name, view_name from duckdb_views() "
            "where database_name in ('state', 'published') and not internal"
        ).fetchall()
        for database, schema, name in relations:
            con.execute(f'create schema if not exists memory."{schema}"')
            con.execute(
                f'create view memory."{schema}"."{name}" as '
                f'select * from "{database}"."{schema}"."{name}"'
            )
        return con.execute(sql, params or []).fetchall()


def relations(warehouse: Path) -> list[str]:
    """The published tables, then the state's tables (landing rows and ledgers)."""
    listing = (
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ({}) and table_type = 'BASE TABLE' order by 1"
    )
    published = query(warehouse, listing.format("'marts', 'quarantine'"))
    state = query_state(warehouse, listing.format("'staging'"))
    return [r[0] for r in published + state]


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Every table's rows, without the columns that record when or by which build a row
    was loaded."""

    def rows(name: str) -> list[tuple]:
        read = query_state if name.startswith("staging.") else query
        schema, table = name.split(".")
        columns = read(
            warehouse,
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? "
            "and column_name not in ('_load_id', 'loaded_at') order by ordinal_position",
            [schema, table],
        )
        return read(
            warehouse, f"select {', '.join(c[0] for c in columns)} from {name} order by all"
        )

    return {name: rows(name) for name in relations(warehouse)}


def query_dicts(warehouse: Path, sql: str, params=None) -> list[dict]:
    with duckdb.connect(os.fspath(warehouse), read_only=True) as con:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def resources_for(settings: Settings) -> dict:
    """The Dagster resources of a run against the project under `settings`."""
    from orchestration.defs.dbt.resources import dbt_resource
    from orchestration.defs.resources import OptoutSettings

    return {
        "dbt": dbt_resource(),
        "optout": OptoutSettings(
            raw_dir=str(settings.raw_dir),
            warehouse=str(settings.warehouse),
            export_dir=str(settings.export_dir),
        ),
    }


@pytest.fixture(scope="session")
def sample_project(tmp_path_factory) -> Settings:
    """Synthetic sample data (small) built once per session; read-only for tests."""
    from orchestration.generator import generate

    root = tmp_path_factory.mktemp("sample")
    settings = settings_for(root)
    generate(settings.raw_dir, users=300, days=40, seed=7, end_date=SAMPLE_END_DATE)
    build(settings)
    return settings
