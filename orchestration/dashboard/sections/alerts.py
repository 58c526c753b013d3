"""Alerts: the period's days with abnormally many opt-outs on a channel, against the
channel's own previous 28 days (agg_optout_alerts)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from orchestration.dashboard import queries as q
from orchestration.dashboard import ui

KEY = "alerts"
DEFAULTS: dict = {}


def render(marts: ui.Marts, period: q.Period) -> str:
    st.subheader("Alerts: days with abnormally many opt-outs")
    flagged = marts.read(q.alerts, period.current)
    st.caption(
        "A day is flagged when its opt-outs on a channel are far above the channel's usual "
        "level: the mean of its previous 28 days, earlier outliers left out, allowing for "
        "their own spread (on steady data, about one false alarm in 2,400 channel-days). "
        "The top campaigns are those the day's opt-outs are attributed to."
    )
    if flagged.empty:
        st.info("No abnormal opt-out day in this period.")
        return "0 alerts"
    ui.table(
        pd.DataFrame(
            {
                "Date": flagged["date"].astype(str),
                "Channel": flagged["channel"],
                "Opt-outs": flagged["optouts"].map(ui.fmt_int),
                "Expected": flagged["expected_optouts"].map(lambda v: f"{v:.1f}"),
                "Score": flagged["score"].map(lambda v: f"{v:.1f}"),
                "Severity": flagged["severity"],
                "Top campaigns": flagged["top_campaigns"].fillna("—"),
            }
        )
    )
    return f"{len(flagged)} alerts"
