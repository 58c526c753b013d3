"""Opt Out analytics: the dashboard page. Start it with `optout dashboard`.

Every number comes from `orchestration.dashboard.queries` (the marts, read-only,
one short connection per query), memoised per version of the warehouse file.
Each section lives in a container with a stable key (CSS class `st-key-<key>`),
and the last element of the page repeats the selection, so a browser (or the
end-to-end test) can tell when a rerun has finished.
"""

from __future__ import annotations

import datetime as dt
import functools

import altair as alt
import pandas as pd
import streamlit as st

from orchestration.config import Settings
from orchestration.dashboard import queries as q
from orchestration.marts import MartsSource, marts_source
from orchestration.ranges import today_utc

PRESETS = {
    "Last Week": "last_week",
    "Last Month": "last_month",
    "Last Year": "last_year",
    "Dates Between": "between",
}
TODAY, CHOSEN = "Today (UTC)", "Chosen date"
CHANNELS = {
    "All channels": None,
    "push": "push",
    "email": "email",
    "sms": "sms",
    "whatsapp": "whatsapp",
    "all (global)": "all",
}
MEASURE_LABELS = {"Total Event": "total", "Unique User": "unique"}
FORMATS = {"CSV": ("csv", "text/csv"), "Parquet": ("parquet", "application/vnd.apache.parquet")}
STATUS_LABELS = {"retain": "Retain", "churn": "Churn", "pending": "Pending"}
STATUS_COLORS = {"Retain": "#2e7d32", "Churn": "#c62828"}
DATE_LIMITS = {"min_value": dt.date(2000, 1, 1), "max_value": dt.date(2100, 12, 31)}
CAMPAIGN_LIMIT = 10


@st.cache_data(max_entries=1000, show_spinner=False)
def _cached_query(name: str, source: MartsSource, stamp: tuple | None, *args, **kwargs):
    return getattr(q, name)(source, *args, **kwargs)


class Marts:
    """The functions of `queries` for one warehouse, memoised per version of its marts.

    A build publishes new marts (DuckDB: a new file by os.replace; Spark: rewritten
    table folders), so the first run after it misses the cache and reads them;
    switching one chart setting only re-runs the queries that setting feeds.
    """

    def __init__(self, source: MartsSource):
        self.warehouse = source
        # None when there are no marts: the query raises WarehouseUnavailable, not cached.
        self.stamp = source.version

    def __getattr__(self, name: str):
        return functools.partial(_cached_query, name, self.warehouse, self.stamp)


def days_label(days: int | None) -> str:
    return f"{days} day" if days == 1 else f"{days} days"


def fmt_int(value: int) -> str:
    return f"{value:,}"


def fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def table(frame: pd.DataFrame) -> None:
    # Strings, so every number reads exactly as in the metrics (thousands separators).
    st.table(frame.astype(str), hide_index=True)


def keep_widget_state(today: dt.date) -> None:
    """Streamlit forgets the value of a widget that a run does not draw (the as-of
    date while Dates Between is picked, every control after an st.stop). Writing
    each value back at the start of the run keeps it; the widgets below are then
    created without a default of their own."""
    defaults = {
        "period": next(iter(PRESETS)),
        "as_of_mode": TODAY,
        "as_of": today,
        "start": today - dt.timedelta(days=29),
        "end": today,
        "trend_channel": next(iter(CHANNELS)),
        "push_marketing": False,
        "events_measure": next(iter(MEASURE_LABELS)),
        "export_format": next(iter(FORMATS)),
    }
    for key, value in defaults.items():
        st.session_state[key] = st.session_state.get(key, value)
    if "events_window" in st.session_state:
        st.session_state["events_window"] = st.session_state["events_window"]


def choose_period() -> tuple[str, q.Period]:
    """The sidebar: a preset as of today or a chosen date, or Dates Between."""
    with st.sidebar:
        st.header("Period")
        label = st.radio("Period", list(PRESETS), key="period", label_visibility="collapsed")
        if PRESETS[label] == "between":
            start = st.date_input("Start date", key="start", **DATE_LIMITS)
            end = st.date_input("End date", key="end", **DATE_LIMITS)
            if start is None or end is None:
                st.info("Pick a start and an end date.")
                st.stop()
            if start > end:
                st.error(f"The start date ({start}) is after the end date ({end}): swap them.")
                st.stop()
            return label, q.period("between", start=start.isoformat(), end=end.isoformat())
        mode = st.radio("As of", [TODAY, CHOSEN], key="as_of_mode", horizontal=True)
        as_of = today_utc()
        if mode == CHOSEN:
            as_of = st.date_input("As-of date (UTC)", key="as_of", **DATE_LIMITS)
            if as_of is None:
                st.info("Pick an as-of date.")
                st.stop()
        return label, q.period(PRESETS[label], as_of=as_of.isoformat())


def export_command(period: q.Period) -> str:
    rng = period.current
    if rng.name == "between":
        return f"optout export --range between --start {rng.start} --end {rng.end}"
    return f"optout export --range {rng.name} --as-of {rng.end}"


def trend_section(marts: Marts, period: q.Period) -> str:
    st.subheader("Opt-out trend: is opt-out increasing?")
    channel_label = st.radio("Channel", list(CHANNELS), key="trend_channel", horizontal=True)
    channel = CHANNELS[channel_label]
    summary = marts.trend_summary(period, channel)

    change = summary["change"]
    pct = summary["change_pct"]
    delta = f"{change:+,}" + ("" if pct is None else f" ({pct:+.1f}%)") + " vs previous"
    rate_change = summary["rate_change"]
    cols = st.columns(4)
    cols[0].metric(
        "Opt-outs",
        fmt_int(summary["optouts"]),
        delta=delta,
        # More opt-outs is bad news: show an increase in red.
        delta_color="inverse" if change else "off",
    )
    cols[1].metric("Previous period", fmt_int(summary["previous_optouts"]))
    cols[2].metric("Opt-ins", fmt_int(summary["optins"]))
    cols[3].metric(
        "Opt-out rate",
        fmt_rate(summary["optout_rate"]),
        delta=None if rate_change is None else f"{100 * rate_change:+.2f} pp vs previous",
        delta_color="inverse" if rate_change else "off",
        help="Opt-outs / users opted in at the start of the day (agg_optouts_daily), "
        "over the period's days with consent activity, each day weighted by its "
        "opted-in users. For one channel and one day it is the mart's optout_rate.",
    )

    days = marts.optouts_by_day(period.current, channel)
    rates = marts.rate_by_day(period.current, channel)
    chart_col, table_col = st.columns([3, 2])
    with chart_col:
        if days.empty:
            st.info("No opt-outs or opt-ins in this period.")
        else:
            days["date"] = pd.to_datetime(days["date"])
            rates["date"] = pd.to_datetime(rates["date"])
            rates["optout_rate"] = rates["optout_rate"].astype(float)
            end = period.current.end + dt.timedelta(days=1)
            domain = [
                alt.DateTime(year=day.year, month=day.month, date=day.day, utc=True)
                for day in (period.current.start, end)
            ]
            # Dates are UTC days: utc time units keep the browser's zone out of the axis.
            day_field, day_scale = "utcyearmonthdate(date):T", alt.Scale(domain=domain)
            bars = (
                alt.Chart(days)
                .mark_bar()
                .encode(
                    x=alt.X(day_field, title=None, scale=day_scale),
                    y=alt.Y("sum(optouts):Q", title="Opt-outs per day", stack="zero"),
                    color=alt.Color("channel:N", title="Channel"),
                    tooltip=[
                        alt.Tooltip("utcyearmonthdate(date):T", title="date"),
                        "channel:N",
                        "optouts:Q",
                        "optins:Q",
                        alt.Tooltip("optout_rate:Q", format=".2%", title="opt-out rate"),
                    ],
                )
            )
            line = (
                alt.Chart(rates)
                .mark_line(point=alt.OverlayMarkDef(color="#444"), color="#444", strokeDash=[4, 2])
                .encode(
                    # The point in the middle of its day's bar.
                    x=alt.X(day_field, title=None, scale=day_scale, bandPosition=0.5),
                    y=alt.Y("optout_rate:Q", title="Opt-out rate", axis=alt.Axis(format="%")),
                    tooltip=[
                        alt.Tooltip("utcyearmonthdate(date):T", title="date"),
                        alt.Tooltip("optout_rate:Q", format=".2%", title="opt-out rate"),
                    ],
                )
            )
            st.altair_chart(
                alt.layer(bars, line).resolve_scale(y="independent"),
                width="stretch",
                key="trend_chart",
            )
            st.caption("Bars: opt-outs per day by channel. Dashed line: opt-out rate of the day.")
    with table_col:
        by_channel = marts.trend_by_channel(period)
        if not by_channel.empty:
            shown = pd.DataFrame(
                {
                    "Channel": by_channel["channel"],
                    "Opt-outs": by_channel["optouts"].map(fmt_int),
                    "Previous": by_channel["previous_optouts"].map(fmt_int),
                    "Change": by_channel["change"].map(lambda v: f"{v:+,}"),
                    "Opt-ins": by_channel["optins"].map(fmt_int),
                    "Opt-out rate": [
                        fmt_rate(None if pd.isna(v) else v) for v in by_channel["optout_rate"]
                    ],
                }
            )
            table(shown)
    return channel_label


def push_section(marts: Marts, period: q.Period) -> bool:
    st.subheader("Push messages received before opt-out: did message pressure contribute?")
    marketing = st.toggle("Marketing pushes only", key="push_marketing")
    hist = marts.push_histogram(period.current, marketing_only=marketing)
    total = int(hist["optouts"].sum())
    with_push = total - int(hist.loc[hist["pushes"] == 0, "optouts"].sum())
    kind = "marketing pushes" if marketing else "pushes"
    cols = st.columns(3)
    cols[0].metric("Opt-outs", fmt_int(total))
    cols[1].metric(f"With 1+ {kind} in 7 days", fmt_int(with_push))
    cols[2].metric(f"With 10+ {kind} in 7 days", fmt_int(int(hist["optouts"].iloc[-1])))
    chart = (
        alt.Chart(hist)
        .mark_bar()
        .encode(
            x=alt.X(
                "bucket:O",
                sort=q.PUSH_BUCKETS,
                title=f"Delivered {kind} in the 7 days before opt-out",
                axis=alt.Axis(labelAngle=0),
            ),
            y=alt.Y("optouts:Q", title="Opt-outs"),
            tooltip=["bucket:O", "optouts:Q"],
        )
    )
    labels = chart.mark_text(dy=-6).encode(text="optouts:Q")
    st.altair_chart(chart + labels, width="stretch", key="push_chart")
    row = {"Pushes in 7 days": "Opt-outs"} | dict(
        zip(hist["bucket"], hist["optouts"].map(fmt_int), strict=True)
    )
    table(pd.DataFrame([row]))
    return marketing


def campaigns_section(marts: Marts, period: q.Period) -> None:
    st.subheader("Last campaigns before opt-out")
    totals = marts.last_campaign_totals(period.current)
    cols = st.columns(3)
    cols[0].metric("Opt-outs after a campaign interaction", fmt_int(totals["with_campaign"]))
    cols[1].metric("Opt-outs without one", fmt_int(totals["without_campaign"]))
    cols[2].metric("Campaigns", fmt_int(totals["campaigns"]))
    top = marts.last_campaigns(period.current, limit=CAMPAIGN_LIMIT)
    if top.empty:
        st.info("No opt-out in this period followed a campaign interaction.")
        return
    chart_col, table_col = st.columns([3, 2])
    with chart_col:
        chart = (
            alt.Chart(top)
            .mark_bar()
            .encode(
                x=alt.X("users:Q", title="Opted-out users"),
                y=alt.Y(
                    "campaign:N",
                    sort="-x",
                    title=None,
                    axis=alt.Axis(labelLimit=240, labelOverlap=False),
                ),
                tooltip=["campaign:N", "campaign_id:N", "users:Q", "optouts:Q"],
            )
        )
        st.altair_chart(chart, width="stretch", key="campaigns_chart")
    with table_col:
        table(
            pd.DataFrame(
                {
                    "Campaign": top["campaign"],
                    "Campaign id": top["campaign_id"],
                    "Opted-out users": top["users"].map(fmt_int),
                    "Opt-outs": top["optouts"].map(fmt_int),
                }
            )
        )
    st.caption(
        f"The {CAMPAIGN_LIMIT} campaigns users last interacted with before opting out "
        "(fct_last_campaign), by opted-out users."
    )


def events_section(marts: Marts, period: q.Period) -> tuple[int | None, str]:
    st.subheader("Last events before opt-out: retained vs churned users")
    windows = marts.retention_windows()
    if not windows:
        st.info("The marts hold no opt-outs yet.")
        return None, ""
    controls = st.columns(2)
    if st.session_state.get("events_window") not in windows:
        # First run, or a build with other retention_windows: 7 days when there is one.
        st.session_state["events_window"] = 7 if 7 in windows else windows[0]
    window = controls[0].radio(
        "Events in last (x) days",
        windows,
        key="events_window",
        horizontal=True,
        format_func=days_label,
    )
    measure_label = controls[1].radio(
        "Measure", list(MEASURE_LABELS), key="events_measure", horizontal=True
    )
    counts = marts.retention_counts(period.current, window).set_index("retention_status")
    cols = st.columns(3)
    for col, status in zip(cols, q.STATUSES, strict=True):
        col.metric(
            f"{STATUS_LABELS[status]} users",
            fmt_int(int(counts.loc[status, "users"])),
            help=f"{counts.loc[status, 'optouts']:,} opt-outs",
        )
    st.caption(
        f"Retain: active in the {window} days after opting out. Churn: not, and the "
        f"{window} days have passed by the build's as-of. Pending: too early to tell. "
        "A user whose opt-outs differ counts in each of their statuses."
    )
    events = marts.last_events(period.current, window, MEASURE_LABELS[measure_label])
    if events.empty:
        st.info(f"No events in the {window} days before this period's opt-outs.")
        return window, measure_label
    chart_col, table_col = st.columns([3, 2])
    with chart_col:
        long = events.melt(id_vars="event_name", var_name="status", value_name="value")
        long["status"] = long["status"].map(STATUS_LABELS)
        chart = (
            alt.Chart(long)
            .mark_bar()
            .encode(
                # Horizontal bars: every event name stays readable.
                y=alt.Y(
                    "event_name:N",
                    sort=list(events["event_name"]),
                    title=None,
                    axis=alt.Axis(labelLimit=240, labelOverlap=False),
                ),
                yOffset=alt.YOffset("status:N", sort=list(STATUS_COLORS)),
                x=alt.X("value:Q", title=measure_label),
                color=alt.Color(
                    "status:N",
                    title=None,
                    scale=alt.Scale(domain=list(STATUS_COLORS), range=list(STATUS_COLORS.values())),
                    legend=alt.Legend(orient="top"),
                ),
                tooltip=["event_name:N", "status:N", alt.Tooltip("value:Q", title=measure_label)],
            )
            .properties(height=max(200, 32 * len(events)))
        )
        st.altair_chart(chart, width="stretch", key="events_chart")
    with table_col:
        table(
            pd.DataFrame(
                {
                    "Event": events["event_name"],
                    "Retain": events["retain"].map(fmt_int),
                    "Churn": events["churn"].map(fmt_int),
                }
            )
        )
    return window, measure_label


def export_bytes(warehouse, date_range, fmt: str) -> bytes:
    return q.export_file(warehouse, date_range, fmt)[1]


def export_section(marts: Marts, period: q.Period) -> str:
    st.subheader("Export opted-out users")
    fmt_label = st.radio("Format", list(FORMATS), key="export_format", horizontal=True)
    fmt, mime = FORMATS[fmt_label]
    # Deferred: the file is written only on click, by the export code itself.
    st.download_button(
        f"Export opted-out users ({fmt_label})",
        data=functools.partial(export_bytes, marts.warehouse, period.current, fmt),
        file_name=q.export_file_name(period.current, fmt),
        mime=mime,
        key="export_download",
        on_click="ignore",
        type="primary",
        icon=":material/download:",
    )
    st.caption(
        f"The file `{export_command(period)} --format {fmt}` writes: the users who opted "
        f"out from {period.current.start} to {period.current.end}. The period alone decides "
        "it; the chart settings above never change it."
    )
    return fmt_label


def main() -> None:
    st.set_page_config(page_title="Opt Out analytics", layout="wide")
    source = marts_source(Settings.from_env())
    warehouse = source.location
    marts = Marts(source)
    keep_widget_state(today_utc())
    period_label, period = choose_period()
    st.title("Opt Out analytics")
    rng, prev = period.current, period.previous
    try:
        span = marts.optout_span()
    except q.WarehouseUnavailable as exc:
        st.error(str(exc))
        st.stop()
    built = source.built_at or dt.datetime.now(dt.UTC)
    with st.container(key="period_info"):
        st.markdown(
            f"**{period_label}: {rng.start} … {rng.end}** ({period.days} days) · "
            f"previous period {prev.start} … {prev.end}"
        )
        st.caption(
            f"Warehouse {warehouse}, built {built:%Y-%m-%d %H:%M} UTC · opt-outs in the marts: "
            f"{span['optouts']:,}"
            + (f", from {span['first']} to {span['last']}" if span["first"] else "")
        )
    try:
        with st.container(key="trend", border=True):
            channel_label = trend_section(marts, period)
        with st.container(key="push", border=True):
            marketing = push_section(marts, period)
        with st.container(key="campaigns", border=True):
            campaigns_section(marts, period)
        with st.container(key="events", border=True):
            window, measure_label = events_section(marts, period)
        with st.container(key="export", border=True):
            fmt_label = export_section(marts, period)
    except q.WarehouseUnavailable as exc:
        st.error(str(exc))
        st.stop()
    # Last on the page: a browser waiting for this text knows the rerun is complete.
    with st.container(key="shown"):
        st.caption(
            f"Shown: {period_label} {rng.start} … {rng.end} · channel {channel_label} · "
            f"marketing only {'on' if marketing else 'off'} · window {days_label(window)} · "
            f"{measure_label} · {fmt_label}"
        )


main()
