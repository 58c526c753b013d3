"""The project's singular dbt tests (dbt_project/tests/*.sql) catch a broken warehouse.

A small landing zone is built once; its `dbt build` runs every singular test, so they
pass on the intact marts. Each case copies the warehouse, breaks it the way a bug would
(a row deleted, a table emptied, a value changed), runs `dbt test --select <tests>`
against the copy and expects dbt to report each selected test failed (not errored).

Landing zone, opt-outs at T = 2024-03-10T12:00:00Z:
  u1  push opt-out c1 at T; events 2 h and 2 days before, one push, one interaction
  u2  sms opt-in c2a (03-01), opt-out c2b (03-09T08:00Z), one event after
  u3  email opt-in c3 (03-05), opt-in on `all` c3all (03-07T06:00Z): on 03-07 the `all`
      denominator is u2 (sms) and u3 (email), 2
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess

import duckdb
import pytest
from conftest import build, query, settings_for, write_landing_zone
from factories import campaign, consent_change, event, interaction, send, user

from orchestration.build import dbt_executable
from orchestration.config import DBT_PROJECT_DIR, Settings

T = "2024-03-10T12:00:00Z"

TABLES = {
    "users": [
        user(user_id="u1", external_id="EXT-1", updated_at="2024-01-01T00:00:00Z"),
        user(user_id="u2", external_id="EXT-2", updated_at="2024-01-01T00:00:00Z"),
    ],
    "campaigns": [campaign(campaign_id="cmp1", campaign_name="Promo")],
    "sends": [send(send_id="s1", user_id="u1", campaign_id="cmp1", sent_at="2024-03-09T12:00:00Z")],
    "interactions": [
        interaction(
            interaction_id="i1",
            user_id="u1",
            campaign_id="cmp1",
            occurred_at="2024-03-09T13:00:00Z",
        )
    ],
    "events": [
        event(
            event_id="e1", user_id="u1", event_name="app_open", occurred_at="2024-03-10T10:00:00Z"
        ),
        event(
            event_id="e2", user_id="u1", event_name="purchase", occurred_at="2024-03-08T12:00:00Z"
        ),
        event(
            event_id="e3", user_id="u2", event_name="app_open", occurred_at="2024-03-09T09:00:00Z"
        ),
    ],
    "consent_changes": [
        consent_change(
            change_id="c1", user_id="u1", channel="push", status="opted_out", changed_at=T
        ),
        consent_change(
            change_id="c2a",
            user_id="u2",
            channel="sms",
            status="opted_in",
            changed_at="2024-03-01T00:00:00Z",
        ),
        consent_change(
            change_id="c2b",
            user_id="u2",
            channel="sms",
            status="opted_out",
            changed_at="2024-03-09T08:00:00Z",
        ),
        consent_change(
            change_id="c3",
            user_id="u3",
            channel="email",
            status="opted_in",
            changed_at="2024-03-05T00:00:00Z",
        ),
        consent_change(
            change_id="c3all",
            user_id="u3",
            channel="all",
            status="opted_in",
            changed_at="2024-03-07T06:00:00Z",
        ),
    ],
}

RECONCILIATION = "assert_reconciliation_balances"
ONE_ROW = "assert_one_row_per_optout"
OPTINS = "assert_optouts_daily_optins_match_status_changes"
ALL_ONCE = "assert_optouts_daily_all_counts_each_user_once"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Settings:
    settings = settings_for(tmp_path_factory.mktemp("invariants"))
    write_landing_zone(settings.raw_dir, TABLES)
    build(settings)
    return settings


def test_fixture_feeds_every_invariant(project):
    """The breaks below need rows to break: 2 opt-outs, retain/churn rows of c1 for every
    window, opt-ins on three days, an `all` row, all six sources reconciled."""
    wh = project.warehouse
    assert query(wh, "select optout_id from marts.fct_optouts order by 1") == [("c1",), ("c2b",)]
    assert query(
        wh,
        "select window_days, sum(event_count) from marts.fct_last_events_retain_churn "
        "where optout_id = 'c1' group by 1 order by 1",
    ) == [(1, 1), (3, 2), (7, 2), (14, 2), (30, 2)]
    assert query(
        wh, "select date, channel, optins from marts.agg_optouts_daily where optins > 0 order by 1"
    ) == [
        (dt.date(2024, 3, 1), "sms", 1),
        (dt.date(2024, 3, 5), "email", 1),
        (dt.date(2024, 3, 7), "all", 1),
    ]
    assert query(
        wh,
        "select date, opted_in_users_at_start from marts.agg_optouts_daily where channel = 'all'",
    ) == [(dt.date(2024, 3, 7), 2)]
    assert query(wh, "select count(*) from marts.agg_load_reconciliation") == [(6,)]


def dbt_test(settings: Settings, warehouse, root, *selected: str) -> dict[str, str]:
    """`dbt test --select ...` against `warehouse`; {test name: status} from run_results."""
    target = root / "target"
    env = {
        **os.environ,
        # The broken copy is the published file dbt reads; the state is the project's.
        **settings.dbt_env(publish=warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    args = [dbt_executable(), "test", "--select", *selected,
            "--target-path", str(target), "--log-path", str(target)]  # fmt: skip
    done = subprocess.run(
        args, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    statuses = {
        r["unique_id"].split(".")[2]: r["status"]
        for r in results
        if r["unique_id"].startswith("test.")
    }
    assert done.returncode == (1 if "fail" in statuses.values() else 0), done.stdout[-3000:]
    return statuses


# Each case breaks one input of each singular test it names, and only that test's:
# agg_load_reconciliation is read by RECONCILIATION alone, the opt-in rows of
# fct_status_changes and agg_optouts_daily.optins by OPTINS alone, fct_optouts and the
# per-opt-out marts by ONE_ROW, agg_optouts_daily.opted_in_users_at_start and
# fct_consent_history by ALL_ONCE (of those four). One dbt invocation runs the named tests
# and each must be reported failed.
BREAKS = {
    "source-row-missing/last-events-row-missing/optin-missing": {
        RECONCILIATION: "delete from marts.agg_load_reconciliation where source_name = 'events'",
        ONE_ROW: "delete from marts.fct_last_events_retain_churn "
        "where optout_id = 'c1' and window_days = 7",
        OPTINS: "delete from marts.fct_status_changes where change_id = 'c3'",
    },
    "reconciliation-empty/retention-window-missing/optins-doubled": {
        RECONCILIATION: "delete from marts.agg_load_reconciliation",
        ONE_ROW: "delete from marts.fct_optout_retention "
        "where optout_id = 'c2b' and window_days = 30",
        OPTINS: "update marts.agg_optouts_daily set optins = 2 where channel = 'sms'",
    },
    "unbalanced/optouts-empty/optins-empty": {
        RECONCILIATION: "update marts.agg_load_reconciliation set raw_rows = raw_rows + 1 "
        "where source_name = 'sends'",
        ONE_ROW: "delete from marts.fct_optouts",
        OPTINS: "delete from marts.fct_status_changes where status = 'opted_in'",
    },
    "user-differs/all-user-counted-twice": {
        ONE_ROW: "update marts.fct_last_campaign set user_id = 'u2' where optout_id = 'c1'",
        # What a split island gives: a user opted in on two channels counted twice.
        ALL_ONCE: "update marts.agg_optouts_daily set opted_in_users_at_start = 3 "
        "where channel = 'all'",
    },
    "channel-differs/all-stretch-missing": {
        ONE_ROW: "update marts.fct_push_before_optout_7d set channel = 'email' "
        "where optout_id = 'c1'",
        ALL_ONCE: "delete from marts.fct_consent_history where change_id = 'c2a'",
    },
    "time-differs": {
        ONE_ROW: "update marts.fct_last_events_retain_churn "
        "set opted_out_at = opted_out_at + interval 1 second "
        "where optout_id = 'c1' and window_days = 3",
    },
}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """One folder for every broken copy: the same warehouse path and dbt target folder
    each time lets dbt reuse its parse (a new path is a new profile, a full re-parse)."""
    return tmp_path_factory.mktemp("broken")


@pytest.mark.parametrize("breaks", list(BREAKS.values()), ids=list(BREAKS))
def test_singular_tests_fail_on_a_broken_warehouse(project, scratch, breaks):
    broken = scratch / project.warehouse.name
    shutil.copyfile(project.warehouse, broken)
    with duckdb.connect(os.fspath(broken)) as con:
        for statement in breaks.values():
            con.execute(statement)
    statuses = dbt_test(project, broken, scratch, *breaks)
    assert statuses == dict.fromkeys(breaks, "fail")
