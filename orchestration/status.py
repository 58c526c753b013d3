"""Load reconciliation per source (docs/CONTRACT.md §3, §5.16), read from the marts."""

from __future__ import annotations

from pathlib import Path

from orchestration.config import Settings
from orchestration.exports import ExportError
from orchestration.marts import MartsSource, MartsUnavailable, read_marts


def reconciliation(where: MartsSource | Settings | Path) -> list[tuple]:
    """(source, raw, clean, quarantined, duplicates, balanced) per source."""
    try:
        return read_marts(
            where,
            """
            select
                source_name, raw_rows, clean_rows, quarantined_rows, duplicate_rows_removed,
                case
                    when raw_rows = clean_rows + quarantined_rows + duplicate_rows_removed
                        then 'yes'
                    else 'NO'
                end
            from marts.agg_load_reconciliation
            order by source_name
            """,
        )[1]
    except MartsUnavailable as exc:
        raise ExportError(str(exc)) from None


def unread_files(where: MartsSource | Settings | Path) -> list[tuple[str, str]]:
    """(source_file, reason) of every landing file the last build did not read."""
    try:
        return read_marts(
            where,
            """
            select source_file, reason
            from marts.fct_landing_files
            where status = 'not read'
            order by source_file
            """,
        )[1]
    except MartsUnavailable as exc:
        raise ExportError(str(exc)) from None
