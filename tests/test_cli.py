"""The `optout` console command and a plain `dbt build`, end to end through
subprocesses configured only by OPTOUT_RAW_DIR / OPTOUT_WAREHOUSE /
OPTOUT_EXPORT_DIR (docs/CONTRACT.md §7).

The tiny landing zone: one user, one opt-out (delivered twice: a duplicate),
one bad consent change (status 'nope') and one event.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import query, query_state, write_csv
from factories import consent_change, event, user

from orchestration.config import DBT_PROJECT_DIR

VENV_BIN = os.path.dirname(sys.executable)
OPTOUT = os.path.join(VENV_BIN, "optout")
DBT = os.path.join(VENV_BIN, "dbt")
# The installed command must work without an activated venv (as the Makefile runs it).
BARE_PATH = "/usr/local/bin:/usr/bin:/bin"

OPTOUT_ROW = consent_change(
    change_id="cc1",
    user_id="u_cli_1",
    channel="push",
    status="opted_out",
    changed_at="2024-03-10T12:00:00Z",
    source="inbound_keyword",
    keyword="STOP",
)


def write_tiny_landing_zone(raw: Path) -> None:
    write_csv(
        raw / "users" / "batch_1.csv",
        "users",
        [
            user(
                user_id="u_cli_1",
                external_id="EXT-1",
                email="one@example.com",
                updated_at="2024-01-01T00:00:00Z",
            )
        ],
    )
    write_csv(
        raw / "consent_changes" / "batch_1.csv",
        "consent_changes",
        [
            OPTOUT_ROW,
            {**OPTOUT_ROW, "change_id": "cc_bad", "status": "nope"},
        ],
    )
    write_csv(raw / "consent_changes" / "batch_2.csv", "consent_changes", [OPTOUT_ROW])
    write_csv(
        raw / "events" / "batch_1.csv",
        "events",
        [
            event(
                event_id="e1",
                user_id="u_cli_1",
                event_name="app_open",
                occurred_at="2024-03-09T12:00:00Z",
            )
        ],
    )
    for source in ("campaigns", "sends", "interactions"):
        (raw / source).mkdir(parents=True, exist_ok=True)


def project_env(root: Path, path: str = BARE_PATH) -> dict[str, str]:
    """Only the three OPTOUT_* variables, plus PATH and HOME."""
    return {
        "PATH": path,
        "HOME": os.environ.get("HOME", str(root)),
        "OPTOUT_RAW_DIR": str(root / "raw"),
        "OPTOUT_WAREHOUSE": str(root / "warehouse.duckdb"),
        "OPTOUT_EXPORT_DIR": str(root / "exports"),
    }


def optout(env: dict[str, str], *args: str, cwd: Path | None = None):
    return subprocess.run(
        [OPTOUT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`optout build` run from an unrelated folder; returns (root, env, completed)."""
    root = tmp_path_factory.mktemp("cli")
    write_tiny_landing_zone(root / "raw")
    env = project_env(root)
    return root, env, optout(env, "build", cwd=root)


def test_help_lists_the_commands():
    done = subprocess.run([OPTOUT, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for command in ("generate", "build", "export", "status"):
        assert command in done.stdout


def test_build_succeeds_without_an_activated_venv(built):
    """PATH has no venv: the command still finds its dbt and builds the warehouse."""
    root, _, done = built
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (root / "warehouse.duckdb").is_file()


def test_build_writes_the_marts(built):
    """The one opt-out (its duplicate removed, the bad row quarantined)."""
    root, _, _ = built
    got = query(
        root / "warehouse.duckdb",
        "select optout_id, user_id, external_id, opted_out_at from marts.fct_optouts",
    )
    assert got == [("cc1", "u_cli_1", "EXT-1", dt.datetime(2024, 3, 10, 12))]


def test_status_shows_raw_clean_quarantined_duplicates(built):
    """consent_changes: 3 raw = 1 clean + 1 quarantined + 1 duplicate; users and events
    1 = 1 + 0 + 0; the other sources are empty; every source balances."""
    _, env, _ = built
    done = optout(env, "status")
    assert done.returncode == 0, done.stderr
    rows = {}
    for line in done.stdout.strip().splitlines()[1:]:
        source, *numbers, balanced = line.split()
        rows[source] = ([int(n.replace(",", "")) for n in numbers], balanced)
    assert rows == {
        "campaigns": ([0, 0, 0, 0], "yes"),
        "consent_changes": ([3, 1, 1, 1], "yes"),
        "events": ([1, 1, 0, 0], "yes"),
        "interactions": ([0, 0, 0, 0], "yes"),
        "sends": ([0, 0, 0, 0], "yes"),
        "users": ([1, 1, 0, 0], "yes"),
    }


def test_export_after_build_prints_the_path_last(built):
    root, env, _ = built
    done = optout(
        env, "export", "--range", "between", "--start", "2024-03-10", "--end", "2024-03-10"
    )
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.parent == root / "exports"
    assert path.read_text(encoding="utf-8").splitlines()[1] == (
        "u_cli_1,EXT-1,one@example.com,,,,,push,1,2024-03-10T12:00:00Z,2024-03-10T12:00:00Z"
    )


def test_build_with_bad_as_of_exits_nonzero_with_one_line(tmp_path):
    """--as-of yesterday: exit != 0, one stderr line naming --as-of, no warehouse."""
    write_tiny_landing_zone(tmp_path / "raw")
    done = optout(project_env(tmp_path), "build", "--as-of", "yesterday")
    assert done.returncode != 0
    assert "\n" not in done.stderr.strip() and "--as-of" in done.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_status_without_warehouse_exits_nonzero_with_one_line(tmp_path):
    done = optout(project_env(tmp_path), "status")
    assert done.returncode != 0
    message = done.stderr.strip()
    assert message and "\n" not in message


def optout_ids(warehouse: Path) -> list[str]:
    return [r[0] for r in query(warehouse, "select optout_id from marts.fct_optouts order by 1")]


def test_full_refresh_rebuilds_from_the_files_present(tmp_path):
    """A loaded file removed from the landing zone: `optout build` refuses, names the file
    and says to run --full-refresh, the marts stay as they were; `optout build
    --full-refresh` then rebuilds everything from the files present (cc3 is gone)."""
    raw = tmp_path / "raw"
    write_tiny_landing_zone(raw)
    late = write_csv(
        raw / "consent_changes" / "batch_3.csv",
        "consent_changes",
        [{**OPTOUT_ROW, "change_id": "cc3", "channel": "email"}],
    )
    env = project_env(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    first = optout(env, "build")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert optout_ids(warehouse) == ["cc1", "cc3"]

    late.unlink()
    refused = optout(env, "build")
    assert refused.returncode == 1
    assert "loaded by an earlier build are no longer in" in refused.stdout
    assert "(first: batch_3.csv)" in refused.stdout
    assert "`optout build --full-refresh`" in refused.stdout
    assert refused.stderr.startswith("optout: error: dbt build failed")
    assert optout_ids(warehouse) == ["cc1", "cc3"]

    rebuilt = optout(env, "build", "--full-refresh")
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:] + rebuilt.stderr[-3000:]
    assert optout_ids(warehouse) == ["cc1"]
    assert query(
        warehouse,
        "select raw_rows, clean_rows, quarantined_rows, duplicate_rows_removed "
        "from marts.agg_load_reconciliation where source_name = 'consent_changes'",
    ) == [(3, 1, 1, 1)]
    files = query_state(
        warehouse,
        "select distinct source_file from staging.base_messaging__consent_changes order by 1",
    )
    assert files == [("consent_changes/batch_1.csv",), ("consent_changes/batch_2.csv",)]


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.csv"))}


def test_generate_seed_gives_the_same_bytes_and_another_seed_other_bytes(tmp_path):
    """`optout generate` twice with --seed 5 writes identical files; --seed 6 differs."""
    env = project_env(tmp_path)
    args = ["--users", "40", "--days", "3", "--end-date", "2024-03-10"]
    for name, seed in [("a", "5"), ("b", "5"), ("c", "6")]:
        done = optout(env, "generate", "--out", str(tmp_path / name), "--seed", seed, *args)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip().splitlines()[-1] == str(tmp_path / name)
    a, b, c = (tree_bytes(tmp_path / name) for name in "abc")
    assert a and a == b
    assert a.keys() == c.keys()
    assert a["sends/sends_2024-03-10.csv"] != c["sends/sends_2024-03-10.csv"]


def test_plain_dbt_build_from_the_project_folder(tmp_path):
    """`dbt build` with cwd=dbt_project and only the OPTOUT_* variables (target and log
    folders moved to tmp so the checkout stays untouched) builds the same marts: one
    opt-out, consent_changes 3 raw = 1 clean + 1 quarantined + 1 duplicate."""
    write_tiny_landing_zone(tmp_path / "raw")
    env = project_env(tmp_path, path=VENV_BIN + os.pathsep + BARE_PATH)
    args = [DBT, "build", "--target-path", str(tmp_path / "target"),
            "--log-path", str(tmp_path / "logs")]  # fmt: skip
    done = subprocess.run(
        args, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    warehouse = tmp_path / "warehouse.duckdb"
    assert query(warehouse, "select optout_id from marts.fct_optouts") == [("cc1",)]
    assert query(
        warehouse,
        "select raw_rows, clean_rows, quarantined_rows, "
        "duplicate_rows_removed from marts.agg_load_reconciliation "
        "where source_name = 'consent_changes'",
    ) == [(3, 1, 1, 1)]
