"""The exports of docs/CONTRACT.md §6 as assets: opted-out users, opt-out status changes, and
the current suppression list (which has no range: its range fields are ignored, so one run
config serves every export of the daily job).

A run's config picks the range (`range` last_week | last_month | last_year | between,
`start`, `end`, `as_of`) and the `format` (csv | parquet), the options of `optout export`.
Both go through `orchestration.ranges.resolve_range` and `orchestration.exports.write_export`,
so a range gives the same file, byte for byte, as the CLI, and a bad value fails the run
with the CLI's one-line message before anything is written.

Each export only reads the marts (`orchestration.marts`: a short read-only DuckDB
connection, or a Spark session when the resource's target is spark), so it is not in the
writers' pool. Beside the file it writes `<file>.manifest.json` (range, row count,
SHA-256), written last, so a manifest always describes a complete file.
"""

# No `from __future__ import annotations`: Dagster reads the Config and resource
# annotations of these functions when they are decorated.

import datetime as dt
import json

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_dbt import get_asset_key_for_model

from orchestration.config import ConfigError
from orchestration.defs.dbt.assets import optout_dbt_models
from orchestration.defs.dbt.translator import DEFAULT_OWNER
from orchestration.defs.resources import OptoutSettings
from orchestration.exports import (
    ExportError,
    ExportResult,
    atomic_write,
    export_kind,
    write_export,
)
from orchestration.ranges import UsageError, check_format, resolve_range

EXPORTS_GROUP = "exports"


class ExportConfig(Config):
    """Which rows and which file format: the options of `optout export`."""

    range: str = "last_month"  # last_week | last_month | last_year | between
    start: str | None = None  # YYYY-MM-DD, `between` only
    end: str | None = None  # YYYY-MM-DD, `between` only
    as_of: str | None = None  # the date D the presets end on; default today (UTC)
    format: str = "csv"  # csv | parquet
    escape_formulas: bool = False  # CSV: quote cells a spreadsheet would run as formulas


def manifest_path(result: ExportResult):
    return result.path.with_name(result.path.name + ".manifest.json")


def _mart(name: str) -> AssetKey:
    # Fails at load time if the mart is renamed, instead of silently losing the lineage.
    return get_asset_key_for_model([optout_dbt_models], name)


def run_export(
    context: AssetExecutionContext, config: ExportConfig, optout: OptoutSettings, kind: str
) -> MaterializeResult:
    """Validate like the CLI, write the file and its manifest, report both."""
    try:
        settings = optout.resolve()
        fmt = check_format(config.format)  # same order of checks as `optout export`
        date_range = (
            resolve_range(config.range, start=config.start, end=config.end, as_of=config.as_of)
            if export_kind(kind).ranged
            else None
        )
        result = write_export(
            settings, kind, date_range, fmt, escape_formulas=config.escape_formulas
        )
    except (UsageError, ConfigError, ExportError) as exc:
        raise Failure(description=str(exc), allow_retries=False) from None

    manifest = {
        "kind": kind,
        "file": result.path.name,
        "format": result.fmt,
        "escape_formulas": config.escape_formulas,
        "range": date_range.name if date_range else None,
        "start": date_range.start.isoformat() if date_range else None,
        "end": date_range.end.isoformat() if date_range else None,
        "row_count": result.row_count,
        "sha256": result.sha256,
        "bytes": result.path.stat().st_size,
        "written_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dagster_run_id": context.run.run_id,
    }
    manifest_file = manifest_path(result)
    data = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    atomic_write(manifest_file, data, settings.export_file_mode)
    context.log.info(f"wrote {result.path} ({result.row_count} rows, sha256 {result.sha256})")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(result.path)),
            "row_count": MetadataValue.int(result.row_count),
            "range": date_range.name if date_range else "current",
            "start": date_range.start.isoformat() if date_range else "",
            "end": date_range.end.isoformat() if date_range else "",
            "format": result.fmt,
            "sha256": result.sha256,
            "manifest": MetadataValue.path(str(manifest_file)),
        }
    )


def export_asset(name: str, kind: str, marts: list[str], description: str):
    """An export asset: the file `optout export --kind <kind>` writes, from these marts."""

    @asset(
        name=name,
        group_name=EXPORTS_GROUP,
        deps=[_mart(mart) for mart in marts],
        owners=[DEFAULT_OWNER],
        kinds={"csv", "parquet"},
        description=description,
    )
    def _export(
        context: AssetExecutionContext, config: ExportConfig, optout: OptoutSettings
    ) -> MaterializeResult:
        return run_export(context, config, optout, kind)

    return _export


optout_users_export = export_asset(
    "optout_users_export",
    "users",
    ["fct_optouts", "dim_users"],
    "Opted-out users of a date range, one row per user (docs/CONTRACT.md §6.2); the same file "
    "`optout export --kind users` writes.",
)
optout_changes_export = export_asset(
    "optout_changes_export",
    "status_changes",
    ["fct_status_changes", "dim_users"],
    "Opt-out status changes of a date range, imports excluded (docs/CONTRACT.md §6.3); the "
    "same file `optout export --kind status_changes` writes.",
)
optout_suppression_export = export_asset(
    "optout_suppression_export",
    "suppression",
    ["dim_consent_current", "dim_users"],
    "The current suppression list: users opted out per channel, since when and how "
    "(docs/CONTRACT.md §6.4); the same file `optout export --kind suppression` writes.",
)

export_assets = [optout_users_export, optout_changes_export, optout_suppression_export]
