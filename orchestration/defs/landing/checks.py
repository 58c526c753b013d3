"""Source freshness of the landing folders as asset checks: `landing/<source>:freshness`.

The check runs `dbt source freshness` (thresholds and the query in
dbt_project/models/staging/_landing__sources.yml: the age of the latest event that has
landed, loaded or not) and reports each source's status: pass, or a failed check of
severity WARN (older than warn_after) or ERROR (older than error_after, or no answer). It
runs in the daily build job and on its own from the UI.

dbt's freshness reads the loaded rows in the state file (its on-run-start hooks write only
in-memory landing views), so it runs under the warehouse lock, after any build in progress,
with the published file left alone (OPTOUT_PUBLISH points at a throw-away file): no reader
of the marts is disturbed, no copy of the warehouse is made. On Spark it runs in place under
the warehouse lock.
"""

# No `from __future__ import annotations`: Dagster reads the resource annotations of the
# check function when it is decorated.

import json
import os
import subprocess
import tempfile
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    multi_asset_check,
)

from orchestration.build import dbt_environment, dbt_executable, warehouse_lock
from orchestration.config import DBT_PROJECT_DIR, Settings
from orchestration.defs.dbt.translator import landing_asset_key
from orchestration.defs.landing.assets import LANDING_SOURCES
from orchestration.defs.resources import OptoutSettings

FRESHNESS_CHECK = "freshness"


def source_freshness(settings: Settings) -> dict[str, dict]:
    """{source: dbt's freshness result} for every landing source (sources.json)."""
    with tempfile.TemporaryDirectory(prefix="optout-freshness-") as tmp:
        target = Path(tmp) / "target"
        if settings.target == "spark":
            with warehouse_lock(settings.spark_warehouse):
                _run_freshness(settings, settings.warehouse, target)
        else:
            if not settings.state_file.exists():
                return {}
            with warehouse_lock(settings.warehouse):
                _run_freshness(settings, Path(tmp) / "unused.duckdb", target)
        path = target / "sources.json"
        if not path.exists():
            return {}
        results = json.loads(path.read_text(encoding="utf-8"))["results"]
    return {result["unique_id"].rsplit(".", 1)[-1]: result for result in results}


def _run_freshness(settings: Settings, publish: Path, target: Path) -> None:
    with dbt_environment(settings, publish):
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        subprocess.run(
            [dbt_executable(), "source", "freshness", "--target-path", os.fspath(target),
             "--log-path", os.fspath(target)],
            cwd=DBT_PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip


def freshness_result(source: str, result: dict | None) -> AssetCheckResult:
    """The check result of one source from dbt's freshness result (None: no answer)."""
    key = landing_asset_key(source)
    if result is None:
        return AssetCheckResult(
            asset_key=key,
            check_name=FRESHNESS_CHECK,
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description="no freshness result: build the warehouse first (`optout build`)",
        )
    status = result["status"]
    criteria = result.get("criteria") or {}
    age_s = result.get("max_loaded_at_time_ago_in_s")
    metadata = {
        "status": status,
        "latest_event_at": result.get("max_loaded_at") or "",
        "age_hours": MetadataValue.float(round(age_s / 3600, 1)) if age_s is not None else "",
        "warn_after": _period(criteria.get("warn_after")),
        "error_after": _period(criteria.get("error_after")),
    }
    return AssetCheckResult(
        asset_key=key,
        check_name=FRESHNESS_CHECK,
        passed=status == "pass",
        severity=AssetCheckSeverity.WARN if status == "warn" else AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=None if status == "pass" else (result.get("message") or status),
    )


def _period(threshold: dict | None) -> str:
    if not threshold or threshold.get("count") is None:
        return ""
    return f"{threshold['count']} {threshold['period']}s"


@multi_asset_check(
    name="landing_freshness",
    specs=[
        AssetCheckSpec(
            FRESHNESS_CHECK,
            asset=landing_asset_key(source),
            description="`dbt source freshness`: the latest event that has landed is newer "
            "than the source's warn_after / error_after",
        )
        for source in LANDING_SOURCES
    ],
    description="dbt source freshness of every landing folder (against a copy of the "
    "published warehouse).",
)
def landing_freshness(context: AssetCheckExecutionContext, optout: OptoutSettings):
    results = source_freshness(optout.resolve())
    for source in LANDING_SOURCES:
        check = freshness_result(source, results.get(source))
        context.log.info(f"{source}: {check.metadata.get('status', 'no result')}")
        yield check
