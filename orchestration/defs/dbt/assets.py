"""Every dbt model as a Dagster asset, built through the same code path as `optout build`.

The build runs inside `orchestration.build.warehouse_build`: dbt writes a copy of the
warehouse under a file lock, and the copy replaces the real file only when `dbt build`
succeeds. Dagster's events are held back until then, so the UI never reports a model as
materialized by a build whose result was thrown away.

The assets are partitioned by landing day (orchestration/defs/partitions.py): a run for a
partition, or for a backfill's range of partitions (one run, one `dbt build`), loads the
landing files dated up to the window's last day. Every run needs a partition (the last one
loads everything that has landed up to yesterday); `optout build` loads every file.
"""

# No `from __future__ import annotations`: Dagster reads the Config and resource
# annotations of these functions when they are decorated.

import datetime as dt
from collections.abc import Iterator
from typing import Any

from dagster import AssetCheckResult, AssetExecutionContext, BackfillPolicy, Config, Failure
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.build import (
    BuildError,
    WarehouseBusyError,
    build_target_path,
    dbt_build_args,
    dbt_invocation,
    environ,
    landing_vars,
    warehouse_build,
)
from orchestration.config import ConfigError
from orchestration.defs.dbt.resources import (
    DBT_PROJECT,
    describe_identity,
    expected_identity,
    manifest_identity,
    prepare_manifest,
)
from orchestration.defs.dbt.translator import OptoutTranslator
from orchestration.defs.partitions import daily_partitions
from orchestration.defs.resources import OptoutSettings
from orchestration.ranges import UsageError, check_as_of

# DuckDB allows one writer: every asset that writes the warehouse runs in this pool, whose
# limit is 1 (dagster.yaml, concurrency.pools.default_limit).
WAREHOUSE_POOL = "duckdb_warehouse"

# Singular tests that read several models name the asset they check in
# meta.dagster.ref, so every dbt test becomes an asset check.
DBT_MANIFEST: dict[str, Any] = prepare_manifest()


class DbtBuildConfig(Config):
    """Run config of a warehouse build, the same options as `optout build`."""

    as_of: str | None = None  # ISO timestamp closing the retention windows; default latest event
    # Rebuild from every landing file dated up to the run's last day.
    full_refresh: bool = False
    # Build even when the landing zone holds no data file (publishes empty marts).
    allow_empty: bool = False


def load_through(context: AssetExecutionContext) -> dt.date:
    """The last landing day a run loads: its partition's, or its backfill range's last day."""
    if not (context.has_partition_key or context.has_partition_key_range):
        # Dagster fails to record a run of these assets without a partition (at the first
        # model whose parent is in the same run, after dbt has built): refuse it up front.
        raise Failure(
            description="the dbt assets are partitioned by landing day: materialize a partition "
            "(it loads the files dated up to that day) or a range of them, e.g. the last one; "
            "`optout build` loads every file",
            allow_retries=False,
        )
    # The window's end is exclusive: midnight (UTC) after its last day.
    return (context.partition_time_window.end - dt.timedelta(days=1)).date()


@dbt_assets(
    manifest=DBT_MANIFEST,
    project=DBT_PROJECT,
    dagster_dbt_translator=OptoutTranslator(),
    name="optout_dbt_models",
    pool=WAREHOUSE_POOL,
    partitions_def=daily_partitions,
    # A backfill over many days is one run and one `dbt build` through its last day.
    backfill_policy=BackfillPolicy.single_run(),
)
def optout_dbt_models(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    optout: OptoutSettings,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    try:
        settings = optout.resolve()
    except ConfigError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    try:
        as_of = check_as_of(config.as_of or None)  # same check and wording as the CLI
    except UsageError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    parsed_for, expected = manifest_identity(DBT_MANIFEST), expected_identity(settings)
    if parsed_for != expected:
        raise Failure(
            description=f"the dbt manifest was parsed for the {describe_identity(parsed_for)} "
            f"but this run builds the {describe_identity(expected)}; re-run `make manifest` "
            "with this OPTOUT_TARGET and OPTOUT_WAREHOUSE (or keep the warehouse file name)",
            allow_retries=False,
        )

    through = load_through(context)
    context.log.info(f"loading the landing files dated up to {through}")
    try:
        dbt_vars = landing_vars(config.allow_empty)
        target = build_target_path(settings)  # the CLI's: one parse state per warehouse
        with (
            warehouse_build(settings, full_refresh=config.full_refresh),
            dbt_invocation(settings, target, through, as_of, dbt_vars) as (_, invocation_env),
            environ(invocation_env),  # dagster-dbt hands os.environ to dbt
        ):
            invocation = dbt.cli(
                dbt_build_args(as_of=as_of, full_refresh=config.full_refresh, extra_vars=dbt_vars),
                context=context,
                target_path=target,
                raise_on_error=False,
            )
            events = list(invocation.stream())
            error = invocation.get_error()
            if error is not None:
                # Show which tests failed, then fail inside the writer: the copy is dropped.
                yield from (e for e in events if isinstance(e, AssetCheckResult) and not e.passed)
                raise Failure(
                    description="dbt build failed; the previous warehouse is unchanged. "
                    + str(error),
                    allow_retries=False,
                )
    except WarehouseBusyError as exc:
        raise Failure(description=str(exc)) from None
    except BuildError as exc:  # a missing landing zone, an unwritable folder: one line
        raise Failure(description=str(exc), allow_retries=False) from None
    yield from events
