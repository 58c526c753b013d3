"""The daily schedules, configured in this one place.

- `optout_daily_build` (default 02:00) builds and tests every dbt model, as the partition of
  the last landing day that has ended at the tick (UTC): the day before a 02:00 UTC tick.
- `optout_daily_exports` (default 03:00) writes the Last Week and Last Month exports of
  both kinds, one run per range, with D = the UTC date of the tick.

Settings (orchestration/config.py `DagsterSettings`, read when the code location loads):
OPTOUT_SCHEDULE_TIMEZONE (default UTC), OPTOUT_BUILD_CRON (default "0 2 * * *"),
OPTOUT_EXPORTS_CRON (default "0 3 * * *"), OPTOUT_SCHEDULE_STATUS (`running`, the default,
or `stopped`).

Both schedules, and the landing sensor, start RUNNING: the point of them is to keep the marts
and the standard exports fresh without anyone switching them on, and they only tick where a
daemon runs (`dagster dev`, or `dagster-daemon` in production), never in tests or at
import. Set OPTOUT_SCHEDULE_STATUS=stopped on a machine that must not build on its own; a
status set in the UI overrides the default either way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from dagster import (
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from orchestration.defs.exports.assets import export_assets
from orchestration.defs.jobs import optout_build_job, optout_exports_job
from orchestration.defs.partitions import last_complete_day
from orchestration.defs.resources import DAGSTER_SETTINGS

SCHEDULE_TIMEZONE = DAGSTER_SETTINGS.schedule_timezone
BUILD_CRON = DAGSTER_SETTINGS.build_cron
EXPORTS_CRON = DAGSTER_SETTINGS.exports_cron
DAILY_EXPORT_RANGES = ("last_week", "last_month")

_RUNNING = DAGSTER_SETTINGS.schedules_running
SCHEDULE_STATUS = DefaultScheduleStatus.RUNNING if _RUNNING else DefaultScheduleStatus.STOPPED
SENSOR_STATUS = DefaultSensorStatus.RUNNING if _RUNNING else DefaultSensorStatus.STOPPED


def export_run_config(range_name: str, as_of: str | None = None, fmt: str = "csv") -> dict:
    """Run config of `optout_exports` for one range (both export assets)."""
    config = {"range": range_name, "format": fmt, **({"as_of": as_of} if as_of else {})}
    return {"ops": {asset.op.name: {"config": dict(config)} for asset in export_assets}}


@schedule(
    name="optout_daily_build",
    job=optout_build_job,
    cron_schedule=BUILD_CRON,
    execution_timezone=SCHEDULE_TIMEZONE,
    default_status=SCHEDULE_STATUS,
    description="Builds and tests every dbt model once a day: the partition of the day "
    "that ended last.",
)
def optout_daily_build(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    # What build_schedule_from_partitioned_job does, but on OPTOUT_BUILD_CRON.
    tick = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    day = last_complete_day(tick)
    if day is None:
        return SkipReason("no landing day has ended since OPTOUT_PARTITIONS_START")
    return RunRequest(partition_key=day)


@schedule(
    name="optout_daily_exports",
    job=optout_exports_job,
    cron_schedule=EXPORTS_CRON,
    execution_timezone=SCHEDULE_TIMEZONE,
    default_status=SCHEDULE_STATUS,
    description="Last Week and Last Month exports (users and status changes), after the "
    "daily build.",
)
def optout_daily_exports(context: ScheduleEvaluationContext) -> Iterator[RunRequest]:
    tick = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    day = tick.astimezone(dt.UTC).date().isoformat()  # D of the ranges, as in the CLI: UTC
    for range_name in DAILY_EXPORT_RANGES:
        yield RunRequest(
            run_key=f"{range_name}-{day}",
            run_config=export_run_config(range_name, as_of=day),
            tags={"optout/range": range_name, "optout/as_of": day},
        )


schedules = [optout_daily_build, optout_daily_exports]
