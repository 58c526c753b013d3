"""The marts that answer "why": agg_optout_pressure, fct_optout_attribution,
agg_campaign_optouts and agg_optout_alerts, hand-computed on one landing zone
(2024, a leap year) built once.

Pressure (push unless said; delivered sends; "level" = sends in the 7 x 24h before
the day's 00:00 UTC):

    p1  push opted in 03-01 08:00; pushes 03-02 23:59:59, 03-03 00:00:00, 03-09 23:59:59
        (and a failed one); opts out 03-10 15:00. On 03-10 the send of 03-03 00:00:00 is
        exactly 7 x 24h before 00:00 (in), the one a second earlier is out: level 2.
    p2  push and email opted in 03-01 09:00, sms opted out by import; `all` opt-out 03-12
        10:00: an opt-out on push and on email, not sms (never at risk there).
    p3  no consent record; pushes 03-05 and 03-06: reached from 03-06; opts out 03-14
        09:00 (its first record): at risk that day, at level 0.
    p4  no record, no send, opts out 03-08: never at risk, never counted.
    p5  opted in at exactly 03-10 00:00:00: at risk from 03-11.
    p6  opted in 03-11 08:00 and out at 20:00: never at risk at a 00:00.
    p7  imported opted in 03-01 00:05, imported opted out 03-13 00:10: at risk
        03-02 .. 03-13, and the import is no opt-out.
    p8  email opted in 03-16 12:00 (the last day): not at risk yet.

Attribution, opt-outs on 02-09 12:00 (window: 24 h push/sms/whatsapp, 120 h email):

    a1  push cA exactly 24 h before (in), cB 1 s earlier (out), a failed cB after,
        a whatsapp send of the unknown campaign cX: cA.
    a2  push cB 1 s before the window: unattributed.
    a3  two pushes at the same instant, send ids "9" (cB) and "10" (cA): "10" wins.
    a4  email opt-out, email cE exactly 120 h before: cE (a whatsapp cX send ignored).
    a5  `all`: push cA 26 h before (out), email cE 72 h before (in), sms cS1 at the
        opt-out's instant (not before): cE.
    a6  push without a campaign 1 h before, push cA 3 h before: the latest send decides,
        unattributed.

Alerts: daily opt-outs of users without records or sends from 01-15 (day 0) to 03-16:
whatsapp 2 a day (20 on day 2, too early to judge); sms 1 and 3 alternately (mean 2,
median 2, MAD 1) with blasts of 40 on 02-24 (11 of them after sms campaigns cS1..cS4)
and 20 on 03-05 (the first blast still in its baseline).
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from conftest import build, query, query_dicts, query_state, settings_for, write_landing_zone

START = dt.date(2024, 1, 15)  # day 0 of the alert series
LAST = dt.date(2024, 3, 16)  # the last day of data
SMS_BLASTS = {dt.date(2024, 2, 24): 40, dt.date(2024, 3, 5): 20}
WHATSAPP_EARLY = dt.date(2024, 1, 17)


def change(change_id, user_id, channel, at, status="opted_out", source="app_settings"):
    return {
        "change_id": change_id,
        "user_id": user_id,
        "channel": channel,
        "status": status,
        "changed_at": at,
        "source": source,
    }


def send(send_id, user_id, channel, at, campaign=None, status="delivered", category="marketing"):
    return {
        "send_id": send_id,
        "user_id": user_id,
        "campaign_id": campaign,
        "channel": channel,
        "message_category": category,
        "sent_at": at,
        "delivery_status": status,
    }


CAMPAIGNS = [
    {"campaign_id": "cA", "campaign_name": "Push Sale", "channel": "push",
     "message_category": "marketing"},
    {"campaign_id": "cB", "campaign_name": "Push Digest", "channel": "push",
     "message_category": "marketing"},
    {"campaign_id": "cT", "campaign_name": "Order Updates", "channel": "push",
     "message_category": "transactional"},
    {"campaign_id": "cE", "campaign_name": "Email Weekly", "channel": "email",
     "message_category": "marketing"},
    {"campaign_id": "cZ", "campaign_name": "Never Sent", "channel": "email",
     "message_category": "marketing"},
    {"campaign_id": "cS1", "campaign_name": "SMS Blast", "channel": "sms",
     "message_category": "marketing"},
    {"campaign_id": "cS2", "campaign_name": "SMS Promo", "channel": "sms",
     "message_category": "marketing"},
    {"campaign_id": "cS3", "campaign_name": "SMS Tips", "channel": "sms",
     "message_category": "marketing"},
    {"campaign_id": "cS4", "campaign_name": "SMS News", "channel": "sms",
     "message_category": "marketing"},
]  # fmt: skip

PRESSURE_CHANGES = [
    change("p1_in", "p1", "push", "2024-03-01T08:00:00Z", "opted_in"),
    change("p1_out", "p1", "push", "2024-03-10T15:00:00Z"),
    change("p2_in_push", "p2", "push", "2024-03-01T09:00:00Z", "opted_in"),
    change("p2_in_email", "p2", "email", "2024-03-01T09:00:00Z", "opted_in"),
    change("p2_sms", "p2", "sms", "2024-03-01T09:00:00Z", source="import"),
    change("p2_all", "p2", "all", "2024-03-12T10:00:00Z", source="inbound_keyword"),
    change("p3_out", "p3", "push", "2024-03-14T09:00:00Z"),
    change("p4_out", "p4", "push", "2024-03-08T10:00:00Z"),
    change("p5_in", "p5", "push", "2024-03-10T00:00:00Z", "opted_in"),
    change("p6_in", "p6", "push", "2024-03-11T08:00:00Z", "opted_in"),
    change("p6_out", "p6", "push", "2024-03-11T20:00:00Z"),
    change("p7_in", "p7", "push", "2024-03-01T00:05:00Z", "opted_in", source="import"),
    change("p7_out", "p7", "push", "2024-03-13T00:10:00Z", source="import"),
    change("p8_in", "p8", "email", "2024-03-16T12:00:00Z", "opted_in"),
]
PRESSURE_SENDS = [
    send("s_p1_early", "p1", "push", "2024-03-02T23:59:59Z", "cT", category="transactional"),
    send("s_p1_edge", "p1", "push", "2024-03-03T00:00:00Z", "cT", category="transactional"),
    send("s_p1_late", "p1", "push", "2024-03-09T23:59:59Z", "cT", category="transactional"),
    send("s_p1_failed", "p1", "push", "2024-03-05T12:00:00Z", "cT", "failed", "transactional"),
    send("s_p3_a", "p3", "push", "2024-03-05T10:00:00Z", "cT", category="transactional"),
    send("s_p3_b", "p3", "push", "2024-03-06T10:00:00Z", "cT", category="transactional"),
]

OPTOUT_AT = "2024-02-09T12:00:00Z"
ATTRIBUTION_CHANGES = [
    change("a1_out", "a1", "push", OPTOUT_AT),
    change("a2_out", "a2", "push", OPTOUT_AT),
    change("a3_out", "a3", "push", OPTOUT_AT),
    change("a4_out", "a4", "email", OPTOUT_AT),
    change("a5_out", "a5", "all", OPTOUT_AT),
    change("a6_out", "a6", "push", OPTOUT_AT),
]
ATTRIBUTION_SENDS = [
    send("x_a1_in", "a1", "push", "2024-02-08T12:00:00Z", "cA"),
    send("x_a1_out", "a1", "push", "2024-02-08T11:59:59Z", "cB"),
    send("x_a1_failed", "a1", "push", "2024-02-09T11:00:00Z", "cB", "failed"),
    send("x_a1_wa", "a1", "whatsapp", "2024-02-09T11:00:00Z", "cX"),
    send("x_a2_out", "a2", "push", "2024-02-08T11:59:59Z", "cB"),
    send("9", "a3", "push", "2024-02-09T06:00:00Z", "cB"),
    send("10", "a3", "push", "2024-02-09T06:00:00Z", "cA"),
    send("x_a4_in", "a4", "email", "2024-02-04T12:00:00Z", "cE"),
    send("x_a4_wa", "a4", "whatsapp", "2024-02-09T10:00:00Z", "cX"),
    send("x_a5_push", "a5", "push", "2024-02-08T10:00:00Z", "cA"),
    send("x_a5_email", "a5", "email", "2024-02-06T12:00:00Z", "cE"),
    send("x_a5_sms", "a5", "sms", OPTOUT_AT, "cS1"),
    send("x_a6_none", "a6", "push", "2024-02-09T11:00:00Z"),
    send("x_a6_ca", "a6", "push", "2024-02-09T09:00:00Z", "cA"),
]


def alert_counts(channel: str) -> dict[dt.date, int]:
    days = (LAST - START).days + 1
    if channel == "whatsapp":
        counts = {START + dt.timedelta(days=i): 2 for i in range(days)}
        counts[WHATSAPP_EARLY] = 20
    else:
        counts = {START + dt.timedelta(days=i): 1 if i % 2 == 0 else 3 for i in range(days)}
        counts.update(SMS_BLASTS)
    return counts


# On the first sms blast 11 of the 20 users had an sms of these campaigns at 08:00.
BLAST_CAMPAIGNS = ["cS1"] * 5 + ["cS2"] * 3 + ["cS3"] * 2 + ["cS4"]


def alert_rows() -> tuple[list[dict], list[dict]]:
    changes, sends = [], []
    for channel in ("whatsapp", "sms"):
        for day, n in alert_counts(channel).items():
            for k in range(n):
                user = f"n_{channel}_{day:%m%d}_{k}"
                at = f"{day}T10:{k:02d}:00Z"
                changes.append(change(f"{user}_out", user, channel, at, source="inbound_keyword"))
                if channel == "sms" and day == min(SMS_BLASTS) and k < len(BLAST_CAMPAIGNS):
                    sends.append(send(f"{user}_s", user, "sms", f"{day}T08:00:00Z",
                                      BLAST_CAMPAIGNS[k]))  # fmt: skip
    return changes, sends


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("marts_why"))
    noise_changes, noise_sends = alert_rows()
    write_landing_zone(
        settings.raw_dir,
        {
            "campaigns": CAMPAIGNS,
            "consent_changes": PRESSURE_CHANGES + ATTRIBUTION_CHANGES + noise_changes,
            "sends": PRESSURE_SENDS + ATTRIBUTION_SENDS + noise_sends,
        },
    )
    return build(settings)


def test_fixture_rows_are_all_clean(wh):
    assert query(wh, "select sum(quarantined_rows) from marts.agg_load_reconciliation") == [(0,)]
    assert query_state(
        wh, "select min(date_day), max(date_day) from intermediate.int_calendar"
    ) == [(START, LAST)]


# --- agg_optout_pressure -------------------------------------------------------------


def days(first: str, last: str) -> list[dt.date]:
    a, b = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


def table(*spans) -> dict:
    """{(date, sends_7d): (user_days, optouts)} from (first, last, sends_7d, user_days)
    spans and (date, sends_7d, user_days, optouts) rows."""
    rows = {}
    for span in spans:
        if len(span) == 4 and isinstance(span[0], str) and isinstance(span[1], str):
            first, last, level, users = span
            for day in days(first, last):
                rows[(day, level)] = (users, 0)
        else:
            day, level, users, optouts = span
            rows[(dt.date.fromisoformat(day), level)] = (users, optouts)
    return rows


EXPECTED_PRESSURE = {
    "push": table(
        # February: a1 (level 2: the pushes of 02-08 11:59:59 and 12:00), a2 and a5
        # (level 1), reached on 02-08, opt out on 02-09; a3 and a6 were first reached
        # on the day they opted out.
        ("2024-02-09", 1, 2, 2),
        ("2024-02-09", 2, 1, 1),
        # March: p1, p2, p7 from 03-02; p3 reached from 03-06; p5 from 03-11.
        ("2024-03-02", "2024-03-02", 0, 3),
        ("2024-03-03", "2024-03-03", 0, 2),
        ("2024-03-03", "2024-03-03", 1, 1),  # p1: the push of 03-02 23:59:59
        ("2024-03-04", "2024-03-05", 0, 2),
        ("2024-03-04", "2024-03-05", 2, 1),  # p1: + the push of 03-03 00:00:00
        ("2024-03-06", "2024-03-06", 0, 2),
        ("2024-03-06", "2024-03-06", 1, 1),  # p3
        ("2024-03-06", "2024-03-06", 2, 1),  # p1
        ("2024-03-07", "2024-03-09", 0, 2),
        ("2024-03-07", "2024-03-09", 2, 2),  # p1, p3
        ("2024-03-10", 0, 2, 0),  # p2, p7 (p5 opted in at 00:00 exactly: not yet)
        # p1: 03-02 23:59:59 is 1 s too early, 03-03 00:00:00 exactly 7 x 24h before
        # 03-10 00:00 counts, 03-09 23:59:59 counts; p1 opts out at 15:00.
        ("2024-03-10", 2, 2, 1),
        ("2024-03-11", "2024-03-11", 0, 3),  # p2, p5, p7 (p6 in and out on 03-11)
        ("2024-03-11", "2024-03-11", 2, 1),  # p3
        ("2024-03-12", 0, 3, 1),  # p2's `all` opt-out
        ("2024-03-12", 2, 1, 0),  # p3
        ("2024-03-13", "2024-03-13", 0, 2),  # p5, p7 (imported out at 00:10)
        ("2024-03-13", "2024-03-13", 1, 1),  # p3: the push of 03-05 has left
        ("2024-03-14", 0, 2, 1),  # p5, p3 opting out (its first consent record)
        ("2024-03-15", "2024-03-16", 0, 1),  # p5
    ),
    "email": table(
        ("2024-02-05", "2024-02-06", 1, 1),  # a4, reached by the email of 02-04
        ("2024-02-07", "2024-02-08", 1, 2),  # + a5, reached by the email of 02-06
        ("2024-02-09", 1, 2, 2),  # both opt out (a5 on `all`)
        ("2024-03-02", "2024-03-11", 0, 1),  # p2
        ("2024-03-12", 0, 1, 1),  # p2's `all` opt-out removes email too
    ),
    # p2 is opted out of sms by import; a5 and the blast users were first reached on
    # the day of their first record.
    "sms": {},
    # a1 and a4, reached by whatsapp on 02-09, never opted out of it.
    "whatsapp": table(("2024-02-10", "2024-02-16", 1, 2), ("2024-02-17", "2024-03-16", 0, 2)),
}


@pytest.mark.parametrize("channel", ["push", "email", "sms", "whatsapp"])
def test_pressure_rows(wh, channel):
    rows = query(
        wh,
        "select date, sends_7d, user_days, optouts from marts.agg_optout_pressure "
        "where channel = ? order by date, sends_7d",
        [channel],
    )
    got = {(day, level): (users, optouts) for day, level, users, optouts in rows}
    assert got == EXPECTED_PRESSURE[channel]


def test_pressure_counts_only_optouts_of_users_at_risk(wh):
    # Push opt-outs of the landing zone: a1 a2 a3 a6 (02-09), p4 (03-08), p1 (03-10),
    # p6 (03-11), p3 (03-14), plus the `all` opt-outs of a5 (02-09) and p2 (03-12).
    [(optouts,)] = query(
        wh, "select sum(optouts) from marts.agg_optout_pressure where channel = 'push'"
    )
    assert optouts == 6  # not a3, a6 (reached that day), p4 (never), p6 (not at 00:00)
    rate = query(
        wh,
        "select sum(optouts) * 1.0 / sum(user_days) from marts.agg_optout_pressure "
        "where channel = 'push' and sends_7d between 1 and 2",
    )[0][0]
    # Level 1-2 user-days: 3 on 02-09, then 1 + 2 + 2 + 6 + 2 + 1 + 1 + 1 from 03-03 to
    # 03-13; opt-outs among them: a1, a2, a5 and p1.
    assert rate == pytest.approx(4 / 19)


# --- fct_optout_attribution ------------------------------------------------------------


def test_attribution_window_edges_ties_and_channels(wh):
    rows = query_dicts(
        wh,
        "select optout_id, attributed_send_id, attributed_campaign_id, attributed_channel, "
        "is_attributed from marts.fct_optout_attribution where user_id like 'a%' "
        "order by optout_id",
    )
    got = {
        r["optout_id"]: (r["attributed_send_id"], r["attributed_campaign_id"], r["is_attributed"])
        for r in rows
    }
    assert got == {
        "a1_out": ("x_a1_in", "cA", True),  # exactly 24 h before: in
        "a2_out": (None, None, False),  # 24 h and 1 s before: out
        "a3_out": ("10", "cA", True),  # tie on sent_at: 10 > 9 as numbers
        "a4_out": ("x_a4_in", "cE", True),  # email: exactly 120 h before
        "a5_out": ("x_a5_email", "cE", True),  # `all`: any channel, each with its window
        "a6_out": ("x_a6_none", None, False),  # the latest send has no campaign
    }
    assert {r["optout_id"]: r["attributed_channel"] for r in rows}["a5_out"] == "email"


def test_attribution_of_the_pressure_users(wh):
    rows = query(
        wh,
        "select optout_id, attributed_campaign_id from marts.fct_optout_attribution "
        "where user_id like 'p%' order by optout_id",
    )
    # p1's push of 03-09 23:59:59 is 15 h before its opt-out; p3's are over 24 h old.
    assert rows == [
        ("p1_out", "cT"),
        ("p2_all", None),
        ("p3_out", None),
        ("p4_out", None),
        ("p6_out", None),
    ]


def test_every_optout_has_one_attribution_row(wh):
    assert query(
        wh,
        "select count(*), count(distinct optout_id) from marts.fct_optout_attribution",
    ) == query(wh, "select count(*), count(distinct optout_id) from marts.fct_optouts")


# --- agg_campaign_optouts ----------------------------------------------------------------


def test_campaign_rates_against_their_channel(wh):
    rows = query_dicts(wh, "select * from marts.agg_campaign_optouts order by campaign_id")
    got = {
        r["campaign_id"]: (
            r["campaign_name"],
            r["channel"],
            r["message_category"],
            r["attribution_window_hours"],
            r["deliveries"],
            r["recipients"],
            r["attributed_optouts"],
        )
        for r in rows
    }
    assert got == {
        # a1, a3, a5, a6 received cA; a1 and a3 are credited to it.
        "cA": ("Push Sale", "push", "marketing", 24, 4, 4, 2),
        "cB": ("Push Digest", "push", "marketing", 24, 3, 3, 0),  # the failed one is not
        "cT": ("Order Updates", "push", "transactional", 24, 5, 2, 1),  # p1
        "cE": ("Email Weekly", "email", "marketing", 120, 2, 2, 2),  # a4, a5
        "cZ": ("Never Sent", "email", "marketing", 120, 0, 0, 0),
        "cS1": ("SMS Blast", "sms", "marketing", 24, 6, 6, 5),  # a5's sms came too late
        "cS2": ("SMS Promo", "sms", "marketing", 24, 3, 3, 3),
        "cS3": ("SMS Tips", "sms", "marketing", 24, 2, 2, 2),
        "cS4": ("SMS News", "sms", "marketing", 24, 1, 1, 1),
        "cX": (None, "whatsapp", "marketing", 24, 2, 2, 0),  # only seen on sends
    }
    rates = {
        r["campaign_id"]: (
            r["optouts_per_1k_deliveries"],
            r["baseline_per_1k_deliveries"],
            r["lift"],
        )
        for r in rows
    }
    push, sms = 1000 * 3 / 12, 1000 * 11 / 12
    assert rates["cA"] == (pytest.approx(500.0), pytest.approx(push), pytest.approx(2.0))
    assert rates["cB"] == (0.0, pytest.approx(push), 0.0)
    assert rates["cT"] == (pytest.approx(200.0), pytest.approx(push), pytest.approx(0.8))
    assert rates["cE"] == (pytest.approx(1000.0), pytest.approx(1000.0), pytest.approx(1.0))
    assert rates["cZ"] == (None, pytest.approx(1000.0), None)  # no deliveries: no rate
    assert rates["cS1"] == (
        pytest.approx(5000 / 6),
        pytest.approx(sms),
        pytest.approx(5000 / 6 / sms),
    )
    assert rates["cX"] == (0.0, 0.0, None)  # a baseline of 0: no lift
    first, last = query(
        wh,
        "select first_delivered_at, last_delivered_at from marts.agg_campaign_optouts "
        "where campaign_id = 'cT'",
    )[0]
    assert (first, last) == (
        dt.datetime(2024, 3, 2, 23, 59, 59),
        dt.datetime(2024, 3, 9, 23, 59, 59),
    )


def test_attributed_and_unattributed_add_up_to_every_optout(wh):
    [(attributed,)] = query(wh, "select sum(attributed_optouts) from marts.agg_campaign_optouts")
    [(unattributed,)] = query(
        wh, "select count(*) from marts.fct_optout_attribution where not is_attributed"
    )
    [(optouts,)] = query(wh, "select count(*) from marts.fct_optouts")
    assert attributed == 2 + 1 + 2 + 5 + 3 + 2 + 1
    assert attributed + unattributed == optouts


# --- agg_optout_alerts -------------------------------------------------------------------


def freeman_tukey(x: int, expected: float, dispersion: float) -> float:
    return (math.sqrt(x) + math.sqrt(x + 1) - math.sqrt(4 * expected + 1)) / math.sqrt(dispersion)


def test_alerts_flag_the_blasts_only(wh):
    rows = query_dicts(wh, "select * from marts.agg_optout_alerts order by date, channel")
    assert [(r["date"], r["channel"]) for r in rows] == sorted(
        (day, "sms") for day in SMS_BLASTS
    )  # nothing on flat whatsapp, nothing on 1/3/1/3 sms, nothing on the sparse channels
    first, second = rows

    # 02-24: the 28 days before alternate 1 and 3: median 2, MAD 1, no outlier; mean 2,
    # variance (28 x 140 - 56^2) / (28 x 27) = 1.04 < the mean: dispersion 1.
    assert first["optouts"] == 40
    assert first["expected_optouts"] == pytest.approx(2.0)
    assert first["baseline_days"] == 28
    assert first["dispersion"] == 1.0
    assert first["score"] == pytest.approx(freeman_tukey(40, 2.0, 1.0))  # 9.73
    assert first["severity"] == "critical"
    assert first["attributed_optouts"] == 11
    assert (first["top_campaign_id"], first["top_campaign_name"]) == ("cS1", "SMS Blast")
    assert first["top_campaign_optouts"] == 5
    assert first["top_campaigns"] == "SMS Blast (5); SMS Promo (3); SMS Tips (2)"

    # 03-05: the first blast is in the window (13 ones, 14 threes and the 40; median 3,
    # MAD 1): 40 lies more than 3 x sqrt(3) from the median and is set aside, so the
    # second blast is measured against the 27 ordinary days (mean 55 / 27). With the 40
    # kept, mean 3.4 and variance 52.5 would score it 1.3: not flagged.
    expected = 55 / 27
    assert second["optouts"] == 20
    assert second["baseline_days"] == 28
    assert second["expected_optouts"] == pytest.approx(expected)
    assert second["dispersion"] == 1.0  # variance 728 / 702 = 1.04 < the mean
    assert second["score"] == pytest.approx(freeman_tukey(20, expected, 1.0))  # 6.05
    assert second["severity"] == "warning"
    assert (second["attributed_optouts"], second["top_campaign_id"]) == (0, None)
    assert second["top_campaigns"] is None


def test_an_early_spike_lacks_a_baseline(wh):
    # whatsapp had 20 opt-outs on day 2: 2 baseline days, fewer than alert_min_baseline_days.
    [(n,)] = query(
        wh,
        "select optouts from marts.agg_optouts_daily where channel = 'whatsapp' and date = ?",
        [WHATSAPP_EARLY],
    )
    assert n == 20
    assert query(wh, "select count(*) from marts.agg_optout_alerts where channel = 'whatsapp'") == [
        (0,)
    ]


def test_the_dashboard_and_the_check_read_the_latest_day_alert(wh):
    from orchestration.dashboard import queries as q

    day, flagged = q.latest_day_alerts(wh, through=dt.date(2024, 3, 5))
    assert day == dt.date(2024, 3, 5)
    assert list(flagged[["channel", "optouts", "severity"]].itertuples(index=False)) == [
        ("sms", 20, "warning")
    ]
    day, flagged = q.latest_day_alerts(wh, through=dt.date(2024, 3, 6))
    assert (day, flagged.empty) == (dt.date(2024, 3, 6), True)
    # After the data, the latest complete day is the data's last.
    assert q.latest_day_alerts(wh, through=dt.date(2024, 12, 31))[0] == LAST
