"""Source freshness of the landing folders (`dbt source freshness`, surfaced as the Dagster
asset checks landing/<source>:freshness): the age of the latest event that has landed,
loaded or still waiting for a build, against each source's thresholds
(dbt_project/models/staging/_landing__sources.yml: daily sources warn after 36 h and fail
after 72 h, users and campaigns after 7 and 30 days).

Event times are set relative to now, so the ages do not depend on the time of day.
"""

import datetime as dt

import pytest
from conftest import build, resources_for, settings_for, write_csv, write_landing_zone
from dagster import (
    AssetCheckSeverity,
    AssetSelection,
    DagsterInstance,
    Definitions,
    define_asset_job,
)

from orchestration.defs.landing.assets import landing_assets
from orchestration.defs.landing.checks import landing_freshness

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def ago(**delta) -> str:
    return (NOW - dt.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_checks(settings) -> dict:
    """{source: (passed, severity, status)} from a run of the freshness checks."""
    job = define_asset_job("freshness", selection=AssetSelection.checks(landing_freshness))
    defs = Definitions(
        assets=landing_assets,
        asset_checks=[landing_freshness],
        jobs=[job],
        resources=resources_for(settings),
    )
    result = defs.resolve_job_def("freshness").execute_in_process(
        instance=DagsterInstance.ephemeral()
    )
    assert result.success
    return {
        e.asset_key.path[-1]: (e.passed, e.severity, e.metadata["status"].value)
        for e in result.get_asset_check_evaluations()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("freshness"))
    raw = settings.raw_dir
    write_landing_zone(
        raw,
        {
            "users": [{"user_id": "u1", "updated_at": ago(days=2)}],
            "campaigns": [
                {"campaign_id": "c1", "channel": "push", "message_category": "marketing",
                 "started_at": ago(days=40)},
            ],
            "sends": [
                {"send_id": "s1", "user_id": "u1", "channel": "push",
                 "message_category": "marketing", "sent_at": ago(hours=2),
                 "delivery_status": "delivered"},
                # Newer, but quarantined (bad channel): not an event that landed.
                {"send_id": "s2", "user_id": "u1", "channel": "fax",
                 "message_category": "marketing", "sent_at": ago(hours=1),
                 "delivery_status": "delivered"},
            ],
            "events": [{"event_id": "e1", "user_id": "u1", "event_name": "app_open",
                        "occurred_at": ago(hours=50)}],
            "consent_changes": [
                {"change_id": "cc1", "user_id": "u1", "channel": "sms", "status": "opted_out",
                 "changed_at": ago(hours=100), "source": "admin"},
            ],
            "interactions": [
                {"interaction_id": "i1", "user_id": "u1", "channel": "push",
                 "interaction_type": "open", "occurred_at": ago(hours=80)},
            ],
        },
    )  # fmt: skip
    build(settings)
    return settings


def test_each_source_against_its_thresholds(built):
    got = run_checks(built)
    assert got["sends"] == (True, AssetCheckSeverity.ERROR, "pass")  # 2 h
    assert got["users"] == (True, AssetCheckSeverity.ERROR, "pass")  # 2 days, warn after 7
    assert got["events"] == (False, AssetCheckSeverity.WARN, "warn")  # 50 h: 36 < age < 72
    assert got["consent_changes"] == (False, AssetCheckSeverity.ERROR, "error")  # 100 h
    assert got["campaigns"] == (False, AssetCheckSeverity.ERROR, "error")  # 40 days > 30


def test_a_file_that_landed_after_the_build_counts(built):
    """Freshness is about the landing zone: a new interactions file no build has loaded yet
    makes the source fresh (the published warehouse is not touched)."""
    before = built.warehouse.stat().st_mtime_ns
    write_csv(
        built.raw_dir / "interactions" / "interactions_late.csv",
        "interactions",
        [{"interaction_id": "i2", "user_id": "u1", "channel": "push",
          "interaction_type": "open", "occurred_at": ago(hours=3)}],
    )  # fmt: skip
    try:
        assert run_checks(built)["interactions"] == (True, AssetCheckSeverity.ERROR, "pass")
    finally:
        (built.raw_dir / "interactions" / "interactions_late.csv").unlink()
    assert built.warehouse.stat().st_mtime_ns == before


def test_without_a_warehouse_every_check_fails_saying_why(tmp_path):
    settings = settings_for(tmp_path)
    write_landing_zone(settings.raw_dir, {})
    job = define_asset_job("freshness", selection=AssetSelection.checks(landing_freshness))
    defs = Definitions(
        assets=landing_assets, asset_checks=[landing_freshness], jobs=[job],
        resources=resources_for(settings),
    )  # fmt: skip
    result = defs.resolve_job_def("freshness").execute_in_process(
        instance=DagsterInstance.ephemeral()
    )
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 6
    assert all(not e.passed and e.severity == AssetCheckSeverity.ERROR for e in evaluations)
    assert "build the warehouse first" in evaluations[0].description
