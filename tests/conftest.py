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

from orchestration.build import run_build
from orchestration.config import Settings


def pytest_configure(config) -> None:
    # Before the test modules import the Dagster definitions: the partitions start where
    # the landing zone's data starts (the repository's data/raw after `make run`), and the
    # tests' partitions are days of 2025 and 2026 whatever it holds.
    os.environ.setdefault("OPTOUT_PARTITIONS_START", "2025-01-01")
    # `make test` exports the repository's DAGSTER_HOME: a CLI build in a test must not
    # record itself there (the tests that use an instance set their own).
    os.environ.pop("DAGSTER_HOME", None)


# SPEC §2 column order per source.
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
    """One CSV file of a source, SPEC column order, missing keys as empty."""
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
) -> Path:
    """A real `dbt build` through the CLI's code path; returns the warehouse file."""
    lines: list[str] = []
    try:
        run_build(
            settings,
            as_of=as_of,
            log=log or lines.append,
            through=through,
            full_refresh=full_refresh,
        )
    except Exception:
        print("\n".join(lines[-60:]))
        raise
    return settings.warehouse


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(os.fspath(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def relations(warehouse: Path) -> list[str]:
    rows = query(
        warehouse,
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('marts', 'quarantine', 'staging') and table_type = 'BASE TABLE' "
        "order by 1",
    )
    return [r[0] for r in rows]


def snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    """Every table's rows, without the columns that record when or from which copy of a
    file a row was loaded (_batch_id, and source_file in staging: a re-delivered copy
    may be the one kept)."""

    def rows(name: str) -> list[tuple]:
        skip = ["_batch_id"] if name.startswith("staging.base") else []
        if name.startswith("staging."):
            skip.append("source_file")
        exclude = f" exclude ({', '.join(skip)})" if skip else ""
        return query(warehouse, f"select *{exclude} from {name} order by all")

    return {
        name: rows(name)
        for name in relations(warehouse)
        if not name.startswith("staging.landing_rejects")
    }


def query_dicts(warehouse: Path, sql: str, params=None) -> list[dict]:
    with duckdb.connect(os.fspath(warehouse), read_only=True) as con:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def resources_for(settings: Settings) -> dict:
    """The Dagster resources of a run against the project under `settings`."""
    from orchestration.build import dbt_resource
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
