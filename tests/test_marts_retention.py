"""Hand-computed retention scenarios: fct_optout_retention and
fct_last_events_retain_churn (docs/CONTRACT.md §5.4, §5.5), windows [1, 3, 7, 14, 30].

One landing zone, built once with an explicit as_of = 2024-05-24T12:00:00Z
(t + 14 days) passed to the build. Unless a scenario says otherwise the opt-out
is at t = 2024-05-10T12:00:00Z on push. The default as_of (the latest clean
event, quarantined events ignored) is tested in test_quarantine.py, whose
landing zone has the quarantined events.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from conftest import build, query, query_dicts, settings_for, write_landing_zone
from factories import consent_change, event

T = "2024-05-10T12:00:00Z"
EXPLICIT_AS_OF = "2024-05-24T12:00:00Z"  # t + 14 days


out = partial(consent_change, changed_at=T)  # an opt-out on push at t
edge = partial(event, user_id="u_ret_edge")
names = partial(event, user_id="u_ret_names")
other = partial(event, user_id="u_other")

EVENTS = [
    # u_ret_edge: window edges for W = 1
    edge(event_id="e_re_1", event_name="app_open", occurred_at="2024-05-09T12:00:00Z"),  # t-1d
    # t - 1d - 1s: W3 only
    edge(event_id="e_re_2", event_name="purchase", occurred_at="2024-05-09T11:59:59Z"),
    edge(event_id="e_re_3", event_name="app_open", occurred_at=T),  # at t: neither
    # t + 1d: after W1; t + 1d + 1s: W3
    edge(event_id="e_re_4", event_name="app_open", occurred_at="2024-05-11T12:00:00Z"),
    edge(event_id="e_re_5", event_name="app_open", occurred_at="2024-05-11T12:00:01Z"),
    # u_ret_names: event names before the opt-out
    names(event_id="e_rn_1", event_name="app_open", occurred_at="2024-05-10T10:00:00Z"),  # t-2h
    # t - 5h
    names(event_id="e_rn_2", event_name="app_open", occurred_at="2024-05-10T09:00:00+02:00"),
    names(event_id="e_rn_3", event_name="app_open", occurred_at="2024-05-08T12:00:00Z"),  # t-2d
    # t - 10d, t - 20d
    names(event_id="e_rn_4", event_name="view_item", occurred_at="2024-04-30T12:00:00Z"),
    names(event_id="e_rn_5", event_name="purchase", occurred_at="2024-04-20T12:00:00Z"),
    # t + 1h (after)
    names(event_id="e_rn_6", event_name="app_open", occurred_at="2024-05-10T13:00:00Z"),
    names(event_id="e_rn_7", event_name="view_item", occurred_at=T),  # at t: neither
    # u_ret_quiet: one event 5 days before, nothing after
    event(
        event_id="e_rq_1",
        user_id="u_ret_quiet",
        event_name="app_open",
        occurred_at="2024-05-05T12:00:00Z",
    ),
    # u_ret_late: only event exactly t + 3d
    event(
        event_id="e_rl_1",
        user_id="u_ret_late",
        event_name="app_open",
        occurred_at="2024-05-13T12:00:00Z",
    ),
    # another user's events never count for the opt-outs above
    other(event_id="e_other_1", event_name="app_open", occurred_at="2024-05-10T11:00:00Z"),
    other(event_id="e_other_2", event_name="app_open", occurred_at="2024-05-10T13:00:00Z"),
]

TABLES = {
    "events": EVENTS,
    "consent_changes": [
        out(change_id="c_ret_edge", user_id="u_ret_edge"),
        out(change_id="c_ret_names", user_id="u_ret_names"),
        out(change_id="c_ret_quiet", user_id="u_ret_quiet"),
        # one second later than t, written with an offset: 12:00:01Z
        out(
            change_id="c_ret_quiet2", user_id="u_ret_quiet2", changed_at="2024-05-10T14:00:01+02:00"
        ),
        out(change_id="c_ret_late", user_id="u_ret_late"),
    ],
}
OPTOUTS = ["c_ret_edge", "c_ret_names", "c_ret_quiet", "c_ret_quiet2", "c_ret_late"]
WINDOWS = [1, 3, 7, 14, 30]


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("retention"))
    write_landing_zone(settings.raw_dir, TABLES)
    return build(settings, as_of=EXPLICIT_AS_OF)


def retention(wh, optout_id) -> dict[int, tuple]:
    """{window_days: (events_before, events_after, retention_status)}."""
    rows = query(
        wh,
        "select window_days, events_before, events_after, retention_status "
        "from marts.fct_optout_retention where optout_id = ?",
        [optout_id],
    )
    got = {w: (b, a, s) for w, b, a, s in rows}
    assert len(got) == len(rows), "one row per (opt-out, window)"
    return got


def statuses(wh, optout_id) -> dict[int, str]:
    return {w: v[2] for w, v in retention(wh, optout_id).items()}


def event_counts(wh, optout_id) -> dict[int, dict[str, int]]:
    """{window_days: {event_name: event_count}} from fct_last_events_retain_churn."""
    got: dict[int, dict[str, int]] = {}
    for w, name, n in query(
        wh,
        "select window_days, event_name, event_count "
        "from marts.fct_last_events_retain_churn where optout_id = ?",
        [optout_id],
    ):
        assert name not in got.setdefault(w, {}), "one row per (opt-out, window, event_name)"
        got[w][name] = n
    return got


# --- fct_optout_retention -----------------------------------------------------------------


def test_one_row_per_optout_and_window(wh):
    """5 opt-outs x 5 windows = 25 rows, each pair once."""
    got = query(wh, "select optout_id, window_days from marts.fct_optout_retention")
    assert sorted(got) == sorted((o, w) for o in OPTOUTS for w in WINDOWS)


def test_window_edges_before_and_after(wh):
    """Events at t-1d (in W1 before), t-1d-1s (W3+), t (neither), t+1d (in W1 after),
    t+1d+1s (W3+): W1 = 1 before / 1 after, W3..W30 = 2 / 2; all retain."""
    assert retention(wh, "c_ret_edge") == {
        1: (1, 1, "retain"),
        3: (2, 2, "retain"),
        7: (2, 2, "retain"),
        14: (2, 2, "retain"),
        30: (2, 2, "retain"),
    }


def test_event_at_the_optout_instant_is_neither_before_nor_after(wh):
    """u_ret_names: 5 events before (3 in W3), 1 after (t+1h); the one at t is not counted."""
    got = retention(wh, "c_ret_names")
    assert {w: (b, a) for w, (b, a, _) in got.items()} == {
        1: (2, 1),
        3: (3, 1),
        7: (3, 1),
        14: (4, 1),
        30: (5, 1),
    }


def test_explicit_as_of_closes_more_windows(wh):
    """as_of = t + 14d: W1..W14 churn (W14 ends exactly at as_of), W30 pending."""
    assert statuses(wh, "c_ret_quiet") == {
        1: "churn",
        3: "churn",
        7: "churn",
        14: "churn",
        30: "pending",
    }


def test_explicit_as_of_window_end_one_second_later_is_pending(wh):
    """t = 12:00:01Z: t + 14d is 1 s after as_of -> W14 pending, W7 churn."""
    assert statuses(wh, "c_ret_quiet2") == {
        1: "churn",
        3: "churn",
        7: "churn",
        14: "pending",
        30: "pending",
    }


def test_event_exactly_t_plus_w_counts_after(wh):
    """Only event at t+3d: W1 after 0 -> churn (t+1d <= as_of); W3+ after 1 -> retain."""
    assert retention(wh, "c_ret_late") == {
        1: (0, 0, "churn"),
        3: (0, 1, "retain"),
        7: (0, 1, "retain"),
        14: (0, 1, "retain"),
        30: (0, 1, "retain"),
    }


def test_retain_whatever_the_window_end(wh):
    """Events after t make retain even for W30, whose end (t+30d) is after as_of."""
    assert set(statuses(wh, "c_ret_edge").values()) == {"retain"}


# --- fct_last_events_retain_churn ---------------------------------------------------------


def test_event_counts_per_name_and_window(wh):
    """u_ret_names before t: app_open t-2h, t-5h, t-2d; view_item t-10d; purchase
    t-20d (view_item at t excluded): W1 app_open 2; W3, W7 app_open 3; W14 + view_item 1;
    W30 + purchase 1."""
    assert event_counts(wh, "c_ret_names") == {
        1: {"app_open": 2},
        3: {"app_open": 3},
        7: {"app_open": 3},
        14: {"app_open": 3, "view_item": 1},
        30: {"app_open": 3, "view_item": 1, "purchase": 1},
    }


def test_event_counts_window_start_is_inclusive(wh):
    """u_ret_edge: app_open at t-1d (in W1), purchase at t-1d-1s (W3+ only)."""
    assert event_counts(wh, "c_ret_edge") == {
        1: {"app_open": 1},
        **{w: {"app_open": 1, "purchase": 1} for w in (3, 7, 14, 30)},
    }


def test_no_rows_without_events_before(wh):
    """u_ret_late has only an event after t -> no rows."""
    assert event_counts(wh, "c_ret_late") == {}


def test_rows_carry_the_retention_status(wh):
    """u_ret_quiet's event at t-5d is in W7, W14, W30: churn, churn, pending."""
    got = query(
        wh,
        "select window_days, event_name, event_count, retention_status "
        "from marts.fct_last_events_retain_churn where optout_id = 'c_ret_quiet' "
        "order by window_days",
    )
    assert got == [
        (7, "app_open", 1, "churn"),
        (14, "app_open", 1, "churn"),
        (30, "app_open", 1, "pending"),
    ]


def test_total_event_and_unique_user_for_w30(wh):
    """W30: u_ret_edge 2 + u_ret_names 5 + u_ret_quiet 1 + u_ret_quiet2 0 + u_ret_late 0
    -> Total Event 8, Unique User 3."""
    got = query_dicts(
        wh,
        "select sum(event_count) as total, count(distinct user_id) as users "
        "from marts.fct_last_events_retain_churn where window_days = 30",
    )
    assert got == [{"total": 8, "users": 3}]


def test_last_events_match_events_before(wh):
    """For every (opt-out, W): sum(event_count) = fct_optout_retention.events_before."""
    got = query(
        wh,
        """
        select r.optout_id, r.window_days, r.events_before, coalesce(sum(e.event_count), 0)
        from marts.fct_optout_retention r
        left join marts.fct_last_events_retain_churn e
            using (optout_id, window_days)
        group by all
        having r.events_before != coalesce(sum(e.event_count), 0)
    """,
    )
    assert got == []


def test_retention_opted_out_at_is_utc(wh):
    """c_ret_quiet2 written 14:00:01+02:00 is 12:00:01 UTC."""
    got = query(
        wh,
        "select distinct opted_out_at from marts.fct_optout_retention "
        "where optout_id = 'c_ret_quiet2'",
    )
    assert got == [(dt.datetime(2024, 5, 10, 12, 0, 1),)]


# --- a build with retention_windows: [2, 10] ---------------------------------------------
# The same landing zone and as_of, built with `--vars '{retention_windows: [2, 10]}'`.
# Edges: u_ret_names' app_open at exactly t-2d is in W2, its view_item at exactly t-10d
# in W10; the default windows have neither 2 nor 10.


@pytest.fixture(scope="module")
def wh_2_10(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("retention_2_10"))
    write_landing_zone(settings.raw_dir, TABLES)
    return build(settings, as_of=EXPLICIT_AS_OF, dbt_vars={"retention_windows": [2, 10]})


def test_retention_follows_the_retention_windows_var(wh_2_10):
    """{optout: {W: (before, after, status)}} for W in [2, 10], as_of t + 14d:
    u_ret_edge: t-1d, t-1d-1s before; t+1d, t+1d+1s after -> 2/2 retain in both.
    u_ret_names: W2 t-2h, t-5h, t-2d; W10 also t-10d; t+1h after.
    u_ret_quiet: t-5d only in W10; no event after; t+10d <= as_of -> churn.
    u_ret_quiet2: no events -> churn. u_ret_late: t+3d is after W2 (churn), in W10."""
    got = {o: retention(wh_2_10, o) for o in OPTOUTS}
    assert got == {
        "c_ret_edge": {2: (2, 2, "retain"), 10: (2, 2, "retain")},
        "c_ret_names": {2: (3, 1, "retain"), 10: (4, 1, "retain")},
        "c_ret_quiet": {2: (0, 0, "churn"), 10: (1, 0, "churn")},
        "c_ret_quiet2": {2: (0, 0, "churn"), 10: (0, 0, "churn")},
        "c_ret_late": {2: (0, 0, "churn"), 10: (0, 1, "retain")},
    }


def test_last_events_follow_the_retention_windows_var(wh_2_10):
    """Event names before t per W in [2, 10]; no rows for other windows."""
    got = {o: event_counts(wh_2_10, o) for o in OPTOUTS}
    assert got == {
        "c_ret_edge": {2: {"app_open": 1, "purchase": 1}, 10: {"app_open": 1, "purchase": 1}},
        "c_ret_names": {2: {"app_open": 3}, 10: {"app_open": 3, "view_item": 1}},
        "c_ret_quiet": {10: {"app_open": 1}},
        "c_ret_quiet2": {},
        "c_ret_late": {},
    }
    assert query(
        wh_2_10, "select distinct window_days from marts.fct_last_events_retain_churn order by 1"
    ) == [(2,), (10,)]
