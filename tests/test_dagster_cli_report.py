"""`optout build` records what it built in the Dagster instance of $DAGSTER_HOME: every
dbt model's asset is materialized for the partitions up to the last landing day, so after a
CLI build the asset catalog shows the assets materialized and the partition bar filled from
where the data starts (OPTOUT_PARTITIONS_START unset). Real builds, a real SQLite instance.

Landing zone: users.csv (undated) and one opt-out per day on D1..D3, a fourth day later.
"""

import os
import subprocess
import sys

from conftest import write_csv, write_landing_zone
from dagster import AssetKey, DagsterInstance

from orchestration.config import DagsterSettings
from orchestration.defs.dbt.assets import optout_dbt_models
from orchestration.lib.dagster_report import CLI_TAG
from orchestration.lib.instance import write_instance

OPTOUT = os.path.join(os.path.dirname(sys.executable), "optout")
DAYS = ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"]


def write_day(raw, i: int) -> None:
    change = {
        "change_id": f"c{i}",
        "user_id": f"u{i}",
        "channel": "sms",
        "status": "opted_out",
        "changed_at": f"{DAYS[i]}T10:00:00Z",
        "source": "admin",
    }
    write_csv(
        raw / "consent_changes" / f"consent_changes_{DAYS[i]}.csv", "consent_changes", [change]
    )


def build(tmp_path) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "OPTOUT_RAW_DIR": str(tmp_path / "raw"),
        "OPTOUT_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "OPTOUT_EXPORT_DIR": str(tmp_path / "exports"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }
    done = subprocess.run([OPTOUT, "build"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def materialized(tmp_path) -> dict[AssetKey, set[str]]:
    with DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        return {key: instance.get_materialized_partitions(key) for key in optout_dbt_models.keys}


def test_a_cli_build_fills_the_partitions_of_every_dbt_asset(tmp_path):
    write_instance(tmp_path / "dagster_home", DagsterSettings())
    users = [{"user_id": f"u{i}", "updated_at": "2026-01-01T00:00:00Z"} for i in range(4)]
    write_landing_zone(tmp_path / "raw", {"users": users})
    for i in range(3):
        write_day(tmp_path / "raw", i)

    first = build(tmp_path)
    models = len(optout_dbt_models.keys)
    assert f"Dagster: recorded {models} models for 3 partition(s) up to {DAYS[2]}" in first.stdout
    got = materialized(tmp_path)
    assert len(got) == models >= 39  # every model
    assert all(partitions == set(DAYS[:3]) for partitions in got.values()), got

    # A later file: the next build adds its day (the earlier days are not recorded again).
    write_day(tmp_path / "raw", 3)
    second = build(tmp_path)
    assert "for 1 partition(s) up to 2026-01-08" in second.stdout
    assert all(partitions == set(DAYS) for partitions in materialized(tmp_path).values())

    key = AssetKey(["marts", "fct_optouts"])
    with DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        event = instance.get_latest_materialization_event(key)
        assert event.asset_materialization.partition == DAYS[3]
        assert event.asset_materialization.tags == CLI_TAG
        records = instance.fetch_materializations(key, limit=100).records
    assert len(records) == 4  # three for the first build, one for the second


def test_without_dagster_home_nothing_is_recorded(tmp_path):
    write_landing_zone(tmp_path / "raw", {})
    write_day(tmp_path / "raw", 0)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "OPTOUT_RAW_DIR": str(tmp_path / "raw"),
        "OPTOUT_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
    }
    done = subprocess.run([OPTOUT, "build"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Dagster" not in done.stdout
