"""The production Dagster instance, really run: PostgreSQL storage (dagster-postgres),
selected by the one setting OPTOUT_DAGSTER_POSTGRES_URL (orchestration/lib/instance.py),
against a PostgreSQL server this test starts itself (Debian's `postgresql`: initdb and
pg_ctl on a free port in a temporary folder, as `nobody` when the tests run as root).

Recorded there and read back from PostgreSQL itself: a partitioned build and an export
materialization (in-process runs on that instance), a CLI build (`optout build` with
DAGSTER_HOME), and a schedule tick of `dagster-daemon run`, whose queued build run runs to
success - what the README's production set-up (dagster-webserver + dagster-daemon) does.
"""

import contextlib
import datetime as dt
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import free_port, resources_for, settings_for, write_csv, write_landing_zone
from dagster import AssetKey, DagsterInstance, materialize

from orchestration.config import REPO_ROOT, DagsterSettings
from orchestration.defs.dbt.assets import optout_dbt_models
from orchestration.defs.exports.assets import optout_users_export
from orchestration.defs.landing.assets import landing_assets
from orchestration.lib.instance import write_instance

BIN = Path(sys.executable).parent
# The tick comes 70-130 s after the daemon starts (one_tick_cron); the run it queues takes
# about 70 s on a quiet 2-core machine and was seen past 380 s on a busy CI one, where a
# single 480 s deadline cut it off. So: a deadline for the tick and its run to appear, and
# a longer one from then for the run to finish. Both only bound a failure's wait.
TICK_TIMEOUT_S = 360
RUN_TIMEOUT_S = 900


def postgres_bin() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL server of its own: a cluster in a temporary folder, on a free port."""
    bindir = postgres_bin()
    if bindir is None:
        message = "PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="optout-pg-"))
    # PostgreSQL refuses to run as root: the cluster belongs to `nobody` then.
    user = "nobody" if os.geteuid() == 0 else None
    if user:
        shutil.chown(root, user)
    data, port = root / "data", free_port()

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, user=user, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "dagster", "--auth=trust", "-E", "UTF8",
        "--no-locale")  # fmt: skip
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
        "-w", "start")  # fmt: skip
    try:
        yield f"postgresql+psycopg2://dagster@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def pg(url: str, sql: str) -> list[tuple]:
    import psycopg2

    dsn = url.replace("postgresql+psycopg2://", "postgresql://")
    with contextlib.closing(psycopg2.connect(dsn)) as con, con.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def yesterday() -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


@pytest.fixture(scope="module")
def project(tmp_path_factory, postgres_url):
    """A landing zone with an opt-out on each of the three days up to yesterday, and a
    Dagster home whose dagster.yaml `make manifest` would write with the setting."""
    root = tmp_path_factory.mktemp("pg_project")
    settings = settings_for(root)
    days = [yesterday() - dt.timedelta(days=n) for n in (2, 1, 0)]
    users = [{"user_id": f"u{i}", "updated_at": "2026-01-01T00:00:00Z"} for i in range(3)]
    write_landing_zone(settings.raw_dir, {"users": users})
    for i, day in enumerate(days):
        change = {
            "change_id": f"c{i}",
            "user_id": f"u{i}",
            "channel": "sms",
            "status": "opted_out",
            "changed_at": f"{day}T10:00:00Z",
            "source": "admin",
        }
        write_csv(settings.raw_dir / "consent_changes" / f"consent_changes_{day}.csv",
                  "consent_changes", [change])  # fmt: skip
    home = root / "dagster_home"
    path = write_instance(home, DagsterSettings(postgres_url=postgres_url))
    assert "postgres_url:\n      env: OPTOUT_DAGSTER_POSTGRES_URL" in path.read_text()
    return settings, home, days


@pytest.fixture
def instance(project, postgres_url, monkeypatch):
    _, home, _ = project
    monkeypatch.setenv("OPTOUT_DAGSTER_POSTGRES_URL", postgres_url)
    with DagsterInstance.from_config(str(home)) as instance:
        yield instance


def test_the_setting_selects_postgresql_storage(instance):
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"


def test_a_partitioned_build_and_an_export_are_recorded_in_postgresql(
    project, instance, postgres_url
):
    settings, _, days = project
    build = materialize(
        [*landing_assets, optout_dbt_models],
        partition_key=days[-1].isoformat(),
        resources=resources_for(settings),
        instance=instance,
    )
    assert build.success
    export = materialize(
        [optout_users_export],
        resources={"optout": resources_for(settings)["optout"]},
        run_config={"ops": {"optout_users_export": {"config": {"range": "last_week"}}}},
        instance=instance,
    )
    assert export.success

    fct = AssetKey(["marts", "fct_optouts"])
    assert instance.get_materialized_partitions(fct) == {days[-1].isoformat()}
    event = instance.get_latest_materialization_event(AssetKey(["optout_users_export"]))
    assert event.asset_materialization.metadata["row_count"].value == 3
    # In PostgreSQL itself: both runs, their materializations.
    runs = dict(pg(postgres_url, "select run_id, status from runs"))
    assert runs[build.run_id] == runs[export.run_id] == "SUCCESS"
    [(materializations,)] = pg(
        postgres_url,
        "select count(*) from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION' "
        f"and run_id in ('{build.run_id}', '{export.run_id}')",
    )
    assert materializations == len(optout_dbt_models.keys) + 1


def env_for(project, postgres_url, **extra) -> dict:
    settings, home, _ = project
    return {
        **os.environ,
        "OPTOUT_RAW_DIR": str(settings.raw_dir),
        "OPTOUT_WAREHOUSE": str(settings.warehouse),
        "OPTOUT_EXPORT_DIR": str(settings.export_dir),
        "DAGSTER_HOME": str(home),
        "OPTOUT_DAGSTER_POSTGRES_URL": postgres_url,
        **extra,
    }


def test_a_cli_build_is_recorded_in_postgresql(project, postgres_url):
    _, _, days = project
    done = subprocess.run(
        [str(BIN / "optout"), "build"],
        env=env_for(project, postgres_url, OPTOUT_PARTITIONS_START=days[0].isoformat()),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    models = len(optout_dbt_models.keys)
    assert f"Dagster: recorded {models} models" in done.stdout, done.stdout[-2000:]
    partitions = pg(
        postgres_url,
        'select distinct partition from event_logs where asset_key = \'["marts", '
        "\"fct_optouts\"]' and dagster_event_type = 'ASSET_MATERIALIZATION' order by 1",
    )
    assert [p for (p,) in partitions] == [d.isoformat() for d in days]


def one_tick_cron() -> str:
    """A cron for one minute of the day, 70 to 130 s from now: no second tick queues more
    builds while the first runs. The daemon must be up by then: a schedule first seen
    after its tick's time skips it (its state starts at the daemon's first look; 16 s
    after the start here, 3-4 times that on a busy machine)."""
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=130)
    return f"{at.minute} {at.hour} * * *"


def test_the_daemon_ticks_the_schedule_and_runs_the_build(project, postgres_url):
    """`dagster-daemon run` against the PostgreSQL instance, the build schedule set to the
    next minute: a tick is recorded and the build run it queued runs to success."""
    env = env_for(project, postgres_url, OPTOUT_BUILD_CRON=one_tick_cron(),
                  OPTOUT_SCHEDULE_TIMEZONE="UTC", OPTOUT_SCHEDULE_STATUS="running")  # fmt: skip
    log_path = project[1] / "daemon.log"
    with open(log_path, "wb") as log:
        daemon = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-m", "orchestration.definitions"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + TICK_TIMEOUT_S
        ticks, runs, launched = [], [], False
        while time.monotonic() < deadline and daemon.poll() is None:
            time.sleep(3)
            if not pg(postgres_url, "select 1 from pg_tables where tablename = 'job_ticks'"):
                continue  # the daemon is still creating the instance's tables
            ticks = pg(
                postgres_url,
                "select status from job_ticks where type = 'SCHEDULE' "
                "and tick_body like '%\"optout_daily_build\"%'",
            )
            runs = pg(
                postgres_url,
                "select r.status from runs r join run_tags t on t.run_id = r.run_id "
                "where t.key = 'dagster/schedule_name' and t.value = 'optout_daily_build'",
            )
            if any(status in ("SUCCESS", "FAILURE") for (status,) in runs):
                break
            if runs and not launched:
                launched, deadline = True, time.monotonic() + RUN_TIMEOUT_S
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait(timeout=10)
    tail = log_path.read_text(errors="replace")[-4000:]
    assert ("SUCCESS",) in ticks, f"no schedule tick within {TICK_TIMEOUT_S} s:\n{tail}"
    assert runs, f"the tick queued no run within {TICK_TIMEOUT_S} s:\n{tail}"
    assert ("SUCCESS",) in runs, (f"the run did not succeed within {RUN_TIMEOUT_S} s", runs, tail)
