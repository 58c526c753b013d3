"""The opt-out alert check on marts/agg_optout_alerts, in real Dagster materializations
(real dbt, real DuckDB) of a hand-made landing zone with one file per day:

    sms opt-outs of users without earlier records: 2 a day from 2025-05-01, 30 on
    2025-05-15 (6 of them 2 h after an sms of campaign cS "SMS Blast", 2 after cP "SMS
    Promo"), 2 a day again until 2025-05-20.

One materialization of the partition of 05-20 (every file) runs the check on its latest
complete day, 05-20: calm. Then the check alone, with run config day = 05-15 (as a re-check
from the launchpad would): flagged, 30 opt-outs against a mean of 2.
"""

import datetime as dt
import math

import pytest
from conftest import resources_for, settings_for, write_csv
from dagster import AssetCheckSeverity, AssetSelection, DagsterInstance, materialize

from orchestration.defs.dbt.assets import optout_dbt_models
from orchestration.defs.dbt.checks import ALERTS_MART, optout_alerts_latest_day
from orchestration.defs.landing.assets import landing_assets

FIRST, BLAST, LAST = dt.date(2025, 5, 1), dt.date(2025, 5, 15), dt.date(2025, 5, 20)
BLAST_OPTOUTS = 30
CAMPAIGNS = ["cS"] * 6 + ["cP"] * 2


def write_days(raw) -> None:
    write_csv(
        raw / "campaigns" / "campaigns.csv",
        "campaigns",
        [
            {"campaign_id": "cS", "campaign_name": "SMS Blast", "channel": "sms",
             "message_category": "marketing"},
            {"campaign_id": "cP", "campaign_name": "SMS Promo", "channel": "sms",
             "message_category": "marketing"},
        ],
    )  # fmt: skip
    for source in ("users", "interactions", "events"):
        write_csv(raw / source / f"{source}.csv", source, [])
    day = FIRST
    while day <= LAST:
        n = BLAST_OPTOUTS if day == BLAST else 2
        changes, sends = [], []
        for k in range(n):
            user = f"u_{day:%m%d}_{k}"
            changes.append(
                {"change_id": f"{user}_out", "user_id": user, "channel": "sms",
                 "status": "opted_out", "changed_at": f"{day}T12:{k:02d}:00Z",
                 "source": "inbound_keyword", "keyword": "STOP"}
            )  # fmt: skip
            if day == BLAST and k < len(CAMPAIGNS):
                sends.append(
                    {"send_id": f"{user}_s", "user_id": user, "campaign_id": CAMPAIGNS[k],
                     "channel": "sms", "message_category": "marketing",
                     "sent_at": f"{day}T10:00:00Z", "delivery_status": "delivered"}
                )  # fmt: skip
        write_csv(
            raw / "consent_changes" / f"consent_changes_{day}.csv", "consent_changes", changes
        )
        write_csv(raw / "sends" / f"sends_{day}.csv", "sends", sends)
        day += dt.timedelta(days=1)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("alert_check"))
    write_days(settings.raw_dir)
    return settings


CHECK_OP = "marts__agg_optout_alerts_optout_alerts_latest_day"


def evaluation(result):
    assert result.success, [e.message for e in result.get_step_failure_events()]
    [found] = [
        e for e in result.get_asset_check_evaluations()
        if e.asset_check_key == optout_alerts_latest_day.check_key
    ]  # fmt: skip
    return found


@pytest.fixture(scope="module")
def calm_day(project):
    """The whole build of the partition of the last day, the check included."""
    return evaluation(
        materialize(
            [*landing_assets, optout_dbt_models, optout_alerts_latest_day],
            partition_key=LAST.isoformat(),
            resources=resources_for(project),
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
    )


def check_alone(settings, config: dict):
    return materialize(
        [optout_dbt_models, optout_alerts_latest_day],
        selection=AssetSelection.checks(optout_alerts_latest_day),
        resources=resources_for(settings),
        run_config={"ops": {CHECK_OP: {"config": config}}},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


@pytest.fixture(scope="module")
def blast_day(project, calm_day):
    return evaluation(check_alone(project, {"day": BLAST.isoformat()}))


def test_the_check_targets_the_alerts_mart():
    assert optout_alerts_latest_day.check_key.asset_key == ALERTS_MART
    assert ALERTS_MART.path == ["marts", "agg_optout_alerts"]


def test_a_flagged_latest_day_warns_with_its_numbers(blast_day):
    assert not blast_day.passed
    assert blast_day.severity == AssetCheckSeverity.WARN
    metadata = {key: value.value for key, value in blast_day.metadata.items()}
    expected, dispersion = 2.0, 1.0  # 14 days of exactly 2: MAD 0
    score = (math.sqrt(30) + math.sqrt(31) - math.sqrt(4 * expected + 1)) / dispersion
    assert metadata["day"] == BLAST.isoformat()
    assert (metadata["channel"], metadata["optouts"]) == ("sms", BLAST_OPTOUTS)
    assert metadata["expected_optouts"] == pytest.approx(expected)
    assert metadata["score"] == pytest.approx(score)  # 8.05: critical
    assert metadata["severity"] == "critical"
    assert metadata["top_campaigns"] == "SMS Blast (6); SMS Promo (2)"
    assert "| sms | 30 | 2.0 |" in metadata["alerts"]


def test_a_calm_latest_day_passes(calm_day):
    assert calm_day.passed
    assert {key: value.value for key, value in calm_day.metadata.items()} == {
        "day": LAST.isoformat()
    }


def test_a_bad_day_fails_the_check_in_one_line(project, calm_day):
    result = check_alone(project, {"day": "15/05/2025"})
    assert not result.success
    [failure] = result.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert description == "day must be a date as YYYY-MM-DD, got '15/05/2025'"


def test_the_build_job_runs_the_check():
    from orchestration.definitions import defs

    graph = defs.resolve_job_def("optout_build").asset_layer.asset_graph
    assert optout_alerts_latest_day.check_key in graph.asset_check_keys
