"""Incremental builds give the marts a full rebuild gives (docs/OPERATIONS.md).

Files arrive day by day, one is late (a past day's events land with the last
batch) and one is re-delivered; after each batch an incremental build runs.
The final warehouse must equal, row for row, a --full-refresh build of the same
files.
"""

from __future__ import annotations

import datetime as dt
import shutil

from conftest import build, query, query_state, settings_for, snapshot

from orchestration.build import run_build
from orchestration.generator import generate

END = dt.date(2024, 3, 12)
LATE_FILE = "events/events_2024-03-05.csv"


def test_day_by_day_builds_equal_a_full_refresh(tmp_path):
    source = tmp_path / "generated"
    generate(source, users=150, days=12, seed=11, end_date=END, bad_rows=False)
    files = sorted(p.relative_to(source) for p in source.rglob("*.csv"))

    def batch(until: dt.date, exclude=()) -> list:
        return [
            f
            for f in files
            if str(f) not in exclude
            and ("_" not in f.stem or dt.date.fromisoformat(f.stem[-10:]) <= until)
        ]

    daily = settings_for(tmp_path / "daily")
    delivered: set = set()
    for until, extra in [
        (dt.date(2024, 3, 7), []),
        (dt.date(2024, 3, 10), []),
        (END, [LATE_FILE]),
    ]:
        for f in batch(until, exclude={LATE_FILE}) + [type(files[0])(e) for e in extra]:
            if f not in delivered:
                (daily.raw_dir / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source / f, daily.raw_dir / f)
                delivered.add(f)
        build(daily)
    # A re-delivered copy of an early file, then one more incremental build.
    shutil.copy(
        source / "sends/sends_2024-03-02.csv", daily.raw_dir / "sends/sends_2024-03-02_again.csv"
    )
    build(daily)

    full = settings_for(tmp_path / "full")
    shutil.copytree(daily.raw_dir, full.raw_dir)
    run_build(full, full_refresh=True)

    incremental, rebuilt = snapshot(daily.warehouse), snapshot(full.warehouse)
    assert incremental.keys() == rebuilt.keys()
    assert "marts.fct_optouts" in incremental and incremental["marts.fct_optouts"]
    for name in rebuilt:
        assert incremental[name] == rebuilt[name], name
    duplicates = query(
        daily.warehouse,
        "select duplicate_rows_removed from marts.agg_load_reconciliation "
        "where source_name = 'sends'",
    )
    copies = query_state(
        full.warehouse,
        "select raw_rows from staging.landing_files__sends "
        "where source_file like '%sends_2024-03-02.csv'",
    )
    assert duplicates == copies
