"""Messy landing zones as vendors and mounts deliver them (docs/OPERATIONS.md): every
raw line ends up clean, quarantined with its text, or counted as a duplicate; files the
build does not read are reported; paths are paths, not patterns; a missing or empty
landing zone never publishes empty marts; a killed build leaves no dbt behind; builds
are private. Every build here is a real dbt build through the CLI's code path."""

from __future__ import annotations

import dataclasses
import gzip
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import COLUMNS, build, query, query_state, settings_for, write_csv

from orchestration import cli
from orchestration.build import WarehouseFiles

OPTOUT = [sys.executable, "-m", "orchestration.cli"]
HEADER = "event_id,user_id,event_name,occurred_at"


def event_line(event_id: str, name: str = "app_open") -> str:
    return f"{event_id},u1,{name},2024-03-09T10:00:00Z"


def cli_env(settings, **extra) -> dict[str, str]:
    return {
        **os.environ,
        "OPTOUT_RAW_DIR": str(settings.raw_dir),
        "OPTOUT_WAREHOUSE": str(settings.warehouse),
        "OPTOUT_EXPORT_DIR": str(settings.export_dir),
        **extra,
    }


def minimal_zone(raw: Path) -> None:
    """One user, one opt-out, one event: enough for non-empty marts."""
    write_csv(
        raw / "users" / "users.csv",
        "users",
        [{"user_id": "u1", "external_id": "x1", "updated_at": "2024-01-01T00:00:00Z"}],
    )
    write_csv(
        raw / "consent_changes" / "consent_changes_2024-03-10.csv",
        "consent_changes",
        [
            {
                "change_id": "c1",
                "user_id": "u1",
                "channel": "sms",
                "status": "opted_out",
                "changed_at": "2024-03-10T10:00:00Z",
                "source": "inbound_keyword",
            }
        ],
    )
    write_csv(
        raw / "events" / "events_2024-03-09.csv",
        "events",
        [
            {
                "event_id": "e1",
                "user_id": "u1",
                "event_name": "app_open",
                "occurred_at": "2024-03-09T10:00:00Z",
            }
        ],
    )


def reconciliation(warehouse: Path) -> dict[str, tuple]:
    rows = query(
        warehouse,
        "select source_name, raw_rows, clean_rows, quarantined_rows, duplicate_rows_removed "
        "from marts.agg_load_reconciliation",
    )
    return {row[0]: row[1:] for row in rows}


# --- one messy landing zone, built once -------------------------------------------------------

BIG_LINES = 1000  # a single-file read loses every line after an unterminated quote


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("messy"))
    # Glob characters in the landing zone's path: paths are paths, not patterns.
    raw = settings.raw_dir / "land [v2]*?"
    settings = dataclasses.replace(settings, raw_dir=raw)
    minimal_zone(raw)
    events = raw / "events"
    # Five files, each with an unterminated quote that swallows the lines after it.
    for n in range(5):
        lines = [HEADER, event_line(f"q{n}a"), f'q{n}b,u1,"app_open,2024-03-09T10:00:00Z']
        lines += [event_line(f"q{n}{x}") for x in "cd"]
        (events / f"events_quote_{n}.csv").write_text("\n".join(lines) + "\n")
    # One large file with the stray quote in the middle.
    big = [HEADER]
    for i in range(BIG_LINES):
        big.append(
            f'big{i},u1,"app_open,2024-03-09T10:00:00Z' if i == 500 else event_line(f"big{i}")
        )
    (events / "events_big.csv").write_text("\n".join(big) + "\n")
    # Compressed and upper-case files are read; a line break inside quotes is one record.
    with gzip.open(events / "events_gz.csv.gz", "wt") as handle:
        handle.write(HEADER + "\n" + event_line("gz1") + "\n" + event_line("gz2") + "\n")
    (events / "EVENTS_UPPER.CSV").write_text(
        HEADER + "\n" + event_line("up1") + "\n" + 'up2,u1,"two\nlines",2024-03-09T10:00:00Z\n'
    )
    # An extra column named like an internal one, a header ending in a comma.
    (events / "events_extra.csv").write_text(
        "event_id,user_id,event_name,occurred_at,filename,\n"
        "x1,u1,app_open,2024-03-09T10:00:00Z,whatever.csv,\n"
    )
    table = pa.table(
        {
            **{c: pa.array([f"pq-{c}"], pa.string()) for c in COLUMNS["events"]},
            "filename": pa.array(["shadow"], pa.string()),
        }
    )
    table = table.set_column(3, "occurred_at", pa.array(["2024-03-09T11:00:00Z"]))
    pq.write_table(table, events / "events_extra.parquet")
    # Offsets: +14:00 is the last valid one.
    (events / "events_offsets.csv").write_text(
        HEADER
        + "\n"
        + "\n".join(
            [
                "o_ok,u1,x,2024-03-10T08:00:00+14:00",
                "o_1430,u1,x,2024-03-10T08:00:00+14:30",
                "o_m1459,u1,x,2024-03-10T08:00:00-14:59",
            ]
        )
        + "\n"
    )
    # Files that are not read: other extensions, a sub-folder, an unknown source folder.
    (events / "notes.txt").write_text("hello\n")
    (events / "events.json").write_text("{}\n")
    (events / "archive").mkdir()
    (events / "archive" / "events_old.csv").write_text(HEADER + "\n" + event_line("old") + "\n")
    (raw / "consent-changes").mkdir()
    (raw / "consent-changes" / "cc.csv").write_text("change_id\n")
    build(settings)
    return settings


def test_every_line_of_a_file_with_an_unterminated_quote_is_kept_or_quarantined(messy):
    kept = {
        r[0]
        for r in query_state(messy.warehouse, "select event_id from staging.stg_messaging__events")
    }
    for n in range(5):
        assert {f"q{n}a", f"q{n}c", f"q{n}d"} <= kept
        assert f"q{n}b" not in kept
    assert {f"big{i}" for i in range(BIG_LINES) if i != 500} <= kept
    quarantined = dict(
        query(
            messy.warehouse,
            "select raw_line, reason from quarantine.events where raw_line is not null",
        )
    )
    for n in range(5):
        line = f'q{n}b,u1,"app_open,2024-03-09T10:00:00Z'
        assert quarantined[line].startswith("unreadable_row:malformed_quotes"), quarantined
    assert 'big500,u1,"app_open,2024-03-09T10:00:00Z' in quarantined
    modes = dict(
        query(
            messy.warehouse,
            "select source_file, read_mode from marts.fct_landing_files "
            "where source_name = 'events'",
        )
    )
    assert modes["events/events_big.csv"] == "line by line"
    assert modes["events/EVENTS_UPPER.CSV"] == "csv"  # a quoted line break is not a loss


def test_the_reconciliation_counts_every_line_written(messy):
    raw, clean, quarantined, duplicates = reconciliation(messy.warehouse)["events"]
    # Data lines written: 1 (minimal) + 5 x 4 + 1000 + 2 (gz) + 2 (upper; one spans two
    # lines) + 1 (extra csv) + 1 (parquet) + 3 (offsets). Not read: the sub-folder's.
    assert raw == 1 + 20 + BIG_LINES + 2 + 2 + 1 + 1 + 3
    assert raw == clean + quarantined + duplicates
    assert quarantined == 5 + 1 + 2  # five + one unterminated quotes, two bad offsets


def test_compressed_upper_case_and_extra_column_files_are_read(messy):
    rows = dict(
        query_state(
            messy.warehouse, "select event_id, source_file from staging.stg_messaging__events"
        )
    )
    assert rows["gz1"] == "events/events_gz.csv.gz"
    assert rows["up2"] == "events/EVENTS_UPPER.CSV"
    assert rows["x1"] == "events/events_extra.csv"  # not the `filename` column's value
    assert rows["pq-event_id"] == "events/events_extra.parquet"
    names = dict(
        query_state(
            messy.warehouse, "select event_id, event_name from staging.stg_messaging__events"
        )
    )
    assert names["up2"] == "two\nlines"


def test_offsets_beyond_fourteen_hours_are_quarantined(messy):
    reasons = dict(query(messy.warehouse, "select event_id, reason from quarantine.events"))
    assert reasons["o_1430"] == "unparseable_timestamp:occurred_at"
    assert reasons["o_m1459"] == "unparseable_timestamp:occurred_at"
    kept = dict(
        query_state(
            messy.warehouse,
            "select event_id, occurred_at::varchar from staging.stg_messaging__events",
        )
    )
    assert kept["o_ok"] == "2024-03-09 18:00:00"


def test_files_that_are_not_read_are_listed_with_the_reason(messy):
    unread = dict(
        query(
            messy.warehouse,
            "select source_file, reason from marts.fct_landing_files where status = 'not read'",
        )
    )
    assert unread == {
        "events/notes.txt": "not a .csv, .csv.gz or .parquet file",
        "events/events.json": "not a .csv, .csv.gz or .parquet file",
        "events/archive/events_old.csv": (
            "in a sub-folder of events/ (only files directly in it are read)"
        ),
        "consent-changes/cc.csv": (
            "folder consent-changes/ is not a source (did you mean consent_changes/?)"
        ),
    }


def test_status_and_build_print_the_files_not_read(messy, capsys, monkeypatch):
    monkeypatch.setenv("OPTOUT_RAW_DIR", str(messy.raw_dir))
    monkeypatch.setenv("OPTOUT_WAREHOUSE", str(messy.warehouse))
    assert cli.main(["status"]) == 0
    out = capsys.readouterr()
    assert "optout: warning: not read: events/notes.txt (not a .csv, .csv.gz or .parquet file)" in (
        out.err.splitlines()
    )
    assert any(line.startswith("events ") and line.endswith("yes") for line in out.out.splitlines())
    assert cli.main(["build"]) == 0  # nothing new: a build with no new file
    err = capsys.readouterr().err
    assert "optout: warning: not read: consent-changes/cc.csv" in err


# --- files refused at the header ------------------------------------------------------------


def test_a_repeated_column_name_is_refused_naming_the_file(populated):
    settings = populated
    before = settings.warehouse.read_bytes()
    bad = settings.raw_dir / "events" / "events_dup.csv"
    bad.write_text(
        "event_id,user_id,Event_Name,event_name,occurred_at\ne9,u1,a,b,2024-03-09T10:00:00Z\n"
    )
    try:
        result = run_cli(settings, "build")
    finally:
        bad.unlink()  # the module's other tests build this landing zone
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"optout: error: landing file {bad} names the column event_name 2 times in its header; "
        f"fix the header (each column once) or move the file out of {bad.parent}, then build "
        "again. The previous warehouse is unchanged."
    ]
    assert settings.warehouse.read_bytes() == before


# --- a landing zone that is missing or empty ------------------------------------------------


@pytest.fixture(scope="module")
def populated(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("populated"))
    minimal_zone(settings.raw_dir)
    build(settings)
    return settings


def run_cli(settings, *args, raw_dir: Path | None = None):
    env = cli_env(settings)
    if raw_dir is not None:
        env["OPTOUT_RAW_DIR"] = str(raw_dir)
    return subprocess.run(
        [*OPTOUT, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_a_missing_landing_zone_fails_naming_it_and_creates_nothing(populated, tmp_path):
    before = populated.warehouse.read_bytes()
    missing = tmp_path / "not mounted" / "raw"
    for args in (["build"], ["build", "--full-refresh"]):
        result = run_cli(populated, *args, raw_dir=missing)
        assert result.returncode == 1, result.stdout
        assert result.stderr.strip().splitlines() == [
            f"optout: error: landing zone {missing} does not exist (is it mounted? is "
            "OPTOUT_RAW_DIR right?); nothing was built and the published marts are unchanged"
        ]
        assert not missing.exists()
    assert populated.warehouse.read_bytes() == before


def test_an_empty_landing_zone_does_not_replace_populated_marts(populated, tmp_path):
    before = populated.warehouse.read_bytes()
    empty = tmp_path / "empty"
    for source in COLUMNS:
        (empty / source).mkdir(parents=True)
    for args in (["build"], ["build", "--full-refresh"]):
        result = run_cli(populated, *args, raw_dir=empty)
        assert result.returncode == 1
        assert f"landing zone {empty} holds no data file" in result.stdout + result.stderr
        assert "--allow-empty" in result.stdout + result.stderr
    assert populated.warehouse.read_bytes() == before
    assert query(populated.warehouse, "select count(*) from marts.fct_optouts") == [(1,)]


def test_allow_empty_builds_empty_marts_when_asked(tmp_path):
    settings = settings_for(tmp_path)
    for source in COLUMNS:
        (settings.raw_dir / source).mkdir(parents=True)
    result = run_cli(settings, "build", "--allow-empty")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    assert query(settings.warehouse, "select count(*) from marts.fct_optouts") == [(0,)]


# --- processes, working files, permissions ---------------------------------------------------


def dbt_processes(warehouse: Path) -> list[int]:
    """dbt processes building this warehouse (their environment names it)."""
    found = []
    needle = f"OPTOUT_WAREHOUSE={warehouse}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"dbt" in cmdline and needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def wait_until(predicate, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def kill_a_build(settings, sig: signal.Signals) -> None:
    """Start a build with a new file to load, send `sig` to it while dbt runs: dbt goes
    with it and the published marts stay."""
    before = settings.warehouse.read_bytes()
    (settings.raw_dir / "events" / f"events_2024-03-0{sig % 9 + 1}_more.csv").write_text(
        HEADER + "\n" + event_line(f"more{int(sig)}") + "\n"
    )
    proc = subprocess.Popen(
        [*OPTOUT, "build", "--verbose"],  # dbt's own lines: "START sql ..."
        env=cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    for line in proc.stdout:
        if "START sql" in line or time.monotonic() > deadline:
            break
    assert dbt_processes(settings.warehouse), "dbt should be running"
    proc.send_signal(sig)  # the optout process alone, not its group
    proc.wait(timeout=60)
    assert proc.returncode != 0, sig
    assert wait_until(lambda: not dbt_processes(settings.warehouse)), f"dbt outlived {sig!r}"
    assert settings.warehouse.read_bytes() == before, sig
    if sig != signal.SIGKILL:  # SIGKILL leaves no time: the next build removes it
        assert not WarehouseFiles.of(settings).next.exists(), sig


def test_killing_the_build_stops_dbt_and_the_next_build_succeeds(populated):
    """SIGTERM and SIGINT (stopped, cleaned up) and SIGKILL (its unfinished marts are left
    behind): each leaves the marts published and no dbt running; the next build catches
    up on every file the killed builds did not load (one build for the three: each costs
    a dbt build)."""
    signals = (signal.SIGTERM, signal.SIGINT, signal.SIGKILL)
    for sig in signals:
        kill_a_build(populated, sig)
    build(populated)
    assert not WarehouseFiles.of(populated).next.exists()
    loaded = query_state(populated.warehouse, "select event_id from staging.stg_messaging__events")
    assert {(f"more{int(sig)}",) for sig in signals} <= set(loaded)


# A quote in the name: DuckDB paths and dbt's profile must both take it.
WAREHOUSE_NAMES = ("one.duckdb", "o'brien.duckdb")


def test_two_warehouses_in_one_folder_one_named_with_a_quote_build_at_once(tmp_path):
    raw = tmp_path / "raw"
    minimal_zone(raw)
    envs = [
        {**os.environ, "OPTOUT_RAW_DIR": str(raw), "OPTOUT_WAREHOUSE": str(tmp_path / name)}
        for name in WAREHOUSE_NAMES
    ]
    procs = [
        subprocess.Popen(
            [*OPTOUT, "build"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for env in envs
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[-1500:] for o in outputs]
    for name in WAREHOUSE_NAMES:
        assert query(tmp_path / name, "select count(*) from marts.fct_optouts") == [(1,)]


def test_the_warehouse_and_dbt_folders_are_owner_only(populated):
    files = WarehouseFiles.of(populated)
    for path in (files.published, files.state):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    target = populated.warehouse.parent / ".dbt_target"
    assert stat.S_IMODE(target.stat().st_mode) == 0o700


def test_a_warehouse_name_with_a_question_mark_is_refused(tmp_path):
    settings = settings_for(tmp_path)
    minimal_zone(settings.raw_dir)
    # DuckDB reads `?` in a database path as the start of connection options.
    result = run_cli(dataclasses.replace(settings, warehouse=tmp_path / "what?.duckdb"), "build")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"optout: error: OPTOUT_WAREHOUSE must not contain '?' (DuckDB reads it as the start "
        f"of connection options), got {tmp_path / 'what?.duckdb'}"
    ]


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_disk_full_and_read_only_folders_give_one_line_and_leave_nothing(tmp_path):
    """A warehouse on a small tmpfs: the build that fills it fails with one line and the
    previous marts stay; a read-only mount is refused before dbt starts."""
    raw = tmp_path / "raw"
    minimal_zone(raw)
    mount = tmp_path / "small"
    mount.mkdir()
    warehouse = mount / "warehouse.duckdb"
    script = f"""
set -e
mount -t tmpfs -o size=16m tmpfs {mount}
export OPTOUT_RAW_DIR={raw} OPTOUT_WAREHOUSE={warehouse}
{sys.executable} -m orchestration.cli build >/dev/null 2>&1
cp {warehouse} {tmp_path}/before.duckdb
{sys.executable} -c "
import sys
with open('{raw}/events/events_2024-03-09_huge.csv', 'w') as f:
    f.write('{HEADER}\\n')
    for i in range(400000):
        f.write(f'huge{{i}},u1,app_open_with_a_long_name_{{i}},2024-03-09T10:00:00Z\\n')
"
set +e
{sys.executable} -m orchestration.cli build > {tmp_path}/full.out 2> {tmp_path}/full.err
echo $? > {tmp_path}/full.rc
ls -a {mount} > {tmp_path}/left.txt
cmp {warehouse} {tmp_path}/before.duckdb && echo same > {tmp_path}/same.txt
mount -o remount,ro {mount}
{sys.executable} -m orchestration.cli build > {tmp_path}/ro.out 2> {tmp_path}/ro.err
echo $? > {tmp_path}/ro.rc
"""
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).resolve().parents[1],
        check=False,
    )
    if done.returncode != 0 and "mount" in done.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    assert (tmp_path / "full.rc").read_text().strip() == "1"
    full_err = (tmp_path / "full.err").read_text().strip().splitlines()
    assert full_err[-1].startswith(f"optout: error: the disk holding {mount} is full"), full_err
    assert (tmp_path / "same.txt").exists(), "the published warehouse changed"
    left = set((tmp_path / "left.txt").read_text().split())
    assert "warehouse.next.duckdb" not in left and "warehouse.next.duckdb.wal" not in left
    assert (tmp_path / "ro.rc").read_text().strip() == "1"
    ro_err = (tmp_path / "ro.err").read_text().strip().splitlines()
    assert len(ro_err) == 1 and "read-only" in ro_err[0], ro_err


# --- a build with nothing new ----------------------------------------------------------------


def test_a_build_with_nothing_new_publishes_nothing_until_something_changes(populated):
    settings = populated
    assert run_cli(settings, "build").returncode == 0  # up to date, whatever ran before

    def published() -> tuple[int, int]:
        info = settings.warehouse.stat()
        return info.st_ino, info.st_mtime_ns

    first = published()
    same = run_cli(settings, "build")
    assert same.returncode == 0
    assert "nothing new since the build of" in same.stdout
    assert published() == first  # not rebuilt, not replaced
    forced = run_cli(settings, "build", "--force")
    assert forced.returncode == 0 and "nothing new" not in forced.stdout
    assert published() != first
    (settings.raw_dir / "events" / "events_2024-03-10.csv").write_text(
        HEADER + "\n" + event_line("new1") + "\n"
    )
    again = run_cli(settings, "build")
    assert again.returncode == 0 and "nothing new" not in again.stdout
    assert ("new1",) in query_state(
        settings.warehouse, "select event_id from staging.stg_messaging__events"
    )
