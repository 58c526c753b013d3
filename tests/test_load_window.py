"""Builds through a landing day (docs/CONTRACT.md §7.2): the dbt var `load_through`, which a Dagster
partition and `optout build --through` set, loads only the files dated up to that day.

Landing zone: users.csv (no date: in every window), one consent change (CSV) and one
event (Parquet) per day on D1..D3; later a late file of D1 and a file of D4 arrive.
Builds: through D2 (by the CLI), without limit, through D3 (a partition build); the result
equals a full refresh through D3 of the same files.
"""

from __future__ import annotations

import shutil
from functools import partial

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import (
    COLUMNS,
    build,
    query,
    query_state,
    settings_for,
    snapshot,
    write_csv,
    write_landing_zone,
)
from factories import consent_change, event, user

from orchestration import cli
from orchestration.build import BuildError, run_build

D1, D2, D3, D4 = "2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"
USERS = [user(user_id=u, updated_at="2026-01-01T00:00:00Z") for u in ("u1", "u2", "u3")]


optout = partial(consent_change, status="opted_out", source="admin")


def day_files(raw, day: str, change: dict, event_id: str, name: str | None = None) -> None:
    name = name or day
    write_csv(raw / "consent_changes" / f"consent_changes_{name}.csv", "consent_changes", [change])
    row = event(
        event_id=event_id,
        user_id=change["user_id"],
        event_name="app_open",
        occurred_at=f"{day}T08:00:00Z",
    )
    table = pa.table({c: pa.array([row[c]], type=pa.string()) for c in COLUMNS["events"]})
    pq.write_table(table, raw / "events" / f"events_{name}.parquet")


def loaded_files(warehouse, source: str) -> list[str]:
    rows = query_state(
        warehouse,
        f"select source_file from staging.landing_files__{source} where raw_rows > 0 order by 1",
    )
    return [r[0].split("/")[-1] for r in rows]


def optouts(warehouse) -> list[tuple]:
    return query(warehouse, "select optout_id, user_id from marts.fct_optouts order by 1")


def test_builds_through_a_day_load_only_its_files_and_equal_a_full_refresh(
    tmp_path, monkeypatch, capsys
):
    daily = settings_for(tmp_path / "daily")
    write_landing_zone(daily.raw_dir, {"users": USERS})
    day_files(
        daily.raw_dir,
        D1,
        optout(change_id="c1", user_id="u1", channel="sms", changed_at=f"{D1}T10:00:00Z"),
        "e1",
    )
    day_files(
        daily.raw_dir,
        D2,
        optout(change_id="c2", user_id="u2", channel="email", changed_at=f"{D2}T10:00:00Z"),
        "e2",
    )
    day_files(
        daily.raw_dir,
        D3,
        optout(change_id="c3", user_id="u3", channel="push", changed_at=f"{D3}T10:00:00Z"),
        "e3",
    )

    # Through D2, by the CLI: D1 and D2 load, D3 waits; the undated users file loads.
    monkeypatch.setenv("OPTOUT_RAW_DIR", str(daily.raw_dir))
    monkeypatch.setenv("OPTOUT_WAREHOUSE", str(daily.warehouse))
    assert cli.main(["build", "--through", D2]) == 0, capsys.readouterr().out[-3000:]
    assert loaded_files(daily.warehouse, "consent_changes") == [
        f"consent_changes_{D1}.csv",
        f"consent_changes_{D2}.csv",
    ]
    assert loaded_files(daily.warehouse, "events") == [
        f"events_{D1}.parquet",
        f"events_{D2}.parquet",
    ]
    assert query(daily.warehouse, "select count(*) from marts.dim_users") == [(3,)]
    assert optouts(daily.warehouse) == [("c1", "u1"), ("c2", "u2")]

    # No limit: D3 loads.
    build(daily)
    assert optouts(daily.warehouse) == [("c1", "u1"), ("c2", "u2"), ("c3", "u3")]

    # A late file of D1 and a file of D4 arrive; a build through D3 (the partition of D3)
    # loads the late file and leaves D4 for later (not taken for a removed file).
    day_files(
        daily.raw_dir,
        D1,
        optout(change_id="c0", user_id="u2", channel="sms", changed_at=f"{D1}T09:00:00Z"),
        "e0",
        f"{D1}_late",
    )
    day_files(
        daily.raw_dir,
        D4,
        optout(change_id="c4", user_id="u1", channel="push", changed_at=f"{D4}T10:00:00Z"),
        "e4",
    )
    build(daily, through=D3)
    assert loaded_files(daily.warehouse, "consent_changes") == [
        f"consent_changes_{D1}.csv",
        f"consent_changes_{D1}_late.csv",
        f"consent_changes_{D2}.csv",
        f"consent_changes_{D3}.csv",
    ]
    assert loaded_files(daily.warehouse, "events") == [
        f"events_{D1}.parquet",
        f"events_{D1}_late.parquet",
        f"events_{D2}.parquet",
        f"events_{D3}.parquet",
    ]
    assert optouts(daily.warehouse) == [("c0", "u2"), ("c1", "u1"), ("c2", "u2"), ("c3", "u3")]
    assert query(
        daily.warehouse,
        "select raw_rows from marts.agg_load_reconciliation where source_name = 'consent_changes'",
    ) == [(4,)]

    # A full refresh through D3 of the same files gives the same warehouse.
    full = settings_for(tmp_path / "full")
    shutil.copytree(daily.raw_dir, full.raw_dir)
    build(full, through=D3, full_refresh=True)
    incremental, rebuilt = snapshot(daily.warehouse), snapshot(full.warehouse)
    assert incremental.keys() == rebuilt.keys()
    for name in rebuilt:
        assert incremental[name] == rebuilt[name], name


def test_malformed_load_through_fails_the_dbt_build_and_writes_nothing(tmp_path):
    settings = settings_for(tmp_path)
    write_landing_zone(settings.raw_dir, {"users": USERS})
    lines: list[str] = []
    with pytest.raises(BuildError):
        run_build(settings, through="2026-02-30", log=lines.append)  # bypasses the CLI check
    expected = (
        "load_through must be a calendar date as YYYY-MM-DD (the last landing day to "
        "load), got: 2026-02-30"
    )
    assert any(line.strip() == expected for line in lines), lines[-20:]
    assert not settings.warehouse.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("bad-date", "--through must be a date as YYYY-MM-DD, got 'bad-date'"),
        ("2026-02-30", "--through must be a real calendar date (YYYY-MM-DD), got '2026-02-30'"),
    ],
)
def test_build_with_bad_through_exits_nonzero_with_one_line(
    tmp_path, monkeypatch, capsys, value, message
):
    raw = tmp_path / "raw"
    write_landing_zone(raw, {"users": USERS})
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    monkeypatch.setenv("OPTOUT_RAW_DIR", str(raw))
    monkeypatch.setenv("OPTOUT_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))

    assert cli.main(["build", "--through", value]) == 2
    assert capsys.readouterr().err == f"optout: error: {message}\n"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # no warehouse
