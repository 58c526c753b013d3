"""`dg dev` (what `make dagster` runs; the successor of `dagster dev`) from the repository
root serves the assets, schedules and sensor without start-up warnings: started on a free
loopback port with the instance `make manifest` writes, asked through its GraphQL
endpoint, then stopped (its whole process group)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port

from orchestration.config import REPO_ROOT, DagsterSettings
from orchestration.defs.dbt.assets import optout_dbt_models
from orchestration.lib.instance import write_instance

STARTUP_TIMEOUT_S = 240
QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            repositories {
              schedules { name cronSchedule executionTimezone scheduleState { status } }
              sensors { name sensorState { status } }
              jobs { name }
            }
          }
        }
      }
    }
  }
  assetNodes { assetKey { path } groupName }
}
"""


def default_signals() -> None:
    # A process started from a background job inherits ignored SIGINT/SIGTERM; dagster dev
    # would then outlive the test.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the whole group (webserver, daemon, code server), then SIGKILL leftovers."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture
def dagster_dev(tmp_path):
    home = tmp_path / "dagster_home"
    write_instance(home, DagsterSettings())
    port = free_port()
    env = {
        **os.environ,
        # The Makefile's `dg dev` runs the venv's dg with the venv active, as here.
        "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),
        "DAGSTER_HOME": str(home),
        "OPTOUT_RAW_DIR": str(tmp_path / "raw"),
        "OPTOUT_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "OPTOUT_EXPORT_DIR": str(tmp_path / "exports"),
        # Nothing should build while the smoke test looks around.
        "OPTOUT_SCHEDULE_STATUS": "stopped",
    }
    log_path = tmp_path / "dagster_dev.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("dg")), "dev",
             "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=default_signals,
        )  # fmt: skip
    try:
        yield port, process, log_path
    finally:
        stop(process)


def wait_until_loaded(port: int, process: subprocess.Popen, log_path: Path) -> dict:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_error = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dg dev exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            data = graphql(port, QUERY)["data"]
            [entry] = data["workspaceOrError"]["locationEntries"]
            if entry["loadStatus"] == "LOADED":
                return data
        except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError) as exc:
            last_error = repr(exc)
        time.sleep(1)
    pytest.fail(f"dg dev not ready after {STARTUP_TIMEOUT_S}s ({last_error}):\n"
                f"{log_path.read_text()[-4000:]}")  # fmt: skip


def test_dagster_dev_serves_assets_schedules_and_sensor(dagster_dev):
    port, process, log_path = dagster_dev
    data = wait_until_loaded(port, process, log_path)

    [entry] = data["workspaceOrError"]["locationEntries"]
    location = entry["locationOrLoadError"]
    assert entry["name"] == "optout"
    assert location["__typename"] == "RepositoryLocation", location
    [repository] = location["repositories"]

    groups = {"/".join(node["assetKey"]["path"]): node["groupName"] for node in data["assetNodes"]}
    for key in optout_dbt_models.keys:
        assert key.to_user_string() in groups
    assert groups["landing/consent_changes"] == "raw"
    assert groups["marts/fct_optouts"] == "marts"
    assert groups["optout_users_export"] == groups["optout_changes_export"] == "exports"

    schedules = {s["name"]: s for s in repository["schedules"]}
    assert set(schedules) == {"optout_daily_build", "optout_daily_exports"}
    assert schedules["optout_daily_build"]["cronSchedule"] == "0 2 * * *"
    assert schedules["optout_daily_exports"]["cronSchedule"] == "0 3 * * *"
    assert {s["executionTimezone"] for s in schedules.values()} == {"UTC"}
    # OPTOUT_SCHEDULE_STATUS=stopped reached the code location.
    assert {s["scheduleState"]["status"] for s in schedules.values()} == {"STOPPED"}
    sensors = {s["name"]: s["sensorState"]["status"] for s in repository["sensors"]}
    assert sensors == {"optout_landing_sensor": "STOPPED"}
    assert {"optout_build", "optout_exports"} <= {job["name"] for job in repository["jobs"]}

    # No start-up warning: no dagster.yaml in the working directory, no superseded command,
    # the venv dg runs in is the project's.
    log = log_path.read_text(encoding="utf-8", errors="replace")
    for warning in ("Found a dagster instance configuration", "superseded", "does not match"):
        assert warning not in log, log[-3000:]
    assert "WARNING" not in log and "Warning" not in log, log[-3000:]
