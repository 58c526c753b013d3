"""Daily partitions of the dbt assets: a partition is a landing day (UTC).

Materializing a partition builds with `load_through` = its day ($OPTOUT_LOAD_THROUGH), so
only the landing files dated up to that day are loaded (macros/landing/load_window.sql); a backfill
over a range is one run, one `dbt build`, through the range's last day. A day's partition is
offered once the day has ended (Dagster's standard end offset).

The first partition is OPTOUT_PARTITIONS_START when set, else the first day of data in the
landing zone when the code location loads (while the landing zone is empty: the last day
that has ended), so the partition bar covers the data and not the years before it. Files
dated before the first partition still load with every partition.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dagster import DailyPartitionsDefinition, partition_loading_context

from orchestration.config import DagsterSettings, Settings
from orchestration.contract import SOURCE_NAMES
from orchestration.defs.resources import DAGSTER_SETTINGS
from orchestration.lib.landing import landing_days

PARTITIONS_TIMEZONE = "UTC"  # the landing files' dates, like every date of the warehouse


def partitions_start(
    settings: DagsterSettings, raw_dir: Path, now: dt.datetime | None = None
) -> dt.date:
    """The first partition: the setting, else the first day of data, else the last day
    that has ended at `now`."""
    if settings.partitions_start is not None:
        return settings.partitions_start
    days = landing_days(raw_dir, SOURCE_NAMES)
    if days:
        return days[0]
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(dt.UTC).date() - dt.timedelta(days=1)


PARTITIONS_START = partitions_start(DAGSTER_SETTINGS, Settings.from_env().raw_dir)

daily_partitions = DailyPartitionsDefinition(
    start_date=PARTITIONS_START.isoformat(), timezone=PARTITIONS_TIMEZONE
)


def last_complete_day(now: dt.datetime | None = None) -> str | None:
    """The partition key of the last day that has ended at `now` (default: now), or None
    before the first partition has ended."""
    with partition_loading_context(effective_dt=now or dt.datetime.now(dt.UTC)):
        return daily_partitions.get_last_partition_key()


def partition_keys(start: dt.date, through: dt.date, now: dt.datetime | None = None) -> list[str]:
    """The daily partition keys from `start` through `through` that have ended at `now`
    (default: now): what a build that loaded every file dated up to `through` holds."""
    now = now or dt.datetime.now(dt.UTC)
    end = min(through, now.astimezone(dt.UTC).date() - dt.timedelta(days=1))
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
