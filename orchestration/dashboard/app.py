"""Opt Out analytics: the dashboard page. Start it with `optout dashboard`.

Every number comes from `orchestration.dashboard.queries` (the marts, read-only, one short
connection per query), memoised per version of the warehouse (`ui.Marts`). The page is
the sidebar's period, then the sections of `SECTIONS`, each in a container with a stable
key (CSS class `st-key-<key>`); the last element repeats the selection, so a browser (or
the end-to-end test) can tell when a rerun has finished.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from orchestration.config import Settings
from orchestration.dashboard import queries as q
from orchestration.dashboard import ui
from orchestration.dashboard.sections import (
    alerts,
    campaigns,
    compliance,
    events,
    latest_alert,
    pressure,
    reasons,
    trend,
    who,
)
from orchestration.marts import marts_source
from orchestration.ranges import today_utc

# The page, top to bottom.
SECTIONS = (latest_alert, trend, alerts, pressure, campaigns, reasons, compliance, events, who)

PRESETS = {
    "Last Week": "last_week",
    "Last Month": "last_month",
    "Last Year": "last_year",
    "Dates Between": "between",
}
TODAY, CHOSEN = "Today (UTC)", "Chosen date"


def keep_widget_state(today: dt.date) -> None:
    """Streamlit forgets the value of a widget that a run does not draw (the as-of date
    while Dates Between is picked, every control after an st.stop). Writing each value
    back at the start of the run keeps it; the widgets are then created without a default
    of their own."""
    defaults = {
        "period": next(iter(PRESETS)),
        "as_of_mode": TODAY,
        "as_of": today,
        "start": today - dt.timedelta(days=29),
        "end": today,
    }
    for section in SECTIONS:
        defaults |= section.DEFAULTS
    for key, value in defaults.items():
        # A default of None is set by its section from the marts; only keep it here.
        if value is not None or key in st.session_state:
            st.session_state[key] = st.session_state.get(key, value)


def choose_period() -> tuple[str, q.Period]:
    """The sidebar: a preset as of today or a chosen date, or Dates Between."""
    with st.sidebar:
        st.header("Period")
        label = st.radio("Period", list(PRESETS), key="period", label_visibility="collapsed")
        if PRESETS[label] == "between":
            start = st.date_input("Start date", key="start", **ui.DATE_LIMITS)
            end = st.date_input("End date", key="end", **ui.DATE_LIMITS)
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
            as_of = st.date_input("As-of date (UTC)", key="as_of", **ui.DATE_LIMITS)
            if as_of is None:
                st.info("Pick an as-of date.")
                st.stop()
        return label, q.period(PRESETS[label], as_of=as_of.isoformat())


def main() -> None:
    st.set_page_config(page_title="Opt Out analytics", layout="wide")
    source = marts_source(Settings.from_env())
    marts = ui.Marts(source)
    keep_widget_state(today_utc())
    period_label, period = choose_period()
    st.title("Opt Out analytics")
    rng, prev = period.current, period.previous
    try:
        span = marts.read(q.data_span)
        optouts = marts.read(q.optout_span)
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
            f"Warehouse {source.location}, built {built:%Y-%m-%d %H:%M} UTC · data from "
            f"{span['first']} to {span['last']} · opt-outs in the marts: {optouts['optouts']:,}"
        )
    shown = []
    try:
        for section in SECTIONS:
            with st.container(key=section.KEY, border=section is not latest_alert):
                shown.append(section.render(marts, period))
    except q.WarehouseUnavailable as exc:
        st.error(str(exc))
        st.stop()
    # Last on the page: a browser waiting for this text knows the rerun is complete.
    with st.container(key="shown"):
        st.caption(
            " · ".join([f"Shown: {period_label} {rng.start} … {rng.end}", *filter(None, shown)])
        )


main()
