"""The one `Definitions` of the opt-out warehouse (`dagster dev` from the repository root
loads it through pyproject's [tool.dagster]).

Lineage: landing-zone folders (group raw) -> dbt staging / quarantine / intermediate /
marts models (dbt tests as asset checks) -> the two exports. Jobs, the daily schedules and
the landing sensor are in orchestration/defs; the opt-out alert check in defs/dbt/checks.py.
"""

from __future__ import annotations

from dagster import Definitions

from orchestration.defs.dbt.assets import optout_dbt_models
from orchestration.defs.dbt.checks import optout_alerts_latest_day
from orchestration.defs.dbt.resources import dbt_resource
from orchestration.defs.exports.assets import export_assets
from orchestration.defs.jobs import optout_build_job, optout_exports_job
from orchestration.defs.landing.assets import landing_assets
from orchestration.defs.landing.checks import landing_freshness
from orchestration.defs.landing.sensors import optout_landing_sensor
from orchestration.defs.resources import OptoutSettings
from orchestration.defs.schedules import schedules

defs = Definitions(
    assets=[*landing_assets, optout_dbt_models, *export_assets],
    asset_checks=[optout_alerts_latest_day, landing_freshness],
    jobs=[optout_build_job, optout_exports_job],
    schedules=schedules,
    sensors=[optout_landing_sensor],
    resources={"dbt": dbt_resource(), "optout": OptoutSettings()},
)
