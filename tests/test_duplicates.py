"""Rows that share a primary key and differ in one late column are conflicts (users:
versions), never duplicates; only rows equal in every column are (docs/CONTRACT.md §3.2,
docs/DECISIONS.md "Duplicates").

Every source has two files, batch_1.csv and batch_2.csv; batch_1.csv is modified last,
so "the latest file wins" must go by file name (batch_2) and not by modification time.
Per source, one key whose two rows differ only in the source's last column (or, for
consent changes, only in `reason` and only in `keyword`), and one key delivered twice
unchanged (a real duplicate). Users: two versions differing only in updated_at, and two
differing only in team_code with the same updated_at (a tie: the latest file wins).
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import (
    COLUMNS,
    build,
    query,
    query_dicts,
    query_state,
    reconciliation,
    settings_for,
    write_two_batches,
)
from factories import campaign, consent_change, event, interaction, send, user

T = "2024-03-10T12:00:00Z"

BATCH_1 = {
    "users": [
        user(user_id="u_d_ver", team_code="T1", updated_at="2024-01-01T00:00:00Z"),
        user(user_id="u_d_tie", team_code="T1", updated_at="2024-01-01T00:00:00Z"),
        user(user_id="u_d_copy", team_code="T1", updated_at="2024-01-01T00:00:00Z"),
    ],
    "campaigns": [
        campaign(campaign_id="cd_late", campaign_name="Late", started_at="2024-01-01T00:00:00Z"),
        campaign(campaign_id="cd_copy", campaign_name="Copy", started_at="2024-01-01T00:00:00Z"),
    ],
    "sends": [
        send(send_id="sd_late", user_id="u_d_ver", sent_at=T, delivery_status="delivered"),
        send(send_id="sd_copy", user_id="u_d_ver", sent_at=T, delivery_status="delivered"),
    ],
    "interactions": [
        interaction(
            interaction_id="id_late", user_id="u_d_ver", occurred_at="2024-03-09T10:00:00Z"
        ),
        interaction(
            interaction_id="id_copy", user_id="u_d_ver", occurred_at="2024-03-09T10:00:00Z"
        ),
    ],
    "events": [
        event(event_id="ed_late", user_id="u_d_ver", occurred_at="2024-03-09T10:00:00Z"),
        event(event_id="ed_copy", user_id="u_d_ver", occurred_at="2024-03-09T10:00:00Z"),
    ],
    "consent_changes": [
        consent_change(change_id="ccd_reason", user_id="u_d_reason", reason="too many"),
        consent_change(
            change_id="ccd_keyword",
            user_id="u_d_keyword",
            source="inbound_keyword",
            keyword="STOP",
        ),
        consent_change(change_id="ccd_copy", user_id="u_d_copy", reason="same"),
    ],
}

BATCH_2 = {
    "users": [
        user(user_id="u_d_ver", team_code="T1", updated_at="2024-02-01T00:00:00Z"),  # later
        user(user_id="u_d_tie", team_code="T2", updated_at="2024-01-01T00:00:00Z"),  # tie
        user(user_id="u_d_copy", team_code="T1", updated_at="2024-01-01T00:00:00Z"),  # copy
    ],
    "campaigns": [
        campaign(campaign_id="cd_late", campaign_name="Late", started_at="2024-02-01T00:00:00Z"),
        campaign(campaign_id="cd_copy", campaign_name="Copy", started_at="2024-01-01T00:00:00Z"),
    ],
    "sends": [
        send(send_id="sd_late", user_id="u_d_ver", sent_at=T, delivery_status="failed"),
        send(send_id="sd_copy", user_id="u_d_ver", sent_at=T, delivery_status="delivered"),
    ],
    "interactions": [
        interaction(
            interaction_id="id_late", user_id="u_d_ver", occurred_at="2024-03-09T10:05:00Z"
        ),
        interaction(
            interaction_id="id_copy", user_id="u_d_ver", occurred_at="2024-03-09T10:00:00Z"
        ),
    ],
    "events": [
        event(event_id="ed_late", user_id="u_d_ver", occurred_at="2024-03-09T11:00:00Z"),
        event(event_id="ed_copy", user_id="u_d_ver", occurred_at="2024-03-09T10:00:00Z"),
    ],
    "consent_changes": [
        consent_change(change_id="ccd_reason", user_id="u_d_reason", reason="not relevant"),
        consent_change(
            change_id="ccd_keyword",
            user_id="u_d_keyword",
            source="inbound_keyword",
            keyword="Stop",
        ),
        consent_change(change_id="ccd_copy", user_id="u_d_copy", reason="same"),
    ],
}

# (raw, clean, quarantined, duplicates) per source:
#   users           3 + 3 = 6 = 5 (2 versions each of u_d_ver and u_d_tie, u_d_copy) + 0 + 1
#   campaigns, sends, interactions, events
#                   2 + 2 = 4 = 2 (the late-column winner, the copy) + 1 (its loser) + 1
#   consent_changes 3 + 3 = 6 = 3 (two winners, the copy) + 2 (their losers) + 1
RECONCILIATION = {
    "users": (6, 5, 0, 1),
    "campaigns": (4, 2, 1, 1),
    "sends": (4, 2, 1, 1),
    "interactions": (4, 2, 1, 1),
    "events": (4, 2, 1, 1),
    "consent_changes": (6, 3, 2, 1),
}


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("duplicates"))
    write_two_batches(settings.raw_dir, BATCH_1, BATCH_2)
    return build(settings)


def test_the_latest_file_by_name_is_the_oldest_by_mtime(wh):
    for source in COLUMNS:
        folder = wh.parent / "raw" / source
        assert (folder / "batch_1.csv").stat().st_mtime > (folder / "batch_2.csv").stat().st_mtime


# (source, key column, key, late column, the winner's value (batch_2), the loser's (batch_1))
CONFLICTS = [
    ("campaigns", "campaign_id", "cd_late", "started_at", "2024-02-01T00:00:00Z",
     "2024-01-01T00:00:00Z"),
    ("sends", "send_id", "sd_late", "delivery_status", "failed", "delivered"),
    ("interactions", "interaction_id", "id_late", "occurred_at", "2024-03-09T10:05:00Z",
     "2024-03-09T10:00:00Z"),
    ("events", "event_id", "ed_late", "occurred_at", "2024-03-09T11:00:00Z",
     "2024-03-09T10:00:00Z"),
    ("consent_changes", "change_id", "ccd_reason", "reason", "not relevant", "too many"),
    ("consent_changes", "change_id", "ccd_keyword", "keyword", "Stop", "STOP"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("source", "key_column", "key", "column", "winner", "loser"),
    CONFLICTS,
    ids=[f"{c[0]}-{c[3]}" for c in CONFLICTS],
)
def test_rows_differing_only_in_a_late_column_are_a_conflict(
    wh, source, key_column, key, column, winner, loser
):
    """The batch_2 row is the one clean row; the batch_1 row is quarantined as
    conflicting_duplicate_key with its value; neither is counted as a duplicate."""
    clean = query_state(
        wh,
        f"select cast({column} as varchar), source_file "
        f"from staging.stg_messaging__{source} where {key_column} = ?",
        [key],
    )
    expected = winner.replace("T", " ").removesuffix("Z") if column.endswith("_at") else winner
    assert clean == [(expected, f"{source}/batch_2.csv")]
    raw_column = "raw_reason" if column == "reason" else column
    quarantined = query_dicts(
        wh, f"select * from quarantine.{source} where {key_column} = ?", [key]
    )
    assert [(q[raw_column], q["reason"], q["source_file"]) for q in quarantined] == [
        (loser, "conflicting_duplicate_key", f"{source}/batch_1.csv")
    ]


def test_user_rows_differing_only_in_updated_at_are_versions(wh):
    """u_d_ver: 2024-01-01 (batch_1) and 2024-02-01 (batch_2): the later one in dim_users,
    nothing quarantined."""
    assert query(wh, "select updated_at from marts.dim_users where user_id = 'u_d_ver'") == [
        (dt.datetime(2024, 2, 1),)
    ]
    assert query(wh, "select count(*) from quarantine.users") == [(0,)]


def test_user_versions_with_the_same_updated_at_go_to_the_latest_file_name(wh):
    """u_d_tie: team T1 (batch_1, modified last) and T2 (batch_2, the later name) at the
    same updated_at: T2."""
    assert query(wh, "select team_code from marts.dim_users where user_id = 'u_d_tie'") == [("T2",)]


def test_conflicting_consent_changes_keep_the_winners_reason_and_keyword(wh):
    """The opt-outs carry batch_2's reason and keyword (keyword as written, 'Stop')."""
    assert query(
        wh,
        "select optout_id, reason, keyword from marts.fct_optouts "
        "where optout_id in ('ccd_reason', 'ccd_keyword') order by optout_id",
    ) == [("ccd_keyword", None, "Stop"), ("ccd_reason", "not relevant", None)]


def test_identical_rows_are_duplicates_kept_once(wh):
    """The *_copy keys: one clean row each, nothing quarantined."""
    for source, key_column, key in [
        ("campaigns", "campaign_id", "cd_copy"),
        ("sends", "send_id", "sd_copy"),
        ("interactions", "interaction_id", "id_copy"),
        ("events", "event_id", "ed_copy"),
        ("consent_changes", "change_id", "ccd_copy"),
    ]:
        sql = f"select count(*) from {{}} where {key_column} = '{key}'"
        assert query_state(wh, sql.format(f"staging.stg_messaging__{source}")) == [(1,)], source
        assert query(wh, sql.format(f"quarantine.{source}")) == [(0,)], source


@pytest.mark.parametrize("source", sorted(RECONCILIATION))
def test_reconciliation_counts_by_hand(wh, source):
    """(raw, clean, quarantined, duplicates) as worked out beside RECONCILIATION."""
    assert reconciliation(wh, source) == [RECONCILIATION[source]]
