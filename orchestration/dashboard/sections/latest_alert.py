"""The early warning: a banner when the latest complete day of the period has an opt-out
alert (agg_optout_alerts), the same day and numbers as the Dagster asset check."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from orchestration.dashboard import queries as q
from orchestration.ranges import today_utc

KEY = "latest_alert"
DEFAULTS: dict = {}


def render(marts, period: q.Period) -> str:
    # The latest day that has ended, within the period and the data.
    through = min(period.current.end, today_utc() - dt.timedelta(days=1))
    day, flagged = marts.read(q.latest_day_alerts, through)
    if day is None:
        return "no alert"
    if flagged.empty:
        st.caption(f"No opt-out alert on the latest complete day, {day}.")
        return f"no alert on {day}"
    lines = []
    for row in flagged.sort_values("score", ascending=False).itertuples():
        top = f" Top campaigns: {row.top_campaigns}." if row.top_campaigns else ""
        lines.append(
            f"**{row.channel}**: {row.optouts:,} opt-outs, {row.expected_optouts:.1f} expected "
            f"(score {row.score:.1f}, {row.severity}).{top}"
        )
    text = f"Opt-out alert on {day}, the latest complete day. " + " ".join(lines)
    if (flagged["severity"] == "critical").any():
        st.error(text, icon=":material/warning:")
    else:
        st.warning(text, icon=":material/warning:")
    return f"alert on {day}"
