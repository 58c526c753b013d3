"""Opt-out trend: is opt-out increasing? Counts, the period's rate and the average daily
rate against the previous period, per day (per week for long periods), alert days marked."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from orchestration.dashboard import queries as q
from orchestration.dashboard import ui

KEY = "trend"
CHANNELS = {
    "All channels": None,
    "push": "push",
    "email": "email",
    "sms": "sms",
    "whatsapp": "whatsapp",
    "all (global)": "all",
}
DEFAULTS = {"trend_channel": next(iter(CHANNELS))}

RATE_HELP = (
    "Opt-outs that removed a subscription during the period ÷ the average number of "
    "subscriptions at 00:00 UTC of its days (agg_optout_pressure: users opted in on the "
    "channel, or reached by it before any consent record). A global opt-out removes each "
    "channel the user had."
)
DAILY_HELP = (
    "The same opt-outs ÷ the subscriptions summed over the period's days (user-days): the "
    "chance that a subscribed user opts out on a given day, averaged over the period."
)


def render(marts: ui.Marts, period: q.Period) -> str:
    st.subheader("Opt-out trend: is opt-out increasing?")
    label = st.radio("Channel", list(CHANNELS), key="trend_channel", horizontal=True)
    channel = CHANNELS[label]
    summary = marts.read(q.trend_summary, period, channel)
    _metrics(summary, channel)
    _chart(marts, period, channel)
    _by_channel(marts, period, summary)
    return f"channel {label}"


def _metrics(summary: dict, channel: str | None) -> None:
    cols = st.columns(3)
    change = summary["change"]
    if change is None:
        cols[0].metric("Opt-outs", ui.fmt_int(summary["optouts"]))
    else:
        pct = summary["change_pct"]
        cols[0].metric(
            "Opt-outs",
            ui.fmt_int(summary["optouts"]),
            delta=f"{change:+,}" + ("" if pct is None else f" ({pct:+.1f}%)"),
            # More opt-outs is bad news: an increase in red.
            delta_color="inverse" if change else "off",
        )
    no_previous = summary["previous_coverage"] == "none"
    cols[1].metric(
        "Previous period", "no data" if no_previous else ui.fmt_int(summary["previous_optouts"])
    )
    cols[2].metric("Opt-ins", ui.fmt_int(summary["optins"]))
    rate_change = summary["rate_change"]
    cols = st.columns(3)
    cols[0].metric(
        "Opt-out rate (period)",
        ui.fmt_rate(summary["period_rate"]),
        delta=None if rate_change is None else f"{100 * rate_change:+.2f} pp",
        delta_color="inverse" if rate_change else "off",
        help=RATE_HELP,
    )
    cols[1].metric(
        "Average daily rate",
        ui.fmt_rate(summary["avg_daily_rate"], 3),
        help=DAILY_HELP,
    )
    notes = []
    if summary["previous_coverage"] == "none":
        first = summary["data_first"]
        notes.append(
            "No data for the previous period"
            + (f" (the marts start on {first})" if first else "")
            + ": nothing to compare with."
        )
    if summary["coverage"] == "partial":
        notes.append(
            f"The marts cover {summary['data_first']} … {summary['data_last']}, "
            "part of this period."
        )
    if summary["previous_coverage"] == "partial":
        notes.append(
            f"The previous period is only partly covered (data from {summary['data_first']})."
        )
    if channel == "all":
        notes.append(
            "Rates are per subscription (push, email, sms, whatsapp): a global opt-out counts "
            "in each channel it removed; pick All channels or one of them."
        )
    if notes:
        st.caption(" ".join(notes))


def _chart(marts: ui.Marts, period: q.Period, channel: str | None) -> None:
    rng = period.current
    grain = q.chart_grain(rng)
    bars_data = marts.read(q.optouts_by_day, rng, channel, grain)
    if bars_data.empty:
        st.info("No opt-outs or opt-ins in this period.")
        return
    unit = "week" if grain == "week" else "day"
    scale, axis = ui.day_axis(ui.chart_first_day(rng, grain), rng.end, grain)
    x = alt.X("utcyearmonthdate(date):T", title=None, scale=scale, axis=axis)
    bars_data = bars_data.assign(date=pd.to_datetime(bars_data["date"]))
    date_tip = alt.Tooltip(
        "utcyearmonthdate(date):T", title="week of" if grain == "week" else "date"
    )
    layers = [
        alt.Chart(bars_data)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("sum(optouts):Q", title=f"Opt-outs per {unit}", stack="zero"),
            color=ui.channel_color(),
            tooltip=[date_tip, "channel:N", "optouts:Q", "optins:Q"],
        )
    ]
    if channel is None or channel in q.MESSAGING_CHANNELS:
        rates = marts.read(q.rate_by_day, rng, channel, grain)
        rates = rates.assign(date=pd.to_datetime(rates["date"]))
        layers.append(
            alt.Chart(rates)
            .mark_line(point=alt.OverlayMarkDef(color="#444"), color="#444", strokeDash=[4, 2])
            .encode(
                x=alt.X("utcyearmonthdate(date):T", scale=scale, axis=axis, bandPosition=0.5),
                y=alt.Y(
                    "optout_rate:Q", title="Average daily opt-out rate", axis=alt.Axis(format="%")
                ),
                tooltip=[
                    date_tip,
                    alt.Tooltip("optout_rate:Q", format=".3%", title="average daily rate"),
                    alt.Tooltip("user_days:Q", format=",", title="user-days"),
                ],
            )
        )
    flagged = marts.read(q.alerts, rng, channel)
    if not flagged.empty:
        marks = flagged.assign(
            date=pd.to_datetime(
                [ui.week_start(d) if grain == "week" else d for d in flagged["date"]]
            )
        )
        layers.append(
            alt.Chart(marks)
            .mark_rule(color=ui.ALERT_COLOR, strokeWidth=2, strokeDash=[6, 3])
            .encode(
                x=alt.X("utcyearmonthdate(date):T", scale=scale, axis=axis, bandPosition=0.5),
                tooltip=[
                    alt.Tooltip("utcyearmonthdate(date):T", title="alert"),
                    "channel:N",
                    "optouts:Q",
                    alt.Tooltip("expected_optouts:Q", format=".1f", title="expected"),
                    "severity:N",
                    "top_campaigns:N",
                ],
            )
        )
    chart = alt.layer(*layers).resolve_scale(y="independent").properties(height=300)
    st.altair_chart(chart, width="stretch", key="trend_chart")
    caption = (
        f"Bars: opt-outs per {unit} by channel. Dashed line: the average daily opt-out rate "
        f"of the {unit}."
    )
    if grain == "week":
        caption += " Weeks start on Monday; the first and last may be partial."
    if not flagged.empty:
        caption += f" Red lines: {len(flagged):,} alert(s), see Alerts below."
    st.caption(caption)


def _by_channel(marts: ui.Marts, period: q.Period, summary: dict) -> None:
    by_channel = marts.read(q.trend_by_channel, period)
    if by_channel.empty:
        return
    compared = summary["previous_coverage"] != "none"
    ui.table(
        pd.DataFrame(
            {
                "Channel": by_channel["channel"],
                "Opt-outs": by_channel["optouts"].map(ui.fmt_int),
                "Previous": by_channel["previous_optouts"].map(ui.fmt_int)
                if compared
                else "no data",
                "Change": by_channel["change"].map(lambda v: f"{v:+,}") if compared else "—",
                "Opt-ins": by_channel["optins"].map(ui.fmt_int),
                "Average daily rate": [ui.fmt_rate(v, 3) for v in by_channel["avg_daily_rate"]],
            }
        )
    )
