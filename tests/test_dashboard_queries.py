"""The dashboard's queries (orchestration.dashboard.queries), hand-computed on a
small landing zone built once, with the build's as_of = 2024-04-05T00:00:00Z.

The page's as-of date is D = 2024-03-31 (2024 is a leap year):
last_week = 03-25 .. 03-31 (previous 03-18 .. 03-24), last_month = 03-02 .. 03-31
(previous 02-01 .. 03-01), last_year = 2023-04-02 .. 2024-03-31.

Consent (source app_settings unless said otherwise):

    opted in 2024-01-10T09:00Z: u1 push, u2 push, u3 email, u5 push, u6 push, u7 email
    opt-outs: o_u11 u11 push 02-15T12:00   o_u8  u8 sms    03-17T23:59:59
              o_u7  u7 email 03-18T00:00   o_u6  u6 push   03-24T23:59:59
              o_u1  u1 push 03-25T00:00    o_u3e u3 email  03-28T10:00
              o_u4  u4 all  03-28T11:00    o_u3p u3 push   03-29T00:00
              o_u2  u2 push 03-31T23:59:59 o_u5  u5 push   04-01T00:00
    opt-in u9 push 03-26T08:00; import u10 push opted_out 03-27T12:00 (neither)

agg_optouts_daily rows (optouts, optins, opted_in_users_at_start -> optout_rate),
the denominator being the users opted in on the channel at 00:00 of the date:

    01-10 push  (0, 4, 0 -> null)   01-10 email (0, 2, 0 -> null)
    02-15 push  (1, 0, 4: u1 u2 u5 u6)       03-17 sms   (1, 0, 0 -> null)
    03-18 email (1, 0, 2: u3 u7)             03-24 push  (1, 0, 4: u1 u2 u5 u6)
    03-25 push  (1, 0, 3: u1 u2 u5)          03-26 push  (0, 1, 2: u2 u5)
    03-28 email (1, 0, 1: u3)                03-28 all   (1, 0, 4: u2 u5 u9 on push, u3)
    03-29 push  (1, 0, 3: u2 u5 u9)          03-31 push  (1, 0, 3: u2 u5 u9)
    04-01 push  (1, 0, 2: u5 u9)

Subscriptions at risk (agg_optout_pressure) in the last week, per day 03-25 .. 03-31, with
push sends in the 7 days before in brackets:

    push   u1 [10] (25, opts out); u2 [0, 2, 4, 6, 8, 10, 12] (25 .. 31, opts out 31);
           u5 [0] all week; u9 [0] from 27; u3 [1] on 28 and 29 (no push record: reached
           by the push of 03-27; opts out 29)  -> 3 2 3 4 4 3 3 = 22 user-days, 3 opt-outs
    email  u3 25 .. 28 (opts out 28); u1 all week (no email record, reached by the email
           of 03-20)                          -> 2 2 2 2 1 1 1 = 11 user-days, 1 opt-out
    previous week (03-18 .. 03-24): push u1 u2 u5 u6 (opts out 24) = 28 user-days, 1
           opt-out; email u3 x 7, u7 on 18 (opts out), u1 from 21 = 12 user-days, 1 opt-out

u4 (`all`), u8, u10 and u11 never had a record or a send: never at risk. The period rate is
opt-outs x days / user-days, the average daily rate opt-outs / user-days.

Campaigns on sends: cT (unknown, u1's transactional pushes of 03-18 .. 03-24), cA (u2's 12
pushes), cC (u6's 2). o_u1 is attributed to cT (its push of 03-24 12:00, 12 h before);
every other opt-out lacks a delivered send in the 24 h before.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil

import duckdb
import pandas as pd
import pytest
from conftest import build, query, settings_for, write_landing_zone

from orchestration.dashboard import queries as q
from orchestration.exports import write_export
from orchestration.ranges import DateRange

AS_OF = "2024-03-31"
BUILD_AS_OF = "2024-04-05T00:00:00Z"


def change(change_id, user_id, channel, changed_at, status="opted_out", source="app_settings"):
    return {
        "change_id": change_id,
        "user_id": user_id,
        "channel": channel,
        "status": status,
        "changed_at": changed_at,
        "source": source,
    }


def send(
    send_id,
    user_id,
    sent_at,
    category="marketing",
    channel="push",
    status="delivered",
    campaign=None,
):
    return {
        "send_id": send_id,
        "user_id": user_id,
        "campaign_id": campaign,
        "channel": channel,
        "message_category": category,
        "sent_at": sent_at,
        "delivery_status": status,
    }


def interaction(interaction_id, user_id, campaign_id, occurred_at, kind="click"):
    return {
        "interaction_id": interaction_id,
        "user_id": user_id,
        "campaign_id": campaign_id,
        "channel": "push",
        "interaction_type": kind,
        "occurred_at": occurred_at,
    }


def event(event_id, user_id, name, occurred_at):
    return {
        "event_id": event_id,
        "user_id": user_id,
        "event_name": name,
        "occurred_at": occurred_at,
    }


OPTED_IN = "2024-01-10T09:00:00Z"
CONSENT = [
    change("i_u1", "u1", "push", OPTED_IN, "opted_in"),
    change("i_u2", "u2", "push", OPTED_IN, "opted_in"),
    change("i_u3", "u3", "email", OPTED_IN, "opted_in"),
    change("i_u5", "u5", "push", OPTED_IN, "opted_in"),
    change("i_u6", "u6", "push", OPTED_IN, "opted_in"),
    change("i_u7", "u7", "email", OPTED_IN, "opted_in"),
    change("o_u11", "u11", "push", "2024-02-15T12:00:00Z"),
    change("o_u8", "u8", "sms", "2024-03-17T23:59:59Z"),
    change("o_u7", "u7", "email", "2024-03-18T00:00:00Z"),
    change("o_u6", "u6", "push", "2024-03-24T23:59:59Z"),
    change("o_u1", "u1", "push", "2024-03-25T00:00:00Z"),
    change("i_u9", "u9", "push", "2024-03-26T08:00:00Z", "opted_in"),
    change("m_u10", "u10", "push", "2024-03-27T12:00:00Z", source="import"),
    change("o_u3e", "u3", "email", "2024-03-28T10:00:00Z"),
    change("o_u4", "u4", "all", "2024-03-28T11:00:00Z", source="inbound_keyword"),
    change("o_u3p", "u3", "push", "2024-03-29T00:00:00Z"),
    change("o_u2", "u2", "push", "2024-03-31T23:59:59Z"),
    change("o_u5", "u5", "push", "2024-04-01T00:00:00Z"),
]

# push_count_7d / marketing_push_count_7d:
#   o_u1 10 / 3 (10+ bucket; edge cases around it are not counted), o_u2 12 / 12,
#   o_u3e and o_u3p 1 / 0, o_u4 0 / 0, o_u6 2 / 2, o_u7 o_u8 o_u11 o_u5 0 / 0.
SENDS = (
    [send("s_u1_edge", "u1", "2024-03-18T00:00:00Z", "marketing")]  # exactly t - 7 x 24h
    + [send(f"s_u1_m{d}", "u1", f"2024-03-{d}T12:00:00Z", "marketing") for d in (19, 20)]
    + [
        send(f"s_u1_t{d}", "u1", f"2024-03-{d}T12:00:00Z", "transactional", campaign="cT")
        for d in range(18, 25)
    ]
    + [
        send("s_u1_at_t", "u1", "2024-03-25T00:00:00Z"),  # at the opt-out: not before it
        send("s_u1_early", "u1", "2024-03-17T23:59:59Z"),  # one second too early
        send("s_u1_failed", "u1", "2024-03-20T13:00:00Z", status="failed"),
        send("s_u1_email", "u1", "2024-03-20T14:00:00Z", channel="email"),
    ]
    + [
        send(f"s_u2_{i}", "u2", f"2024-03-{25 + i // 2}T{8 + i % 2:02d}:00:00Z", campaign="cA")
        for i in range(12)
    ]
    + [send("s_u3", "u3", "2024-03-27T12:00:00Z", "transactional")]
    + [send(f"s_u6_{d}", "u6", f"2024-03-{d}T12:00:00Z", campaign="cC") for d in (20, 21)]
)

CAMPAIGNS = [
    {"campaign_id": "cA", "campaign_name": "Spring Sale", "channel": "push",
     "message_category": "marketing"},
    {"campaign_id": "cB", "campaign_name": "Weekly Digest", "channel": "email",
     "message_category": "marketing"},
    {"campaign_id": "cC", "campaign_name": "Flash", "channel": "push",
     "message_category": "marketing"},
]  # fmt: skip

# Last campaign: o_u1 cB, o_u2 cA, o_u3e cA, o_u3p cA, o_u4 none, o_u6 cC,
# o_u7 cZ (not in campaigns: shown by its id), o_u8 none.
INTERACTIONS = [
    interaction("x1", "u1", "cA", "2024-03-20T10:00:00Z"),
    interaction("x2", "u1", "cB", "2024-03-24T10:00:00Z", "open"),
    interaction("x3", "u2", "cA", "2024-03-30T10:00:00Z", "open"),
    interaction("x4", "u3", "cA", "2024-03-27T10:00:00Z"),
    interaction("x5", "u3", "cB", "2024-03-30T10:00:00Z", "open"),  # after both opt-outs
    interaction("x6", "u4", "", "2024-03-27T10:00:00Z", "open"),  # no campaign
    interaction("x7", "u6", "cC", "2024-03-20T10:00:00Z"),
    interaction("x9", "u7", "cZ", "2024-03-10T10:00:00Z", "open"),
]

EVENTS = [
    event("e1", "u1", "app_open", "2024-03-24T12:00:00Z"),
    event("e2", "u1", "app_open", "2024-03-23T12:00:00Z"),
    event("e3", "u1", "purchase", "2024-03-20T12:00:00Z"),
    event("e4", "u1", "app_open", "2024-03-26T00:00:00Z"),  # after o_u1: exactly t + 1 day
    event("e5", "u2", "app_open", "2024-03-31T10:00:00Z"),
    event("e6", "u3", "view_item", "2024-03-27T09:00:00Z"),
    event("e7", "u3", "app_open", "2024-03-28T09:00:00Z"),
    event("e8", "u4", "app_open", "2024-03-28T10:30:00Z"),
    event("e9", "u4", "app_open", "2024-03-27T08:00:00Z"),
    event("e10", "u4", "view_item", "2024-03-26T12:00:00Z"),
    event("e11", "u4", "purchase", "2024-04-03T00:00:00Z"),  # after o_u4
]

USERS = [
    {"user_id": f"u{n}", "external_id": f"ext-{n}", "email": f"u{n}@example.com",
     "phone": f"+90555000{n:04d}", "first_name": f"First{n}", "last_name": f"Last{n}",
     "team_code": "T1", "updated_at": "2024-01-01T00:00:00Z"}
    for n in range(1, 12)
]  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("dashboard_queries"))
    write_landing_zone(
        settings.raw_dir,
        {
            "users": USERS,
            "campaigns": CAMPAIGNS,
            "sends": SENDS,
            "interactions": INTERACTIONS,
            "events": EVENTS,
            "consent_changes": CONSENT,
        },
    )
    build(settings, as_of=BUILD_AS_OF)
    return settings


@pytest.fixture(scope="module")
def wh(project):
    return project.warehouse


def test_fixture_rows_are_all_clean(wh):
    # A typo in a timestamp above would quarantine the row and skew every count.
    assert query(wh, "select sum(quarantined_rows) from marts.agg_load_reconciliation") == [(0,)]


def week():
    return q.period("last_week", as_of=AS_OF)


def between(start, end):
    return q.period("between", start=start, end=end)


# --- Periods -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("range_name", "current", "previous"),
    [
        ("last_week", ("2024-03-25", "2024-03-31"), ("2024-03-18", "2024-03-24")),
        ("last_month", ("2024-03-02", "2024-03-31"), ("2024-02-01", "2024-03-01")),
        ("last_year", ("2023-04-02", "2024-03-31"), ("2022-04-02", "2023-04-01")),
    ],
)
def test_presets_and_their_previous_period_of_equal_length(range_name, current, previous):
    period = q.period(range_name, as_of=AS_OF)
    dates = dt.date.fromisoformat
    assert (period.current.start, period.current.end) == tuple(map(dates, current))
    assert (period.previous.start, period.previous.end) == tuple(map(dates, previous))
    assert period.previous.end - period.previous.start == period.current.end - period.current.start


def test_between_previous_period_crosses_the_leap_day():
    period = between("2024-02-28", "2024-03-01")  # 3 days, 02-29 included
    assert period.days == 3
    assert (period.previous.start, period.previous.end) == (
        dt.date(2024, 2, 25),
        dt.date(2024, 2, 27),
    )


# --- Opt-out trend -------------------------------------------------------------


def test_last_week_trend_and_change_versus_previous_week(wh):
    summary = q.trend_summary(wh, week())
    assert summary == {
        "optouts": 5,  # o_u1 (start edge 00:00:00), o_u3e, o_u4, o_u3p, o_u2 (end edge 23:59:59)
        "optins": 1,  # u9; the import of u10 is neither
        "previous_optouts": 2,  # o_u7 (first instant), o_u6 (last second)
        "previous_optins": 0,
        "coverage": "full",
        "previous_coverage": "full",
        "data_first": dt.date(2024, 1, 10),
        "data_last": dt.date(2024, 4, 1),
        "change": 3,
        "change_pct": pytest.approx(150.0),
        # 4 opt-outs removed a subscription (not o_u4: never at risk) over 22 + 11 user-days
        "period_rate": pytest.approx(4 * 7 / 33),
        "avg_daily_rate": pytest.approx(4 / 33),
        "average_subscriptions": pytest.approx(33 / 7),
        "previous_period_rate": pytest.approx(2 * 7 / 40),
        "previous_avg_daily_rate": pytest.approx(2 / 40),
        "previous_average_subscriptions": pytest.approx(40 / 7),
        "rate_change": pytest.approx(4 * 7 / 33 - 2 * 7 / 40),
    }


def test_trend_of_one_channel(wh):
    push = q.trend_summary(wh, week(), "push")
    assert (push["optouts"], push["optins"], push["previous_optouts"]) == (3, 1, 1)
    assert push["period_rate"] == pytest.approx(3 * 7 / 22)
    assert push["avg_daily_rate"] == pytest.approx(3 / 22)
    assert push["previous_period_rate"] == pytest.approx(7 / 28)
    assert push["change_pct"] == pytest.approx(200.0)
    email = q.trend_summary(wh, week(), "email")
    assert (email["optouts"], email["previous_optouts"], email["change"]) == (1, 1, 0)
    assert email["change_pct"] == 0.0
    assert email["rate_change"] == pytest.approx(7 / 11 - 7 / 12)


def test_no_previous_optouts_gives_no_percentage_and_global_optouts_no_rate(wh):
    global_ = q.trend_summary(wh, week(), "all")
    assert (global_["optouts"], global_["previous_optouts"], global_["change"]) == (1, 0, 1)
    assert global_["change_pct"] is None
    # A global opt-out is no subscription of its own: its rate is in each channel's.
    assert (global_["period_rate"], global_["avg_daily_rate"], global_["rate_change"]) == (
        None,
        None,
        None,
    )


def test_an_optout_of_a_user_never_at_risk_counts_but_not_in_the_rate(wh):
    # 03-17 sms: u8 had no record and no send; 03-18 email: u7 was opted in.
    summary = q.trend_summary(wh, between("2024-03-17", "2024-03-18"))
    assert summary["optouts"] == 2
    # Push u1 u2 u5 u6 and email u3 u7 on both days: 12 user-days, 1 removal (o_u7).
    assert summary["period_rate"] == pytest.approx(1 * 2 / 12)
    assert (summary["previous_optouts"], summary["change"], summary["change_pct"]) == (0, 2, None)


@pytest.mark.parametrize(
    ("range_name", "optouts", "optins", "coverage", "previous", "change", "change_pct"),
    [
        # previous month: o_u11 on 02-15
        ("last_month", 8, 1, ("full", "full"), 1, 7, 700.0),
        # the 01-10 opt-ins are in; the year before has no data: nothing to compare with
        ("last_year", 9, 7, ("partial", "none"), 0, None, None),
    ],
)
def test_longer_presets(wh, range_name, optouts, optins, coverage, previous, change, change_pct):
    summary = q.trend_summary(wh, q.period(range_name, as_of=AS_OF))
    assert (summary["optouts"], summary["optins"]) == (optouts, optins)
    assert (summary["coverage"], summary["previous_coverage"]) == coverage
    assert summary["previous_optouts"] == previous
    assert summary["change"] == change
    assert summary["change_pct"] == (None if change_pct is None else pytest.approx(change_pct))
    if change is None:
        assert summary["rate_change"] is None


def test_data_span_and_coverage(wh):
    span = q.data_span(wh)
    assert span == {"first": dt.date(2024, 1, 10), "last": dt.date(2024, 4, 1)}
    assert q.coverage(span, between("2024-01-10", "2024-04-01").current) == "full"
    assert q.coverage(span, between("2024-01-09", "2024-01-10").current) == "partial"
    assert q.coverage(span, between("2024-04-01", "2024-04-02").current) == "partial"
    assert q.coverage(span, between("2024-01-01", "2024-01-09").current) == "none"
    assert q.coverage(span, between("2024-04-02", "2024-04-09").current) == "none"


def test_optouts_by_day_are_the_mart_rows_of_the_period(wh):
    rows = q.optouts_by_day(wh, week().current)
    got = [(r.date.isoformat(), r.channel, r.optouts, r.optins) for r in rows.itertuples()]
    assert got == [
        ("2024-03-25", "push", 1, 0),
        ("2024-03-26", "push", 0, 1),
        ("2024-03-28", "all", 1, 0),
        ("2024-03-28", "email", 1, 0),
        ("2024-03-29", "push", 1, 0),
        ("2024-03-31", "push", 1, 0),
    ]
    assert list(q.optouts_by_day(wh, week().current, "email")["optouts"]) == [1]


def test_weekly_rows_start_on_monday(wh):
    # 03-25 is a Monday: the whole week is one bucket; 03-17 (a Sunday) is the week before.
    rows = q.optouts_by_day(wh, between("2024-03-17", "2024-03-31").current, grain="week")
    got = [(r.date.isoformat(), r.channel, r.optouts, r.optins) for r in rows.itertuples()]
    assert got == [
        ("2024-03-11", "sms", 1, 0),
        ("2024-03-18", "email", 1, 0),
        ("2024-03-18", "push", 1, 0),
        ("2024-03-25", "all", 1, 0),
        ("2024-03-25", "email", 1, 0),
        ("2024-03-25", "push", 3, 1),
    ]
    rates = q.rate_by_day(wh, week().current, "push", grain="week")
    assert [(r.date.isoformat(), r.user_days, r.optouts) for r in rates.itertuples()] == [
        ("2024-03-25", 22, 3)
    ]
    assert q.chart_grain(week().current) == "day"
    assert q.chart_grain(q.period("last_year", as_of=AS_OF).current) == "week"
    assert q.chart_grain(between("2024-01-01", "2024-04-01").current) == "day"  # 92 days
    assert q.chart_grain(between("2024-01-01", "2024-04-02").current) == "week"  # 93 days


def test_daily_rate_is_optouts_per_user_day(wh):
    push = q.rate_by_day(wh, week().current, "push")
    got = {r.date.isoformat(): (r.user_days, r.optouts) for r in push.itertuples()}
    assert got == {
        "2024-03-25": (3, 1),
        "2024-03-26": (2, 0),
        "2024-03-27": (3, 0),
        "2024-03-28": (4, 0),
        "2024-03-29": (4, 1),
        "2024-03-30": (3, 0),
        "2024-03-31": (3, 1),
    }
    assert list(push["optout_rate"]) == [pytest.approx(o / u) for u, o in got.values()]
    combined = q.rate_by_day(wh, week().current)
    assert [(r.user_days, r.optouts) for r in combined.itertuples()] == [
        (5, 1), (4, 0), (5, 0), (6, 1), (5, 1), (4, 0), (4, 1)
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not a subscription"):
        q.rate_by_day(wh, week().current, "all")


def test_trend_by_channel_with_previous_week(wh):
    rows = q.trend_by_channel(wh, week())
    got = [
        (r.channel, r.optouts, r.previous_optouts, r.change, r.optins) for r in rows.itertuples()
    ]
    assert got == [("push", 3, 1, 2, 1), ("all", 1, 0, 1, 0), ("email", 1, 1, 0, 0)]
    rates = list(rows["avg_daily_rate"])
    assert rates[0] == pytest.approx(3 / 22)
    assert pd.isna(rates[1])  # `all`: no subscription of its own
    assert rates[2] == pytest.approx(1 / 11)


def test_a_channel_only_in_the_previous_period_is_listed_with_zero(wh):
    rows = q.trend_by_channel(wh, between("2024-03-25", "2024-03-25"))  # previous: 03-24
    got = {r.channel: (r.optouts, r.previous_optouts, r.change) for r in rows.itertuples()}
    assert got == {"push": (1, 1, 0)}
    rows = q.trend_by_channel(wh, between("2024-03-19", "2024-03-19"))  # previous: 03-18
    got = {r.channel: (r.optouts, r.previous_optouts, r.change) for r in rows.itertuples()}
    assert got == {"email": (0, 1, -1)}
    assert list(rows["avg_daily_rate"]) == [0.0]  # u3 subscribed, nobody left


# --- Push messages before opt-out -------------------------------------------------


def histogram(frame):
    return {bucket: n for bucket, n in zip(frame["bucket"], frame["optouts"], strict=True) if n}


def test_push_histogram_has_every_bucket_and_caps_at_10_plus(wh):
    frame = q.push_histogram(wh, week().current)
    assert list(frame["bucket"]) == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10+"]
    # o_u1 has exactly 10 (the send at t - 7 x 24h counts; at t, 1 s too early,
    # failed and email do not), o_u2 has 12: both in 10+.
    assert histogram(frame) == {"0": 1, "1": 2, "10+": 2}
    assert frame["optouts"].sum() == 5


def test_push_histogram_marketing_only(wh):
    frame = q.push_histogram(wh, week().current, marketing_only=True)
    assert histogram(frame) == {"0": 3, "3": 1, "10+": 1}


def test_push_histogram_follows_the_period(wh):
    assert histogram(q.push_histogram(wh, between("2024-03-28", "2024-03-28").current)) == {
        "0": 1,
        "1": 1,
    }
    month = q.period("last_month", as_of=AS_OF).current
    assert histogram(q.push_histogram(wh, month)) == {"0": 3, "1": 2, "2": 1, "10+": 2}
    nothing = q.push_histogram(wh, between("2023-01-01", "2023-01-31").current)
    assert list(nothing["optouts"]) == [0] * 11


# --- Pressure: the opt-out rate per user-day by sends in the 7 days before ------------


def test_pressure_curve_of_the_week(wh):
    curve = q.pressure_curve(wh, week().current, "push")
    assert list(curve["bucket"]) == ["0", "1–2", "3–5", "6–10", "11–20", "21+"]
    # 0: u5 x 7, u9 x 5, u2 on 25; 1-2: u2 on 26 (2), u3 on 28 and 29 (1, opts out);
    # 3-5: u2 on 27; 6-10: u1 on 25 (10, opts out), u2 on 28 29 30; 11-20: u2 on 31.
    assert list(curve["user_days"]) == [13, 3, 1, 4, 1, 0]
    assert list(curve["optouts"]) == [0, 1, 0, 1, 1, 0]
    assert list(curve["per_1k"][:5]) == [0.0, pytest.approx(1000 / 3), 0.0, 250.0, 1000.0]
    assert pd.isna(curve["per_1k"].iloc[5])  # no user-days: no rate
    email = q.pressure_curve(wh, week().current, "email")
    # u1 had the email of 03-20 in its 7 days on 25 26 27, none after; u3 none.
    assert list(email["user_days"]) == [8, 3, 0, 0, 0, 0]
    assert list(email["optouts"]) == [1, 0, 0, 0, 0, 0]


# --- Campaigns: attributed opt-outs per 1,000 deliveries -----------------------------


def ranking(frame):
    return [
        (r.campaign_id, r.campaign, r.deliveries, r.attributed_optouts) for r in frame.itertuples()
    ]


def test_campaign_ranking_by_rate_with_a_delivery_in_the_period(wh):
    month = q.period("last_month", as_of=AS_OF).current
    rows = q.campaign_ranking(wh, month, min_deliveries=0)
    # cT: 1 of 7 (142.9 per 1,000), then the 0-rates by deliveries: cA 12, cC 2.
    assert ranking(rows) == [
        ("cT", "cT", 7, 1),
        ("cA", "Spring Sale", 12, 0),
        ("cC", "Flash", 2, 0),
    ]
    cT = rows.iloc[0]
    assert (cT["channel"], cT["message_category"]) == ("push", "transactional")
    assert cT["per_1k"] == pytest.approx(1000 / 7)
    assert cT["baseline_per_1k"] == pytest.approx(1000 / 21)  # 1 of the channel's 21
    assert cT["lift"] == pytest.approx(3.0)
    assert ranking(q.campaign_ranking(wh, month, min_deliveries=5)) == [
        ("cT", "cT", 7, 1),
        ("cA", "Spring Sale", 12, 0),
    ]
    # The last week: only cA delivered in it (cT and cC sent before 03-25).
    assert ranking(q.campaign_ranking(wh, week().current, min_deliveries=0)) == [
        ("cA", "Spring Sale", 12, 0)
    ]
    assert list(q.campaign_ranking(wh, month, min_deliveries=0, limit=1)["campaign_id"]) == ["cT"]


def test_default_min_deliveries(wh):
    # 21 deliveries per attributed opt-out on average: rounded up to a hundred, at least 100.
    assert q.default_min_deliveries(wh) == 100


def test_attribution_totals_and_windows(wh):
    assert q.attribution_totals(wh, week().current) == {
        "optouts": 5,
        "attributed": 1,  # o_u1 -> cT
        "unattributed": 4,
    }
    assert q.attribution_windows(wh) == {"email": 120, "push": 24}  # channels of campaigns


# --- Alerts, reasons, keywords, compliance -------------------------------------------------


def test_no_alert_on_a_quiet_warehouse(wh):
    assert q.alerts(wh, q.period("last_year", as_of=AS_OF).current).empty
    day, flagged = q.latest_day_alerts(wh, through=dt.date(2024, 3, 31))
    assert (day, flagged.empty) == (dt.date(2024, 3, 31), True)
    # The latest complete day never lies after the data.
    assert q.latest_complete_day(wh, through=dt.date(2024, 5, 1)) == dt.date(2024, 4, 1)


def test_reasons_keywords_and_compliance(wh):
    assert q.optout_reasons(wh, week().current).empty  # no opt-out here gave a reason
    keywords = q.optout_keywords(wh, week().current)
    assert list(keywords.itertuples(index=False, name=None)) == [("none", 5)]
    # u1's marketing push at the instant of its opt-out (03-25 00:00) is a send after it.
    compliance = q.compliance_by_campaign(wh)
    assert list(compliance.itertuples(index=False, name=None)) == [("(no campaign)", 1, 0, 1)]


# --- Retention windows that have closed ----------------------------------------------------


def test_retention_window_status(wh):
    status = q.retention_window_status(wh, week().current)
    # as_of 04-05: o_u2 (03-31 23:59:59) is pending from W7; o_u3e, o_u3p and o_u2 from W14
    # (u1 and u4 are retained, known at once).
    assert list(status.itertuples(index=False, name=None)) == [
        (1, 5, 0),
        (3, 5, 0),
        (7, 5, 1),
        (14, 5, 3),
        (30, 5, 3),
    ]
    empty = q.retention_window_status(wh, between("2023-01-01", "2023-01-31").current)
    assert list(empty["optouts"]) == [0] * 5


# --- Last campaigns --------------------------------------------------------------


def test_last_campaigns_count_distinct_users_and_optouts(wh):
    rows = q.last_campaigns(wh, week().current)
    got = [(r.campaign_id, r.campaign, r.users, r.optouts) for r in rows.itertuples()]
    # u3's two opt-outs both follow cA: 2 users, 3 opt-outs.
    assert got == [("cA", "Spring Sale", 2, 3), ("cB", "Weekly Digest", 1, 1)]
    assert q.last_campaign_totals(wh, week().current) == {
        "optouts": 5,
        "with_campaign": 4,
        "without_campaign": 1,  # o_u4: its only interaction has no campaign
        "campaigns": 2,
    }


def test_last_campaigns_ties_unknown_campaign_and_limit(wh):
    month = q.period("last_month", as_of=AS_OF).current
    rows = q.last_campaigns(wh, month)
    got = [(r.campaign_id, r.campaign, r.users, r.optouts) for r in rows.itertuples()]
    assert got == [
        ("cA", "Spring Sale", 2, 3),
        ("cB", "Weekly Digest", 1, 1),
        ("cC", "Flash", 1, 1),
        ("cZ", "cZ", 1, 1),  # unknown campaign: its id
    ]
    assert list(q.last_campaigns(wh, month, limit=2)["campaign_id"]) == ["cA", "cB"]
    assert q.last_campaign_totals(wh, month)["without_campaign"] == 2  # o_u4, o_u8


# --- Last events: retained vs churned ------------------------------------------------


def test_retention_windows_are_the_builds(wh):
    assert q.retention_windows(wh) == [1, 3, 7, 14, 30]


def counts(frame):
    return {r.retention_status: (r.users, r.optouts) for r in frame.itertuples()}


def test_retain_churn_pending_counts_7_days(wh):
    # retain: u1 (event 1 day after), u4 (purchase 6 days after); churn: u3's two
    # opt-outs (o_u3p: t + 7 days == as_of exactly); pending: u2 (t + 7 days > as_of).
    assert counts(q.retention_counts(wh, week().current, 7)) == {
        "retain": (2, 2),
        "churn": (1, 2),
        "pending": (1, 1),
    }


def test_retain_churn_pending_counts_1_and_30_days(wh):
    assert counts(q.retention_counts(wh, week().current, 1)) == {
        "retain": (1, 1),  # u1: the event exactly t + 1 day is inside (t, t + 1 day]
        "churn": (3, 4),
        "pending": (0, 0),
    }
    assert counts(q.retention_counts(wh, week().current, 30)) == {
        "retain": (2, 2),
        "churn": (0, 0),
        "pending": (2, 3),
    }


def events(frame):
    return [(r.event_name, r.retain, r.churn) for r in frame.itertuples()]


def test_last_events_total_event_vs_unique_user_7_days(wh):
    # Before the opt-out, 7 days: o_u1 app_open x2 + purchase, o_u4 app_open x2 +
    # view_item (retain); o_u3e and o_u3p app_open + view_item each (churn);
    # o_u2 app_open (pending: left out).
    assert events(q.last_events(wh, week().current, 7, "total")) == [
        ("app_open", 4, 2),
        ("view_item", 1, 2),
        ("purchase", 1, 0),
    ]
    assert events(q.last_events(wh, week().current, 7, "unique")) == [
        ("app_open", 2, 1),
        ("view_item", 1, 1),
        ("purchase", 1, 0),
    ]


def test_last_events_1_day_window(wh):
    assert events(q.last_events(wh, week().current, 1, "total")) == [("app_open", 1, 4)]
    assert events(q.last_events(wh, week().current, 1, "unique")) == [("app_open", 1, 3)]


def test_last_events_follow_the_period(wh):
    day = between("2024-03-28", "2024-03-28").current  # o_u3e (churn), o_u4 (retain)
    assert events(q.last_events(wh, day, 7, "total")) == [
        ("app_open", 2, 1),
        ("view_item", 1, 1),
    ]
    with pytest.raises(ValueError, match="measure"):
        q.last_events(wh, day, 7, "sum")


# --- Export, span and read-only access -----------------------------------------------


@pytest.mark.parametrize("kind", ["users", "status_changes", "suppression"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_file_is_exactly_write_exports_file(project, tmp_path, kind, fmt):
    rng = week().current if kind != "suppression" else None
    name, data = q.export_file(project.warehouse, rng, fmt, kind=kind)
    other = type(project)(project.raw_dir, project.warehouse, tmp_path)
    written = write_export(other, kind, rng, fmt)
    assert name == written.path.name == q.export_file_name(rng, fmt, kind)
    assert data == written.path.read_bytes()
    if kind == "users":
        assert name == f"optout_users_last_week_2024-03-25_2024-03-31.{fmt}"
    if kind == "users" and fmt == "csv":
        lines = data.decode().splitlines()
        assert [line.split(",")[0] for line in lines[1:]] == ["u1", "u2", "u3", "u4"]


def test_export_kinds_are_the_exports(wh):
    assert [kind.name for kind in q.export_kinds()] == ["users", "status_changes", "suppression"]


def test_opted_out_users_are_the_users_export_rows(project, tmp_path):
    users = q.opted_out_users(project.warehouse, week().current)
    written = write_export(type(project)(project.raw_dir, project.warehouse, tmp_path), "users",
                           week().current)  # fmt: skip
    lines = written.path.read_text().splitlines()
    assert ",".join(users.columns) == lines[0]
    assert list(users["user_id"]) == ["u1", "u2", "u3", "u4"]
    assert users.iloc[0]["first_opted_out_at"] == "2024-03-25T00:00:00Z"


def test_optout_span(wh):
    assert q.optout_span(wh) == {
        "first": dt.date(2024, 2, 15),
        "last": dt.date(2024, 4, 1),
        "optouts": 10,
    }


def test_no_connection_is_left_open_and_a_replaced_file_is_seen(wh, tmp_path):
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(wh, copy)
    assert q.trend_summary(copy, week())["optouts"] == 5
    # A read-write connection in this process fails while any connection to the
    # file is still open (DuckDB refuses a second configuration).
    duckdb.connect(os.fspath(copy)).close()
    # A build publishes with os.replace: the next query reads the new file.
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(os.fspath(empty)).close()
    os.replace(empty, copy)
    with pytest.raises(q.WarehouseUnavailable, match="no marts yet"):
        q.trend_summary(copy, week())
    shutil.copyfile(wh, tmp_path / "next.duckdb")
    os.replace(tmp_path / "next.duckdb", copy)
    assert q.trend_summary(copy, week())["optouts"] == 5


def test_missing_warehouse_says_to_build(tmp_path):
    with pytest.raises(q.WarehouseUnavailable, match="run `optout build` first"):
        q.retention_windows(tmp_path / "nope.duckdb")


def test_date_range_objects_are_the_exports(wh):
    # The presets are resolve_range's: the export of a period covers the same dates.
    assert week().current == DateRange("last_week", dt.date(2024, 3, 25), dt.date(2024, 3, 31))
