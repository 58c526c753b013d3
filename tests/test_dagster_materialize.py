"""The whole asset graph materialized with `dagster.materialize` (real dbt, real DuckDB):
landing zone -> every dbt model and test -> both exports, once per module, and what a
scheduler relies on: every dbt test passed as an asset check, the export files are the
CLI's bytes, bad export config fails like the CLI and writes nothing, and a failed build
leaves the previous warehouse in place."""

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import query, resources_for, settings_for
from dagster import (
    DagsterInstance,
    DagsterInvalidConfigError,
    ExecuteInProcessResult,
    materialize,
    validate_run_config,
)

from orchestration import cli
from orchestration.config import Settings
from orchestration.definitions import defs
from orchestration.defs.dbt.assets import DBT_MANIFEST, optout_dbt_models
from orchestration.defs.exports.assets import (
    export_assets,
    optout_changes_export,
    optout_suppression_export,
    optout_users_export,
)
from orchestration.defs.landing.assets import landing_assets
from orchestration.generator import generate

END_DATE = dt.date(2026, 1, 31)
USERS_CONFIG = {"range": "between", "start": "2026-01-01", "end": "2026-01-31"}
CHANGES_CONFIG = {"range": "last_month", "as_of": "2026-01-31"}
# The same ranges as `optout export` arguments.
CLI_ARGS = {
    "optout_users_export": ["--kind", "users", "--range", "between", "--start", "2026-01-01",
                            "--end", "2026-01-31"],
    "optout_changes_export": ["--kind", "status_changes", "--range", "last_month",
                              "--as-of", "2026-01-31"],
    "optout_suppression_export": ["--kind", "suppression"],
}  # fmt: skip


def export_config(config: dict) -> dict:
    return {"ops": {"optout_users_export": {"config": config}}}


@dataclass(frozen=True)
class Materialized:
    settings: Settings
    result: ExecuteInProcessResult


@pytest.fixture(scope="module")
def materialized(tmp_path_factory) -> Materialized:
    """One run of every asset over a small synthetic landing zone: the partition of its last
    day loads every file."""
    settings = settings_for(tmp_path_factory.mktemp("dagster_graph"))
    generate(settings.raw_dir, users=150, days=30, seed=11, end_date=END_DATE)
    result = materialize(
        [*landing_assets, optout_dbt_models, *export_assets],
        partition_key=END_DATE.isoformat(),
        resources=resources_for(settings),
        run_config={
            "ops": {
                "optout_users_export": {"config": USERS_CONFIG},
                "optout_changes_export": {"config": CHANGES_CONFIG},
            }
        },
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    return Materialized(settings, result)


def export_metadata(result: ExecuteInProcessResult, asset_name: str) -> dict:
    [event] = [
        e for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == asset_name
    ]  # fmt: skip
    return {key: value.value for key, value in event.materialization.metadata.items()}


def test_every_asset_materializes_into_the_warehouse(materialized):
    result, settings = materialized.result, materialized.settings
    assert result.success, [e.message for e in result.get_step_failure_events()]

    materialized_keys = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized_keys == set(optout_dbt_models.keys) | {
        optout_users_export.key,
        optout_changes_export.key,
        optout_suppression_export.key,
    }
    # The build was published atomically: the file is there, the working copy is gone.
    assert settings.warehouse.exists()
    assert not (settings.warehouse.parent / ".building").exists()
    [(optouts,)] = query(settings.warehouse, "select count(*) from marts.fct_optouts")
    assert optouts > 0
    # Nothing in this process still holds the warehouse open (read-only handles would
    # make DuckDB refuse a read-write connection with another configuration).
    duckdb.connect(os.fspath(settings.warehouse)).close()


def test_every_dbt_test_ran_as_a_passing_asset_check(materialized):
    evaluations = materialized.result.get_asset_check_evaluations()
    dbt_tests = [n for n in DBT_MANIFEST["nodes"].values() if n["resource_type"] == "test"]

    assert {e.asset_check_key for e in evaluations} == set(optout_dbt_models.check_keys)
    assert len(evaluations) == len(dbt_tests)
    failed = [e.asset_check_key.to_user_string() for e in evaluations if not e.passed]
    assert failed == []


@pytest.mark.parametrize("asset_name", list(CLI_ARGS))
def test_export_file_is_the_cli_file(materialized, asset_name, tmp_path, monkeypatch, capsys):
    assert materialized.result.success
    metadata = export_metadata(materialized.result, asset_name)
    path = Path(metadata["path"])
    data = path.read_bytes()

    capsys.readouterr()
    monkeypatch.setenv("OPTOUT_WAREHOUSE", str(materialized.settings.warehouse))
    monkeypatch.setenv("OPTOUT_EXPORT_DIR", str(tmp_path))
    assert cli.main(["export", *CLI_ARGS[asset_name]]) == 0
    cli_path = Path(capsys.readouterr().out.strip().splitlines()[-1])

    assert cli_path.name == path.name
    assert cli_path.read_bytes() == data
    assert metadata["sha256"] == hashlib.sha256(data).hexdigest()
    assert metadata["row_count"] == len(data.decode().splitlines()) - 1 > 0
    assert metadata["format"] == "csv"

    manifest = json.loads(Path(str(path) + ".manifest.json").read_text())
    assert manifest["file"] == path.name
    assert manifest["sha256"] == metadata["sha256"]
    assert manifest["row_count"] == metadata["row_count"]
    if asset_name != "optout_suppression_export":  # the suppression list has no range
        assert (manifest["start"], manifest["end"]) == (metadata["start"], metadata["end"])


def test_export_range_recorded_in_metadata(materialized):
    assert materialized.result.success
    users = export_metadata(materialized.result, "optout_users_export")
    changes = export_metadata(materialized.result, "optout_changes_export")
    assert (users["range"], users["start"], users["end"]) == ("between", "2026-01-01", "2026-01-31")
    # last_month: D - 29 days .. D
    assert (changes["range"], changes["start"], changes["end"]) == (
        "last_month",
        "2026-01-02",
        "2026-01-31",
    )


BAD_CONFIGS = [
    {"range": "between", "start": "2026-01-31", "end": "2026-01-01"},
    {"range": "between", "start": "2026-01-01"},
    {"range": "last_week", "as_of": "31/01/2026"},
    {"range": "last_week", "start": "2026-01-01"},
]


@pytest.mark.parametrize(
    ("config", "field"),
    [({"range": "last_wek"}, "range"), ({"range": "last_week", "format": "xlsx"}, "format")],
)
def test_a_value_outside_an_enum_is_refused_at_launch(tmp_path, config, field):
    """`range` and `format` are enum config types: a misspelt value is a config error when
    the run is launched (the launchpad shows it), before any step runs or writes."""
    job = defs.resolve_job_def("optout_exports")
    with pytest.raises(DagsterInvalidConfigError, match=rf"config:{field} not in enum type"):
        validate_run_config(job, export_config(config))
    settings = settings_for(tmp_path)
    with pytest.raises(DagsterInvalidConfigError):
        materialize(
            [optout_users_export],
            resources={"optout": resources_for(settings)["optout"]},
            run_config=export_config(config),
            instance=DagsterInstance.ephemeral(),
        )
    assert not settings.export_dir.exists()


def cli_args(config: dict) -> list[str]:
    """The `optout export` options of an export run config."""
    return [arg for key, value in config.items() for arg in (f"--{key.replace('_', '-')}", value)]


@pytest.mark.parametrize("config", BAD_CONFIGS)
def test_bad_export_config_fails_with_the_cli_message_and_writes_nothing(
    materialized, config, tmp_path, monkeypatch, capsys
):
    assert materialized.result.success
    settings = materialized.settings
    export_dir = tmp_path / "exports"
    bad_settings = Settings(settings.raw_dir, settings.warehouse, export_dir)

    result = materialize(
        [optout_users_export],
        resources={"optout": resources_for(bad_settings)["optout"]},
        run_config=export_config(config),
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )

    capsys.readouterr()  # drop Dagster's own log lines
    monkeypatch.setenv("OPTOUT_WAREHOUSE", str(settings.warehouse))
    monkeypatch.setenv("OPTOUT_EXPORT_DIR", str(export_dir))
    assert cli.main(["export", *cli_args(config)]) == 2
    cli_message = capsys.readouterr().err

    assert not result.success
    [failure] = result.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert cli_message == f"optout: error: {description}\n"
    assert "\n" not in description
    assert not export_dir.exists() or list(export_dir.iterdir()) == []


def test_failed_dagster_build_leaves_the_previous_warehouse(materialized, tmp_path):
    assert materialized.result.success
    settings = settings_for(tmp_path)
    shutil.copytree(materialized.settings.raw_dir, settings.raw_dir)
    shutil.copyfile(materialized.settings.warehouse, settings.warehouse)
    before = hashlib.sha256(settings.warehouse.read_bytes()).hexdigest()
    (settings.raw_dir / "events" / "events_2026-02-01.parquet").write_bytes(b"not parquet")

    result = materialize(
        [*landing_assets, optout_dbt_models],
        partition_key="2026-02-01",
        resources=resources_for(settings),
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )

    assert not result.success
    [failure] = result.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert "the previous warehouse is unchanged" in description
    assert "events_2026-02-01.parquet" in description
    assert result.get_asset_materialization_events() == []
    assert hashlib.sha256(settings.warehouse.read_bytes()).hexdigest() == before
    assert not (settings.warehouse.parent / ".building").exists()


def test_bad_build_config_fails_with_the_cli_message_and_builds_nothing(
    tmp_path, monkeypatch, capsys
):
    settings = settings_for(tmp_path)
    result = materialize(
        [optout_dbt_models],
        resources=resources_for(settings),
        run_config={"ops": {"optout_dbt_models": {"config": {"as_of": "yesterday"}}}},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )

    capsys.readouterr()
    monkeypatch.setenv("OPTOUT_WAREHOUSE", str(settings.warehouse))
    assert cli.main(["build", "--as-of", "yesterday"]) == 2
    cli_message = capsys.readouterr().err

    assert not result.success
    [failure] = result.get_step_failure_events()
    assert (
        cli_message == f"optout: error: {failure.step_failure_data.user_failure_data.description}\n"
    )
    assert not settings.warehouse.exists()
