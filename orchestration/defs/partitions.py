"""Daily partitions of the dbt assets: a partition is a landing day (UTC).

Materializing a partition builds with the dbt var `load_through` = its day, so only the
landing files dated up to that day are loaded (macros/load_window.sql); a backfill over a
range is one run, one `dbt build`, through the range's last day. A day's partition is
offered once the day has ended (Dagster's standard end offset).

Environment (read when the code location loads): OPTOUT_PARTITIONS_START, the first
partition (default 2025-01-01). Files dated before it still load with every partition.
"""

from __future__ import annotations

import datetime as dt
import os

from dagster import DailyPartitionsDefinition, partition_loading_context

from orchestration.config import ConfigError
from orchestration.ranges import UsageError, parse_date

DEFAULT_PARTITIONS_START = "2025-01-01"
PARTITIONS_TIMEZONE = "UTC"  # the landing files' dates, like every date of the warehouse


def partitions_start(value: str) -> dt.date:
    try:
        return parse_date(value, "OPTOUT_PARTITIONS_START")
    except UsageError as exc:
        raise ConfigError(str(exc)) from None


PARTITIONS_START = partitions_start(
    os.environ.get("OPTOUT_PARTITIONS_START", DEFAULT_PARTITIONS_START)
)

daily_partitions = DailyPartitionsDefinition(
    start_date=PARTITIONS_START.isoformat(), timezone=PARTITIONS_TIMEZONE
)


def last_complete_day(now: dt.datetime | None = None) -> str | None:
    """The partition key of the last day that has ended at `now` (default: now), or None
    before the first partition has ended."""
    with partition_loading_context(effective_dt=now or dt.datetime.now(dt.UTC)):
        return daily_partitions.get_last_partition_key()
