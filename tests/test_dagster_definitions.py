"""The Dagster definitions as a scheduler sees them: they load and validate, the lineage
runs landing zone -> staging -> marts -> exports, every dbt test is an asset check, the
warehouse writers share a pool of one, and the schedules and the landing sensor ask for
the runs they should (evaluated with build_schedule_context / build_sensor_context)."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_csv, write_landing_zone
from dagster import (
    AssetKey,
    BackfillPolicy,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    build_schedule_context,
    build_sensor_context,
    validate_run_config,
)
from factories import event, user

from orchestration import cli
from orchestration.config import REPO_ROOT, ConfigError, DagsterSettings, Settings
from orchestration.definitions import defs
from orchestration.defs.dbt.assets import DBT_MANIFEST, WAREHOUSE_POOL, optout_dbt_models
from orchestration.defs.dbt.resources import (
    expected_identity,
    manifest_database,
    manifest_identity,
)
from orchestration.defs.exports.assets import (
    EXPORT_ASSETS,
    export_asset,
    export_assets,
    optout_changes_export,
    optout_users_export,
)
from orchestration.defs.landing.sensors import optout_landing_sensor
from orchestration.defs.partitions import (
    PARTITIONS_START,
    daily_partitions,
    last_complete_day,
    partition_keys,
    partitions_start,
)
from orchestration.defs.resources import OptoutSettings
from orchestration.defs.schedules import (
    BUILD_CRON,
    EXPORTS_CRON,
    SCHEDULE_TIMEZONE,
    optout_daily_build,
    optout_daily_exports,
)
from orchestration.exports import KINDS, ExportKind
from orchestration.lib.instance import write_instance

SOURCES = ["campaigns", "consent_changes", "events", "interactions", "sends", "users"]


def upstream(key: AssetKey) -> set[AssetKey]:
    graph = defs.resolve_asset_graph()
    seen: set[AssetKey] = set()
    todo = [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def specs() -> dict[AssetKey, object]:
    return {spec.key: spec for spec in defs.resolve_all_asset_specs()}


def test_dagster_definitions_validate(tmp_path):
    """`dagster definitions validate` from the repository root, as CI would run it."""
    home = tmp_path / "dagster_home"
    write_instance(home, DagsterSettings())
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "OPTOUT_RAW_DIR": str(tmp_path / "raw"),
        "OPTOUT_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "OPTOUT_EXPORT_DIR": str(tmp_path / "exports"),
    }
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful for code location optout" in done.stdout + done.stderr


def test_lineage_runs_from_landing_zone_to_exports():
    landing = {AssetKey(["landing", source]) for source in SOURCES}
    assert landing <= set(specs())

    users_upstream = upstream(optout_users_export.key)
    assert {
        AssetKey(["landing", "consent_changes"]),
        AssetKey(["landing", "users"]),
        AssetKey(["staging", "stg_messaging__consent_changes"]),
        AssetKey(["intermediate", "int_consent_timeline"]),
        AssetKey(["marts", "fct_optouts"]),
        AssetKey(["marts", "dim_users"]),
    } <= users_upstream
    assert AssetKey(["marts", "fct_status_changes"]) in upstream(optout_changes_export.key)
    # Every landing folder feeds some dbt model.
    dbt_keys = set(optout_dbt_models.keys)
    for key in landing:
        assert any(key in upstream(model) for model in dbt_keys), key


def test_assets_are_grouped_by_layer():
    groups = {key.to_user_string(): spec.group_name for key, spec in specs().items()}
    assert groups["landing/events"] == "raw"
    assert groups["staging/base_messaging__events"] == "staging"  # staging/base/
    assert groups["staging/stg_messaging__events"] == "staging"
    assert groups["quarantine/quarantine_events"] == "quarantine"
    assert groups["intermediate/int_consent_timeline"] == "intermediate"
    assert groups["marts/fct_optouts"] == "marts"
    assert groups["optout_users_export"] == groups["optout_changes_export"] == "exports"
    # Every dbt model is in the group of its folder under models/.
    for node in DBT_MANIFEST["nodes"].values():
        if node["resource_type"] == "model":
            folder = Path(node["original_file_path"]).parts[1]
            assert groups[f"{node['config']['schema']}/{node['name']}"] == folder


def test_models_carry_their_descriptions_and_owners():
    all_specs = specs()
    fct_optouts = all_specs[AssetKey(["marts", "fct_optouts"])]
    yaml_description = DBT_MANIFEST["nodes"]["model.optout.fct_optouts"]["description"]
    assert yaml_description and fct_optouts.description.startswith(yaml_description.strip())
    for key, spec in all_specs.items():
        assert spec.owners, key
        assert spec.description, key


def test_every_dbt_test_is_an_asset_check():
    dbt_tests = {
        node["name"] for node in DBT_MANIFEST["nodes"].values() if node["resource_type"] == "test"
    }
    checks = {key.name for key in optout_dbt_models.check_keys}
    assert checks == dbt_tests
    # A singular test reading several models is attached to the first model it refs.
    check_keys = {(k.asset_key.to_user_string(), k.name) for k in optout_dbt_models.check_keys}
    assert ("marts/fct_optouts", "assert_one_row_per_optout") in check_keys


def test_warehouse_writers_share_one_pool_of_one(tmp_path, monkeypatch):
    assert optout_dbt_models.op.pool == WAREHOUSE_POOL
    # The exports only read, through short read-only connections.
    assert optout_users_export.op.pool != WAREHOUSE_POOL
    assert optout_changes_export.op.pool != WAREHOUSE_POOL

    write_instance(tmp_path, DagsterSettings())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with DagsterInstance.get() as instance:
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 1
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        lane = [
            limit
            for limit in config.run_queue_config.tag_concurrency_limits
            if limit["key"] == "optout/warehouse"
        ]
        assert lane == [{"key": "optout/warehouse", "limit": 1}]
    for job_name in ("optout_build", "optout_exports"):
        job = defs.resolve_job_def(job_name)
        assert "optout/warehouse" in job.tags
        # Steps in the run's process, one after the other: no Python start per step.
        assert job.executor_def.name == "in_process"


def test_manifest_does_not_depend_on_the_warehouse_path(tmp_path):
    # The profile names the two DuckDB databases itself (state, published), so a manifest
    # parsed for data/warehouse.duckdb serves a build of any other file.
    assert manifest_database(DBT_MANIFEST) == "published,state"
    other = Settings.from_env({"OPTOUT_WAREHOUSE": str(tmp_path / "other name.duckdb")})
    assert expected_identity(other) == manifest_identity(DBT_MANIFEST)


def test_build_job_builds_every_model():
    job = defs.resolve_job_def("optout_build")
    selected = job.asset_layer.selected_asset_keys
    assert selected == set(optout_dbt_models.keys)


def test_dbt_assets_are_daily_partitions_backfilled_in_one_run():
    assert optout_dbt_models.partitions_def == daily_partitions
    assert daily_partitions.start.date() == PARTITIONS_START
    assert daily_partitions.timezone == "UTC"
    # A backfill over any number of days is a single run (one `dbt build`).
    assert optout_dbt_models.backfill_policy == BackfillPolicy.single_run()
    assert defs.resolve_job_def("optout_build").partitions_def == daily_partitions


def test_the_last_partition_is_the_day_that_ended_last():
    # At 00:30 UTC the day before, never the running day; nothing before the first ends.
    day_after_start = PARTITIONS_START + dt.timedelta(days=1)
    at = dt.datetime.combine(day_after_start, dt.time(0, 30), dt.UTC)
    assert last_complete_day(at) == PARTITIONS_START.isoformat()
    at_start = dt.datetime.combine(PARTITIONS_START, dt.time(23, 0), dt.UTC)
    assert last_complete_day(at_start) is None


def test_partitions_start_where_the_data_starts(tmp_path):
    """The first dated landing file's day (undated files and other days do not matter),
    unless OPTOUT_PARTITIONS_START says otherwise; an empty landing zone starts at the day
    that ended last, so the partition bar never shows years before the data."""
    write_csv(tmp_path / "users" / "users.csv", "users", [])
    write_csv(tmp_path / "sends" / "sends_2026-01-10.csv", "sends", [])
    write_csv(
        tmp_path / "consent_changes" / "consent_changes_2026-01-07.csv", "consent_changes", []
    )
    write_csv(tmp_path / "unknown" / "unknown_2020-01-01.csv", "users", [])  # not a source
    now = dt.datetime(2026, 2, 1, 8, 0, tzinfo=dt.UTC)
    assert partitions_start(DagsterSettings(), tmp_path, now) == dt.date(2026, 1, 7)
    configured = DagsterSettings.from_env({"OPTOUT_PARTITIONS_START": "2025-06-01"})
    assert partitions_start(configured, tmp_path, now) == dt.date(2025, 6, 1)
    assert partitions_start(DagsterSettings(), tmp_path / "empty", now) == dt.date(2026, 1, 31)


def test_partition_keys_of_a_build_end_with_the_last_day_that_ended():
    now = dt.datetime(2026, 1, 9, 1, 0, tzinfo=dt.UTC)
    start = dt.date(2026, 1, 5)
    assert partition_keys(start, dt.date(2026, 1, 7), now) == [
        "2026-01-05",
        "2026-01-06",
        "2026-01-07",
    ]
    # Files dated today or later: the partitions stop at yesterday (8 January).
    assert partition_keys(start, dt.date(2026, 1, 20), now)[-1] == "2026-01-08"
    assert partition_keys(start, dt.date(2026, 1, 4), now) == []


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"OPTOUT_PARTITIONS_START": "01/01/2025"}, "OPTOUT_PARTITIONS_START"),
        ({"OPTOUT_BUILD_CRON": "every day at 2"}, "OPTOUT_BUILD_CRON"),
        ({"OPTOUT_EXPORTS_CRON": "0 3 * *"}, "OPTOUT_EXPORTS_CRON"),
        ({"OPTOUT_SCHEDULE_TIMEZONE": "Mars/Olympus"}, "OPTOUT_SCHEDULE_TIMEZONE"),
        ({"OPTOUT_SCHEDULE_STATUS": "paused"}, "OPTOUT_SCHEDULE_STATUS"),
        ({"OPTOUT_DAGSTER_POSTGRES_URL": "localhost:5432"}, "OPTOUT_DAGSTER_POSTGRES_URL"),
    ],
)
def test_a_bad_dagster_setting_is_a_one_line_config_error(env, name):
    with pytest.raises(ConfigError, match=rf"^{name} must ") as caught:
        DagsterSettings.from_env(env)
    assert "\n" not in str(caught.value)


def test_no_module_but_the_settings_reads_the_environment():
    """Every setting is read in orchestration/config.py (the lead's build lock timeout and
    the dashboard excepted, which have their own owners)."""
    allowed = {"config.py", "build.py"}
    for path in (REPO_ROOT / "orchestration").rglob("*.py"):
        if path.name in allowed or "dashboard" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("os.environ.get(", "os.getenv(", "environ["):
            assert needle not in text, f"{path.relative_to(REPO_ROOT)} reads {needle}"


def test_daily_build_schedule_requests_the_day_before_the_tick():
    assert (BUILD_CRON, EXPORTS_CRON, SCHEDULE_TIMEZONE) == ("0 2 * * *", "0 3 * * *", "UTC")
    assert optout_daily_build.execution_timezone == "UTC"
    assert optout_daily_build.job_name == "optout_build"
    tick = dt.datetime(2026, 2, 1, 2, 0, tzinfo=dt.UTC)
    context = build_schedule_context(
        scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    )
    data = optout_daily_build.evaluate_tick(context)
    [request] = data.run_requests
    assert request.partition_key == "2026-01-31"
    assert request.tags["dagster/partition"] == "2026-01-31"
    validate_run_config(defs.resolve_job_def("optout_build"), request.run_config)


def test_daily_exports_schedule_requests_last_week_and_last_month():
    assert optout_daily_exports.job_name == "optout_exports"
    tick = dt.datetime(2026, 2, 1, 3, 0, tzinfo=dt.UTC)
    data = optout_daily_exports.evaluate_tick(build_schedule_context(scheduled_execution_time=tick))
    by_range = {r.tags["optout/range"]: r for r in data.run_requests}
    assert sorted(by_range) == ["last_month", "last_week"]
    job = defs.resolve_job_def("optout_exports")
    for range_name, request in by_range.items():
        validate_run_config(job, request.run_config)
        for asset_name in ("optout_users_export", "optout_changes_export"):
            config = request.run_config["ops"][asset_name]["config"]
            assert config == {"range": range_name, "as_of": "2026-02-01", "format": "csv"}
        assert request.run_key == f"{range_name}-2026-02-01"


@pytest.mark.skipif("OPTOUT_SCHEDULE_STATUS" in os.environ, reason="status set by environment")
def test_schedules_and_sensor_start_running_by_default():
    assert optout_daily_build.default_status == DefaultScheduleStatus.RUNNING
    assert optout_daily_exports.default_status == DefaultScheduleStatus.RUNNING
    assert optout_landing_sensor.default_status == DefaultSensorStatus.RUNNING


def evaluate_sensor(cursor: str | None):
    context = build_sensor_context(
        cursor=cursor, resources={"optout": OptoutSettings()}, definitions=defs
    )
    return optout_landing_sensor.evaluate_tick(context)


def test_landing_sensor_requests_a_build_when_files_arrive(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    monkeypatch.setenv("OPTOUT_RAW_DIR", str(raw))
    monkeypatch.setenv("OPTOUT_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    assert optout_landing_sensor.job_name == "optout_build"

    empty = evaluate_sensor(None)  # no landing zone yet
    assert empty.run_requests == []

    write_landing_zone(raw, {"users": [user(user_id="1", updated_at="2026-01-01T00:00:00Z")]})
    before = last_complete_day()
    first = evaluate_sensor(empty.cursor)
    after = last_complete_day()
    assert len(first.run_requests) == 1
    # The partition of the day that ended last: everything that landed up to it loads
    # (read before and after the tick, which may cross midnight UTC).
    assert first.run_requests[0].partition_key in {before, after}
    assert {e.asset_key for e in first.asset_events} == {
        AssetKey(["landing", source]) for source in SOURCES
    }

    again = evaluate_sensor(first.cursor)
    assert again.run_requests == []
    assert again.cursor == first.cursor

    row = event(
        event_id="e1", user_id="1", event_name="app_open", occurred_at="2026-01-02T08:00:00Z"
    )
    write_csv(raw / "events" / "events_2026-01-02.csv", "events", [row])
    (raw / "events" / "notes.txt").write_text("not read by dbt, not a reason to build")
    new_file = evaluate_sensor(again.cursor)
    assert len(new_file.run_requests) == 1
    assert new_file.run_requests[0].run_key != first.run_requests[0].run_key
    assert [e.asset_key for e in new_file.asset_events] == [AssetKey(["landing", "events"])]
    assert json.loads(new_file.cursor) != json.loads(again.cursor)


def test_landing_sensor_first_tick_skips_files_older_than_the_warehouse(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("OPTOUT_RAW_DIR", str(raw))
    monkeypatch.setenv("OPTOUT_WAREHOUSE", str(warehouse))
    write_landing_zone(raw, {})
    warehouse.write_bytes(b"")  # stands in for a warehouse built after the files landed
    newer = max(p.stat().st_mtime for p in raw.rglob("*.csv")) + 60
    os.utime(warehouse, (newer, newer))

    assert evaluate_sensor(None).run_requests == []


def test_export_assets_come_from_the_export_registry():
    """One asset per export kind, named and described by it, depending on the marts its
    query reads (checked here against a hand-written list)."""
    assert {a.key.to_user_string() for a in export_assets} == {
        "optout_users_export",
        "optout_changes_export",
        "optout_suppression_export",
    }
    expected = {
        "users": {"marts/fct_optouts", "marts/dim_users"},
        "status_changes": {"marts/fct_status_changes", "marts/dim_users"},
        "suppression": {"marts/dim_consent_current", "marts/dim_users"},
    }
    for name, kind in KINDS.items():
        asset = EXPORT_ASSETS[name]
        assert asset.key.to_user_string() == kind.asset_name
        assert {key.to_user_string() for key in asset.asset_deps[asset.key]} == expected[name]
        assert kind.title in asset.descriptions_by_key[asset.key]


def test_a_new_export_kind_is_one_registry_entry(monkeypatch):
    """A kind added to the registry gets its `--kind` value in the CLI and, through
    `export_asset`, an asset depending on the marts its query reads."""
    kind = ExportKind(
        name="reasons",
        file_prefix="optout_reasons",
        query="select * from marts.agg_optout_reasons where date between $start and $end",
        asset_name="optout_reasons_export",
        title="Opt-out reasons",
        description="opt-outs per reason",
        empty="no reasons dated {scope}",
    )
    monkeypatch.setitem(KINDS, "reasons", kind)
    args = cli._parser().parse_args(["export", "--kind", "REASONS", "--range", "last_week"])
    assert args.kind == "reasons"
    asset = export_asset(kind)
    assert asset.key.to_user_string() == "optout_reasons_export"
    assert {k.to_user_string() for k in asset.asset_deps[asset.key]} == {"marts/agg_optout_reasons"}


def test_the_daily_build_job_runs_the_landing_freshness_checks():
    job = defs.resolve_job_def("optout_build")
    checks = {
        key for key in job.asset_layer.asset_graph.asset_check_keys if key.name == "freshness"
    }
    assert {key.asset_key for key in checks} == {AssetKey(["landing", s]) for s in SOURCES}
    assert "landing_freshness" in {node.name for node in job.graph.nodes}
