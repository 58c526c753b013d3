"""Who opted out? A paged table of the period's opted-out users (the users export's rows),
and a download of every export kind of `orchestration.exports`, written by the export code
itself: byte for byte the file `optout export` writes for the same arguments."""

from __future__ import annotations

import functools
import math

import pandas as pd
import streamlit as st

from orchestration.dashboard import queries as q
from orchestration.dashboard import ui

KEY = "who"
PAGE_SIZE = 25
FORMATS = {"CSV": ("csv", "text/csv"), "Parquet": ("parquet", "application/vnd.apache.parquet")}
DEFAULTS = {"export_format": next(iter(FORMATS)), "who_page": 1}
KIND_LABELS = {  # a kind missing here gets its name as the label
    "users": "Opted-out users",
    "status_changes": "Status changes",
    "suppression": "Suppression list",
}
SHOWN_COLUMNS = {
    "user_id": "User id",
    "external_id": "External id",
    "first_name": "First name",
    "last_name": "Last name",
    "channels": "Channels",
    "optout_count": "Opt-outs",
    "last_opted_out_at": "Last opted out (UTC)",
}


def render(marts: ui.Marts, period: q.Period) -> str:
    st.subheader("Who opted out?")
    users = marts.read(q.opted_out_users, period.current)
    page = _paged(users)
    fmt_label = _downloads(marts, period)
    return f"page {page} · {fmt_label}"


def _paged(users: pd.DataFrame) -> int:
    pages = max(1, math.ceil(len(users) / PAGE_SIZE))
    if st.session_state.get("who_page", 1) > pages:
        st.session_state["who_page"] = 1  # a shorter period
    cols = st.columns([1, 3])
    page = int(cols[0].number_input("Page", min_value=1, max_value=pages, step=1,
                                    key="who_page"))  # fmt: skip
    first = (page - 1) * PAGE_SIZE
    cols[1].caption(
        f"{len(users):,} users opted out in this period; showing {first + 1:,}–"
        f"{min(first + PAGE_SIZE, len(users)):,}, by user id. The download has every column."
        if len(users)
        else "No user opted out in this period."
    )
    if len(users):
        shown = users.iloc[first : first + PAGE_SIZE][list(SHOWN_COLUMNS)]
        ui.table(shown.rename(columns=SHOWN_COLUMNS).fillna(""))
    return page


def export_command(kind, period: q.Period, fmt: str) -> str:
    args = ["optout export", f"--kind {kind.name}"]
    rng = period.current
    if kind.ranged and rng.name == "between":
        args.append(f"--range between --start {rng.start} --end {rng.end}")
    elif kind.ranged:
        args.append(f"--range {rng.name} --as-of {rng.end}")
    return " ".join([*args, f"--format {fmt}"])


def _bytes(source, kind_name: str, date_range, fmt: str) -> bytes:
    return q.export_file(source, date_range, fmt, kind=kind_name)[1]


def _downloads(marts: ui.Marts, period: q.Period) -> str:
    fmt_label = st.radio("Format", list(FORMATS), key="export_format", horizontal=True)
    fmt, mime = FORMATS[fmt_label]
    kinds = q.export_kinds()
    cols = st.columns(len(kinds))
    for col, kind in zip(cols, kinds, strict=True):
        date_range = period.current if kind.ranged else None
        with col:
            # Deferred: the file is written only on click, by the export code itself.
            st.download_button(
                KIND_LABELS.get(kind.name, kind.name),
                data=functools.partial(_bytes, marts.source, kind.name, date_range, fmt),
                file_name=q.export_file_name(date_range, fmt, kind.name),
                mime=mime,
                key=f"download_{kind.name}",
                on_click="ignore",
                type="primary" if kind.name == "users" else "secondary",
                icon=":material/download:",
                width="stretch",
            )
            st.caption(f"`{export_command(kind, period, fmt)}`")
    st.caption(
        f"The ranged files cover {period.current.start} … {period.current.end}; the "
        "suppression list is the current state. Chart settings never change them."
    )
    return fmt_label
