"""Where the landing zone, the warehouse and the exports live, as a Dagster resource.

Unset fields come from the environment exactly like the CLI (`Settings.from_env()`), so
`optout build` and a Dagster run on the same machine use the same files; tests and the
launchpad can point a run somewhere else by setting the fields.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dagster import ConfigurableResource

from orchestration.config import DagsterSettings, Settings, parse_spark_method, parse_target

# The code location's settings (partitions, schedules), read once when it loads.
DAGSTER_SETTINGS = DagsterSettings.from_env()


class OptoutSettings(ConfigurableResource):
    """Paths of the opt-out warehouse and the engine; empty means OPTOUT_RAW_DIR /
    OPTOUT_WAREHOUSE / OPTOUT_EXPORT_DIR / OPTOUT_TARGET / OPTOUT_SPARK_WAREHOUSE
    (defaults data/raw, data/warehouse.duckdb, exports, duckdb, data/spark-warehouse)."""

    raw_dir: str | None = None
    warehouse: str | None = None
    export_dir: str | None = None
    target: str | None = None  # duckdb | spark: the dbt target, and where exports read
    spark_warehouse: str | None = None
    # The Spark cluster: method thrift with the Thrift server's host and port (empty:
    # OPTOUT_SPARK_METHOD / OPTOUT_SPARK_HOST / OPTOUT_SPARK_PORT).
    spark_method: str | None = None
    spark_host: str | None = None
    spark_port: int | None = None

    def resolve(self) -> Settings:
        # Read at run time, not import time: a code server outlives env changes of runs.
        overrides = {
            name: Path(value).resolve()
            for name, value in (
                ("raw_dir", self.raw_dir),
                ("warehouse", self.warehouse),
                ("export_dir", self.export_dir),
                ("spark_warehouse", self.spark_warehouse),
            )
            if value
        }
        if self.target:
            overrides["target"] = parse_target(self.target)
        if self.spark_method:
            overrides["spark_method"] = parse_spark_method(self.spark_method)
        if self.spark_host:
            overrides["spark_host"] = self.spark_host
        if self.spark_port:
            overrides["spark_port"] = self.spark_port
        return dataclasses.replace(Settings.from_env(), **overrides)
