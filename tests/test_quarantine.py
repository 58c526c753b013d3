"""Bad input, duplicates and load reconciliation (docs/CONTRACT.md §3), hand-computed.

Every source has two CSV files, batch_1.csv and batch_2.csv (events also a
batch_3.parquet). Each bad row names the rule it breaks in its comment; the
reconciliation counts per source are worked out next to RECONCILIATION.
The user u_q_push opts out at 2024-03-10T12:00:00Z so that bad rows would be
visible in the marts if they leaked. batch_1.csv gets the later modification time,
so "the latest file wins" can only pass by file name (docs/DECISIONS.md).
"""

from __future__ import annotations

import datetime as dt
import os
from functools import partial

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import (
    COLUMNS,
    build,
    query,
    query_dicts,
    reconciliation,
    settings_for,
    write_two_batches,
)
from factories import campaign, consent_change, event, interaction, send, user

# This module's defaults: the bad rows belong to u_q_push (whose opt-out would show a
# leak) and name the valid campaign cq_ok; bad consent changes belong to u_q_bad.
q_user = partial(user, email="q1@example.com", created_at="2023-01-01T00:00:00Z")
q_send = partial(send, user_id="u_q_push", campaign_id="cq_ok")
q_interaction = partial(interaction, user_id="u_q_push", campaign_id="cq_ok")
q_event = partial(event, user_id="u_q_push")
q_change = partial(consent_change, user_id="u_q_bad", changed_at="2024-03-10T12:00:00Z")
q_campaign = partial(campaign, started_at="2024-01-01T00:00:00Z")


BATCH_1 = {
    "users": [
        q_user(user_id="u_q1", external_id="ext_u_q1", updated_at="2024-01-01T00:00:00Z"),  # ok
        # missing_required: user_id
        q_user(user_id="", external_id="ext_", updated_at="2024-01-01T00:00:00Z"),
        q_user(user_id="u_q2", external_id="ext_u_q2", updated_at=""),  # missing updated_at
        # unparseable created_at
        q_user(
            user_id="u_q3",
            external_id="ext_u_q3",
            created_at="yesterday",
            updated_at="2024-01-01T00:00:00Z",
        ),
        # unparseable updated_at
        q_user(user_id="u_q4", external_id="ext_u_q4", updated_at="2024-02-30T10:00:00Z"),
        user(user_id="u_q5", updated_at="2024-01-01T00:00:00Z"),  # valid: the rest optional
    ],
    "campaigns": [
        q_campaign(campaign_id="cq_ok", campaign_name="OK Campaign"),  # valid
        q_campaign(campaign_id="cq_fax", campaign_name="Fax", channel="fax"),  # invalid channel
        # missing message_category
        q_campaign(campaign_id="cq_nocat", campaign_name="No category", message_category=""),
        # unparseable
        q_campaign(
            campaign_id="cq_badstart", campaign_name="Bad start", started_at="2024-02-30T10:00:00Z"
        ),
        # same key as batch_2 with other values: loses
        q_campaign(campaign_id="cq_conf", campaign_name="Old name"),
        # valid: name and started_at optional
        q_campaign(campaign_id="cq_nostart", campaign_name="", started_at=""),
    ],
    "sends": [
        q_send(send_id="sq_ok", sent_at="2024-03-09T12:00:00Z"),  # valid
        # invalid delivery_status
        q_send(send_id="sq_status", sent_at="2024-03-09T13:00:00Z", delivery_status="opened"),
        q_send(send_id="sq_feb30", sent_at="2024-02-30T10:00:00Z"),  # unparseable sent_at
        q_send(send_id="sq_yesterday", sent_at="yesterday"),  # unparseable sent_at
        q_send(send_id="sq_nouser", sent_at="2024-03-09T12:00:00Z", user_id=""),  # no user_id
        # invalid channel
        q_send(send_id="sq_channel", sent_at="2024-03-09T12:00:00Z", channel="pigeon"),
        # invalid message_category
        q_send(send_id="sq_category", sent_at="2024-03-09T12:00:00Z", message_category="promo"),
        # conflicting key: loses to batch_2
        q_send(send_id="sq_conf", sent_at="2024-03-09T14:00:00Z"),
    ],
    "interactions": [
        q_interaction(interaction_id="iq_ok", occurred_at="2024-03-09T10:00:00Z"),  # valid
        # invalid type
        q_interaction(
            interaction_id="iq_type",
            occurred_at="2024-03-09T11:00:00Z",
            campaign_id="cq_conf",
            interaction_type="like",
        ),
        # missing occurred_at
        q_interaction(interaction_id="iq_notime", occurred_at="", campaign_id="cq_conf"),
        # no channel
        q_interaction(
            interaction_id="iq_nochan",
            occurred_at="2024-03-09T11:30:00Z",
            campaign_id="cq_conf",
            channel="",
        ),
        # invalid channel
        q_interaction(
            interaction_id="iq_chan",
            occurred_at="2024-03-09T11:40:00Z",
            campaign_id="cq_conf",
            channel="carrier_pigeon",
        ),
    ],
    "events": [
        q_event(event_id="eq_ok", occurred_at="2024-03-09T10:00:00Z"),  # valid
        # missing event_name
        q_event(event_id="eq_noname", occurred_at="2024-03-09T10:00:00Z", event_name=""),
        q_event(event_id="eq_month13", occurred_at="2024-13-01T00:00:00Z"),  # unparseable
        q_event(event_id="", occurred_at="2024-03-09T11:00:00Z"),  # missing event_id
    ],
    "consent_changes": [
        # valid
        q_change(change_id="ccq_ok", user_id="u_q_push", source="inbound_keyword", keyword="STOP"),
        q_change(change_id="ccq_status", status="unsubscribed"),  # invalid status
        q_change(change_id="ccq_source", source="email_link"),  # invalid source
        q_change(change_id="ccq_chan", channel="fax"),  # invalid channel
        q_change(change_id="ccq_time", changed_at="yesterday"),  # unparseable changed_at
        # two rules
        q_change(change_id="ccq_multi", status="maybe", changed_at="2024-02-30T10:00:00Z"),
        q_change(change_id="ccq_nouser", user_id=""),  # missing user_id
        q_change(change_id="", user_id="u_q_noid"),  # missing change_id
        q_change(change_id="ccq_nostatus", status=" "),  # missing status (blank)
        q_change(change_id="ccq_nosource", source=""),  # missing source
        # conflicting key: loses to batch_2
        q_change(
            change_id="ccq_conf",
            user_id="u_q_conf",
            changed_at="2024-03-11T00:00:00Z",
            reason="first",
        ),
    ],
}

BATCH_2 = {
    "users": [
        # identical to batch_1: duplicate
        q_user(user_id="u_q1", external_id="ext_u_q1", updated_at="2024-01-01T00:00:00Z"),
        # an update
        q_user(
            user_id="u_q1",
            external_id="ext_u_q1",
            updated_at="2024-02-01T00:00:00Z",
            email="q1.new@example.com",
        ),
    ],
    "campaigns": [
        q_campaign(campaign_id="cq_conf", campaign_name="New name"),  # wins (latest file)
        q_campaign(campaign_id="cq_ok", campaign_name="OK Campaign"),  # duplicate
    ],
    "sends": [
        q_send(send_id="sq_ok", sent_at="2024-03-09T12:00:00Z"),  # duplicate
        # wins
        q_send(send_id="sq_conf", sent_at="2024-03-09T14:00:00Z", message_category="transactional"),
        # valid: campaign optional
        q_send(send_id="sq_nocamp", sent_at="2024-03-09 15:00:00", campaign_id=""),
    ],
    "interactions": [
        q_interaction(interaction_id="iq_ok", occurred_at="2024-03-09T10:00:00Z"),  # duplicate
    ],
    "events": [
        q_event(event_id="eq_ok", occurred_at="2024-03-09T10:00:00Z"),  # duplicate
        # missing user_id
        q_event(event_id="eq_blank_user", occurred_at="2024-03-09T10:00:00Z", user_id="   "),
        # the latest clean event: the default as_of is 2024-03-17T12:00:00Z ...
        q_event(event_id="eq_latest", occurred_at="2024-03-17T12:00:00Z", user_id="u_q_other"),
        # ... not this later, quarantined one (missing event_name)
        q_event(
            event_id="eq_bad_late",
            occurred_at="2024-12-31T00:00:00Z",
            event_name="",
            user_id="u_q_other",
        ),
    ],
    "consent_changes": [
        # dup
        q_change(change_id="ccq_ok", user_id="u_q_push", source="inbound_keyword", keyword="STOP"),
        # wins (latest file)
        q_change(
            change_id="ccq_conf",
            user_id="u_q_conf",
            status="opted_in",
            changed_at="2024-03-11T00:00:00Z",
        ),
    ],
}

BATCH_3_EVENTS = [
    # identical to the CSV row: duplicate
    q_event(event_id="eq_ok", occurred_at="2024-03-09T10:00:00Z"),
    q_event(event_id="eq_pq", occurred_at="2024-03-09T12:00:00Z", event_name="view_item"),  # ok
]

# (raw, clean, quarantined, duplicates) per source:
#   users           6 + 2 = 8 = 3 (2 versions of u_q1, u_q5) + 4 bad + 1 duplicate
#   campaigns       6 + 2 = 8 = 3 (cq_ok, cq_conf, cq_nostart) + 4 (3 bad + cq_conf) + 1
#   sends           8 + 3 = 11 = 3 (sq_ok, sq_conf, sq_nocamp) + 7 (6 bad + sq_conf) + 1
#   interactions    5 + 1 = 6 = 1 + 4 + 1
#   events          4 + 4 + 2 = 10 = 3 (eq_ok, eq_pq, eq_latest) + 5 + 2 (CSV, parquet copies)
#   consent_changes 11 + 2 = 13 = 2 (ccq_ok, ccq_conf) + 10 (9 bad + ccq_conf) + 1
RECONCILIATION = {
    "users": (8, 3, 4, 1),
    "campaigns": (8, 3, 4, 1),
    "sends": (11, 3, 7, 1),
    "interactions": (6, 1, 4, 1),
    "events": (10, 3, 5, 2),
    "consent_changes": (13, 2, 10, 1),
}


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("quarantine"))
    write_two_batches(settings.raw_dir, BATCH_1, BATCH_2)
    table = pa.table(
        {
            c: pa.array([r.get(c) for r in BATCH_3_EVENTS], type=pa.string())
            for c in COLUMNS["events"]
        }
    )
    pq.write_table(table, settings.raw_dir / "events" / "batch_3.parquet")
    return build(settings)


def quarantined(wh, source, key, value) -> dict:
    rows = query_dicts(wh, f"select * from quarantine.{source} where {key} = ?", [value])
    assert len(rows) == 1, f"quarantine.{source}: {len(rows)} rows with {key} = {value!r}"
    return rows[0]


def rules(reason: str) -> set[str]:
    """The rules named in a reason, e.g. {'missing_required:user_id'}."""
    return {part.strip() for part in reason.split(";")}


# --- every kind of bad row lands in quarantine.<source> with the rule it broke -----------


@pytest.mark.parametrize(
    ("source", "key", "value", "rule"),
    [
        ("users", "user_id", "u_q2", "missing_required:updated_at"),
        ("users", "user_id", "u_q3", "unparseable_timestamp:created_at"),
        ("users", "user_id", "u_q4", "unparseable_timestamp:updated_at"),
        ("campaigns", "campaign_id", "cq_fax", "invalid_value:channel"),
        ("campaigns", "campaign_id", "cq_nocat", "missing_required:message_category"),
        ("campaigns", "campaign_id", "cq_badstart", "unparseable_timestamp:started_at"),
        ("sends", "send_id", "sq_status", "invalid_value:delivery_status"),
        ("sends", "send_id", "sq_feb30", "unparseable_timestamp:sent_at"),
        ("sends", "send_id", "sq_yesterday", "unparseable_timestamp:sent_at"),
        ("sends", "send_id", "sq_nouser", "missing_required:user_id"),
        ("sends", "send_id", "sq_channel", "invalid_value:channel"),
        ("sends", "send_id", "sq_category", "invalid_value:message_category"),
        ("interactions", "interaction_id", "iq_type", "invalid_value:interaction_type"),
        ("interactions", "interaction_id", "iq_notime", "missing_required:occurred_at"),
        ("interactions", "interaction_id", "iq_nochan", "missing_required:channel"),
        ("interactions", "interaction_id", "iq_chan", "invalid_value:channel"),
        ("events", "event_id", "eq_noname", "missing_required:event_name"),
        ("events", "event_id", "eq_month13", "unparseable_timestamp:occurred_at"),
        ("events", "event_id", "eq_blank_user", "missing_required:user_id"),
        ("events", "event_id", "eq_bad_late", "missing_required:event_name"),
        ("consent_changes", "change_id", "ccq_status", "invalid_value:status"),
        ("consent_changes", "change_id", "ccq_source", "invalid_value:source"),
        ("consent_changes", "change_id", "ccq_chan", "invalid_value:channel"),
        ("consent_changes", "change_id", "ccq_time", "unparseable_timestamp:changed_at"),
        ("consent_changes", "change_id", "ccq_nouser", "missing_required:user_id"),
        ("consent_changes", "user_id", "u_q_noid", "missing_required:change_id"),
        ("consent_changes", "change_id", "ccq_nostatus", "missing_required:status"),
        ("consent_changes", "change_id", "ccq_nosource", "missing_required:source"),
    ],
)
def test_bad_row_is_quarantined_with_the_rule_it_broke(wh, source, key, value, rule):
    """One quarantine row, its reason naming exactly that rule, its source file kept."""
    r = quarantined(wh, source, key, value)
    assert rules(r["reason"]) == {rule}
    assert r["source_file"].endswith("batch_1.csv") or r["source_file"].endswith("batch_2.csv")


def test_missing_primary_key_is_quarantined(wh):
    """users row with empty user_id; events row with empty event_id (both batch_1)."""
    users = query(
        wh, "select reason from quarantine.users where user_id is null or trim(user_id) = ''"
    )
    events = query(
        wh, "select reason from quarantine.events where event_id is null or trim(event_id) = ''"
    )
    assert [rules(r[0]) for r in users] == [{"missing_required:user_id"}]
    assert [rules(r[0]) for r in events] == [{"missing_required:event_id"}]


def test_row_breaking_two_rules_is_quarantined_once_with_both(wh):
    """status 'maybe' and changed_at 2024-02-30: one row, both rules named."""
    r = quarantined(wh, "consent_changes", "change_id", "ccq_multi")
    assert rules(r["reason"]) == {"invalid_value:status", "unparseable_timestamp:changed_at"}


def test_quarantine_keeps_raw_values_as_text(wh):
    """The unparseable timestamp is kept verbatim, every column is text."""
    r = quarantined(wh, "sends", "send_id", "sq_feb30")
    assert (r["sent_at"], r["delivery_status"], r["user_id"]) == (
        "2024-02-30T10:00:00Z",
        "delivered",
        "u_q_push",
    )
    assert r["source_file"].endswith(os.path.join("sends", "batch_1.csv"))
    assert quarantined(wh, "events", "event_id", "eq_month13")["occurred_at"] == (
        "2024-13-01T00:00:00Z"
    )
    types = query(
        wh,
        "select data_type from information_schema.columns "
        "where table_schema = 'quarantine' and table_name = 'sends' "
        "and column_name in ('send_id', 'sent_at', 'user_id')",
    )
    assert {t[0] for t in types} == {"VARCHAR"}


# --- repeated primary keys --------------------------------------------------------------------


def test_conflicting_key_latest_file_wins_the_other_is_quarantined(wh):
    """cq_conf 'Old name' (batch_1) vs 'New name' (batch_2): New name in dim_campaigns,
    Old name in quarantine.campaigns with reason conflicting_duplicate_key. batch_2 is
    the later file name, batch_1 the later modified file: the name decides."""
    raw = wh.parent / "raw" / "campaigns"
    assert (raw / "batch_1.csv").stat().st_mtime > (raw / "batch_2.csv").stat().st_mtime
    assert query(
        wh, "select campaign_name from marts.dim_campaigns where campaign_id = 'cq_conf'"
    ) == [("New name",)]
    r = quarantined(wh, "campaigns", "campaign_id", "cq_conf")
    assert (r["campaign_name"], r["reason"]) == ("Old name", "conflicting_duplicate_key")
    assert r["source_file"].endswith("batch_1.csv")


def test_conflicting_send_key_counts_only_the_winner(wh):
    """sq_conf marketing (batch_1) loses to sq_conf transactional (batch_2)."""
    r = quarantined(wh, "sends", "send_id", "sq_conf")
    assert (r["message_category"], r["reason"]) == ("marketing", "conflicting_duplicate_key")


def test_conflicting_consent_change_keeps_its_raw_reason_column(wh):
    """ccq_conf opted_out reason 'first' (batch_1) loses to opted_in (batch_2); the raw
    reason column is raw_reason so `reason` names the rule."""
    r = quarantined(wh, "consent_changes", "change_id", "ccq_conf")
    assert (r["status"], r["raw_reason"], r["reason"]) == (
        "opted_out",
        "first",
        "conflicting_duplicate_key",
    )
    assert query(
        wh, "select change_id, status from marts.fct_status_changes where user_id = 'u_q_conf'"
    ) == [("ccq_conf", "opted_in")]
    assert query(wh, "select count(*) from marts.fct_optouts where user_id = 'u_q_conf'") == [(0,)]


def test_user_updates_are_not_conflicts(wh):
    """u_q1 has two versions: no quarantine row, the 2024-02-01 one in dim_users."""
    assert query(wh, "select count(*) from quarantine.users where user_id = 'u_q1'") == [(0,)]
    assert query(wh, "select email, updated_at from marts.dim_users where user_id = 'u_q1'") == [
        ("q1.new@example.com", dt.datetime(2024, 2, 1))
    ]


# --- bad rows never reach the marts; duplicates count once ------------------------------------


def test_only_valid_keys_reach_the_dimensions(wh):
    """dim_users = {u_q1, u_q5}; dim_campaigns = {cq_conf, cq_nostart, cq_ok}."""
    got = query(wh, "select user_id from marts.dim_users order by user_id")
    assert got == [("u_q1",), ("u_q5",)]
    got = query(wh, "select campaign_id from marts.dim_campaigns order by campaign_id")
    assert got == [("cq_conf",), ("cq_nostart",), ("cq_ok",)]


def test_bad_consent_changes_are_never_optouts(wh):
    """Only ccq_ok (listed once despite its copy in batch_2) is an opt-out."""
    assert query(wh, "select optout_id, user_id from marts.fct_optouts") == [("ccq_ok", "u_q_push")]
    assert query(wh, "select count(*) from marts.fct_status_changes where user_id = 'u_q_bad'") == [
        (0,)
    ]


def test_push_count_ignores_bad_and_duplicate_sends(wh):
    """In [03-03T12:00, 03-10T12:00): sq_ok (once), sq_conf (transactional winner),
    sq_nocamp -> push 3, marketing 2. Bad rows (opened, 02-30, ...) are not counted."""
    got = query(
        wh,
        "select push_count_7d, marketing_push_count_7d "
        "from marts.fct_push_before_optout_7d where optout_id = 'ccq_ok'",
    )
    assert got == [(3, 2)]


def test_last_campaign_ignores_bad_interactions(wh):
    """Later bad interactions name cq_conf; the valid iq_ok (10:00) names cq_ok."""
    got = query(
        wh,
        "select last_campaign_id, last_campaign_name, last_interaction_at "
        "from marts.fct_last_campaign where optout_id = 'ccq_ok'",
    )
    assert got == [("cq_ok", "OK Campaign", dt.datetime(2024, 3, 9, 10))]


def test_duplicate_events_across_csv_and_parquet_count_once(wh):
    """W3 before 03-10T12:00: eq_ok (3 copies, counted once) + eq_pq = 2."""
    got = query(
        wh,
        "select events_before from marts.fct_optout_retention "
        "where optout_id = 'ccq_ok' and window_days = 3",
    )
    assert got == [(2,)]


def test_default_as_of_is_the_latest_clean_event(wh):
    """No as_of given: as_of = 2024-03-17T12:00:00Z (eq_latest), not the quarantined
    2024-12-31 event. ccq_ok at 03-10T12:00, no event after it: t+1d, t+3d and t+7d
    (equal to as_of) <= as_of -> churn; t+14d, t+30d -> pending."""
    got = query(
        wh,
        "select window_days, retention_status from marts.fct_optout_retention "
        "where optout_id = 'ccq_ok' order by window_days",
    )
    assert got == [(1, "churn"), (3, "churn"), (7, "churn"), (14, "pending"), (30, "pending")]


def test_duplicates_are_not_quarantined(wh):
    """Identical copies are removed, not quarantined: no sq_ok / eq_ok / ccq_ok rows."""
    for source, key, value in [
        ("sends", "send_id", "sq_ok"),
        ("events", "event_id", "eq_ok"),
        ("consent_changes", "change_id", "ccq_ok"),
    ]:
        got = query(wh, f"select count(*) from quarantine.{source} where {key} = ?", [value])
        assert got == [(0,)], source


# --- reconciliation ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(RECONCILIATION))
def test_reconciliation_counts_by_hand(wh, source):
    """(raw, clean, quarantined, duplicates) as worked out beside RECONCILIATION."""
    assert reconciliation(wh, source) == [RECONCILIATION[source]]


@pytest.mark.parametrize("source", sorted(RECONCILIATION))
def test_raw_equals_clean_plus_quarantined_plus_duplicates(wh, source):
    """raw_rows = clean_rows + quarantined_rows + duplicate_rows_removed; quarantined_rows
    is the size of quarantine.<source>."""
    ((raw, clean, quarantined_rows, duplicates),) = reconciliation(wh, source)
    assert raw == clean + quarantined_rows + duplicates
    assert query(wh, f"select count(*) from quarantine.{source}") == [(quarantined_rows,)]
