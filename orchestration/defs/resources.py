"""Where the landing zone, the warehouse and the exports live, as a Dagster resource.

Unset fields come from the environment exactly like the CLI (`Settings.from_env()`), so
`optout build` and a Dagster run on the same machine use the same files; tests and the
launchpad can point a run somewhere else by setting the fields.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dagster import ConfigurableResource

from orchestration.config import Settings


class OptoutSettings(ConfigurableResource):
    """Paths of the opt-out warehouse; empty means OPTOUT_RAW_DIR / OPTOUT_WAREHOUSE /
    OPTOUT_EXPORT_DIR (defaults data/raw, data/warehouse.duckdb, exports)."""

    raw_dir: str | None = None
    warehouse: str | None = None
    export_dir: str | None = None

    def resolve(self) -> Settings:
        # Read at run time, not import time: a code server outlives env changes of runs.
        overrides = {
            name: Path(value).resolve()
            for name, value in (
                ("raw_dir", self.raw_dir),
                ("warehouse", self.warehouse),
                ("export_dir", self.export_dir),
            )
            if value
        }
        return dataclasses.replace(Settings.from_env(), **overrides)
