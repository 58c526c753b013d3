"""Every number the dashboard shows, read from the `marts` schema.

These are the queries a BI tool would run; the Streamlit app and the tests
both call them, so what the page shows is what the marts say. Each function
opens its own read-only DuckDB connection, runs, and closes it: no lock is
held between queries, and since builds replace the warehouse file with
os.replace, a fresh connection always sees one complete build.

A period is a `DateRange` from `orchestration.ranges.resolve_range` (the
exports' own ranges), compared on UTC dates (`opted_out_date`, or the UTC date
of `opted_out_at` for the facts that have no date column).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from orchestration.config import Settings
from orchestration.marts import MartsSource, MartsUnavailable, read_marts
from orchestration.ranges import DateRange, resolve_range

# Histogram buckets of pushes received in the 7 days before an opt-out: 0 … 9, then 10+.
PUSH_BUCKET_CAP = 10
PUSH_BUCKETS = [str(n) for n in range(PUSH_BUCKET_CAP)] + [f"{PUSH_BUCKET_CAP}+"]
MEASURES = ("total", "unique")  # Total Event = sum(event_count); Unique User = distinct users
STATUSES = ("retain", "churn", "pending")


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be read right now; the message says what to do."""


@dataclass(frozen=True)
class Period:
    """The selected dates and the previous period of equal length before them."""

    current: DateRange
    previous: DateRange

    @property
    def days(self) -> int:
        return (self.current.end - self.current.start).days + 1


def previous_range(date_range: DateRange) -> DateRange:
    """For [start, end] of N days: [start - N, start - 1]."""
    days = (date_range.end - date_range.start).days + 1
    return DateRange(
        "previous",
        date_range.start - dt.timedelta(days=days),
        date_range.start - dt.timedelta(days=1),
    )


def period(
    range_name: str,
    start: str | None = None,
    end: str | None = None,
    as_of: str | None = None,
) -> Period:
    """The period of a preset or Dates Between, exactly as `optout export` resolves it."""
    current = resolve_range(range_name, start=start, end=end, as_of=as_of)
    return Period(current, previous_range(current))


def _read(warehouse: MartsSource | Path, sql: str, params: dict | None = None) -> pd.DataFrame:
    """One query through the marts reader (a read-only DuckDB connection, or Spark)."""
    try:
        columns, rows = read_marts(warehouse, sql, params)
    except MartsUnavailable as exc:
        raise WarehouseUnavailable(str(exc)) from None
    return pd.DataFrame(rows, columns=columns)


def _range_params(date_range: DateRange, prefix: str = "") -> dict:
    return {f"{prefix}start": date_range.start, f"{prefix}end": date_range.end}


def _channel_filter(channel: str | None, params: dict) -> str:
    if channel is None:
        return ""
    params["channel"] = channel
    return "and channel = $channel"


# --- Warehouse --------------------------------------------------------------


def optout_span(warehouse: Path) -> dict:
    """First and last opt-out date in the marts and how many opt-outs (to hint at an as-of)."""
    row = _read(
        warehouse,
        "select min(opted_out_date) as first, max(opted_out_date) as last, count(*) as optouts "
        "from marts.fct_optouts",
    ).iloc[0]
    return {
        "first": None if pd.isna(row["first"]) else row["first"],
        "last": None if pd.isna(row["last"]) else row["last"],
        "optouts": int(row["optouts"]),
    }


# --- Opt-out trend: is opt-out increasing? ----------------------------------

# The rate of several (date, channel) rows is sum(optouts) / sum(opted_in_users_at_start)
# over the rows whose denominator is not 0: the mart's optout_rate averaged with its
# denominator as weight. For a single row it is that row's optout_rate exactly, and a row
# whose optout_rate is null (nobody opted in at the start of the day) is left out, as the
# mart leaves it out.
_RATE = (
    "sum(optouts) filter (where opted_in_users_at_start > 0)"
    " / nullif(sum(opted_in_users_at_start), 0)"
)


def optouts_by_day(warehouse: Path, date_range: DateRange, channel: str | None = None):
    """agg_optouts_daily rows of the period: date, channel, optouts, optins,
    opted_in_users_at_start, optout_rate (the mart's own values)."""
    params = _range_params(date_range)
    where = _channel_filter(channel, params)
    return _read(
        warehouse,
        f"""
        select date, channel, optouts, optins, opted_in_users_at_start, optout_rate
        from marts.agg_optouts_daily
        where date between $start and $end {where}
        order by date, channel
        """,
        params,
    )


def rate_by_day(warehouse: Path, date_range: DateRange, channel: str | None = None):
    """Per date of the period with a mart row: optouts, optins and the opt-out rate
    (one channel: the mart's optout_rate; all channels: the weighted rate of the rows)."""
    params = _range_params(date_range)
    where = _channel_filter(channel, params)
    return _read(
        warehouse,
        f"""
        select
            date,
            sum(optouts) as optouts,
            sum(optins) as optins,
            {_RATE} as optout_rate
        from marts.agg_optouts_daily
        where date between $start and $end {where}
        group by date
        order by date
        """,
        params,
    )


def trend_summary(warehouse: Path, period_: Period, channel: str | None = None) -> dict:
    """Opt-outs, opt-ins and rate of the period and of the previous one, and the change."""
    params = _range_params(period_.current) | _range_params(period_.previous, "prev_")
    where = _channel_filter(channel, params)
    row = _read(
        warehouse,
        f"""
        with cur as (
            select * from marts.agg_optouts_daily
            where date between $start and $end {where}
        ),
        prev as (
            select * from marts.agg_optouts_daily
            where date between $prev_start and $prev_end {where}
        )
        select
            (select coalesce(sum(optouts), 0) from cur) as optouts,
            (select coalesce(sum(optins), 0) from cur) as optins,
            (select {_RATE} from cur) as optout_rate,
            (select coalesce(sum(optouts), 0) from prev) as previous_optouts,
            (select coalesce(sum(optins), 0) from prev) as previous_optins,
            (select {_RATE} from prev) as previous_optout_rate
        """,
        params,
    ).iloc[0]
    summary = {
        "optouts": int(row["optouts"]),
        "optins": int(row["optins"]),
        "optout_rate": _float_or_none(row["optout_rate"]),
        "previous_optouts": int(row["previous_optouts"]),
        "previous_optins": int(row["previous_optins"]),
        "previous_optout_rate": _float_or_none(row["previous_optout_rate"]),
    }
    summary["change"] = summary["optouts"] - summary["previous_optouts"]
    summary["change_pct"] = (
        100.0 * summary["change"] / summary["previous_optouts"]
        if summary["previous_optouts"]
        else None  # no opt-outs before: a percentage would be infinite
    )
    rates = (summary["optout_rate"], summary["previous_optout_rate"])
    summary["rate_change"] = None if None in rates else rates[0] - rates[1]
    return summary


def trend_by_channel(warehouse: Path, period_: Period) -> pd.DataFrame:
    """Per channel with opt-outs or opt-ins in either period: channel, optouts,
    previous_optouts, change, optins, optout_rate (weighted over the period's days)."""
    params = _range_params(period_.current) | _range_params(period_.previous, "prev_")
    return _read(
        warehouse,
        f"""
        with cur as (
            select
                channel,
                sum(optouts) as optouts,
                sum(optins) as optins,
                {_RATE} as optout_rate
            from marts.agg_optouts_daily
            where date between $start and $end
            group by channel
        ),
        prev as (
            select channel, sum(optouts) as previous_optouts
            from marts.agg_optouts_daily
            where date between $prev_start and $prev_end
            group by channel
        )
        select
            coalesce(cur.channel, prev.channel) as channel,
            coalesce(cur.optouts, 0) as optouts,
            coalesce(prev.previous_optouts, 0) as previous_optouts,
            coalesce(cur.optouts, 0) - coalesce(prev.previous_optouts, 0) as change,
            coalesce(cur.optins, 0) as optins,
            cur.optout_rate
        from cur
        full outer join prev on cur.channel = prev.channel
        order by optouts desc, channel
        """,
        params,
    )


# --- Push messages before opt-out: did message pressure contribute? ---------


def push_histogram(
    warehouse: Path, date_range: DateRange, marketing_only: bool = False
) -> pd.DataFrame:
    """Opt-outs of the period by delivered pushes in the 7 days before them:
    bucket ("0" … "9", "10+"), pushes (0 … 10) and optouts, every bucket present."""
    column = "marketing_push_count_7d" if marketing_only else "push_count_7d"
    counts = _read(
        warehouse,
        f"""
        select least({column}, {PUSH_BUCKET_CAP}) as pushes, count(*) as optouts
        from marts.fct_push_before_optout_7d
        where cast(opted_out_at as date) between $start and $end
        group by all
        """,
        _range_params(date_range),
    )
    found = dict(zip(counts["pushes"], counts["optouts"], strict=True))
    return pd.DataFrame(
        {
            "bucket": PUSH_BUCKETS,
            "pushes": range(PUSH_BUCKET_CAP + 1),
            "optouts": [int(found.get(n, 0)) for n in range(PUSH_BUCKET_CAP + 1)],
        }
    )


# --- Last campaigns before opt-out ------------------------------------------


def last_campaigns(warehouse: Path, date_range: DateRange, limit: int = 10) -> pd.DataFrame:
    """The campaigns most often last interacted with before the period's opt-outs:
    campaign_id, campaign (name, or the id when unknown), users (distinct opted-out
    users), optouts; most users first."""
    return _read(
        warehouse,
        """
        select
            last_campaign_id as campaign_id,
            coalesce(max(last_campaign_name), last_campaign_id) as campaign,
            count(distinct user_id) as users,
            count(*) as optouts
        from marts.fct_last_campaign
        where cast(opted_out_at as date) between $start and $end
            and last_campaign_id is not null
        group by last_campaign_id
        order by users desc, optouts desc, campaign_id
        limit $limit
        """,
        _range_params(date_range) | {"limit": limit},
    )


def last_campaign_totals(warehouse: Path, date_range: DateRange) -> dict:
    """The period's opt-outs with and without a campaign interaction before them."""
    row = _read(
        warehouse,
        """
        select
            count(*) as optouts,
            count(last_campaign_id) as with_campaign,
            count(*) - count(last_campaign_id) as without_campaign,
            count(distinct last_campaign_id) as campaigns
        from marts.fct_last_campaign
        where cast(opted_out_at as date) between $start and $end
        """,
        _range_params(date_range),
    ).iloc[0]
    return {key: int(value) for key, value in row.items()}


# --- Last events: retained vs churned ---------------------------------------


def retention_windows(warehouse: Path) -> list[int]:
    """The windows W of the build (dbt var retention_windows), as the marts hold them."""
    frame = _read(
        warehouse,
        "select distinct window_days from marts.fct_optout_retention order by window_days",
    )
    return [int(w) for w in frame["window_days"]]


def retention_counts(warehouse: Path, date_range: DateRange, window_days: int) -> pd.DataFrame:
    """Per status (retain, churn, pending, all three present): users (distinct) and
    optouts. A user with several opt-outs of different statuses counts in each."""
    counts = _read(
        warehouse,
        """
        select retention_status, count(distinct user_id) as users, count(*) as optouts
        from marts.fct_optout_retention
        where cast(opted_out_at as date) between $start and $end
            and window_days = $window
        group by retention_status
        """,
        _range_params(date_range) | {"window": window_days},
    ).set_index("retention_status")
    return pd.DataFrame(
        {
            "retention_status": list(STATUSES),
            "users": [int(counts["users"].get(s, 0)) for s in STATUSES],
            "optouts": [int(counts["optouts"].get(s, 0)) for s in STATUSES],
        }
    )


def last_events(
    warehouse: Path, date_range: DateRange, window_days: int, measure: str = "total"
) -> pd.DataFrame:
    """Per event name fired in the W days before the period's opt-outs: retain and
    churn (pending left out), as Total Event (sum of event_count) or Unique User
    (distinct users); most frequent first."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    value = "sum(event_count)" if measure == "total" else "count(distinct user_id)"
    return _read(
        warehouse,
        f"""
        select
            event_name,
            coalesce({value} filter (where retention_status = 'retain'), 0) as retain,
            coalesce({value} filter (where retention_status = 'churn'), 0) as churn
        from marts.fct_last_events_retain_churn
        where cast(opted_out_at as date) between $start and $end
            and window_days = $window
            and retention_status in ('retain', 'churn')
        group by event_name
        order by retain + churn desc, event_name
        """,
        _range_params(date_range) | {"window": window_days},
    )


# --- Export ------------------------------------------------------------------


def export_file_name(date_range: DateRange, fmt: str = "csv") -> str:
    """The name `optout export` gives the file of this range."""
    from orchestration.exports import USERS, export_path

    settings = Settings(raw_dir=Path("."), warehouse=Path("."), export_dir=Path("."))
    return export_path(settings, USERS, date_range, fmt).name


def export_file(
    warehouse: MartsSource | Path, date_range: DateRange, fmt: str = "csv"
) -> tuple[str, bytes]:
    """(file name, bytes) of the opted-out users export of the range: `write_export`
    itself writes it into a temporary folder, so the bytes are those of `optout export`."""
    from orchestration.exports import write_export

    with tempfile.TemporaryDirectory(prefix="optout-dashboard-export-") as tmp:
        settings = Settings(raw_dir=Path(tmp), warehouse=Path(tmp), export_dir=Path(tmp))
        result = write_export(settings, "users", date_range, fmt, marts=warehouse)
        return result.path.name, result.path.read_bytes()


def _float_or_none(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
