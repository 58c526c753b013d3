"""What the dashboard's sections share: the cached marts reader, number formats, tables,
channel colours and the day axis. No SQL here: every number comes from `queries`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from orchestration.marts import MartsSource

# One colour per channel in every chart (`all` = global opt-outs).
CHANNEL_COLORS = {
    "push": "#4c78a8",
    "email": "#f58518",
    "sms": "#54a24b",
    "whatsapp": "#b279a2",
    "all": "#9d755d",
}
ALERT_COLOR = "#c62828"
DATE_LIMITS = {"min_value": dt.date(2000, 1, 1), "max_value": dt.date(2100, 12, 31)}


@st.cache_data(max_entries=2000, show_spinner=False)
def _cached(_query: Callable, name: str, source: MartsSource, stamp, *args, **kwargs):
    # `_query` is not hashed (leading underscore): its qualified name is the key.
    return _query(source, *args, **kwargs)


class Marts:
    """One warehouse's marts, read through a function of `queries` and memoised per
    version of the marts: a build publishes new marts (DuckDB: a new file; Spark:
    rewritten table folders), so the first run after it misses the cache and reads them,
    and switching one chart setting only re-runs the queries that setting feeds."""

    def __init__(self, source: MartsSource):
        self.source = source
        # None when there are no marts: the query raises WarehouseUnavailable, not cached.
        self.stamp = source.version

    def read(self, query: Callable, *args, **kwargs):
        """`query(source, *args, **kwargs)`, from the cache when the marts are unchanged."""
        name = f"{query.__module__}.{query.__qualname__}"
        return _cached(query, name, self.source, self.stamp, *args, **kwargs)


def fmt_int(value: int) -> str:
    return f"{value:,}"


def fmt_rate(value: float | None, digits: int = 2) -> str:
    return "—" if value is None or pd.isna(value) else f"{100 * value:.{digits}f}%"


def fmt_number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:,.{digits}f}"


def days_label(days: int | None) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def table(frame: pd.DataFrame) -> None:
    # Strings, so every number reads exactly as formatted (thousands separators).
    st.table(frame.astype(str), hide_index=True)


def channel_color(title: str | None = "Channel") -> alt.Color:
    return alt.Color(
        "channel:N",
        title=title,
        scale=alt.Scale(domain=list(CHANNEL_COLORS), range=list(CHANNEL_COLORS.values())),
        legend=alt.Legend(orient="top"),
    )


def utc_day(day: dt.date) -> alt.DateTime:
    return alt.DateTime(year=day.year, month=day.month, date=day.day, utc=True)


def day_axis(first: dt.date, last: dt.date, grain: str) -> tuple[alt.Scale, alt.Axis]:
    """Scale and axis of a chart of days (or ISO weeks) from `first` to `last`: the
    domain ends with the last bucket, and every tick is a bucket inside it (UTC, so the
    browser's time zone never shifts a label onto the day before)."""
    step = 7 if grain == "week" else 1
    end = last + dt.timedelta(days=step)
    buckets = [first + dt.timedelta(days=i) for i in range(0, (end - first).days, step)]
    every = max(1, math.ceil(len(buckets) / 10))
    ticks = buckets[::every]
    scale = alt.Scale(domain=[utc_day(first), utc_day(end)])
    axis = alt.Axis(values=[utc_day(d) for d in ticks], format="%b %d", labelAngle=0)
    return scale, axis


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def chart_first_day(date_range, grain: str) -> dt.date:
    return week_start(date_range.start) if grain == "week" else date_range.start
