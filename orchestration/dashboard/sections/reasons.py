"""Why do people leave? The reasons given and the keywords texted with the period's
opt-outs (agg_optout_reasons, agg_optout_keywords)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from orchestration.dashboard import queries as q
from orchestration.dashboard import ui

KEY = "reasons"
DEFAULTS: dict = {}


def render(marts: ui.Marts, period: q.Period) -> str:
    st.subheader("Reasons and keywords: why do people leave?")
    left, right = st.columns(2)
    with left:
        st.markdown("**Reasons given**")
        reasons = marts.read(q.optout_reasons, period.current)
        if reasons.empty:
            st.info("No opt-out of this period gave a reason.")
        else:
            _bars(reasons, "reason", "reasons_chart")
            ui.table(pd.DataFrame({"Reason": reasons["reason"],
                                   "Opt-outs": reasons["optouts"].map(ui.fmt_int)}))  # fmt: skip
    with right:
        st.markdown("**Keywords texted**")
        keywords = marts.read(q.optout_keywords, period.current)
        if keywords.empty:
            st.info("No opt-outs in this period.")
        else:
            _bars(keywords, "keyword", "keywords_chart")
            ui.table(pd.DataFrame({"Keyword": keywords["keyword"],
                                   "Opt-outs": keywords["optouts"].map(ui.fmt_int)}))  # fmt: skip
    st.caption(
        "Reasons come from forms (app settings, unsubscribe page, support); keywords from "
        "inbound messages, normalised (STOP, Stop and stop are STOP; none = no keyword)."
    )
    return ""


def _bars(frame: pd.DataFrame, column: str, key: str) -> None:
    chart = (
        alt.Chart(frame)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("optouts:Q", title="Opt-outs"),
            y=alt.Y(f"{column}:N", sort=list(frame[column]), title=None,
                    axis=alt.Axis(labelLimit=200, labelOverlap=False)),
            tooltip=[f"{column}:N", "optouts:Q"],
        )
        .properties(height=alt.Step(22))
    )  # fmt: skip
    st.altair_chart(chart, width="stretch", key=key)
