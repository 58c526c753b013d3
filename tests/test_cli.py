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


def test_build_prints_one_line_per_layer_and_keeps_dbt_log(built):
    """A quiet build: the layers with their counts and the verdict instead of a line per
    dbt node; dbt's full log (text, every node) is in the file it names."""
    _, _, done = built
    lines = done.stdout.strip().splitlines()
    assert len(lines) <= 12, done.stdout
    layers = {line.split()[0]: line for line in lines if line.startswith("  ")}
    assert {"landing", "staging", "quarantine", "intermediate", "marts"} <= set(layers)
    for layer in ("staging", "marts"):  # every model file of the layer's folder, once
        models = len(list((DBT_PROJECT_DIR / "models" / layer).rglob("*.sql")))
        assert f" {models} models" in layers[layer], layer
    assert any(line.startswith("dbt build passed in ") for line in lines)
    assert not any(" START " in line for line in lines)  # dbt's per-node lines are gone
    [log_line] = [line for line in lines if line.startswith("dbt's full log: ")]
    log = Path(log_line.removeprefix("dbt's full log: ")).read_text(encoding="utf-8")
    assert "Running with dbt=" in log and "marts.fct_optouts" in log
    assert not log.lstrip().startswith("{")  # the file log stays text, not JSON
    # The reconciliation in one line: consent_changes 3 = 1 + 1 + 1, users and events 1.
    assert "rows: 5 raw = 3 clean + 1 quarantined + 1 duplicates" in done.stdout


def test_a_new_warehouse_starts_from_the_last_parse_and_reads_its_own_landing_zone(built, tmp_path):
    """A warehouse in another folder, on another landing zone: its first build does not
    parse the project again (the module's build left the parse state), and it reads its
    own landing zone, not the one the parse state was made with (docs/DECISIONS.md "One
    parse for every warehouse")."""
    first_root, _, _ = built
    write_tiny_landing_zone(tmp_path / "raw")
    other = {**OPTOUT_ROW, "change_id": "cc_other", "channel": "email",
             "source": "unsubscribe_link", "keyword": ""}  # fmt: skip
    write_csv(tmp_path / "raw" / "consent_changes" / "batch_3.csv", "consent_changes", [other])
    done = optout(project_env(tmp_path), "build", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    log = (tmp_path / ".dbt_target" / "warehouse" / "dbt.log").read_text(encoding="utf-8")
    assert "Partial parsing enabled" in log and "Starting full parse" not in log
    optouts = "select optout_id from marts.fct_optouts order by 1"
    assert query(tmp_path / "warehouse.duckdb", optouts) == [("cc1",), ("cc_other",)]
    assert query(first_root / "warehouse.duckdb", optouts) == [("cc1",)]


def test_build_verbose_prints_dbt_output(tmp_path):
    write_tiny_landing_zone(tmp_path / "raw")
    done = optout(project_env(tmp_path), "build", "--verbose", "--through", "2024-01-01")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " START sql " in done.stdout and "Completed successfully" in done.stdout


def test_every_argument_has_help():
    from orchestration.cli import _parser

    parser = _parser()
    [commands] = [a for a in parser._actions if a.dest == "command"]
    for name, command in commands.choices.items():
        for action in command._actions:
            if action.dest != "help":
                assert action.help, f"optout {name} {action.option_strings} has no help"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["generate", "--out", "x", "--users", "0"], "optout: error: --users must be a positive"),
        (["generate", "--out", "x", "--days", "-1"], "optout: error: --days must be a positive"),
        (["generate", "--out", "x", "--seed", "abc"], "optout: error: --seed must be a whole"),
        (["export", "--range", "LAST_WEK"], "did you mean last_week?"),
        (["export", "--kind", "status-changes", "--range", "last_week"], "did you mean"),
    ],
)
def test_a_bad_argument_names_its_flag_once(tmp_path, args, expected):
    done = optout(project_env(tmp_path), *args)
    assert done.returncode == 2
    message = done.stderr.strip()
    assert "\n" not in message and expected in message, message
    assert "argument --" not in message, message


def test_generate_refuses_a_folder_with_files_and_never_overwrites_a_foreign_one(tmp_path):
    """Without --force a folder with files is refused; with --force too while it holds a
    file the run would write that an earlier run did not (here: someone's events file of
    a day in the window). Nothing is written or removed either time."""
    raw = tmp_path / "raw"
    theirs = raw / "events" / "events_2026-01-30.csv"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("event_id\n")
    args = ["generate", "--out", str(raw), "--users", "20", "--days", "2", "--end-date",
            "2026-01-31"]  # fmt: skip
    for extra in ([], ["--force"]):
        refused = optout(project_env(tmp_path), *args, *extra)
        assert refused.returncode == 2, refused.stdout
        message = refused.stderr.strip()
        assert "\n" not in message and "--out" in message
        assert "--force" in message if not extra else "events/events_2026-01-30.csv" in message
        assert sorted(p.name for p in raw.rglob("*")) == ["events", "events_2026-01-30.csv"]
        assert theirs.read_text() == "event_id\n"

    theirs.rename(raw / "events" / "events_backup.csv")  # theirs, under another name
    done = optout(project_env(tmp_path), *args, "--force")
    assert done.returncode == 0, done.stderr
    assert (raw / "events" / "events_backup.csv").read_text() == "event_id\n"
    assert (raw / "events" / "events_2026-01-31.csv").exists()
    assert "planted bad rows" in done.stdout
    # A re-run replaces its own files; --clean plants nothing.
    clean = optout(project_env(tmp_path), *args, "--force", "--clean")
    assert clean.returncode == 0, clean.stderr
    assert "_bad_" not in (raw / "sends" / "sends_2026-01-31.csv").read_text()
    assert not list(raw.rglob("*_redelivered.csv"))
    assert (raw / "events" / "events_backup.csv").exists()


@pytest.mark.parametrize(
    ("value", "build", "export_day"),
    [
        ("2026-01-31", "2026-02-01T00:00:00Z", "2026-01-31"),  # a date: the end of that day
        ("2026-01-31T18:00:00Z", "2026-01-31T18:00:00Z", "2026-01-31"),
        ("2026-01-31 22:30:00-05:00", "2026-02-01T03:30:00Z", "2026-02-01"),  # UTC
        ("2026-01-31T10:00:00.5+0530", "2026-01-31T04:30:00.5Z", "2026-01-31"),
    ],
)
def test_as_of_means_the_same_for_build_and_export(value, build, export_day):
    """--as-of D is the end of day D for both commands (the export presets end on D, the
    build's retention windows close at D's last instant); a timestamp is that instant,
    whose UTC date the presets end on."""
    from orchestration.ranges import check_as_of, resolve_range

    assert check_as_of(value) == build
    assert resolve_range("last_week", as_of=value).end.isoformat() == export_day


def test_a_failed_build_prints_the_error_and_where_the_full_log_is(tmp_path):
    """A file dbt cannot read: the quiet output still says what failed (dbt's message, naming
    the file), where dbt's full log is, and the CLI's one line; nothing is published."""
    write_tiny_landing_zone(tmp_path / "raw")
    (tmp_path / "raw" / "events" / "events_2024-03-11.parquet").write_bytes(b"not parquet")
    done = optout(project_env(tmp_path), "build")
    assert done.returncode == 1
    assert "dbt build FAILED after" in done.stdout
    assert "events_2024-03-11.parquet" in done.stdout  # dbt's own error message
    [log_line] = [ln for ln in done.stdout.splitlines() if ln.startswith("dbt's full log: ")]
    assert "events_2024-03-11.parquet" in Path(log_line.split(": ", 1)[1]).read_text()
    assert done.stderr.strip().startswith("optout: error: dbt build failed")
    assert not (tmp_path / "warehouse.duckdb").exists()
