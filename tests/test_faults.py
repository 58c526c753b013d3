"""Nothing lost, nothing leaked (docs/OPERATIONS.md): corrupt files, bad rows, late and
re-delivered files, a killed build, two writers, export safety, hostile input
and personal data in logs. Every build here is a real dbt build."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import build, query, query_state, settings_for, write_csv, write_landing_zone

from orchestration.build import BuildError, WarehouseFiles, run_build, warehouse_lock
from orchestration.exports import write_export
from orchestration.ranges import UsageError, resolve_range

OPTOUT = [sys.executable, "-m", "orchestration.cli"]


def base_tables() -> dict[str, list[dict]]:
    return {
        "users": [
            {
                "user_id": "u1",
                "external_id": "x1",
                "email": "ann.lee@example.org",
                "phone": "+905551234567",
                "first_name": '=HYPERLINK("http://evil")',
                "last_name": "Leeward",
                "updated_at": "2024-01-01T00:00:00Z",
            },
            {
                "user_id": "u2",
                "external_id": "x2",
                "email": "bo.ray@example.org",
                "phone": "+15550000002",
                "first_name": "Bo",
                "last_name": "Rayfield",
                "updated_at": "2024-01-01T00:00:00Z",
            },
        ],
        "consent_changes": [
            {
                "change_id": "c1",
                "user_id": "u1",
                "channel": "sms",
                "status": "opted_out",
                "changed_at": "2024-03-10T10:00:00Z",
                "source": "inbound_keyword",
                "keyword": "STOP",
            },
            {
                "change_id": "c2",
                "user_id": "u2",
                "channel": "push",
                "status": "opted_out",
                "changed_at": "2024-03-11T10:00:00Z",
                "source": "app_settings",
            },
        ],
        "events": [
            {
                "event_id": "e1",
                "user_id": "u1",
                "event_name": "app_open",
                "occurred_at": "2024-03-09T10:00:00Z",
            },
        ],
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def optouts(warehouse: Path) -> list[tuple]:
    return query(warehouse, "select optout_id, user_id from marts.fct_optouts order by 1")


def cli_env(settings) -> dict[str, str]:
    return {
        **os.environ,
        "OPTOUT_RAW_DIR": str(settings.raw_dir),
        "OPTOUT_WAREHOUSE": str(settings.warehouse),
        "OPTOUT_EXPORT_DIR": str(settings.export_dir),
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("faults"))
    write_landing_zone(settings.raw_dir, base_tables())
    # Odd files that must load (test_empty_bom_and_crlf_files_load): an empty file, and
    # one with a byte-order mark and CRLF line ends.
    events = settings.raw_dir / "events"
    (events / "empty.csv").write_bytes(b"")
    (events / "bom_crlf.csv").write_bytes(
        "\ufeffevent_id,user_id,event_name,occurred_at\r\n"
        "e2,u1,app_open,2024-03-12T10:00:00Z\r\n".encode()
    )
    build(settings)
    return settings


# --- corrupt or foreign files ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("sends/truncated.parquet", b"PAR1\x00\x01garbage", "truncated.parquet"),
        ("events/binary.csv", bytes(range(256)) * 4, "is not a readable CSV file"),
        ("events/wrong_header.csv", b"id,name,when\n1,x,2024-01-01\n", "its header lacks"),
    ],
)
def test_unreadable_file_fails_the_build_and_keeps_the_marts(project, name, content, expected):
    before = sha256(project.warehouse)
    bad = project.raw_dir / name
    bad.write_bytes(content)
    lines: list[str] = []
    try:
        with pytest.raises(BuildError, match="previous warehouse is unchanged"):
            run_build(project, log=lines.append)
    finally:
        bad.unlink()
    messages = "\n".join(lines)
    assert str(bad) in messages and expected in messages
    assert sha256(project.warehouse) == before
    assert optouts(project.warehouse) == [("c1", "u1"), ("c2", "u2")]


def test_empty_bom_and_crlf_files_load(project):
    assert query_state(
        project.warehouse, "select event_id from staging.stg_messaging__events order by 1"
    ) == [("e1",), ("e2",)]


# --- bad rows -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_rows_project(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("bad_rows"))
    tables = base_tables()
    tables["events"] += [
        {
            "event_id": "e_long",
            "user_id": "u1",
            "event_name": "x" * 20000,
            "occurred_at": "2024-03-09T10:00:00Z",
        },
        {
            "event_id": "e_ctrl",
            "user_id": "u1",
            "event_name": "tap\x07\x1b[31m",
            "occurred_at": "2024-03-09T10:00:00Z",
        },
        {
            "event_id": "e_1900",
            "user_id": "u1",
            "event_name": "old",
            "occurred_at": "1900-01-01T00:00:00Z",
        },
        {
            "event_id": "e_9999",
            "user_id": "u1",
            "event_name": "far",
            "occurred_at": "9999-12-31T23:00:00-14:00",
        },
        {
            "event_id": "e_kiribati",
            "user_id": "u1",
            "event_name": "east",
            "occurred_at": "2024-03-10T08:00:00+14:00",
        },
        {
            "event_id": "e_badoffset",
            "user_id": "u1",
            "event_name": "x",
            "occurred_at": "2024-03-10T08:00:00+15:00",
        },
    ]
    write_landing_zone(settings.raw_dir, tables)
    # Lines DuckDB cannot parse: invalid UTF-8, too few and too many fields.
    (settings.raw_dir / "events" / "broken.csv").write_bytes(
        b"event_id,user_id,event_name,occurred_at\n"
        b"e_ok,u1,app_open,2024-03-09T11:00:00Z\n"
        b"e_latin1,u1,caf\xe9,2024-03-09T11:00:00Z\n"
        b"e_short,u1\n"
        b"e_long_row,u1,a,2024-03-09T11:00:00Z,extra\n"
    )
    build(settings)
    return settings


def quarantine_reasons(settings) -> dict[str, str]:
    rows = query(settings.warehouse, "select event_id, reason, raw_line from quarantine.events")
    return {(event_id or raw_line.split(",")[0]): reason for event_id, reason, raw_line in rows}


def test_odd_but_valid_rows_are_kept(bad_rows_project):
    kept = dict(
        query_state(
            bad_rows_project.warehouse,
            "select event_id, occurred_at::varchar from staging.stg_messaging__events",
        )
    )
    assert {"e_long", "e_ctrl", "e_1900", "e_kiribati", "e_ok"} <= set(kept)
    assert kept["e_kiribati"] == "2024-03-09 18:00:00"  # +14:00 converted to UTC
    assert kept["e_1900"] == "1900-01-01 00:00:00"


def test_bad_rows_are_quarantined_with_a_reason(bad_rows_project):
    reasons = quarantine_reasons(bad_rows_project)
    assert reasons["e_9999"] == "timestamp_out_of_range:occurred_at"  # UTC year 10000
    assert reasons["e_badoffset"] == "unparseable_timestamp:occurred_at"
    assert reasons["e_latin1"].startswith("unreadable_row:invalid_encoding")
    assert reasons["e_short"].startswith("unreadable_row:missing_columns")
    assert reasons["e_long_row"].startswith("unreadable_row:too_many_columns")


def test_reconciliation_holds_and_is_shown(bad_rows_project):
    rows = query(
        bad_rows_project.warehouse,
        "select raw_rows, clean_rows, quarantined_rows, duplicate_rows_removed "
        "from marts.agg_load_reconciliation where source_name = 'events'",
    )
    # 1 base + 6 odd rows + 4 lines of broken.csv
    assert rows == [(11, 6, 5, 0)]
    shown = subprocess.run(
        [*OPTOUT, "status"], env=cli_env(bad_rows_project), capture_output=True, text=True
    )
    assert shown.returncode == 0
    assert re.search(r"^events\s+11\s+6\s+5\s+0\s+yes$", shown.stdout, re.M), shown.stdout


# --- re-delivered and late files ------------------------------------------------------------


def day_file(raw: Path, day: int, rows: list[dict]) -> None:
    write_csv(
        raw / "consent_changes" / f"consent_changes_2024-03-{day:02d}.csv", "consent_changes", rows
    )


def marts_snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    tables = [
        "fct_optouts",
        "fct_push_before_optout_7d",
        "fct_last_campaign",
        "fct_optout_retention",
        "agg_optouts_daily",
        "dim_consent_current",
    ]
    return {t: query(warehouse, f"select * from marts.{t} order by all") for t in tables}


def test_redelivered_and_late_files_match_a_full_rebuild(tmp_path):
    daily = settings_for(tmp_path / "daily")
    write_landing_zone(
        daily.raw_dir, {k: v for k, v in base_tables().items() if k != "consent_changes"}
    )
    ch = base_tables()["consent_changes"]
    day_file(daily.raw_dir, 10, [ch[0]])
    build(daily)
    day_file(daily.raw_dir, 11, [ch[1]])
    shutil.copy(
        daily.raw_dir / "consent_changes" / "consent_changes_2024-03-10.csv",
        daily.raw_dir / "consent_changes" / "consent_changes_2024-03-10_redelivered.csv",
    )
    late = {
        "change_id": "c0",
        "user_id": "u2",
        "channel": "push",
        "status": "opted_out",
        "changed_at": "2024-03-05T10:00:00Z",
        "source": "admin",
    }
    day_file(daily.raw_dir, 5, [late])  # arrives after the 10th and 11th
    build(daily)

    full = settings_for(tmp_path / "full")
    shutil.copytree(daily.raw_dir, full.raw_dir)
    build(full)
    assert marts_snapshot(daily.warehouse) == marts_snapshot(full.warehouse)
    # c2 repeats c0's opted_out for u2/push, so it is no longer an opt-out.
    assert optouts(daily.warehouse) == [("c0", "u2"), ("c1", "u1")]
    assert query(
        daily.warehouse,
        "select duplicate_rows_removed from marts."
        "agg_load_reconciliation where source_name = 'consent_changes'",
    ) == [(1,)]


# --- crash mid-build and two writers --------------------------------------------------------


@pytest.mark.timeout(600)  # reading dbt's output blocks if dbt hangs silently
def test_killed_build_leaves_the_warehouse_usable(project):
    before = sha256(project.warehouse)
    proc = subprocess.Popen(
        [*OPTOUT, "build", "--force", "--verbose"],  # a real build (nothing is new), dbt's lines
        env=cli_env(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    try:
        for line in proc.stdout:
            if "START sql table model published.marts." in line or time.monotonic() > deadline:
                break
        # A dashboard reading during the build sees the previous marts.
        assert optouts(project.warehouse) == [("c1", "u1"), ("c2", "u2")]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert sha256(project.warehouse) == before
    build(project)
    assert optouts(project.warehouse) == [("c1", "u1"), ("c2", "u2")]
    assert not WarehouseFiles.of(project).next.exists()  # the unfinished marts are gone


def test_second_writer_fails_with_a_clear_message(project):
    with warehouse_lock(project.warehouse, timeout_s=1):
        result = subprocess.run(
            [*OPTOUT, "build", "--force"],
            env={**cli_env(project), "OPTOUT_LOCK_TIMEOUT": "1"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"optout: error: another build is writing {project.warehouse}; wait for it to finish "
        "or raise OPTOUT_LOCK_TIMEOUT (now 1 s)"
    ]


# --- exports --------------------------------------------------------------------------------

MARCH = resolve_range("between", "2024-03-01", "2024-03-31")


def test_exports_are_owner_only_unless_configured(project, tmp_path):
    result = write_export(project, "users", MARCH, "csv")
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    from dataclasses import replace

    shared = replace(project, export_dir=tmp_path, export_file_mode=0o640)
    assert stat.S_IMODE(write_export(shared, "users", MARCH).path.stat().st_mode) == 0o640


def test_failed_export_leaves_no_file(project, tmp_path, monkeypatch):
    from dataclasses import replace

    settings = replace(project, export_dir=tmp_path)

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        write_export(settings, "users", MARCH)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("output", ["../escape.csv", "{outside}", "sub/x.csv", ".hidden"])
def test_export_path_outside_the_export_folder_is_refused(project, output, tmp_path):
    outside = tmp_path / "escape.csv"  # an absolute path of this test's own
    with pytest.raises(UsageError, match="plain file name inside the export folder"):
        write_export(project, "users", MARCH, output=output.format(outside=outside))
    assert not outside.exists()
    assert not (project.export_dir.parent / "escape.csv").exists()


def test_formula_escaping_keeps_phone_numbers(project):
    plain = write_export(project, "users", MARCH, output="plain.csv").path.read_text()
    safe = write_export(
        project, "users", MARCH, output="safe.csv", escape_formulas=True
    ).path.read_text()
    assert '"=HYPERLINK(""http://evil"")"' in plain
    assert '"\'=HYPERLINK(""http://evil"")"' in safe
    assert "+905551234567" in safe and "'+905551234567" not in safe


# --- hostile input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["export", "--range", "last_week'; drop table marts.fct_optouts; --"],
        ["export", "--range", "between", "--start", "2024-03-01' or '1'='1", "--end", "2024-03-02"],
        ["export", "--range", "last_week", "--as-of", "2024-03-01; select 1"],
        ["export", "--range", "last_week", "--format", "csv; rm -rf /"],
        ["export", "--range", "last_week", "--output", "../../etc/passwd"],
        ["build", "--as-of", "2024-03-01'); drop schema marts cascade; --"],
    ],
)
def test_hostile_values_get_a_one_line_error(project, args):
    before = sha256(project.warehouse)
    result = subprocess.run(
        [*OPTOUT, *args], env=cli_env(project), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("optout: error: ")
    assert sha256(project.warehouse) == before
    assert duckdb.connect(str(project.warehouse), read_only=True).execute(
        "select count(*) from marts.fct_optouts"
    ).fetchone() == (2,)


# --- personal data in logs ------------------------------------------------------------------


def test_no_personal_data_in_the_output_of_a_full_run(tmp_path):
    settings = settings_for(tmp_path)
    env = cli_env(settings)
    steps = [
        [
            "generate",
            "--out",
            str(settings.raw_dir),
            "--users",
            "150",
            "--days",
            "20",
            "--end-date",
            "2024-03-31",
        ],
        ["build"],
        ["status"],
        ["export", "--range", "last_month", "--as-of", "2024-03-31"],
        ["export", "--kind", "status_changes", "--range", "last_month", "--as-of", "2024-03-31"],
    ]
    output = ""
    for step in steps:
        result = subprocess.run(
            [*OPTOUT, *step], env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
        output += result.stdout + result.stderr
    personal = query(
        settings.warehouse, "select email, phone, first_name, last_name from marts.dim_users"
    )
    assert personal
    leaked = {
        value
        for row in personal
        for value in row
        if value and re.search(r"(?<![\w@.+-])" + re.escape(value) + r"(?![\w@.-])", output)
    }
    assert leaked == set()


def test_large_csv_files_load_whole(tmp_path):
    """Big files are read in parallel chunks: the header check must still see the header,
    and every row must arrive (300,000 events here)."""
    settings = settings_for(tmp_path)
    write_landing_zone(settings.raw_dir, base_tables())
    lines = ["event_id,user_id,event_name,occurred_at"] + [
        f"big{i:07d},u{i % 2 + 1},app_open,2024-03-09T{i % 24:02d}:00:00Z" for i in range(300_000)
    ]
    (settings.raw_dir / "events" / "big.csv").write_text("\n".join(lines) + "\n")
    build(settings)
    assert query(
        settings.warehouse,
        "select raw_rows, clean_rows from marts.agg_load_reconciliation "
        "where source_name = 'events'",
    ) == [(300_001, 300_001)]


def test_a_build_that_spills_to_disk_completes(tmp_path):
    """Under a memory limit its queries must spill past (60 MB, one DuckDB thread, 430,000
    rows), the build completes and accounts for every row. dbt-duckdb applies `settings` on
    every new cursor and DuckDB refuses to move its spill folder once used, so the folder is
    given once, when the database opens (profiles.yml `config_options`): set per cursor, the
    first cursor after a spill failed the build (seen at `large`)."""
    import dataclasses

    from orchestration.generator import generate

    settings = dataclasses.replace(settings_for(tmp_path), memory_limit="60MB", duckdb_threads=1)
    generate(settings.raw_dir, users=3000, days=20, seed=3)
    build(settings)
    [(raw, accounted)] = query(
        settings.warehouse,
        "select sum(raw_rows), sum(clean_rows + quarantined_rows + duplicate_rows_removed) "
        "from marts.agg_load_reconciliation",
    )
    assert raw == accounted > 400_000
