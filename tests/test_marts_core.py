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

import pytest
from conftest import build, query, query_dicts, settings_for, write_landing_zone

T = "2024-03-10T12:00:00Z"
T_UTC = dt.datetime(2024, 3, 10, 12, 0, 0)


def change(
    change_id,
    user_id,
    status,
    changed_at,
    channel="push",
    source="app_settings",
    keyword=None,
    reason=None,
):
    return {
        "change_id": change_id,
        "user_id": user_id,
        "channel": channel,
        "status": status,
        "changed_at": changed_at,
        "source": source,
        "keyword": keyword,
        "reason": reason,
    }


def out(change_id, user_id, changed_at=T, **kwargs):
    return change(change_id, user_id, "opted_out", changed_at, **kwargs)


def optin(change_id, user_id, changed_at, **kwargs):
    return change(change_id, user_id, "opted_in", changed_at, **kwargs)


def send(send_id, user_id, sent_at, channel="push", category="marketing", status="delivered"):
    return {
        "send_id": send_id,
        "user_id": user_id,
        "campaign_id": "cmp_a",
        "channel": channel,
        "message_category": category,
        "sent_at": sent_at,
        "delivery_status": status,
    }


def interaction(interaction_id, user_id, occurred_at, campaign_id, kind="click"):
    return {
        "interaction_id": interaction_id,
        "user_id": user_id,
        "campaign_id": campaign_id,
        "send_id": None,
        "channel": "push",
        "interaction_type": kind,
        "occurred_at": occurred_at,
    }


def user(user_id, external_id, updated_at, email=None):
    return {
        "user_id": user_id,
        "external_id": external_id,
        "email": email,
        "first_name": "Pat",
        "updated_at": updated_at,
    }


CAMPAIGNS = [
    {
        "campaign_id": "cmp_a",
        "campaign_name": "Winter Promo",
        "channel": "push",
        "message_category": "marketing",
        "started_at": "2024-01-01T00:00:00Z",
    },
    {
        "campaign_id": "cmp_b",
        "campaign_name": "Spring Sale",
        "channel": "push",
        "message_category": "marketing",
        "started_at": "2024-03-01T00:00:00Z",
    },
]

USERS = [
    # u_profile: three versions; 2024-01-31T23:30Z is the latest in UTC even
    # though the +02:00 row's text sorts later (it is 2024-01-31T23:00Z).
    user("u_profile", "ext_offset", "2024-02-01T01:00:00+02:00", "offset@example.com"),
    user("u_profile", "ext_new", "2024-01-31T23:30:00Z", "new@example.com"),
    user("u_profile", "ext_old", "2023-06-01 08:00:00", "old@example.com"),
]

CONSENT = [
    # 7-day push window edges, one send each (see SENDS).
    out("c_win_start", "u_win_start"),
    out("c_win_early", "u_win_early"),
    out("c_win_instant", "u_win_instant"),
    out("c_win_last", "u_win_last"),
    out("c_push_status", "u_push_status"),
    out("c_push_channel", "u_push_channel"),
    out("c_push_category", "u_push_category"),
    out("c_push_none", "u_push_none"),
    out("c_push_tz", "u_push_tz", "2024-03-10 14:00:00+02:00"),
    # opt-out -> opt-in -> opt-out
    out("c_flip_1", "u_flip", "2024-03-01T00:00:00Z"),
    optin("c_flip_2", "u_flip", "2024-03-05T00:00:00Z"),
    out("c_flip_3", "u_flip", "2024-03-09T00:00:00Z", source="unsubscribe_link"),
    # a second STOP repeats the status
    out(
        "c_rs_1", "u_repeat_stop", "2024-03-10T10:00:00Z", source="inbound_keyword", keyword="STOP"
    ),
    out(
        "c_rs_2", "u_repeat_stop", "2024-03-11T10:00:00Z", source="inbound_keyword", keyword="Stop"
    ),
    # imported opt-out, then a keyword STOP
    out("c_is_1", "u_import_stop", "2024-03-01T00:00:00Z", source="import"),
    out(
        "c_is_2", "u_import_stop", "2024-03-10T00:00:00Z", source="inbound_keyword", keyword="STOP"
    ),
    # imported opt-out, opt-in, opt-out
    out("c_io_1", "u_import_optin", "2024-03-01T00:00:00Z", source="import"),
    optin("c_io_2", "u_import_optin", "2024-03-05T00:00:00Z"),
    out("c_io_3", "u_import_optin", "2024-03-08T00:00:00Z", source="admin"),
    # `all` is a channel of its own
    out("c_ac_1", "u_all_channel", "2024-03-10T08:00:00Z"),
    out("c_ac_2", "u_all_channel", "2024-03-10T09:00:00Z", channel="all"),
    out("c_ac_3", "u_all_channel", "2024-03-10T10:00:00Z"),
    optin("c_ac_4", "u_all_channel", "2024-04-10T09:00:00Z", channel="all"),
    out("c_ac_5", "u_all_channel", "2024-03-10T11:00:00Z", channel="email"),
    # two changes at the same instant: change_id decides (c_si_a before c_si_b)
    out("c_si_x", "u_same_instant", "2024-03-10T09:00:00Z"),
    out("c_si_b", "u_same_instant", "2024-03-10T10:00:00Z"),
    optin("c_si_a", "u_same_instant", "2024-03-10T10:00:00Z"),
    # enum case and white space
    change(
        "c_enum",
        "u_enum_case",
        "Opted_Out",
        T,
        channel=" PUSH ",
        source=" Inbound_Keyword ",
        keyword=" STOP ",
        reason="  too many messages ",
    ),
    # RFC 4180 quoting: comma, doubled quotes and a line break inside a field
    out("c_quote", "u_quoting", reason='Too many, "daily"\nmessages'),
    # timestamp formats
    out("c_ts_plus", "u_ts_plus", "2024-03-10T01:30:00+02:00", channel="sms"),
    out("c_ts_minus", "u_ts_minus", "2024-03-10 21:15:00-05:00", channel="sms"),
    out("c_ts_z", "u_ts_z", "2024-03-10T10:00:00Z", channel="sms"),
    out("c_ts_naive", "u_ts_naive", "2024-03-10 23:59:59", channel="sms"),
    out("c_ts_naive_t", "u_ts_naive_t", "2024-03-10T05:06:07", channel="sms"),
    out("c_ts_frac", "u_ts_frac", "2024-03-10T10:00:00.250Z", channel="sms"),
    # users
    out("c_unknown", "u_unknown"),
    out("c_profile", "u_profile"),
    # last campaign
    out("c_lc_basic", "u_lc_basic"),
    out("c_lc_nocamp", "u_lc_nocamp"),
    out("c_lc_instant", "u_lc_instant"),
    out("c_lc_tie_num", "u_lc_tie_num"),
    out("c_lc_tie_text", "u_lc_tie_text"),
    out("c_lc_unknown", "u_lc_unknown"),
    out("c_lc_none", "u_lc_none"),
    out("c_lc_old", "u_lc_old"),
    # agg_optouts_daily, channel whatsapp (see the tests at the end)
    optin("c_d1_in", "u_day_1", "2024-03-01T10:00:00Z", channel="whatsapp"),
    out("c_d1_out", "u_day_1", "2024-04-02T08:00:00Z", channel="whatsapp"),
    optin("c_d2_in", "u_day_2", "2024-01-01T00:00:00Z", channel="whatsapp", source="import"),
    out(
        "c_d2_out",
        "u_day_2",
        "2024-04-02T23:59:59Z",
        channel="whatsapp",
        source="inbound_keyword",
        keyword="STOP",
    ),
    optin("c_d3_in", "u_day_3", "2024-03-15T09:00:00Z", channel="whatsapp", source="api"),
    out("c_d3_out", "u_day_3", "2024-04-15T09:00:00Z", channel="whatsapp"),
    out("c_d4_out", "u_day_4", "2024-03-20T09:00:00Z", channel="whatsapp"),
    optin("c_d4_in", "u_day_4", "2024-04-02T12:00:00Z", channel="whatsapp"),
    optin("c_d5_in", "u_day_5", "2024-04-01T23:59:59Z", channel="whatsapp"),
    optin("c_d6_in1", "u_day_6", "2024-03-01T06:00:00Z", channel="whatsapp"),
    optin("c_d6_in2", "u_day_6", "2024-03-10T06:00:00Z", channel="whatsapp"),
    out("c_d6_imp", "u_day_6", "2024-04-02T06:00:00Z", channel="whatsapp", source="import"),
    out("c_d7_imp", "u_day_7", "2024-03-01T00:00:00Z", channel="whatsapp", source="import"),
    out(
        "c_d7_stop",
        "u_day_7",
        "2024-04-02T07:00:00Z",
        channel="whatsapp",
        source="inbound_keyword",
        keyword="STOP",
    ),
    optin("c_d8_in", "u_day_8", "2024-03-05T09:00:00Z", channel="whatsapp"),
    out("c_d8_out", "u_day_8", "2024-04-01T10:00:00Z", channel="whatsapp"),
]

SENDS = [
    send("s_win_start", "u_win_start", "2024-03-03T12:00:00Z"),  # t - 7x24h: counted
    send("s_win_early", "u_win_early", "2024-03-03T11:59:59Z"),  # 1 s earlier: not
    send("s_win_instant", "u_win_instant", T),  # at the opt-out instant: not
    send("s_win_last", "u_win_last", "2024-03-10T11:59:59Z"),  # 1 s before: counted
    send("s_ps_failed", "u_push_status", "2024-03-08T00:00:00Z", status="failed"),
    send("s_ps_bounced", "u_push_status", "2024-03-08T00:00:00Z", status="bounced"),
    send("s_pc_email", "u_push_channel", "2024-03-08T00:00:00Z", channel="email"),
    send("s_pc_sms", "u_push_channel", "2024-03-08T00:00:00Z", channel="sms"),
    send("s_pc_whatsapp", "u_push_channel", "2024-03-08T00:00:00Z", channel="whatsapp"),
    send("s_pk_mkt", "u_push_category", "2024-03-08T00:00:00Z", category="marketing"),
    send("s_pk_trx", "u_push_category", "2024-03-08T00:00:00Z", category="transactional"),
    send("s_pk_util", "u_push_category", "2024-03-08T00:00:00Z", category="utility"),
    send("s_pk_otp", "u_push_category", "2024-03-08T00:00:00Z", category="otp"),
    # u_push_tz opts out at 2024-03-10 14:00+02:00 = 12:00Z
    send("s_tz_1", "u_push_tz", "2024-03-03T07:00:00-05:00", category="transactional"),
    send("s_tz_2", "u_push_tz", "2024-03-03 11:59:59"),
    send("s_tz_3", "u_push_tz", "2024-03-10T13:59:59.999+02:00"),
    send("s_tz_4", "u_push_tz", "2024-03-10T12:00:00.000Z"),
    # u_flip: opt-outs at 03-01 and 03-09
    send("s_flip_1", "u_flip", "2024-02-28T00:00:00Z"),
    send("s_flip_2", "u_flip", "2024-03-03T00:00:00Z"),
    send("s_flip_3", "u_flip", "2024-03-06T00:00:00Z"),
    # enum case in sends
    send(
        "s_enum",
        "u_enum_case",
        "2024-03-09T12:00:00Z",
        channel=" Push ",
        category="MARKETING",
        status=" Delivered ",
    ),
]

INTERACTIONS = [
    interaction("i_lcb_1", "u_lc_basic", "2024-03-05T00:00:00Z", "cmp_a", "click"),
    interaction("i_lcb_2", "u_lc_basic", "2024-03-08T00:00:00Z", "cmp_b", "open"),
    interaction("i_lcn_1", "u_lc_nocamp", "2024-03-07T00:00:00Z", "cmp_a", "click"),
    interaction("i_lcn_2", "u_lc_nocamp", "2024-03-09T00:00:00Z", None, "open"),
    interaction("i_lcn_3", "u_lc_nocamp", "2024-03-09T06:00:00Z", "   ", "reply"),
    interaction("i_lci_1", "u_lc_instant", "2024-03-01T00:00:00Z", "cmp_a", "dismiss"),
    interaction("i_lci_2", "u_lc_instant", T, "cmp_b", "click"),
    interaction("i_lci_3", "u_lc_instant", "2024-03-11T00:00:00Z", "cmp_b", "click"),
    interaction("9", "u_lc_tie_num", "2024-03-09T09:00:00Z", "cmp_a", "open"),
    interaction("10", "u_lc_tie_num", "2024-03-09T09:00:00Z", "cmp_b", "click"),
    interaction("i_tie_a", "u_lc_tie_text", "2024-03-09T09:00:00Z", "cmp_b", "reply"),
    interaction("i_tie_b", "u_lc_tie_text", "2024-03-09T11:00:00+02:00", "cmp_a", "conversion"),
    interaction("i_lcu_1", "u_lc_unknown", "2024-03-09T00:00:00Z", "cmp_zzz", "click"),
    interaction("i_lcz_1", "u_lc_none", "2024-03-09T00:00:00Z", None, "click"),
    interaction("i_lco_1", "u_lc_old", "2023-01-01T00:00:00Z", "cmp_a", "open"),
    interaction("i_flip_1", "u_flip", "2024-02-29T00:00:00Z", "cmp_a", "click"),
    interaction("i_flip_2", "u_flip", "2024-03-06T00:00:00Z", "cmp_b", "open"),
]

TABLES = {
    "users": USERS,
    "campaigns": CAMPAIGNS,
    "sends": SENDS,
    "interactions": INTERACTIONS,
    "events": [
        {
            "event_id": "e_1",
            "user_id": "u_flip",
            "event_name": "app_open",
            "occurred_at": "2024-03-12T00:00:00Z",
        }
    ],
    "consent_changes": CONSENT,
}

# Every opt-out of the landing zone, by hand (docs/CONTRACT.md §4.4).
# fmt: off
EXPECTED_OPTOUTS = {
    "c_win_start", "c_win_early", "c_win_instant", "c_win_last",
    "c_push_status", "c_push_channel", "c_push_category", "c_push_none", "c_push_tz",
    "c_flip_1", "c_flip_3", "c_rs_1", "c_io_3", "c_ac_1", "c_ac_2", "c_ac_5",
    "c_si_x", "c_si_b", "c_enum", "c_quote",
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


# --- consent timeline: which changes are opt-outs --------------------------------------


def test_fct_optouts_holds_exactly_the_hand_computed_optouts(wh):
    """Every opt-out listed in EXPECTED_OPTOUTS, nothing else (39 rows)."""
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
