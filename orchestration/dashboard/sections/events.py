"""Last events before opt-out: what did retained vs churned users do? Only the retention
windows that have closed for every opt-out of the period are offered: a retained user is
known at once, a churned one only when the window is over, so an open window would show
Retain only."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from orchestration.dashboard import queries as q
from orchestration.dashboard import ui

KEY = "events"
MEASURE_LABELS = {"Total Event": "total", "Unique User": "unique"}
STATUS_LABELS = {"retain": "Retain", "churn": "Churn", "pending": "Pending"}
STATUS_COLORS = {"Retain": "#2e7d32", "Churn": "#c62828"}
# events_window: set from the windows that have closed, on each run.
DEFAULTS = {"events_measure": next(iter(MEASURE_LABELS)), "events_window": None}


def render(marts: ui.Marts, period: q.Period) -> str:
    st.subheader("Last events before opt-out: retained vs churned users")
    status = marts.read(q.retention_window_status, period.current)
    if status.empty:
        st.info("The marts hold no opt-outs yet.")
        return "window none"
    if status["optouts"].sum() == 0:
        st.info("No opt-outs in this period.")
        return "window none"
    closed = [int(w) for w, pending in zip(status["window_days"], status["pending"],
                                          strict=True) if pending == 0]  # fmt: skip
    open_ = status[status["pending"] > 0]
    if open_.size:
        st.caption(
            "Not offered, still open for some of this period's opt-outs (their days are not "
            "over by the build's as-of): "
            + ", ".join(
                f"{ui.days_label(int(r.window_days))} ({r.pending:,} of {r.optouts:,} pending)"
                for r in open_.itertuples()
            )  # fmt: skip
            + "."
        )
    if not closed:
        st.info(
            "No retention window has closed for every opt-out of this period yet: pick an "
            "earlier period to compare retained and churned users."
        )
        return "window none"
    if st.session_state.get("events_window") not in closed:
        # First run, another period, or a build with other retention_windows.
        st.session_state["events_window"] = 7 if 7 in closed else closed[-1]
    controls = st.columns(2)
    window = controls[0].radio("Events in last (x) days", closed, key="events_window",
                               horizontal=True, format_func=ui.days_label)  # fmt: skip
    measure_label = controls[1].radio(
        "Measure", list(MEASURE_LABELS), key="events_measure", horizontal=True
    )
    counts = marts.read(q.retention_counts, period.current, window).set_index("retention_status")
    cols = st.columns(2)
    for col, key in zip(cols, ("retain", "churn"), strict=True):
        col.metric(
            f"{STATUS_LABELS[key]} users",
            ui.fmt_int(int(counts.loc[key, "users"])),
            help=f"{counts.loc[key, 'optouts']:,} opt-outs",
        )
    st.caption(
        f"Retain: active in the {window} days after opting out. Churn: not. A user whose "
        "opt-outs differ counts in each of their statuses."
    )
    _events(marts, period, window, measure_label)
    return f"window {ui.days_label(window)} · {measure_label}"


def _events(marts: ui.Marts, period: q.Period, window: int, measure_label: str) -> None:
    events = marts.read(q.last_events, period.current, window, MEASURE_LABELS[measure_label])
    if events.empty:
        st.info(f"No events in the {window} days before this period's opt-outs.")
        return
    long = events.melt(id_vars="event_name", var_name="status", value_name="value")
    long["status"] = long["status"].map(STATUS_LABELS)
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("event_name:N", sort=list(events["event_name"]), title=None,
                    axis=alt.Axis(labelLimit=240, labelOverlap=False)),
            yOffset=alt.YOffset("status:N", sort=list(STATUS_COLORS)),
            x=alt.X("value:Q", title=measure_label),
            color=alt.Color("status:N", title=None,
                            scale=alt.Scale(domain=list(STATUS_COLORS),
                                            range=list(STATUS_COLORS.values())),
                            legend=alt.Legend(orient="top")),
            tooltip=["event_name:N", "status:N", alt.Tooltip("value:Q", title=measure_label)],
        )
        .properties(height=alt.Step(11))
    )  # fmt: skip
    st.altair_chart(chart, width="stretch", key="events_chart")
    ui.table(
        pd.DataFrame(
            {
                "Event": events["event_name"],
                "Retain": events["retain"].map(ui.fmt_int),
                "Churn": events["churn"].map(ui.fmt_int),
            }
        )
    )
