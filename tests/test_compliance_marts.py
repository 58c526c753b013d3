"""Consent state and compliance marts (docs/CONTRACT.md §5.6-§5.13), on a hand-made landing zone.

Calendar used below (2024): Fri 1 Mar, Sat 2, Sun 3, Mon 4 ... Fri 15, Sat 16.
"""

from __future__ import annotations

import csv
from functools import partial

import pytest
from conftest import build, query, query_dicts, settings_for, write_landing_zone
from factories import campaign, consent_change, send, user

from orchestration.exports import write_export

mkt_send = partial(send, campaign_id="c_mkt")  # every send is of the marketing campaign


KEYWORDS = {
    # raw keyword -> normalised
    "STOP": "STOP",
    "Stop": "STOP",
    "  stop ": "STOP",
    "STOPALL": "STOPALL",
    "unsubscribe": "UNSUBSCRIBE",
    "Cancel": "CANCEL",
    "end": "END",
    "QUIT": "QUIT",
    "revoke": "REVOKE",
    "OPT-OUT": "OPTOUT",
    "opt out": "OPTOUT",
    "OptOut": "OPTOUT",
    "please stop": "other",
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("compliance"))
    changes = [
        # `all` overrides push, then a later push opt-in overrides `all` on push only.
        consent_change(
            change_id="a1",
            user_id="u_all",
            channel="push",
            status="opted_in",
            changed_at="2024-03-01T00:00:00Z",
            source="import",
        ),
        consent_change(
            change_id="a2",
            user_id="u_all",
            channel="all",
            status="opted_out",
            changed_at="2024-03-04T12:00:00Z",
            source="admin",
        ),
        consent_change(
            change_id="a3",
            user_id="u_all",
            channel="push",
            status="opted_in",
            changed_at="2024-03-06T09:00:00Z",
        ),
        # An SMS STOP on Friday 1 March at 10:00, repeated on the 10th.
        consent_change(
            change_id="i1",
            user_id="u_sms",
            channel="sms",
            status="opted_out",
            changed_at="2024-03-01T10:00:00Z",
            source="inbound_keyword",
            keyword="STOP",
        ),
        consent_change(
            change_id="i2",
            user_id="u_sms",
            channel="sms",
            status="opted_out",
            changed_at="2024-03-10T10:00:00Z",
            source="inbound_keyword",
            keyword="STOP",
        ),
        # Opted back in before a send.
        consent_change(
            change_id="b1",
            user_id="u_back",
            channel="email",
            status="opted_out",
            changed_at="2024-03-05T10:00:00Z",
            source="unsubscribe_link",
        ),
        consent_change(
            change_id="b2",
            user_id="u_back",
            channel="email",
            status="opted_in",
            changed_at="2024-03-06T10:00:00Z",
        ),
        # The rate's denominator on email, 25 March.
        consent_change(
            change_id="r1",
            user_id="u_r1",
            channel="email",
            status="opted_in",
            changed_at="2024-03-01T00:00:00Z",
            source="import",
        ),
        consent_change(
            change_id="r2",
            user_id="u_r2",
            channel="email",
            status="opted_in",
            changed_at="2024-03-02T00:00:00Z",
        ),
        consent_change(
            change_id="r3a",
            user_id="u_r3",
            channel="email",
            status="opted_in",
            changed_at="2024-03-03T00:00:00Z",
        ),
        consent_change(
            change_id="r3b",
            user_id="u_r3",
            channel="email",
            status="opted_out",
            changed_at="2024-03-25T10:00:00Z",
            reason="too many",
        ),
        consent_change(
            change_id="r4",
            user_id="u_r4",
            channel="email",
            status="opted_out",
            changed_at="2024-03-10T00:00:00Z",
        ),
        consent_change(
            change_id="r5a",
            user_id="u_r5",
            channel="email",
            status="opted_in",
            changed_at="2024-03-25T00:00:00Z",
        ),
        consent_change(
            change_id="r5b",
            user_id="u_r5",
            channel="email",
            status="opted_out",
            changed_at="2024-03-25T12:00:00Z",
            reason="too many",
        ),
    ]
    for n, (raw, _) in enumerate(KEYWORDS.items()):
        changes.append(
            consent_change(
                change_id=f"k{n:02d}",
                user_id=f"u_k{n:02d}",
                channel="sms",
                status="opted_out",
                changed_at="2024-03-20T08:00:00Z",
                source="inbound_keyword",
                keyword=raw,
            )
        )
    changes.append(
        consent_change(
            change_id="k99",
            user_id="u_k99",
            channel="sms",
            status="opted_out",
            changed_at="2024-03-20T08:00:00Z",
            source="admin",
        )
    )
    sends = [
        # during `all` opt-out
        mkt_send(send_id="sa1", user_id="u_all", channel="push", sent_at="2024-03-05T00:00:00Z"),
        # push opted back in
        mkt_send(send_id="sa2", user_id="u_all", channel="push", sent_at="2024-03-07T00:00:00Z"),
        # email still out via `all`
        mkt_send(send_id="sa3", user_id="u_all", channel="email", sent_at="2024-03-07T00:00:00Z"),
        # at the opt-out instant
        mkt_send(send_id="si1", user_id="u_sms", channel="sms", sent_at="2024-03-01T10:00:00Z"),
        # 1 s before: fine
        mkt_send(send_id="si0", user_id="u_sms", channel="sms", sent_at="2024-03-01T09:59:59Z"),
        # last second of grace
        mkt_send(send_id="si2", user_id="u_sms", channel="sms", sent_at="2024-03-15T23:59:59Z"),
        # Saturday after: beyond
        mkt_send(send_id="si3", user_id="u_sms", channel="sms", sent_at="2024-03-16T08:00:00Z"),
        mkt_send(
            send_id="si4",
            user_id="u_sms",
            channel="sms",
            sent_at="2024-03-20T08:00:00Z",
            message_category="transactional",
        ),
        mkt_send(
            send_id="si5",
            user_id="u_sms",
            channel="sms",
            sent_at="2024-03-20T08:00:00Z",
            message_category="otp",
        ),
        mkt_send(
            send_id="si6",
            user_id="u_sms",
            channel="sms",
            sent_at="2024-03-20T08:00:00Z",
            message_category="utility",
        ),
        mkt_send(
            send_id="si7",
            user_id="u_sms",
            channel="sms",
            sent_at="2024-03-20T08:00:00Z",
            delivery_status="failed",
        ),
        # other channel: no record
        mkt_send(send_id="si8", user_id="u_sms", channel="push", sent_at="2024-03-20T08:00:00Z"),
        # after opting back in
        mkt_send(send_id="sb1", user_id="u_back", channel="email", sent_at="2024-03-07T00:00:00Z"),
    ]
    write_landing_zone(
        settings.raw_dir,
        {
            "users": [
                user(
                    user_id="u_all",
                    external_id="ext-all",
                    phone="+905551234567",
                    updated_at="2024-01-01T00:00:00Z",
                ),
            ],
            "campaigns": [
                campaign(
                    campaign_id="c_mkt",
                    campaign_name="Weekly deals",
                    channel="sms",
                    message_category="marketing",
                    started_at="2024-03-01",
                ),
            ],
            "consent_changes": changes,
            "sends": sends,
        },
    )
    build(settings)
    return settings


def test_all_overrides_channels_until_a_later_channel_opt_in(warehouse):
    """u_all: push import in, `all` out (a2), push in again (a3): push in, the rest out via a2."""
    rows = query(
        warehouse.warehouse,
        "select channel, status, decided_by_change_id, decided_on_channel "
        "from marts.dim_consent_current where user_id = 'u_all' order by channel",
    )
    assert rows == [
        ("email", "opted_out", "a2", "all"),
        ("push", "opted_in", "a3", "push"),
        ("sms", "opted_out", "a2", "all"),
        ("whatsapp", "opted_out", "a2", "all"),
    ]


def test_users_without_consent_records_are_absent(warehouse):
    """u_sms has only SMS changes: no push/email/whatsapp rows (unknown, not opted in)."""
    rows = query(
        warehouse.warehouse,
        "select channel from marts.dim_consent_current where user_id = 'u_sms'",
    )
    assert rows == [("sms",)]


def test_history_intervals_and_imports_flagged(warehouse):
    rows = query(
        warehouse.warehouse,
        "select change_id, status, is_import, valid_from::varchar, valid_to::varchar "
        "from marts.fct_consent_history where user_id = 'u_all' and channel = 'push' "
        "order by valid_from",
    )
    assert rows == [
        ("a1", "opted_in", True, "2024-03-01 00:00:00", "2024-03-04 12:00:00"),
        ("a2", "opted_out", False, "2024-03-04 12:00:00", "2024-03-06 09:00:00"),
        ("a3", "opted_in", False, "2024-03-06 09:00:00", None),
    ]


def sends_after_optout(warehouse):
    return {
        r["send_id"]: r
        for r in query_dicts(warehouse.warehouse, "select * from marts.fct_sends_after_optout")
    }


def test_only_marketing_sends_while_opted_out_are_violations(warehouse):
    """Exempt categories, failed sends, sends before the opt-out, after opting back in,
    and on channels without a record never appear."""
    assert set(sends_after_optout(warehouse)) == {"sa1", "sa3", "si1", "si2", "si3"}


def test_send_at_the_opt_out_instant_is_within_grace(warehouse):
    row = sends_after_optout(warehouse)["si1"]
    assert (row["optout_id"], row["delay_seconds"], row["is_beyond_grace"]) == ("i1", 0, False)


def test_grace_counts_business_days_across_weekends(warehouse):
    """Opt-out Fri 1 Mar; 10 business days end Fri 15 Mar: 23:59:59 that day is within,
    Saturday 16 Mar is beyond."""
    rows = sends_after_optout(warehouse)
    assert (rows["si2"]["business_days_after_optout"], rows["si2"]["is_beyond_grace"]) == (
        9,
        False,
    )
    assert (rows["si3"]["business_days_after_optout"], rows["si3"]["is_beyond_grace"]) == (
        10,
        True,
    )


def test_repeated_stop_does_not_restart_the_clock(warehouse):
    """si3 falls after the repeated STOP i2, but the opt-out it violates is i1."""
    row = sends_after_optout(warehouse)["si3"]
    assert (row["optout_id"], row["deciding_change_id"]) == ("i1", "i2")
    assert row["delay_seconds"] == (14 * 24 + 22) * 3600


def test_global_opt_out_is_the_violated_opt_out(warehouse):
    rows = sends_after_optout(warehouse)
    assert rows["sa1"]["optout_id"] == "a2" and rows["sa3"]["optout_id"] == "a2"


def test_compliance_by_campaign(warehouse):
    rows = query(
        warehouse.warehouse,
        "select campaign_id, campaign_name, sends_after_optout, sends_within_grace, "
        "sends_beyond_grace, users_affected from marts.agg_compliance_by_campaign",
    )
    assert rows == [("c_mkt", "Weekly deals", 5, 4, 1, 2)]


def test_keywords_are_normalised(warehouse):
    expected: dict[str, int] = {}
    for normalised in KEYWORDS.values():
        expected[normalised] = expected.get(normalised, 0) + 1
    expected["none"] = 1  # k99: an admin opt-out without keyword
    rows = query(
        warehouse.warehouse,
        "select keyword, optouts from marts.agg_optout_keywords "
        "where date = '2024-03-20' and channel = 'sms'",
    )
    assert dict(rows) == expected


def test_reasons_by_day_and_channel(warehouse):
    rows = query(
        warehouse.warehouse,
        "select date::varchar, channel, reason, optouts from marts.agg_optout_reasons",
    )
    assert rows == [("2024-03-25", "email", "too many", 2)]


def test_rate_denominator_on_a_day_with_opt_ins_and_opt_outs(warehouse):
    """Email, 25 Mar: at 00:00 u_r1 (import), u_r2, u_r3 and u_back (back in since 6 Mar)
    are opted in; u_r4 is out, u_all is out via `all`, u_r5 only opts in at 00:00 exactly.
    Opt-outs u_r3, u_r5; opt-in u_r5."""
    row = query_dicts(
        warehouse.warehouse,
        "select * from marts.agg_optouts_daily where date = '2024-03-25' and channel = 'email'",
    )[0]
    assert (row["optouts"], row["optins"], row["opted_in_users_at_start"]) == (2, 1, 4)
    assert row["optout_rate"] == pytest.approx(2 / 4)


def test_rate_denominator_for_the_all_channel(warehouse):
    """4 Mar: u_all (push), u_r1, u_r2, u_r3 (email) are opted in on some channel."""
    row = query_dicts(
        warehouse.warehouse,
        "select * from marts.agg_optouts_daily where date = '2024-03-04' and channel = 'all'",
    )[0]
    assert (row["optouts"], row["opted_in_users_at_start"]) == (1, 4)
    assert row["optout_rate"] == pytest.approx(0.25)


def test_suppression_export_lists_current_opt_outs(warehouse):
    result = write_export(warehouse, "suppression", None, "csv")
    with open(result.path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    pairs = [(r["user_id"], r["channel"]) for r in rows]
    assert ("u_all", "email") in pairs and ("u_all", "push") not in pairs
    assert ("u_back", "email") not in pairs and ("u_r4", "email") in pairs
    assert pairs == sorted(pairs)
    u_all_email = next(r for r in rows if (r["user_id"], r["channel"]) == ("u_all", "email"))
    assert u_all_email["external_id"] == "ext-all"
    assert u_all_email["phone"] == "+905551234567"
    assert u_all_email["opted_out_at"] == "2024-03-04T12:00:00Z"
    # 1 (u_sms) + 3 (u_all) + 1 (u_r4) + u_r3, u_r5 + the 14 keyword users
    assert len(rows) == 1 + 3 + 1 + 2 + len(KEYWORDS) + 1
