"""Campaigns: which make people leave, for the messages they send? Opt-outs attributed to
a campaign's deliveries (agg_campaign_optouts) per 1,000 deliveries against its channel,
and the last campaign opted-out users had interacted with (fct_last_campaign)."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from orchestration.dashboard import queries as q
from orchestration.dashboard import ui

KEY = "campaigns"
DEFAULTS = {"campaign_min_deliveries": None}  # None: set from the marts on the first run
CATEGORY_COLORS = {
    "marketing": "#e45756",
    "transactional": "#72b7b2",
    "utility": "#eeca3b",
    "otp": "#bab0ac",
}
LAST_CAMPAIGN_LIMIT = 10


def render(marts: ui.Marts, period: q.Period) -> str:
    st.subheader("Campaigns: which make people leave, per message sent?")
    rng = period.current
    totals = marts.read(q.attribution_totals, rng)
    windows = marts.read(q.attribution_windows)
    cols = st.columns([1, 1, 2])
    cols[0].metric("Attributed opt-outs", ui.fmt_int(totals["attributed"]))
    cols[1].metric("Not attributed", ui.fmt_int(totals["unattributed"]))
    if st.session_state.get("campaign_min_deliveries") is None:
        st.session_state["campaign_min_deliveries"] = marts.read(q.default_min_deliveries)
    min_deliveries = cols[2].number_input(
        "Minimum deliveries", min_value=0, step=100, key="campaign_min_deliveries"
    )
    window_text = ", ".join(f"{ch} {hours} h" for ch, hours in windows.items())
    st.caption(
        "An opt-out is attributed to the campaign of the latest message delivered to the user "
        "on the channel they left (any channel for a global opt-out) in the window before "
        f"it ({window_text or 'no campaigns yet'}). Campaigns delivering in the period, "
        "rated over all their deliveries; lift = their rate ÷ their channel's."
    )
    ranking = marts.read(q.campaign_ranking, rng, int(min_deliveries))
    if ranking.empty:
        st.info(
            f"No campaign with at least {min_deliveries:,} deliveries delivered in this period."
        )
    else:
        _chart(ranking)
        ui.table(
            pd.DataFrame(
                {
                    "Campaign": ranking["campaign"],
                    "Channel": ranking["channel"],
                    "Category": ranking["message_category"],
                    "Deliveries": ranking["deliveries"].map(ui.fmt_int),
                    "Opt-outs": ranking["attributed_optouts"].map(ui.fmt_int),
                    "Per 1,000": [ui.fmt_number(v) for v in ranking["per_1k"]],
                    "Channel per 1,000": [ui.fmt_number(v) for v in ranking["baseline_per_1k"]],
                    "Lift": [ui.fmt_number(v) for v in ranking["lift"]],
                }
            )
        )
    with st.expander("Last campaign interacted with before opting out (no look-back limit)"):
        _last_campaigns(marts, rng)
    return f"min deliveries {int(min_deliveries):,}"


def _chart(ranking: pd.DataFrame) -> None:
    chart = (
        alt.Chart(ranking)
        .mark_bar()
        .encode(
            x=alt.X("per_1k:Q", title="Attributed opt-outs per 1,000 deliveries"),
            y=alt.Y("campaign:N", sort=list(ranking["campaign"]), title=None,
                    axis=alt.Axis(labelLimit=260, labelOverlap=False)),
            color=alt.Color("message_category:N", title="Category",
                            scale=alt.Scale(domain=list(CATEGORY_COLORS),
                                            range=list(CATEGORY_COLORS.values())),
                            legend=alt.Legend(orient="top")),
            tooltip=["campaign:N", "channel:N", "message_category:N",
                     alt.Tooltip("deliveries:Q", format=","), "attributed_optouts:Q",
                     alt.Tooltip("per_1k:Q", format=".2f"), alt.Tooltip("lift:Q", format=".2f")],
        )
        .properties(height=alt.Step(22))
    )  # fmt: skip
    st.altair_chart(chart, width="stretch", key="campaigns_chart")


def _last_campaigns(marts: ui.Marts, rng) -> None:
    totals = marts.read(q.last_campaign_totals, rng)
    top = marts.read(q.last_campaigns, rng, limit=LAST_CAMPAIGN_LIMIT)
    st.caption(
        f"{totals['with_campaign']:,} of the period's {totals['optouts']:,} opt-outs followed "
        "a campaign interaction at any time before; counts, not rates, so campaigns that "
        "reach everyone rank high."
    )
    if top.empty:
        return
    ui.table(
        pd.DataFrame(
            {
                "Campaign": top["campaign"],
                "Campaign id": top["campaign_id"],
                "Opted-out users": top["users"].map(ui.fmt_int),
                "Opt-outs": top["optouts"].map(ui.fmt_int),
            }
        )
    )
