"""Consent state and compliance marts (docs/CONTRACT.md §5.6-§5.13), on a hand-made landing zone.

Calendar used below (2024): Fri 1 Mar, Sat 2, Sun 3, Mon 4 ... Fri 15, Sat 16.
"""

from __future__ import annotations

import csv

import pytest
from conftest import build, query, query_dicts, settings_for, write_landing_zone

from orchestration.exports import write_export


def change(cid, user, channel, status, at, source="app_settings", keyword=None, reason=None):
    return {
        "change_id": cid,
        "user_id": user,
        "channel": channel,
        "status": status,
        "changed_at": at,
        "source": source,
        "keyword": keyword,
        "reason": reason,
    }


def send(sid, user, channel, at, category="marketing", status="delivered", campaign="c_mkt"):
    return {
        "send_id": sid,
        "user_id": user,
        "campaign_id": campaign,
        "channel": channel,
        "message_category": category,
        "sent_at": at,
        "delivery_status": status,
    }


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
        change("a1", "u_all", "push", "opted_in", "2024-03-01T00:00:00Z", source="import"),
        change("a2", "u_all", "all", "opted_out", "2024-03-04T12:00:00Z", source="admin"),
        change("a3", "u_all", "push", "opted_in", "2024-03-06T09:00:00Z"),
        # An SMS STOP on Friday 1 March at 10:00, repeated on the 10th.
        change(
            "i1", "u_sms", "sms", "opted_out", "2024-03-01T10:00:00Z", "inbound_keyword", "STOP"
        ),
        change(
            "i2", "u_sms", "sms", "opted_out", "2024-03-10T10:00:00Z", "inbound_keyword", "STOP"
        ),
        # Opted back in before a send.
        change("b1", "u_back", "email", "opted_out", "2024-03-05T10:00:00Z", "unsubscribe_link"),
        change("b2", "u_back", "email", "opted_in", "2024-03-06T10:00:00Z"),
        # The rate's denominator on email, 25 March.
        change("r1", "u_r1", "email", "opted_in", "2024-03-01T00:00:00Z", source="import"),
        change("r2", "u_r2", "email", "opted_in", "2024-03-02T00:00:00Z"),
        change("r3a", "u_r3", "email", "opted_in", "2024-03-03T00:00:00Z"),
        change("r3b", "u_r3", "email", "opted_out", "2024-03-25T10:00:00Z", reason="too many"),
        change("r4", "u_r4", "email", "opted_out", "2024-03-10T00:00:00Z"),
        change("r5a", "u_r5", "email", "opted_in", "2024-03-25T00:00:00Z"),
        change("r5b", "u_r5", "email", "opted_out", "2024-03-25T12:00:00Z", reason="too many"),
    ]
    for n, (raw, _) in enumerate(KEYWORDS.items()):
        changes.append(
            change(
                f"k{n:02d}",
                f"u_k{n:02d}",
                "sms",
                "opted_out",
                "2024-03-20T08:00:00Z",
                "inbound_keyword",
                raw,
            )
        )
    changes.append(change("k99", "u_k99", "sms", "opted_out", "2024-03-20T08:00:00Z", "admin"))
    sends = [
        send("sa1", "u_all", "push", "2024-03-05T00:00:00Z"),  # during `all` opt-out
        send("sa2", "u_all", "push", "2024-03-07T00:00:00Z"),  # push opted back in
        send("sa3", "u_all", "email", "2024-03-07T00:00:00Z"),  # email still out via `all`
        send("si1", "u_sms", "sms", "2024-03-01T10:00:00Z"),  # at the opt-out instant
        send("si0", "u_sms", "sms", "2024-03-01T09:59:59Z"),  # 1 s before: fine
        send("si2", "u_sms", "sms", "2024-03-15T23:59:59Z"),  # last second of grace
        send("si3", "u_sms", "sms", "2024-03-16T08:00:00Z"),  # Saturday after: beyond
        send("si4", "u_sms", "sms", "2024-03-20T08:00:00Z", category="transactional"),
        send("si5", "u_sms", "sms", "2024-03-20T08:00:00Z", category="otp"),
        send("si6", "u_sms", "sms", "2024-03-20T08:00:00Z", category="utility"),
        send("si7", "u_sms", "sms", "2024-03-20T08:00:00Z", status="failed"),
        send("si8", "u_sms", "push", "2024-03-20T08:00:00Z"),  # other channel: no record
        send("sb1", "u_back", "email", "2024-03-07T00:00:00Z"),  # after opting back in
    ]
    write_landing_zone(
        settings.raw_dir,
        {
            "users": [
                {
                    "user_id": "u_all",
                    "external_id": "ext-all",
                    "phone": "+905551234567",
                    "updated_at": "2024-01-01T00:00:00Z",
                },
            ],
            "campaigns": [
                {
                    "campaign_id": "c_mkt",
                    "campaign_name": "Weekly deals",
                    "channel": "sms",
                    "message_category": "marketing",
                    "started_at": "2024-03-01",
                },
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
