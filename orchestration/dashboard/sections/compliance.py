"""Compliance: were opt-outs honoured in time? Delivered marketing messages to users who
had opted out, within and beyond the grace period, by campaign (agg_compliance_by_campaign,
all time: the mart has no date)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from orchestration.dashboard import queries as q
from orchestration.dashboard import ui

KEY = "compliance"
DEFAULTS: dict = {}
LIMIT = 10


def render(marts: ui.Marts, period: q.Period) -> str:
    st.subheader("Compliance: marketing sent after an opt-out")
    rows = marts.read(q.compliance_by_campaign, LIMIT)
    if rows.empty:
        st.success("No marketing message reached a user after they opted out.")
        return ""
    ui.table(
        pd.DataFrame(
            {
                "Campaign": rows["campaign"],
                "Beyond grace": rows["sends_beyond_grace"].map(ui.fmt_int),
                "Within grace": rows["sends_within_grace"].map(ui.fmt_int),
                "Users affected": rows["users_affected"].map(ui.fmt_int),
            }
        )
    )
    st.caption(
        f"The {LIMIT} campaigns with the most marketing sends beyond the grace period "
        "(business days after the opt-out, var optout_grace_business_days), over all time, "
        "whatever the period."
    )
    return ""
