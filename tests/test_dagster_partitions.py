"""The dbt assets' daily partitions materialized by Dagster (real dbt, real DuckDB): a
partition loads the landing files dated up to its day, a backfill over a range is one run
with one `dbt build` through the range's last day, a full refresh of a partition rebuilds
from the files dated up to it, and a run without a partition is refused before it builds.

Landing zone: users.csv (no date) and one opt-out per day on D1..D5, each in its own file.
"""

from conftest import query, query_state, resources_for, settings_for, write_csv, write_landing_zone
from dagster import DagsterInstance, ExecuteInProcessResult, materialize
from factories import consent_change, user

from orchestration.build import build_target_path
from orchestration.defs.dbt.assets import optout_dbt_models

DAYS = ["2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"]
USERS = [user(user_id=f"u{i}", updated_at="2026-01-01T00:00:00Z") for i in range(1, 6)]
LEDGER = "staging.landing_files__consent_changes"


def write_days(raw) -> None:
    write_landing_zone(raw, {"users": USERS})
    for i, day in enumerate(DAYS, start=1):
        change = consent_change(
            change_id=f"c{i}",
            user_id=f"u{i}",
            channel="sms",
            status="opted_out",
            changed_at=f"{day}T10:00:00Z",
            source="admin",
        )
        path = raw / "consent_changes" / f"consent_changes_{day}.csv"
        write_csv(path, "consent_changes", [change])


def run(settings, succeed: bool = True, **kwargs) -> ExecuteInProcessResult:
    """A run of the dbt assets in a fresh instance (as the UI or a backfill launches it)."""
    result = materialize(
        [optout_dbt_models],
        resources=resources_for(settings),
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
        **kwargs,
    )
    assert result.success == succeed, [e.message for e in result.get_step_failure_events()]
    return result


def optouts(warehouse) -> list[str]:
    return [r[0] for r in query(warehouse, "select optout_id from marts.fct_optouts order by 1")]


def batches(warehouse) -> dict[str, str]:
    """{day: dbt invocation id that loaded its file}."""
    rows = query_state(
        warehouse,
        f"select source_file, _load_id from {LEDGER} "
        "where regexp_matches(source_file, '[0-9]{4}-[0-9]{2}-[0-9]{2}')",
    )
    return {file.removesuffix(".csv")[-10:]: batch for file, batch in rows}


def last_dbt_log(settings) -> str:
    """The log of the last dbt run in the warehouse's target folder (the CLI's), which dbt
    rotates at 10 MB into dbt.log.1, .2, ..."""
    logs = build_target_path(settings).glob("dbt.log*")
    oldest_first = sorted(logs, key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    text = "".join(path.read_text(encoding="utf-8") for path in oldest_first)
    return text.rsplit("Running with dbt=", 1)[-1]


def partitions_of(result: ExecuteInProcessResult, asset: str) -> set:
    return {
        e.partition
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == asset
    }


def test_partitions_and_a_single_run_backfill(tmp_path):
    settings = settings_for(tmp_path)
    write_days(settings.raw_dir)

    # One partition: the files of D1 and D2 load, the later days wait.
    first = run(settings, partition_key=DAYS[1])
    assert optouts(settings.warehouse) == ["c1", "c2"]
    assert query(settings.warehouse, "select count(*) from marts.dim_users") == [(5,)]
    assert partitions_of(first, "marts/fct_optouts") == {DAYS[1]}

    # A backfill of D3..D4 as the backfill daemon launches it under a single-run policy:
    # one run tagged with the range, one dbt invocation, nothing of D5.
    backfill = run(
        settings,
        tags={
            "dagster/asset_partition_range_start": DAYS[2],
            "dagster/asset_partition_range_end": DAYS[3],
        },
    )
    assert optouts(settings.warehouse) == ["c1", "c2", "c3", "c4"]
    loaded = batches(settings.warehouse)
    assert sorted(loaded) == DAYS[:4]
    assert loaded[DAYS[2]] == loaded[DAYS[3]] != loaded[DAYS[0]] == loaded[DAYS[1]]
    assert partitions_of(backfill, "marts/fct_optouts") == {DAYS[2], DAYS[3]}
    # Another day is not another parse (the window is not a --vars value).
    second_run = last_dbt_log(settings)
    assert "Partial parsing enabled" in second_run and "Starting full parse" not in second_run

    # A full refresh of D3 rebuilds from the files dated up to D3: D4's opt-out is gone.
    run(
        settings,
        partition_key=DAYS[2],
        run_config={"ops": {"optout_dbt_models": {"config": {"full_refresh": True}}}},
    )
    assert optouts(settings.warehouse) == ["c1", "c2", "c3"]
    assert len(set(batches(settings.warehouse).values())) == 1


def test_a_run_without_a_partition_is_refused_and_builds_nothing(tmp_path):
    settings = settings_for(tmp_path)
    write_days(settings.raw_dir)
    [failure] = run(settings, succeed=False).get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("the dbt assets are partitioned by landing day")
    assert "\n" not in description
    assert not settings.warehouse.exists()
