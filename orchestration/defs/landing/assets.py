"""The landing zone as external assets: one per source folder of $OPTOUT_RAW_DIR.

Dagster does not write these (new files arrive from outside); the dbt staging models
depend on them through `source('landing', <folder>)`, so the lineage starts here. The
landing sensor records a materialization of a folder's asset whenever its files change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetSpec

from orchestration.defs.dbt.assets import DBT_MANIFEST
from orchestration.defs.dbt.translator import (
    DEFAULT_OWNER,
    LANDING_SOURCE,
    RAW_GROUP,
    landing_asset_key,
)

# What the dbt on-run-start hook reads in each folder (macros/landing.sql).
LANDING_PATTERNS = ("*.csv", "*.parquet")


def landing_sources(manifest: Mapping[str, Any]) -> dict[str, str]:
    """{folder: description} of the landing sources declared in the dbt project."""
    return {
        source["name"]: source.get("description") or ""
        for source in sorted(manifest["sources"].values(), key=lambda s: s["name"])
        if source["source_name"] == LANDING_SOURCE
    }


LANDING_SOURCES = landing_sources(DBT_MANIFEST)

landing_assets = [
    AssetSpec(
        key=landing_asset_key(source),
        description=(
            f"Landing-zone folder `$OPTOUT_RAW_DIR/{source}/` ({', '.join(LANDING_PATTERNS)}): "
            f"{description}"
        ),
        group_name=RAW_GROUP,
        owners=[DEFAULT_OWNER],
        kinds={"csv", "parquet"},
        metadata={"folder": f"$OPTOUT_RAW_DIR/{source}", "patterns": ", ".join(LANDING_PATTERNS)},
    )
    for source, description in LANDING_SOURCES.items()
]
