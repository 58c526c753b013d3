"""Incremental builds give the marts a full rebuild gives (docs/OPERATIONS.md).

Files arrive day by day, one is late (a past day's events land with the last
batch) and one is re-delivered (with the last batch too: a copy of an early sends
file); after each batch an incremental build runs. Two
of those batches first meet a build killed mid-way (SIGKILL to its process
group, after some of the state's tables took the batch in and others did not).
The final warehouse must equal, row for row, a --full-refresh build of the same
files.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys

from conftest import build, query, query_state, settings_for, snapshot

from orchestration.build import run_build
from orchestration.generator import generate

END = dt.date(2024, 3, 12)
LATE_FILE = "events/events_2024-03-05.csv"
REDELIVERED = "sends/sends_2024-03-02.csv"  # delivered with the first batch
# Batch -> the dbt line after which a build of it is killed: the base table of sends took
# the batch in, other sources' not yet; then the first intermediate table was rebuilt,
# the others not.
KILL_AFTER = {
    1: "OK created sql incremental model staging.base_messaging__sends ",
    2: "OK created sql table model intermediate.",
}


def killed_build(settings, marker: str) -> None:
    """`optout build`, SIGKILLed with its dbt as soon as dbt prints `marker`."""
    env = {
        **os.environ,
        "OPTOUT_RAW_DIR": str(settings.raw_dir),
        "OPTOUT_WAREHOUSE": str(settings.warehouse),
        "OPTOUT_EXPORT_DIR": str(settings.export_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "build", "--verbose"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen, lines = False, []
    try:
        for line in proc.stdout:
            lines.append(line)
            if marker in line:
                seen = True
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert seen, f"no {marker.strip()!r}: nothing was killed mid-way\n" + "".join(lines[-40:])


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
    for number, (until, extra) in enumerate(
        [(dt.date(2024, 3, 7), []), (dt.date(2024, 3, 10), []), (END, [LATE_FILE])]
    ):
        for f in batch(until, exclude={LATE_FILE}) + [type(files[0])(e) for e in extra]:
            if f not in delivered:
                (daily.raw_dir / f).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source / f, daily.raw_dir / f)
                delivered.add(f)
        if until == END:  # a re-delivered copy of an early file
            shutil.copy(source / REDELIVERED, daily.raw_dir / "sends/sends_2024-03-02_again.csv")
        if number in KILL_AFTER:
            killed_build(daily, KILL_AFTER[number])
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
