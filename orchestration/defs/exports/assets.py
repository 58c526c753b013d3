"""The exports (docs/CONTRACT.md §6) as assets, one per kind of the registry
`orchestration.exports.KINDS` (opted-out users, opt-out status changes, the current
suppression list), each depending on the marts its query reads. A kind without a range
(the suppression list) ignores the range fields, so one run config serves every export of
the daily job.

A run's config picks the range (`range` last_week | last_month | last_year | between,
`start`, `end`, `as_of`) and the `format` (csv | parquet), the options of `optout export`;
`range` and `format` are enum types, so a misspelt value is refused when the run is
launched. Both go through `orchestration.ranges.resolve_range` and
`orchestration.exports.write_export`, so a range gives the same file, byte for byte, as the
CLI, and a bad date fails the run with the CLI's one-line message before anything is
written.

Each export only reads the marts (`orchestration.marts`: a short read-only DuckDB
connection, or a Spark session when the resource's target is spark), so it is not in the
writers' pool. Beside the file it writes `<file>.manifest.json` (range, row count,
SHA-256), written last, so a manifest always describes a complete file.
"""

# No `from __future__ import annotations`: Dagster reads the Config and resource
# annotations of these functions when they are decorated.

import datetime as dt
import enum
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
    KINDS,
    ExportError,
    ExportKind,
    ExportResult,
    atomic_write,
    empty_reason,
    write_export,
)
from orchestration.ranges import FORMATS, RANGES, UsageError, check_format, resolve_range

EXPORTS_GROUP = "exports"

# Enum config types: the launchpad offers the values and refuses any other at launch.
RangeName = enum.Enum("RangeName", {name: name for name in RANGES})
ExportFormat = enum.Enum("ExportFormat", {name: name for name in FORMATS})


class ExportConfig(Config):
    """Which rows and which file format: the options of `optout export`."""

    range: RangeName = RangeName.last_month
    start: str | None = None  # YYYY-MM-DD, `between` only
    end: str | None = None  # YYYY-MM-DD, `between` only
    # The last day of the presets: a date, or a timestamp for its UTC date; default today.
    as_of: str | None = None
    format: ExportFormat = ExportFormat.csv
    escape_formulas: bool = False  # CSV: quote cells a spreadsheet would run as formulas


def manifest_path(result: ExportResult):
    return result.path.with_name(result.path.name + ".manifest.json")


def _mart(name: str) -> AssetKey:
    # Fails at load time if the mart is renamed, instead of silently losing the lineage.
    return get_asset_key_for_model([optout_dbt_models], name)


def run_export(
    context: AssetExecutionContext, config: ExportConfig, optout: OptoutSettings, kind: ExportKind
) -> MaterializeResult:
    """Validate like the CLI, write the file and its manifest, report both."""
    try:
        settings = optout.resolve()
        fmt = check_format(config.format.value)  # same order of checks as `optout export`
        date_range = (
            resolve_range(
                config.range.value, start=config.start, end=config.end, as_of=config.as_of
            )
            if kind.ranged
            else None
        )
        result = write_export(
            settings, kind.name, date_range, fmt, escape_formulas=config.escape_formulas
        )
    except (UsageError, ConfigError, ExportError) as exc:
        raise Failure(description=str(exc), allow_retries=False) from None

    manifest = {
        "kind": kind.name,
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
    if result.row_count == 0:
        context.log.warning(f"{result.path.name} has no rows: {empty_reason(kind, date_range)}")
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


def export_asset(kind: ExportKind):
    """The asset of an export kind: the file `optout export --kind <kind>` writes, from the
    marts its query reads."""

    @asset(
        name=kind.asset_name,
        group_name=EXPORTS_GROUP,
        deps=[_mart(mart) for mart in kind.marts],
        owners=[DEFAULT_OWNER],
        kinds={"csv", "parquet"},
        description=f"{kind.title}: {kind.description} (docs/CONTRACT.md §6); the same file "
        f"`optout export --kind {kind.name}` writes.",
    )
    def _export(
        context: AssetExecutionContext, config: ExportConfig, optout: OptoutSettings
    ) -> MaterializeResult:
        return run_export(context, config, optout, kind)

    return _export


EXPORT_ASSETS = {name: export_asset(kind) for name, kind in KINDS.items()}
export_assets = list(EXPORT_ASSETS.values())
optout_users_export = EXPORT_ASSETS["users"]
optout_changes_export = EXPORT_ASSETS["status_changes"]
optout_suppression_export = EXPORT_ASSETS["suppression"]
