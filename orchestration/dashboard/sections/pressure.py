"""Message pressure: did it contribute? The opted-out users' pushes in the 7 days before
(fct_push_before_optout_7d), beside the opt-out rate per 1,000 subscribed user-days at each
level of the channel's sends in the previous 7 days (agg_optout_pressure): the histogram
alone has no baseline, the rate says whether heavy pressure makes users leave more often."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from orchestration.dashboard import queries as q
from orchestration.dashboard import ui

KEY = "pressure"
DEFAULTS = {"push_marketing": False, "pressure_channel": "push"}
CHART_HEIGHT = 220


def render(marts: ui.Marts, period: q.Period) -> str:
    st.subheader("Message pressure: did it contribute?")
    left, right = st.columns(2)
    with left:
        st.markdown("**Opt-outs by pushes received in the 7 days before**")
        marketing = st.toggle("Marketing pushes only", key="push_marketing")
        hist = marts.read(q.push_histogram, period.current, marketing_only=marketing)
        _histogram_chart(hist, marketing)
    with right:
        st.markdown("**Opt-out rate by messages received in the 7 days before**")
        channel = st.radio("Channel", q.MESSAGING_CHANNELS, key="pressure_channel",
                           horizontal=True)  # fmt: skip
        curve = marts.read(q.pressure_curve, period.current, channel)
        _curve_chart(curve, channel)
    _histogram_table(hist, marketing)
    _curve_table(curve, channel)
    return f"marketing only {'on' if marketing else 'off'} · pressure {channel}"


def _histogram_chart(hist: pd.DataFrame, marketing: bool) -> None:
    kind = "marketing pushes" if marketing else "pushes"
    chart = (
        alt.Chart(hist)
        .mark_bar(color=ui.CHANNEL_COLORS["push"])
        .encode(
            x=alt.X("bucket:O", sort=q.PUSH_BUCKETS, title=f"Delivered {kind}, 7 days before",
                    axis=alt.Axis(labelAngle=0)),
            y=alt.Y("optouts:Q", title="Opt-outs"),
            tooltip=["bucket:O", "optouts:Q"],
        )
        .properties(height=CHART_HEIGHT)
    )  # fmt: skip
    labels = chart.mark_text(dy=-6).encode(text="optouts:Q")
    st.altair_chart(chart + labels, width="stretch", key="push_chart")


def _curve_chart(curve: pd.DataFrame, channel: str) -> None:
    if curve["user_days"].sum() == 0:
        st.info(f"No user was subscribed to {channel} in this period.")
        return
    chart = (
        alt.Chart(curve)
        .mark_bar(color=ui.CHANNEL_COLORS[channel])
        .encode(
            x=alt.X("bucket:O", sort=list(curve["bucket"]), axis=alt.Axis(labelAngle=0),
                    title=f"Delivered {channel} messages, 7 days before"),
            y=alt.Y("per_1k:Q", title="Opt-outs per 1,000 user-days"),
            tooltip=["bucket:O", alt.Tooltip("per_1k:Q", format=".2f", title="per 1,000"),
                     alt.Tooltip("user_days:Q", format=","), "optouts:Q"],
        )
        .properties(height=CHART_HEIGHT)
    )  # fmt: skip
    labels = chart.mark_text(dy=-6).encode(text=alt.Text("per_1k:Q", format=".2f"))
    st.altair_chart(chart + labels, width="stretch", key="pressure_chart")


def _histogram_table(hist: pd.DataFrame, marketing: bool) -> None:
    kind = "marketing pushes" if marketing else "pushes"
    total = int(hist["optouts"].sum())
    with_push = total - int(hist.loc[hist["pushes"] == 0, "optouts"].sum())
    ui.table(
        pd.DataFrame(
            [{f"Delivered {kind}": "Opt-outs"}
             | dict(zip(hist["bucket"], hist["optouts"].map(ui.fmt_int), strict=True))]
        )
    )  # fmt: skip
    one = "marketing push" if marketing else "push"
    many = int(hist["optouts"].iloc[-1])
    st.caption(
        f"Of the period's {total:,} opt-outs, {with_push:,} came after at least one delivered "
        f"{one} in the 7 days before, {many:,} after 10 or more. Counts alone: most users get "
        "pushes, so the rate below says more."
    )


def _curve_table(curve: pd.DataFrame, channel: str) -> None:
    buckets = list(curve["bucket"])
    rows = [
        {f"Delivered {channel} messages": "User-days"}
        | dict(zip(buckets, curve["user_days"].map(ui.fmt_int), strict=True)),
        {f"Delivered {channel} messages": "Opt-outs"}
        | dict(zip(buckets, curve["optouts"].map(ui.fmt_int), strict=True)),
        {f"Delivered {channel} messages": "Per 1,000 user-days"}
        | dict(zip(buckets, [ui.fmt_number(v) for v in curve["per_1k"]], strict=True)),
    ]
    ui.table(pd.DataFrame(rows))
    rated = curve.dropna(subset=["per_1k"])
    note = (
        "User-days: users subscribed to the channel at 00:00 UTC of a day of the period "
        "(opted in, or reached by it before any consent record), by the channel's messages "
        "delivered to them in the 7 days before; opt-outs: those of them who opted out of "
        "it that day."
    )
    low = curve["per_1k"].iloc[0]
    if len(rated) > 1 and low and not pd.isna(low):
        top = rated.iloc[-1]
        note += (
            f" Users with {top['bucket']} opted out {top['per_1k'] / low:.1f}× as often per "
            "day as those with none."
        )
    st.caption(note)
