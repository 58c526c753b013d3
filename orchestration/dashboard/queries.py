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
import math
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


def data_span(warehouse: MartsSource | Path) -> dict:
    """The UTC dates the marts cover: from the first consent change to the last day of
    agg_optout_pressure (the last day with a send or a consent change); None if empty."""
    row = _read(
        warehouse,
        """
        select
            (select min(cast(valid_from as date)) from marts.fct_consent_history) as first,
            (select max(date) from marts.agg_optout_pressure) as last_pressure,
            (select max(cast(valid_from as date)) from marts.fct_consent_history) as last_change
        """,
    ).iloc[0]
    first = None if pd.isna(row["first"]) else row["first"]
    lasts = [row[k] for k in ("last_pressure", "last_change") if not pd.isna(row[k])]
    return {"first": first, "last": max(lasts) if lasts else None}


def coverage(span: dict, date_range: DateRange) -> str:
    """How much of the range the marts cover: "full", "partial" or "none"."""
    first, last = span["first"], span["last"]
    if first is None or date_range.end < first or date_range.start > last:
        return "none"
    return "full" if first <= date_range.start and date_range.end <= last else "partial"


# --- Opt-out trend: is opt-out increasing? ----------------------------------

# Channels of agg_optout_pressure (subscriptions); `all` (global opt-outs) has no rate of
# its own: a global opt-out counts once in each channel it removed.
MESSAGING_CHANNELS = ("push", "email", "sms", "whatsapp")
WEEKLY_FROM_DAYS = 92  # periods longer than a quarter are charted by week


def chart_grain(date_range: DateRange) -> str:
    """ "week" (ISO weeks, Monday first) for periods over WEEKLY_FROM_DAYS days, else "day"."""
    days = (date_range.end - date_range.start).days + 1
    return "week" if days > WEEKLY_FROM_DAYS else "day"


def _bucket(grain: str, column: str = "date") -> str:
    if grain == "week":
        return f"cast(date_trunc('week', {column}) as date)"
    if grain != "day":
        raise ValueError(f"grain must be day or week, got {grain!r}")
    return column


def optouts_by_day(
    warehouse: Path, date_range: DateRange, channel: str | None = None, grain: str = "day"
) -> pd.DataFrame:
    """Opt-outs and opt-ins of the period per date (or ISO week start, grain "week") and
    channel, from agg_optouts_daily: date, channel, optouts, optins."""
    params = _range_params(date_range)
    where = _channel_filter(channel, params)
    bucket = _bucket(grain)
    return _read(
        warehouse,
        f"""
        select
            {bucket} as date,
            channel,
            cast(sum(optouts) as bigint) as optouts,
            cast(sum(optins) as bigint) as optins
        from marts.agg_optouts_daily
        where date between $start and $end {where}
        group by {bucket}, channel
        order by date, channel
        """,
        params,
    )


def _exposure_filter(channel: str | None, params: dict) -> str:
    if channel is None:
        return ""
    if channel not in MESSAGING_CHANNELS:
        raise ValueError(f"no opt-out rate for channel {channel!r}: it is not a subscription")
    params["channel"] = channel
    return "and channel = $channel"


def rate_by_day(
    warehouse: Path, date_range: DateRange, channel: str | None = None, grain: str = "day"
) -> pd.DataFrame:
    """The average daily opt-out rate per date (or ISO week) of the period with data:
    date, user_days (subscriptions at 00:00 UTC, agg_optout_pressure), optouts (those
    removed that day), optout_rate = optouts / user_days. One channel, or all four."""
    params = _range_params(date_range)
    where = _exposure_filter(channel, params)
    bucket = _bucket(grain)
    return _read(
        warehouse,
        f"""
        select
            {bucket} as date,
            cast(sum(user_days) as bigint) as user_days,
            cast(sum(optouts) as bigint) as optouts,
            cast(sum(optouts) as double) / sum(user_days) as optout_rate
        from marts.agg_optout_pressure
        where date between $start and $end {where}
        group by {bucket}
        order by date
        """,
        params,
    )


def _counts(warehouse, date_range: DateRange, channel: str | None) -> dict:
    params = _range_params(date_range)
    where = _channel_filter(channel, params)
    row = _read(
        warehouse,
        f"""
        select coalesce(sum(optouts), 0) as optouts, coalesce(sum(optins), 0) as optins
        from marts.agg_optouts_daily
        where date between $start and $end {where}
        """,
        params,
    ).iloc[0]
    return {"optouts": int(row["optouts"]), "optins": int(row["optins"])}


def exposure(warehouse, date_range: DateRange, channel: str | None = None) -> dict:
    """Subscriptions of the period (agg_optout_pressure; one channel or all four): user_days,
    removals (opt-outs that removed one), days (with data), average daily rate =
    removals / user_days, and the period's rate = removals / (user_days / days): opt-outs
    per subscription over the period, against the average number of subscriptions."""
    params = _range_params(date_range)
    where = _exposure_filter(channel, params)
    row = _read(
        warehouse,
        f"""
        select
            coalesce(sum(user_days), 0) as user_days,
            coalesce(sum(optouts), 0) as removals,
            count(distinct date) as days
        from marts.agg_optout_pressure
        where date between $start and $end {where}
        """,
        params,
    ).iloc[0]
    user_days, removals, days = (int(row[k]) for k in ("user_days", "removals", "days"))
    return {
        "user_days": user_days,
        "removals": removals,
        "days": days,
        "average_subscriptions": user_days / days if days else None,
        "avg_daily_rate": removals / user_days if user_days else None,
        "period_rate": removals * days / user_days if user_days else None,
    }


def trend_summary(warehouse: Path, period_: Period, channel: str | None = None) -> dict:
    """Opt-outs and opt-ins of the period and of the previous one (agg_optouts_daily), the
    change when the marts cover the previous period (else None: nothing to compare
    with), and the opt-out rates of both (see `exposure`; None for channel `all`)."""
    span = data_span(warehouse)
    current = _counts(warehouse, period_.current, channel)
    previous = _counts(warehouse, period_.previous, channel)
    summary = current | {f"previous_{key}": value for key, value in previous.items()}
    summary["coverage"] = coverage(span, period_.current)
    summary["previous_coverage"] = coverage(span, period_.previous)
    summary["data_first"], summary["data_last"] = span["first"], span["last"]
    compared = summary["previous_coverage"] != "none"
    summary["change"] = current["optouts"] - previous["optouts"] if compared else None
    summary["change_pct"] = (
        100.0 * summary["change"] / previous["optouts"]
        if compared and previous["optouts"]
        else None  # nothing before, or no opt-outs before: a percentage would be infinite
    )
    rated = channel is None or channel in MESSAGING_CHANNELS
    for prefix, rng in (("", period_.current), ("previous_", period_.previous)):
        exp = exposure(warehouse, rng, channel) if rated else {}
        summary[f"{prefix}period_rate"] = exp.get("period_rate")
        summary[f"{prefix}avg_daily_rate"] = exp.get("avg_daily_rate")
        summary[f"{prefix}average_subscriptions"] = exp.get("average_subscriptions")
    rates = (summary["period_rate"], summary["previous_period_rate"])
    summary["rate_change"] = None if None in rates or not compared else rates[0] - rates[1]
    return summary


def trend_by_channel(warehouse: Path, period_: Period) -> pd.DataFrame:
    """Per channel with opt-outs or opt-ins in either period: channel, optouts,
    previous_optouts, change, optins (agg_optouts_daily) and avg_daily_rate
    (agg_optout_pressure; empty for `all`)."""
    params = _range_params(period_.current) | _range_params(period_.previous, "prev_")
    return _read(
        warehouse,
        """
        with cur as (
            select channel, sum(optouts) as optouts, sum(optins) as optins
            from marts.agg_optouts_daily
            where date between $start and $end
            group by channel
        ),
        prev as (
            select channel, sum(optouts) as previous_optouts
            from marts.agg_optouts_daily
            where date between $prev_start and $prev_end
            group by channel
        ),
        rates as (
            select channel, cast(sum(optouts) as double) / sum(user_days) as avg_daily_rate
            from marts.agg_optout_pressure
            where date between $start and $end
            group by channel
        )
        select
            coalesce(cur.channel, prev.channel) as channel,
            cast(coalesce(cur.optouts, 0) as bigint) as optouts,
            cast(coalesce(prev.previous_optouts, 0) as bigint) as previous_optouts,
            cast(coalesce(cur.optouts, 0) - coalesce(prev.previous_optouts, 0) as bigint)
                as change,
            cast(coalesce(cur.optins, 0) as bigint) as optins,
            rates.avg_daily_rate
        from cur
        full outer join prev on cur.channel = prev.channel
        left join rates on coalesce(cur.channel, prev.channel) = rates.channel
        order by optouts desc, channel
        """,
        params,
    )


# --- Alerts: is something going wrong right now? ------------------------------


def alerts(warehouse, date_range: DateRange, channel: str | None = None) -> pd.DataFrame:
    """agg_optout_alerts rows of the period (one channel or all): date, channel, optouts,
    expected_optouts, score, severity, top_campaigns; latest first, then channel."""
    params = _range_params(date_range)
    where = _channel_filter(channel, params)
    return _read(
        warehouse,
        f"""
        select date, channel, optouts, expected_optouts, score, severity,
            attributed_optouts, top_campaign_name, top_campaigns
        from marts.agg_optout_alerts
        where date between $start and $end {where}
        order by date desc, channel
        """,
        params,
    )


def latest_complete_day(warehouse, through: dt.date) -> dt.date | None:
    """The latest day the marts cover that is not after `through` (the last day that has
    ended, or a Dagster partition's day); None when they cover nothing up to it."""
    last = data_span(warehouse)["last"]
    return None if last is None else min(last, through)


def latest_day_alerts(warehouse, through: dt.date) -> tuple[dt.date | None, pd.DataFrame]:
    """(the latest complete day, its alerts): the early warning of the page's banner and
    of the Dagster asset check on agg_optout_alerts."""
    day = latest_complete_day(warehouse, through)
    if day is None:
        return None, alerts(warehouse, DateRange("day", through, through)).iloc[0:0]
    return day, alerts(warehouse, DateRange("day", day, day))


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


# Buckets of delivered sends in the 7 days before a day (agg_optout_pressure.sends_7d).
PRESSURE_BUCKETS = ((0, 0), (1, 2), (3, 5), (6, 10), (11, 20), (21, None))


def pressure_bucket_label(low: int, high: int | None) -> str:
    if high is None:
        return f"{low}+"
    return str(low) if low == high else f"{low}–{high}"


def pressure_curve(warehouse, date_range: DateRange, channel: str = "push") -> pd.DataFrame:
    """Opt-outs per 1,000 user-days of the period against the channel's delivered sends in
    the 7 days before each day: bucket, user_days, optouts, per_1k (empty without user
    days); every bucket present, fewest sends first."""
    params = _range_params(date_range)
    where = _exposure_filter(channel, params)
    cases = " ".join(
        f"when sends_7d >= {low}"
        + ("" if high is None else f" and sends_7d <= {high}")
        + f" then {i}"
        for i, (low, high) in enumerate(PRESSURE_BUCKETS)
    )
    counts = _read(
        warehouse,
        f"""
        select case {cases} end as bucket, sum(user_days) as user_days, sum(optouts) as optouts
        from marts.agg_optout_pressure
        where date between $start and $end {where}
        group by 1
        """,
        params,
    ).set_index("bucket")
    user_days = [int(counts["user_days"].get(i, 0)) for i in range(len(PRESSURE_BUCKETS))]
    optouts = [int(counts["optouts"].get(i, 0)) for i in range(len(PRESSURE_BUCKETS))]
    return pd.DataFrame(
        {
            "bucket": [pressure_bucket_label(*b) for b in PRESSURE_BUCKETS],
            "user_days": user_days,
            "optouts": optouts,
            "per_1k": [
                1000 * o / u if u else None for o, u in zip(optouts, user_days, strict=True)
            ],
        }
    )


# --- Campaigns: which campaigns make people leave, for the messages they send? -------


def default_min_deliveries(warehouse) -> int:
    """The deliveries at which a campaign at the average rate of all campaigns expects one
    attributed opt-out, rounded up to a hundred (at least 100): below it, one or two
    opt-outs by chance make an extreme rate, so the ranking starts there by default."""
    row = _read(
        warehouse,
        "select sum(attributed_optouts) as optouts, sum(deliveries) as deliveries "
        "from marts.agg_campaign_optouts",
    ).iloc[0]
    optouts = 0 if pd.isna(row["optouts"]) else int(row["optouts"])
    deliveries = 0 if pd.isna(row["deliveries"]) else int(row["deliveries"])
    if not optouts:
        return 100
    return max(100, math.ceil(deliveries / optouts / 100) * 100)


def campaign_ranking(
    warehouse,
    date_range: DateRange,
    min_deliveries: int = 100,
    limit: int = 15,
) -> pd.DataFrame:
    """Campaigns with a delivery in the period and at least `min_deliveries` deliveries
    (agg_campaign_optouts, over their whole life), by opt-outs per 1,000 deliveries, most
    first: campaign_id, campaign (its name, else its id), channel, message_category,
    deliveries, recipients, attributed_optouts, per_1k, baseline_per_1k, lift."""
    return _read(
        warehouse,
        """
        select
            campaign_id,
            coalesce(campaign_name, campaign_id) as campaign,
            channel,
            message_category,
            deliveries,
            recipients,
            attributed_optouts,
            optouts_per_1k_deliveries as per_1k,
            baseline_per_1k_deliveries as baseline_per_1k,
            lift
        from marts.agg_campaign_optouts
        where deliveries >= $min_deliveries
            and cast(first_delivered_at as date) <= $end
            and cast(last_delivered_at as date) >= $start
        order by optouts_per_1k_deliveries desc, deliveries desc, campaign_id
        limit $limit
        """,
        _range_params(date_range) | {"min_deliveries": min_deliveries, "limit": limit},
    )


def attribution_totals(warehouse, date_range: DateRange) -> dict:
    """The period's opt-outs (fct_optout_attribution) credited to a campaign or not."""
    row = _read(
        warehouse,
        """
        select
            count(*) as optouts,
            count(*) filter (where is_attributed) as attributed,
            count(*) filter (where not is_attributed) as unattributed
        from marts.fct_optout_attribution
        where opted_out_date between $start and $end
        """,
        _range_params(date_range),
    ).iloc[0]
    return {key: int(value) for key, value in row.items()}


def attribution_windows(warehouse) -> dict[str, int]:
    """The attribution window (hours) of each channel, as the build applied it."""
    frame = _read(
        warehouse,
        "select distinct channel, attribution_window_hours from marts.agg_campaign_optouts "
        "order by channel",
    )
    return {row.channel: int(row.attribution_window_hours) for row in frame.itertuples()}


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


def retention_window_status(warehouse, date_range: DateRange) -> pd.DataFrame:
    """Per retention window W of the build: the period's opt-outs and how many of them are
    still pending (their W days not over by the build's as_of). A window has closed for
    the period when none is pending: only then do Retain and Churn compare fairly (a
    retained user is known early, a churned one only once the window is over)."""
    frame = _read(
        warehouse,
        """
        select
            window_days,
            count(*) as optouts,
            count(*) filter (where retention_status = 'pending') as pending
        from marts.fct_optout_retention
        where cast(opted_out_at as date) between $start and $end
        group by window_days
        """,
        _range_params(date_range),
    ).set_index("window_days")
    windows = retention_windows(warehouse)
    return pd.DataFrame(
        {
            "window_days": windows,
            "optouts": [int(frame["optouts"].get(w, 0)) for w in windows],
            "pending": [int(frame["pending"].get(w, 0)) for w in windows],
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


# --- Reasons, keywords and compliance ------------------------------------------


def optout_reasons(warehouse, date_range: DateRange, limit: int = 10) -> pd.DataFrame:
    """Reasons given with the period's opt-outs (agg_optout_reasons): reason, optouts; most
    first. Opt-outs without a reason are not in the mart."""
    return _read(
        warehouse,
        """
        select reason, cast(sum(optouts) as bigint) as optouts
        from marts.agg_optout_reasons
        where date between $start and $end
        group by reason
        order by optouts desc, reason
        limit $limit
        """,
        _range_params(date_range) | {"limit": limit},
    )


def optout_keywords(warehouse, date_range: DateRange) -> pd.DataFrame:
    """The period's opt-outs by normalised keyword (agg_optout_keywords; `none` = no
    keyword, so they add up to every opt-out): keyword, optouts; most first."""
    return _read(
        warehouse,
        """
        select keyword, cast(sum(optouts) as bigint) as optouts
        from marts.agg_optout_keywords
        where date between $start and $end
        group by keyword
        order by optouts desc, keyword
        """,
        _range_params(date_range),
    )


def compliance_by_campaign(warehouse, limit: int = 10) -> pd.DataFrame:
    """Campaigns that sent marketing to opted-out users (agg_compliance_by_campaign, all
    time), most sends beyond the grace period first: campaign, sends_within_grace,
    sends_beyond_grace, users_affected."""
    return _read(
        warehouse,
        """
        select
            coalesce(campaign_name, campaign_id, '(no campaign)') as campaign,
            sends_within_grace,
            sends_beyond_grace,
            users_affected
        from marts.agg_compliance_by_campaign
        order by sends_beyond_grace desc, sends_after_optout desc, campaign
        limit $limit
        """,
        {"limit": limit},
    )


# --- Who: the opted-out users and the exports ---------------------------------------


def opted_out_users(warehouse, date_range: DateRange) -> pd.DataFrame:
    """The rows of the users export of the range, as `optout export` writes them to CSV
    (timestamps as text in the file's format)."""
    from orchestration.exports import USERS, ExportError, csv_rows, query_export

    try:
        columns, rows = query_export(warehouse, USERS, date_range)
    except ExportError as exc:
        raise WarehouseUnavailable(str(exc)) from None
    return pd.DataFrame(csv_rows(columns, rows, USERS), columns=columns)


def export_kinds() -> list:
    """Every export kind of `orchestration.exports` (a new kind shows up by itself)."""
    from orchestration.exports import KINDS

    return list(KINDS.values())


def export_file_name(date_range: DateRange | None, fmt: str = "csv", kind: str = "users") -> str:
    """The name `optout export` gives the file of this kind and range."""
    from orchestration.exports import export_kind, export_path

    settings = Settings(raw_dir=Path("."), warehouse=Path("."), export_dir=Path("."))
    return export_path(settings, export_kind(kind), date_range, fmt).name


def export_file(
    warehouse: MartsSource | Path,
    date_range: DateRange | None,
    fmt: str = "csv",
    kind: str = "users",
) -> tuple[str, bytes]:
    """(file name, bytes) of an export: `write_export` itself writes it into a temporary
    folder, so the bytes are those of `optout export` (the range is None for a kind
    without one, like the suppression list)."""
    from orchestration.exports import write_export

    with tempfile.TemporaryDirectory(prefix="optout-dashboard-export-") as tmp:
        settings = Settings(raw_dir=Path(tmp), warehouse=Path(tmp), export_dir=Path(tmp))
        result = write_export(settings, kind, date_range, fmt, marts=warehouse)
        return result.path.name, result.path.read_bytes()
