"""Load reconciliation per source (SPEC §2), read from the marts."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from orchestration.exports import ExportError


def reconciliation(warehouse: Path) -> list[tuple]:
    """(source, raw, clean, quarantined, duplicates, balanced) per source."""
    if not warehouse.exists():
        raise ExportError(f"no warehouse at {warehouse}; run `optout build` first")
    with duckdb.connect(os.fspath(warehouse), read_only=True) as con:
        return con.execute(
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
            """
        ).fetchall()
