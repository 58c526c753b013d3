"""Asset checks beyond dbt's own tests.

`optout_alerts_latest_day` on marts/agg_optout_alerts: after each build, a warning when the
latest complete day has an opt-out alert, with that day's numbers and top campaigns as
metadata. The latest complete day is the run's partition day (the last day a build loads),
or the last day that has ended when the check runs on its own, or the last day the marts
cover if that is earlier. It reads the marts through the dashboard's query module, so the
page's banner and this check say the same thing.

The check is not partitioned itself (a partitioned check is a Dagster preview feature): in
a run of a partition it reads the run's partition, and run config `day` re-checks any day.
"""

# No `from __future__ import annotations`: Dagster reads the Config and resource annotations.

import datetime as dt

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    Config,
    Failure,
    MetadataValue,
    asset_check,
)
from dagster_dbt import get_asset_key_for_model

from orchestration.dashboard import queries as q
from orchestration.defs.dbt.assets import optout_dbt_models
from orchestration.defs.resources import OptoutSettings
from orchestration.marts import marts_source
from orchestration.ranges import UsageError, parse_date, today_utc

ALERTS_MART = get_asset_key_for_model([optout_dbt_models], "agg_optout_alerts")


class AlertCheckConfig(Config):
    """Which day to check: empty = the latest complete day."""

    day: str | None = None  # YYYY-MM-DD


def through_day(context: AssetCheckExecutionContext, config: AlertCheckConfig) -> dt.date:
    """The config's day, else the run's partition day (a backfill's last), else the last
    day that has ended (UTC)."""
    if config.day:
        try:
            return parse_date(config.day, "day")
        except UsageError as exc:
            raise Failure(description=str(exc), allow_retries=False) from None
    if context.has_partition_key or context.has_partition_key_range:
        return (context.partition_time_window.end - dt.timedelta(days=1)).date()
    return today_utc() - dt.timedelta(days=1)


@asset_check(
    asset=ALERTS_MART,
    name="optout_alerts_latest_day",
    description="Warns when the latest complete day has abnormally many opt-outs on a channel "
    "(a row of agg_optout_alerts); the metadata holds that day's numbers and top campaigns.",
)
def optout_alerts_latest_day(
    context: AssetCheckExecutionContext, optout: OptoutSettings, config: AlertCheckConfig
) -> AssetCheckResult:
    source = marts_source(optout.resolve())
    day, flagged = q.latest_day_alerts(source, through=through_day(context, config))
    metadata = {"day": MetadataValue.text("none" if day is None else day.isoformat())}
    if flagged.empty:
        return AssetCheckResult(passed=True, metadata=metadata)
    worst = flagged.sort_values("score", ascending=False).iloc[0]
    metadata |= {
        "channel": MetadataValue.text(worst["channel"]),
        "optouts": MetadataValue.int(int(worst["optouts"])),
        "expected_optouts": MetadataValue.float(float(worst["expected_optouts"])),
        "score": MetadataValue.float(float(worst["score"])),
        "severity": MetadataValue.text(worst["severity"]),
        "top_campaigns": MetadataValue.text(worst["top_campaigns"] or "none attributed"),
        "alerts": MetadataValue.md(_table(flagged)),
    }
    context.log.warning(
        f"opt-out alert on {day}: {worst['optouts']} {worst['channel']} opt-outs, "
        f"{worst['expected_optouts']:.1f} expected"
    )
    return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN, metadata=metadata)


def _table(flagged) -> str:
    lines = [
        "| channel | opt-outs | expected | score | severity | top campaigns |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in flagged.itertuples():
        lines.append(
            f"| {row.channel} | {row.optouts:,} | {row.expected_optouts:.1f} | "
            f"{row.score:.1f} | {row.severity} | {row.top_campaigns or ''} |"
        )
    return "\n".join(lines)
