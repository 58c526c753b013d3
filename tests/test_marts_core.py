"""Hand-computed scenarios for the per-opt-out marts, the consent timeline and
the daily aggregate (docs/CONTRACT.md §2-§5).

One landing zone holds every scenario, one user id per scenario, and is built
once for the module. Unless a scenario says otherwise an opt-out happens at
T = 2024-03-10T12:00:00Z on channel `push`. Channel `whatsapp` is reserved for
the agg_optouts_daily scenario (only u_all_channel's `all` changes, which apply
to every channel, reach it).
"""

from __future__ import annotations

import datetime as dt
import shutil
from functools import partial

import duckdb
import pytest
from conftest import build, not_null_columns, query, query_dicts, settings_for, write_landing_zone
from factories import campaign, consent_change, event, interaction, send, user

T = "2024-03-10T12:00:00Z"
T_UTC = dt.datetime(2024, 3, 10, 12, 0, 0)


# This module's defaults: opt-outs at T; every send belongs to cmp_a; users are Pat.
out = partial(consent_change, status="opted_out", changed_at=T)
optin = partial(consent_change, status="opted_in")
cmp_a_send = partial(send, campaign_id="cmp_a")
pat = partial(user, first_name="Pat")


CAMPAIGNS = [
    campaign(campaign_id="cmp_a", campaign_name="Winter Promo", started_at="2024-01-01T00:00:00Z"),
    campaign(campaign_id="cmp_b", campaign_name="Spring Sale", started_at="2024-03-01T00:00:00Z"),
]

USERS = [
    # u_profile: three versions; 2024-01-31T23:30Z is the latest in UTC even
    # though the +02:00 row's text sorts later (it is 2024-01-31T23:00Z).
    pat(
        user_id="u_profile",
        external_id="ext_offset",
        updated_at="2024-02-01T01:00:00+02:00",
        email="offset@example.com",
    ),
    pat(
        user_id="u_profile",
        external_id="ext_new",
        updated_at="2024-01-31T23:30:00Z",
        email="new@example.com",
    ),
    pat(
        user_id="u_profile",
        external_id="ext_old",
        updated_at="2023-06-01 08:00:00",
        email="old@example.com",
    ),
]

CONSENT = [
    # 7-day push window edges, one send each (see SENDS).
    out(change_id="c_win_start", user_id="u_win_start"),
    out(change_id="c_win_early", user_id="u_win_early"),
    out(change_id="c_win_instant", user_id="u_win_instant"),
    out(change_id="c_win_last", user_id="u_win_last"),
    out(change_id="c_push_status", user_id="u_push_status"),
    out(change_id="c_push_channel", user_id="u_push_channel"),
    out(change_id="c_push_category", user_id="u_push_category"),
    out(change_id="c_push_none", user_id="u_push_none"),
    out(change_id="c_push_tz", user_id="u_push_tz", changed_at="2024-03-10 14:00:00+02:00"),
    # opt-out -> opt-in -> opt-out
    out(change_id="c_flip_1", user_id="u_flip", changed_at="2024-03-01T00:00:00Z"),
    optin(change_id="c_flip_2", user_id="u_flip", changed_at="2024-03-05T00:00:00Z"),
    out(
        change_id="c_flip_3",
        user_id="u_flip",
        changed_at="2024-03-09T00:00:00Z",
        source="unsubscribe_link",
    ),
    # a second STOP repeats the status
    out(
        change_id="c_rs_1",
        user_id="u_repeat_stop",
        changed_at="2024-03-10T10:00:00Z",
        source="inbound_keyword",
        keyword="STOP",
    ),
    out(
        change_id="c_rs_2",
        user_id="u_repeat_stop",
        changed_at="2024-03-11T10:00:00Z",
        source="inbound_keyword",
        keyword="Stop",
    ),
    # imported opt-out, then a keyword STOP
    out(
        change_id="c_is_1",
        user_id="u_import_stop",
        changed_at="2024-03-01T00:00:00Z",
        source="import",
    ),
    out(
        change_id="c_is_2",
        user_id="u_import_stop",
        changed_at="2024-03-10T00:00:00Z",
        source="inbound_keyword",
        keyword="STOP",
    ),
    # imported opt-out, opt-in, opt-out
    out(
        change_id="c_io_1",
        user_id="u_import_optin",
        changed_at="2024-03-01T00:00:00Z",
        source="import",
    ),
    optin(change_id="c_io_2", user_id="u_import_optin", changed_at="2024-03-05T00:00:00Z"),
    out(
        change_id="c_io_3",
        user_id="u_import_optin",
        changed_at="2024-03-08T00:00:00Z",
        source="admin",
    ),
    # `all` is a channel of its own
    out(change_id="c_ac_1", user_id="u_all_channel", changed_at="2024-03-10T08:00:00Z"),
    out(
        change_id="c_ac_2",
        user_id="u_all_channel",
        changed_at="2024-03-10T09:00:00Z",
        channel="all",
    ),
    out(change_id="c_ac_3", user_id="u_all_channel", changed_at="2024-03-10T10:00:00Z"),
    optin(
        change_id="c_ac_4",
        user_id="u_all_channel",
        changed_at="2024-04-10T09:00:00Z",
        channel="all",
    ),
    out(
        change_id="c_ac_5",
        user_id="u_all_channel",
        changed_at="2024-03-10T11:00:00Z",
        channel="email",
    ),
    # two changes at the same instant: change_id decides (c_si_a before c_si_b)
    out(change_id="c_si_x", user_id="u_same_instant", changed_at="2024-03-10T09:00:00Z"),
    out(change_id="c_si_b", user_id="u_same_instant", changed_at="2024-03-10T10:00:00Z"),
    optin(change_id="c_si_a", user_id="u_same_instant", changed_at="2024-03-10T10:00:00Z"),
    # numeric change ids of different widths and a text id at one instant: 9 < 10 < 100
    # < c_sin_z (natural order), so each is a status change
    out(change_id="7", user_id="u_same_instant_num", changed_at="2024-03-10T09:00:00Z"),
    optin(change_id="9", user_id="u_same_instant_num", changed_at="2024-03-10T10:00:00Z"),
    out(change_id="10", user_id="u_same_instant_num", changed_at="2024-03-10T10:00:00Z"),
    optin(change_id="100", user_id="u_same_instant_num", changed_at="2024-03-10T10:00:00Z"),
    out(change_id="c_sin_z", user_id="u_same_instant_num", changed_at="2024-03-10T10:00:00Z"),
    # enum case and white space
    consent_change(
        change_id="c_enum",
        user_id="u_enum_case",
        status="Opted_Out",
        changed_at=T,
        channel=" PUSH ",
        source=" Inbound_Keyword ",
        keyword=" STOP ",
        reason="  too many messages ",
    ),
    # RFC 4180 quoting: comma, doubled quotes and a line break inside a field
    out(change_id="c_quote", user_id="u_quoting", reason='Too many, "daily"\nmessages'),
    # timestamp formats
    out(
        change_id="c_ts_plus",
        user_id="u_ts_plus",
        changed_at="2024-03-10T01:30:00+02:00",
        channel="sms",
    ),
    out(
        change_id="c_ts_minus",
        user_id="u_ts_minus",
        changed_at="2024-03-10 21:15:00-05:00",
        channel="sms",
    ),
    out(change_id="c_ts_z", user_id="u_ts_z", changed_at="2024-03-10T10:00:00Z", channel="sms"),
    out(
        change_id="c_ts_naive",
        user_id="u_ts_naive",
        changed_at="2024-03-10 23:59:59",
        channel="sms",
    ),
    out(
        change_id="c_ts_naive_t",
        user_id="u_ts_naive_t",
        changed_at="2024-03-10T05:06:07",
        channel="sms",
    ),
    out(
        change_id="c_ts_frac",
        user_id="u_ts_frac",
        changed_at="2024-03-10T10:00:00.250Z",
        channel="sms",
    ),
    # users
    out(change_id="c_unknown", user_id="u_unknown"),
    out(change_id="c_profile", user_id="u_profile"),
    # last campaign
    out(change_id="c_lc_basic", user_id="u_lc_basic"),
    out(change_id="c_lc_nocamp", user_id="u_lc_nocamp"),
    out(change_id="c_lc_instant", user_id="u_lc_instant"),
    out(change_id="c_lc_tie_num", user_id="u_lc_tie_num"),
    out(change_id="c_lc_tie_text", user_id="u_lc_tie_text"),
    out(change_id="c_lc_unknown", user_id="u_lc_unknown"),
    out(change_id="c_lc_none", user_id="u_lc_none"),
    out(change_id="c_lc_old", user_id="u_lc_old"),
    # agg_optouts_daily, channel whatsapp (see the tests at the end)
    optin(
        change_id="c_d1_in",
        user_id="u_day_1",
        changed_at="2024-03-01T10:00:00Z",
        channel="whatsapp",
    ),
    out(
        change_id="c_d1_out",
        user_id="u_day_1",
        changed_at="2024-04-02T08:00:00Z",
        channel="whatsapp",
    ),
    optin(
        change_id="c_d2_in",
        user_id="u_day_2",
        changed_at="2024-01-01T00:00:00Z",
        channel="whatsapp",
        source="import",
    ),
    out(
        change_id="c_d2_out",
        user_id="u_day_2",
        changed_at="2024-04-02T23:59:59Z",
        channel="whatsapp",
        source="inbound_keyword",
        keyword="STOP",
    ),
    optin(
        change_id="c_d3_in",
        user_id="u_day_3",
        changed_at="2024-03-15T09:00:00Z",
        channel="whatsapp",
        source="api",
    ),
    out(
        change_id="c_d3_out",
        user_id="u_day_3",
        changed_at="2024-04-15T09:00:00Z",
        channel="whatsapp",
    ),
    out(
        change_id="c_d4_out",
        user_id="u_day_4",
        changed_at="2024-03-20T09:00:00Z",
        channel="whatsapp",
    ),
    optin(
        change_id="c_d4_in",
        user_id="u_day_4",
        changed_at="2024-04-02T12:00:00Z",
        channel="whatsapp",
    ),
    optin(
        change_id="c_d5_in",
        user_id="u_day_5",
        changed_at="2024-04-01T23:59:59Z",
        channel="whatsapp",
    ),
    optin(
        change_id="c_d6_in1",
        user_id="u_day_6",
        changed_at="2024-03-01T06:00:00Z",
        channel="whatsapp",
    ),
    optin(
        change_id="c_d6_in2",
        user_id="u_day_6",
        changed_at="2024-03-10T06:00:00Z",
        channel="whatsapp",
    ),
    out(
        change_id="c_d6_imp",
        user_id="u_day_6",
        changed_at="2024-04-02T06:00:00Z",
        channel="whatsapp",
        source="import",
    ),
    out(
        change_id="c_d7_imp",
        user_id="u_day_7",
        changed_at="2024-03-01T00:00:00Z",
        channel="whatsapp",
        source="import",
    ),
    out(
        change_id="c_d7_stop",
        user_id="u_day_7",
        changed_at="2024-04-02T07:00:00Z",
        channel="whatsapp",
        source="inbound_keyword",
        keyword="STOP",
    ),
    optin(
        change_id="c_d8_in",
        user_id="u_day_8",
        changed_at="2024-03-05T09:00:00Z",
        channel="whatsapp",
    ),
    out(
        change_id="c_d8_out",
        user_id="u_day_8",
        changed_at="2024-04-01T10:00:00Z",
        channel="whatsapp",
    ),
]

SENDS = [
    # t - 7x24h: counted
    cmp_a_send(send_id="s_win_start", user_id="u_win_start", sent_at="2024-03-03T12:00:00Z"),
    # 1 s earlier: not
    cmp_a_send(send_id="s_win_early", user_id="u_win_early", sent_at="2024-03-03T11:59:59Z"),
    # at the opt-out instant: not
    cmp_a_send(send_id="s_win_instant", user_id="u_win_instant", sent_at=T),
    # 1 s before: counted
    cmp_a_send(send_id="s_win_last", user_id="u_win_last", sent_at="2024-03-10T11:59:59Z"),
    cmp_a_send(
        send_id="s_ps_failed",
        user_id="u_push_status",
        sent_at="2024-03-08T00:00:00Z",
        delivery_status="failed",
    ),
    cmp_a_send(
        send_id="s_ps_bounced",
        user_id="u_push_status",
        sent_at="2024-03-08T00:00:00Z",
        delivery_status="bounced",
    ),
    cmp_a_send(
        send_id="s_pc_email",
        user_id="u_push_channel",
        sent_at="2024-03-08T00:00:00Z",
        channel="email",
    ),
    cmp_a_send(
        send_id="s_pc_sms", user_id="u_push_channel", sent_at="2024-03-08T00:00:00Z", channel="sms"
    ),
    cmp_a_send(
        send_id="s_pc_whatsapp",
        user_id="u_push_channel",
        sent_at="2024-03-08T00:00:00Z",
        channel="whatsapp",
    ),
    cmp_a_send(
        send_id="s_pk_mkt",
        user_id="u_push_category",
        sent_at="2024-03-08T00:00:00Z",
        message_category="marketing",
    ),
    cmp_a_send(
        send_id="s_pk_trx",
        user_id="u_push_category",
        sent_at="2024-03-08T00:00:00Z",
        message_category="transactional",
    ),
    cmp_a_send(
        send_id="s_pk_util",
        user_id="u_push_category",
        sent_at="2024-03-08T00:00:00Z",
        message_category="utility",
    ),
    cmp_a_send(
        send_id="s_pk_otp",
        user_id="u_push_category",
        sent_at="2024-03-08T00:00:00Z",
        message_category="otp",
    ),
    # u_push_tz opts out at 2024-03-10 14:00+02:00 = 12:00Z
    cmp_a_send(
        send_id="s_tz_1",
        user_id="u_push_tz",
        sent_at="2024-03-03T07:00:00-05:00",
        message_category="transactional",
    ),
    cmp_a_send(send_id="s_tz_2", user_id="u_push_tz", sent_at="2024-03-03 11:59:59"),
    cmp_a_send(send_id="s_tz_3", user_id="u_push_tz", sent_at="2024-03-10T13:59:59.999+02:00"),
    cmp_a_send(send_id="s_tz_4", user_id="u_push_tz", sent_at="2024-03-10T12:00:00.000Z"),
    # u_flip: opt-outs at 03-01 and 03-09
    cmp_a_send(send_id="s_flip_1", user_id="u_flip", sent_at="2024-02-28T00:00:00Z"),
    cmp_a_send(send_id="s_flip_2", user_id="u_flip", sent_at="2024-03-03T00:00:00Z"),
    cmp_a_send(send_id="s_flip_3", user_id="u_flip", sent_at="2024-03-06T00:00:00Z"),
    # enum case in sends
    cmp_a_send(
        send_id="s_enum",
        user_id="u_enum_case",
        sent_at="2024-03-09T12:00:00Z",
        channel=" Push ",
        message_category="MARKETING",
        delivery_status=" Delivered ",
    ),
]

INTERACTIONS = [
    interaction(
        interaction_id="i_lcb_1",
        user_id="u_lc_basic",
        occurred_at="2024-03-05T00:00:00Z",
        campaign_id="cmp_a",
        interaction_type="click",
    ),
    interaction(
        interaction_id="i_lcb_2",
        user_id="u_lc_basic",
        occurred_at="2024-03-08T00:00:00Z",
        campaign_id="cmp_b",
        interaction_type="open",
    ),
    interaction(
        interaction_id="i_lcn_1",
        user_id="u_lc_nocamp",
        occurred_at="2024-03-07T00:00:00Z",
        campaign_id="cmp_a",
        interaction_type="click",
    ),
    interaction(
        interaction_id="i_lcn_2",
        user_id="u_lc_nocamp",
        occurred_at="2024-03-09T00:00:00Z",
        campaign_id=None,
        interaction_type="open",
    ),
    interaction(
        interaction_id="i_lcn_3",
        user_id="u_lc_nocamp",
        occurred_at="2024-03-09T06:00:00Z",
        campaign_id="   ",
        interaction_type="reply",
    ),
    interaction(
        interaction_id="i_lci_1",
        user_id="u_lc_instant",
        occurred_at="2024-03-01T00:00:00Z",
        campaign_id="cmp_a",
        interaction_type="dismiss",
    ),
    interaction(
        interaction_id="i_lci_2",
        user_id="u_lc_instant",
        occurred_at=T,
        campaign_id="cmp_b",
        interaction_type="click",
    ),
    interaction(
        interaction_id="i_lci_3",
        user_id="u_lc_instant",
        occurred_at="2024-03-11T00:00:00Z",
        campaign_id="cmp_b",
        interaction_type="click",
    ),
    interaction(
        interaction_id="9",
        user_id="u_lc_tie_num",
        occurred_at="2024-03-09T09:00:00Z",
        campaign_id="cmp_a",
        interaction_type="open",
    ),
    interaction(
        interaction_id="10",
        user_id="u_lc_tie_num",
        occurred_at="2024-03-09T09:00:00Z",
        campaign_id="cmp_b",
        interaction_type="click",
    ),
    interaction(
        interaction_id="i_tie_a",
        user_id="u_lc_tie_text",
        occurred_at="2024-03-09T09:00:00Z",
        campaign_id="cmp_b",
        interaction_type="reply",
    ),
    interaction(
        interaction_id="i_tie_b",
        user_id="u_lc_tie_text",
        occurred_at="2024-03-09T11:00:00+02:00",
        campaign_id="cmp_a",
        interaction_type="conversion",
    ),
    interaction(
        interaction_id="i_lcu_1",
        user_id="u_lc_unknown",
        occurred_at="2024-03-09T00:00:00Z",
        campaign_id="cmp_zzz",
        interaction_type="click",
    ),
    interaction(
        interaction_id="i_lcz_1",
        user_id="u_lc_none",
        occurred_at="2024-03-09T00:00:00Z",
        campaign_id=None,
        interaction_type="click",
    ),
    interaction(
        interaction_id="i_lco_1",
        user_id="u_lc_old",
        occurred_at="2023-01-01T00:00:00Z",
        campaign_id="cmp_a",
        interaction_type="open",
    ),
    interaction(
        interaction_id="i_flip_1",
        user_id="u_flip",
        occurred_at="2024-02-29T00:00:00Z",
        campaign_id="cmp_a",
        interaction_type="click",
    ),
    interaction(
        interaction_id="i_flip_2",
        user_id="u_flip",
        occurred_at="2024-03-06T00:00:00Z",
        campaign_id="cmp_b",
        interaction_type="open",
    ),
]

TABLES = {
    "users": USERS,
    "campaigns": CAMPAIGNS,
    "sends": SENDS,
    "interactions": INTERACTIONS,
    "events": [event(event_id="e_1", user_id="u_flip", occurred_at="2024-03-12T00:00:00Z")],
    "consent_changes": CONSENT,
}

# Every opt-out of the landing zone, by hand (docs/CONTRACT.md §4.4).
# fmt: off
EXPECTED_OPTOUTS = {
    "c_win_start", "c_win_early", "c_win_instant", "c_win_last",
    "c_push_status", "c_push_channel", "c_push_category", "c_push_none", "c_push_tz",
    "c_flip_1", "c_flip_3", "c_rs_1", "c_io_3", "c_ac_1", "c_ac_2", "c_ac_5",
    "c_si_x", "c_si_b", "7", "10", "c_sin_z", "c_enum", "c_quote",
    "c_ts_plus", "c_ts_minus", "c_ts_z", "c_ts_naive", "c_ts_naive_t", "c_ts_frac",
    "c_unknown", "c_profile",
    "c_lc_basic", "c_lc_nocamp", "c_lc_instant", "c_lc_tie_num", "c_lc_tie_text",
    "c_lc_unknown", "c_lc_none", "c_lc_old",
    "c_d1_out", "c_d2_out", "c_d3_out", "c_d4_out", "c_d8_out",
}
# fmt: on


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("marts_core"))
    write_landing_zone(settings.raw_dir, TABLES)
    return build(settings)


def optouts_of(wh, user_id) -> list[tuple]:
    return query(
        wh,
        "select optout_id, channel from marts.fct_optouts where user_id = ? "
        "order by opted_out_at, optout_id",
        [user_id],
    )


def status_changes_of(wh, user_id) -> list[tuple]:
    return query(
        wh,
        "select change_id, channel, status from marts.fct_status_changes "
        "where user_id = ? order by changed_at, change_id",
        [user_id],
    )


def row(wh, table, optout_id) -> dict:
    rows = query_dicts(wh, f"select * from marts.{table} where optout_id = ?", [optout_id])
    assert len(rows) == 1, f"{table}: {len(rows)} rows for {optout_id}"
    return rows[0]


def push_counts(wh, optout_id) -> tuple[int, int]:
    r = row(wh, "fct_push_before_optout_7d", optout_id)
    return r["push_count_7d"], r["marketing_push_count_7d"]


def last_campaign(wh, optout_id) -> tuple:
    r = row(wh, "fct_last_campaign", optout_id)
    return (
        r["last_campaign_id"],
        r["last_campaign_name"],
        r["last_interaction_type"],
        r["last_interaction_at"],
    )


# --- contract columns --------------------------------------------------------------------

# fmt: off
CONTRACT_COLUMNS = {
    "fct_optouts": ["optout_id", "user_id", "external_id", "channel", "opted_out_at",
                    "opted_out_date", "source", "keyword", "reason"],
    "fct_push_before_optout_7d": ["optout_id", "user_id", "channel", "opted_out_at",
                                  "push_count_7d", "marketing_push_count_7d"],
    "fct_last_campaign": ["optout_id", "user_id", "channel", "opted_out_at", "last_campaign_id",
                          "last_campaign_name", "last_interaction_type", "last_interaction_at"],
    "fct_optout_retention": ["optout_id", "user_id", "channel", "opted_out_at", "window_days",
                             "retention_status", "events_before", "events_after"],
    "fct_last_events_retain_churn": ["optout_id", "user_id", "channel", "opted_out_at",
                                     "window_days", "retention_status", "event_name",
                                     "event_count"],
    "agg_optouts_daily": ["date", "channel", "optouts", "optins"],
}
# fmt: on


@pytest.mark.parametrize("table", sorted(CONTRACT_COLUMNS))
def test_mart_has_the_contract_columns(wh, table):
    """Every column docs/CONTRACT.md §5 lists for the mart exists in marts.<table>. The list is
    written here again on purpose: it checks the marts against the contract's text."""
    got = {
        r[0]
        for r in query(
            wh,
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = ?",
            [table],
        )
    }
    assert set(CONTRACT_COLUMNS[table]) <= got


def test_the_not_null_constraints_are_the_tables_own(wh, tmp_path):
    """The marts' not_null constraints are part of each table (DuckDB rejects a null when the
    build writes it, so the marts carry no not_null test), exactly on the columns declared."""
    declared = not_null_columns()
    assert sum(len(columns) for columns in declared.values()) >= 100
    rows = query(
        wh,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts' and is_nullable = 'NO'",
    )
    enforced = {}
    for table, column in rows:
        enforced.setdefault(table, set()).add(column)
    assert {t: c for t, c in enforced.items() if c} == {t: c for t, c in declared.items() if c}
    copy = tmp_path / "copy.duckdb"
    shutil.copy2(wh, copy)
    with duckdb.connect(str(copy)) as con, pytest.raises(duckdb.ConstraintException):
        con.execute("insert into marts.fct_optouts (optout_id) values (null)")


# --- consent timeline: which changes are opt-outs --------------------------------------


def test_fct_optouts_holds_exactly_the_hand_computed_optouts(wh):
    """Every opt-out listed in EXPECTED_OPTOUTS, nothing else (44 rows)."""
    got = [r[0] for r in query(wh, "select optout_id from marts.fct_optouts")]
    assert sorted(got) == sorted(EXPECTED_OPTOUTS)


@pytest.mark.parametrize("table", ["fct_push_before_optout_7d", "fct_last_campaign"])
def test_every_optout_has_exactly_one_row_in_per_optout_marts(wh, table):
    """One row per opt-out, 0-count and no-campaign opt-outs included."""
    got = [r[0] for r in query(wh, f"select optout_id from marts.{table}")]
    assert sorted(got) == sorted(EXPECTED_OPTOUTS)


def test_repeated_stop_is_not_a_second_optout(wh):
    """STOP at 03-10 then Stop at 03-11 on push: only the first is an opt-out."""
    assert optouts_of(wh, "u_repeat_stop") == [("c_rs_1", "push")]
    assert status_changes_of(wh, "u_repeat_stop") == [("c_rs_1", "push", "opted_out")]


def test_keyword_stop_after_imported_optout_is_not_an_optout(wh):
    """import opted_out (state only) then STOP: neither is reported."""
    assert optouts_of(wh, "u_import_stop") == []
    assert status_changes_of(wh, "u_import_stop") == []


def test_optin_after_imported_optout_is_a_status_change(wh):
    """import out, app opt-in, admin opt-out: one opt-in and one opt-out, no import."""
    assert optouts_of(wh, "u_import_optin") == [("c_io_3", "push")]
    assert status_changes_of(wh, "u_import_optin") == [
        ("c_io_2", "push", "opted_in"),
        ("c_io_3", "push", "opted_out"),
    ]


def test_optout_optin_optout_gives_two_optouts_and_one_optin(wh):
    """03-01 out, 03-05 in, 03-09 out: 2 opt-outs, 1 opt-in."""
    assert optouts_of(wh, "u_flip") == [("c_flip_1", "push"), ("c_flip_3", "push")]
    assert status_changes_of(wh, "u_flip") == [
        ("c_flip_1", "push", "opted_out"),
        ("c_flip_2", "push", "opted_in"),
        ("c_flip_3", "push", "opted_out"),
    ]


def test_all_channel_is_its_own_timeline(wh):
    """push out 08:00, all out 09:00, push out 10:00 (repeat), email out 11:00, all in
    on 04-10: opt-outs push/all/email, opt-in all; the push repeat is nothing."""
    assert sorted(optouts_of(wh, "u_all_channel")) == [
        ("c_ac_1", "push"),
        ("c_ac_2", "all"),
        ("c_ac_5", "email"),
    ]
    assert status_changes_of(wh, "u_all_channel") == [
        ("c_ac_1", "push", "opted_out"),
        ("c_ac_2", "all", "opted_out"),
        ("c_ac_5", "email", "opted_out"),
        ("c_ac_4", "all", "opted_in"),
    ]


def test_changes_at_the_same_instant_are_ordered_by_change_id(wh):
    """out c_si_x 09:00; at 10:00 c_si_a (in) then c_si_b (out) by change_id:
    c_si_a is an opt-in, c_si_b a new opt-out (reverse order would make it a repeat)."""
    assert optouts_of(wh, "u_same_instant") == [("c_si_x", "push"), ("c_si_b", "push")]
    assert status_changes_of(wh, "u_same_instant") == [
        ("c_si_x", "push", "opted_out"),
        ("c_si_a", "push", "opted_in"),
        ("c_si_b", "push", "opted_out"),
    ]


def test_changes_at_the_same_instant_are_ordered_by_numeric_change_id_value(wh):
    """out 7 at 09:00; at 10:00 in 9, out 10, in 100, out c_sin_z (numeric ids by value,
    then text): five status changes, opt-outs 7, 10 and c_sin_z. Text order (10, 100, 9,
    c_sin_z) would make 10 and 9 repeats."""
    assert sorted(optouts_of(wh, "u_same_instant_num")) == [
        ("10", "push"),
        ("7", "push"),
        ("c_sin_z", "push"),
    ]
    assert sorted(status_changes_of(wh, "u_same_instant_num")) == [
        ("10", "push", "opted_out"),
        ("100", "push", "opted_in"),
        ("7", "push", "opted_out"),
        ("9", "push", "opted_in"),
        ("c_sin_z", "push", "opted_out"),
    ]


def test_fct_status_changes_optouts_equal_fct_optouts(wh):
    """The opted_out rows of fct_status_changes are exactly fct_optouts."""
    got = query(wh, "select change_id from marts.fct_status_changes where status = 'opted_out'")
    assert sorted(r[0] for r in got) == sorted(EXPECTED_OPTOUTS)


def test_enum_case_and_white_space_are_normalised(wh):
    """' PUSH ' / 'Opted_Out' / ' Inbound_Keyword ' -> push / opt-out / inbound_keyword;
    keyword and reason trimmed, case kept."""
    r = row(wh, "fct_optouts", "c_enum")
    assert (r["channel"], r["source"], r["keyword"], r["reason"]) == (
        "push",
        "inbound_keyword",
        "STOP",
        "too many messages",
    )
    assert r["opted_out_at"] == T_UTC


def test_rfc4180_quoted_field_is_read_whole(wh):
    """reason 'Too many, "daily"<LF>messages' is written quoted; it arrives intact."""
    assert row(wh, "fct_optouts", "c_quote")["reason"] == 'Too many, "daily"\nmessages'


# --- timestamps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("optout_id", "utc", "date"),
    [
        ("c_ts_plus", dt.datetime(2024, 3, 9, 23, 30), dt.date(2024, 3, 9)),
        ("c_ts_minus", dt.datetime(2024, 3, 11, 2, 15), dt.date(2024, 3, 11)),
        ("c_ts_z", dt.datetime(2024, 3, 10, 10, 0), dt.date(2024, 3, 10)),
        ("c_ts_naive", dt.datetime(2024, 3, 10, 23, 59, 59), dt.date(2024, 3, 10)),
        ("c_ts_naive_t", dt.datetime(2024, 3, 10, 5, 6, 7), dt.date(2024, 3, 10)),
        ("c_ts_frac", dt.datetime(2024, 3, 10, 10, 0, 0, 250000), dt.date(2024, 3, 10)),
    ],
)
def test_timestamps_are_converted_to_utc(wh, optout_id, utc, date):
    """01:30+02:00 -> 23:30Z the day before; 21:15-05:00 -> 02:15Z the day after;
    no offset (space or T) = UTC; fractional seconds kept."""
    r = row(wh, "fct_optouts", optout_id)
    assert (r["opted_out_at"], r["opted_out_date"]) == (utc, date)


# --- users ----------------------------------------------------------------------------------


def test_user_missing_from_users_is_kept_with_empty_personal_fields(wh):
    """u_unknown has no users row: its opt-out is kept, external_id empty."""
    r = row(wh, "fct_optouts", "c_unknown")
    assert (r["user_id"], r["external_id"]) == ("u_unknown", None)
    assert query(wh, "select count(*) from marts.dim_users where user_id = 'u_unknown'") == [(0,)]


def test_latest_updated_at_wins_in_utc(wh):
    """Versions at 23:00Z (written +02:00), 23:30Z and 2023: ext_new (23:30Z) wins."""
    got = query_dicts(wh, "select * from marts.dim_users where user_id = 'u_profile'")
    assert len(got) == 1
    assert (got[0]["external_id"], got[0]["email"]) == ("ext_new", "new@example.com")
    assert got[0]["updated_at"] == dt.datetime(2024, 1, 31, 23, 30)
    assert row(wh, "fct_optouts", "c_profile")["external_id"] == "ext_new"


# --- fct_push_before_optout_7d ---------------------------------------------------------


def test_push_sent_exactly_7x24h_before_is_counted(wh):
    """send at 03-03T12:00:00Z, opt-out 03-10T12:00:00Z: window start inclusive -> 1."""
    assert push_counts(wh, "c_win_start") == (1, 1)


def test_push_sent_one_second_before_the_window_is_not_counted(wh):
    """send at 03-03T11:59:59Z: 1 s before t - 7d -> 0."""
    assert push_counts(wh, "c_win_early") == (0, 0)


def test_push_sent_at_the_optout_instant_is_not_counted(wh):
    """send at exactly t: window end exclusive -> 0."""
    assert push_counts(wh, "c_win_instant") == (0, 0)


def test_push_sent_one_second_before_the_optout_is_counted(wh):
    """send at t - 1 s -> 1."""
    assert push_counts(wh, "c_win_last") == (1, 1)


def test_failed_and_bounced_pushes_are_not_counted(wh):
    """one failed and one bounced push in the window -> 0."""
    assert push_counts(wh, "c_push_status") == (0, 0)


def test_non_push_sends_are_not_counted(wh):
    """delivered email, sms and whatsapp sends in the window -> 0."""
    assert push_counts(wh, "c_push_channel") == (0, 0)


def test_transactional_pushes_count_in_push_count_only(wh):
    """delivered pushes marketing, transactional, utility, otp -> push 4, marketing 1."""
    assert push_counts(wh, "c_push_category") == (4, 1)


def test_optout_without_sends_has_a_zero_row(wh):
    """No sends at all -> (0, 0), and other users' sends do not leak in."""
    assert push_counts(wh, "c_push_none") == (0, 0)


def test_push_window_uses_utc_instants(wh):
    """opt-out 14:00+02:00 = 12:00Z. 03-03 07:00-05:00 = t-7d (trx, in); 03-03 11:59:59
    no offset = UTC (out); 13:59:59.999+02:00 = t-1ms (mkt, in); 12:00:00.000Z = t (out)
    -> push 2, marketing 1."""
    assert push_counts(wh, "c_push_tz") == (2, 1)


def test_each_optout_of_a_user_has_its_own_window(wh):
    """opt-outs 03-01 and 03-09; sends 02-28, 03-03, 03-06 -> 1 and 2."""
    assert push_counts(wh, "c_flip_1") == (1, 1)
    assert push_counts(wh, "c_flip_3") == (2, 2)


def test_send_enum_case_and_white_space_are_normalised(wh):
    """' Push ' / 'MARKETING' / ' Delivered ' one day before -> (1, 1)."""
    assert push_counts(wh, "c_enum") == (1, 1)


# --- fct_last_campaign ----------------------------------------------------------------------


def test_last_campaign_is_the_latest_interaction_before_the_optout(wh):
    """cmp_a click 03-05, cmp_b open 03-08 -> cmp_b 'Spring Sale' open 03-08."""
    assert last_campaign(wh, "c_lc_basic") == (
        "cmp_b",
        "Spring Sale",
        "open",
        dt.datetime(2024, 3, 8),
    )


def test_interaction_without_campaign_is_ignored(wh):
    """cmp_a click 03-07; campaign-less open 03-09 and blank-campaign reply 03-09 06:00
    -> cmp_a click 03-07."""
    assert last_campaign(wh, "c_lc_nocamp") == (
        "cmp_a",
        "Winter Promo",
        "click",
        dt.datetime(2024, 3, 7),
    )


def test_interaction_at_the_optout_instant_is_ignored(wh):
    """cmp_a dismiss 03-01, cmp_b at exactly t, cmp_b after t -> cmp_a dismiss."""
    assert last_campaign(wh, "c_lc_instant") == (
        "cmp_a",
        "Winter Promo",
        "dismiss",
        dt.datetime(2024, 3, 1),
    )


def test_tie_on_occurred_at_goes_to_greatest_numeric_interaction_id(wh):
    """ids '9' (cmp_a) and '10' (cmp_b) at the same instant: 10 > 9 (documented:
    numeric ids by value) -> cmp_b click."""
    assert last_campaign(wh, "c_lc_tie_num") == (
        "cmp_b",
        "Spring Sale",
        "click",
        dt.datetime(2024, 3, 9, 9),
    )


def test_tie_on_occurred_at_goes_to_greatest_text_interaction_id(wh):
    """i_tie_a 09:00Z and i_tie_b 11:00+02:00 (= 09:00Z) tie: i_tie_b -> cmp_a."""
    assert last_campaign(wh, "c_lc_tie_text") == (
        "cmp_a",
        "Winter Promo",
        "conversion",
        dt.datetime(2024, 3, 9, 9),
    )


def test_unknown_campaign_keeps_id_with_empty_name(wh):
    """cmp_zzz is not in campaigns -> id cmp_zzz, name empty."""
    assert last_campaign(wh, "c_lc_unknown") == ("cmp_zzz", None, "click", dt.datetime(2024, 3, 9))


def test_no_campaign_interaction_gives_empty_last_columns(wh):
    """Only a campaign-less interaction -> every last_* column empty."""
    assert last_campaign(wh, "c_lc_none") == (None, None, None, None)


def test_last_campaign_has_no_look_back_limit(wh):
    """An interaction 14 months earlier still counts."""
    assert last_campaign(wh, "c_lc_old") == (
        "cmp_a",
        "Winter Promo",
        "open",
        dt.datetime(2023, 1, 1),
    )


def test_each_optout_of_a_user_has_its_own_last_campaign(wh):
    """cmp_a 02-29 before the 03-01 opt-out; cmp_b 03-06 before the 03-09 one."""
    assert last_campaign(wh, "c_flip_1")[0] == "cmp_a"
    assert last_campaign(wh, "c_flip_3")[0] == "cmp_b"


# --- agg_optouts_daily (channel whatsapp) ---------------------------------------------------


def daily(wh, date) -> dict:
    rows = query_dicts(
        wh, "select * from marts.agg_optouts_daily where channel = 'whatsapp' and date = ?", [date]
    )
    assert len(rows) == 1
    return rows[0]


def test_daily_rows_exist_only_on_days_with_an_optout_or_optin(wh):
    """whatsapp: in 03-01 (x2), in 03-05, in 03-15, out 03-20, 04-01, 04-02, out 04-15.
    The import of 01-01 and the repeated opt-in of 03-10 make no row."""
    got = query(
        wh, "select date from marts.agg_optouts_daily where channel = 'whatsapp' order by date"
    )
    assert [r[0] for r in got] == [
        dt.date(2024, 3, 1),
        dt.date(2024, 3, 5),
        dt.date(2024, 3, 15),
        dt.date(2024, 3, 20),
        dt.date(2024, 4, 1),
        dt.date(2024, 4, 2),
        dt.date(2024, 4, 15),
    ]


def test_daily_counts_on_a_hand_made_day(wh):
    """2024-04-02 whatsapp: opt-outs u_day_1 (08:00) and u_day_2 (23:59:59); opt-in
    u_day_4; u_day_6's import out and u_day_7's STOP after an imported out are not
    counted. Opted in at 00:00: u_day_1, u_day_2 (import in = state), u_day_3, u_day_5
    (in at 04-01 23:59:59), u_day_6 (repeated in counted once) = 5. Not: u_day_4 (out),
    u_day_7 (out), u_day_8 (out on 04-01). Rate 2/5."""
    r = daily(wh, dt.date(2024, 4, 2))
    assert (r["optouts"], r["optins"], r["opted_in_users_at_start"]) == (2, 1, 5)
    assert r["optout_rate"] == pytest.approx(0.4)


def test_daily_counts_on_the_day_before(wh):
    """2024-04-01: out u_day_8, in u_day_5 (23:59:59). At 00:00: u_day_1, 2, 3, 6, 8 = 5."""
    r = daily(wh, dt.date(2024, 4, 1))
    assert (r["optouts"], r["optins"], r["opted_in_users_at_start"]) == (1, 1, 5)
    assert r["optout_rate"] == pytest.approx(0.2)


def test_daily_rate_with_no_optouts(wh):
    """2024-03-01: opt-ins u_day_1, u_day_6; u_day_7's import not counted; at 00:00 only
    u_day_2 (imported opt-in of 01-01) -> 0 out, 2 in, 1 at start, rate 0."""
    r = daily(wh, dt.date(2024, 3, 1))
    assert (r["optouts"], r["optins"], r["opted_in_users_at_start"]) == (0, 2, 1)
    assert r["optout_rate"] == pytest.approx(0.0)


def test_daily_denominator_counts_an_optin_on_all_as_effective_status(wh):
    """2024-04-15 whatsapp: out u_day_3. Documented: a change on `all` applies to every
    channel, so u_all_channel (all opt-in 04-10) is opted in on whatsapp. At 00:00:
    u_day_3, u_day_4 (in 04-02), u_day_5, u_all_channel = 4; rate 1/4."""
    r = daily(wh, dt.date(2024, 4, 15))
    assert (r["optouts"], r["optins"], r["opted_in_users_at_start"]) == (1, 0, 4)
    assert r["optout_rate"] == pytest.approx(0.25)


def test_daily_optouts_use_the_utc_date(wh):
    """sms opt-outs: 01:30+02:00 counts on 03-09, 21:15-05:00 on 03-11; 03-10 has
    c_ts_z, c_ts_naive, c_ts_naive_t, c_ts_frac = 4."""
    got = dict(query(wh, "select date, optouts from marts.agg_optouts_daily where channel = 'sms'"))
    assert got == {dt.date(2024, 3, 9): 1, dt.date(2024, 3, 10): 4, dt.date(2024, 3, 11): 1}
