"""The jobs the schedules and the sensor launch.

Both carry the run tag `optout/warehouse`, limited to one run at a time in dagster.yaml
(`concurrency.runs.tag_concurrency_limits`): an export run queued while a build is still
going waits for it, so "exports after the build" holds even when a build runs late.

Their steps run in the run's own process (`in_process_executor`): one at a time anyway
(one warehouse writer; the freshness checks and the exports are short), and a process per
step would start Python, Dagster and these definitions again for each (about 4 s of CPU
measured, minutes on a busy machine). The pool of the dbt assets still applies.
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from orchestration.defs.dbt.assets import optout_dbt_models
from orchestration.defs.exports.assets import export_assets
from orchestration.defs.landing.checks import landing_freshness

WAREHOUSE_LANE_TAG = {"optout/warehouse": "lane"}

optout_build_job = define_asset_job(
    name="optout_build",
    selection=AssetSelection.assets(optout_dbt_models) | AssetSelection.checks(landing_freshness),
    description="`dbt build` of every model and test (what `optout build` runs) for a "
    "partition (landing day) or a range of them: loads the landing files dated up to its "
    "last day; and `dbt source freshness` of the landing folders (their freshness checks).",
    tags=WAREHOUSE_LANE_TAG,
    executor_def=in_process_executor,
)

optout_exports_job = define_asset_job(
    name="optout_exports",
    selection=AssetSelection.assets(*export_assets),
    description="Both exports for the range in the run config.",
    tags=WAREHOUSE_LANE_TAG,
    executor_def=in_process_executor,
)
