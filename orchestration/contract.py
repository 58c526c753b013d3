"""The landing contract (docs/CONTRACT.md §2), as Python reads it.

Defined once, as the var `landing_sources` in dbt_project/dbt_project.yml, which the dbt
macros read through `optout_sources()`; the generator, the benchmarks and the Dagster
landing assets read it here. Adding a column to a source is one edit there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import yaml

from orchestration.config import DBT_PROJECT_DIR


@dataclass(frozen=True)
class SourceContract:
    name: str
    columns: tuple[str, ...]
    primary_key: str
    required: tuple[str, ...]
    timestamps: tuple[str, ...]
    event_time: str
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    latest_by: str | None = None  # repeated keys are versions: the greatest value wins


@functools.cache
def landing_sources() -> dict[str, SourceContract]:
    """Source name -> its contract, in the order dbt_project.yml lists them."""
    with open(DBT_PROJECT_DIR / "dbt_project.yml", encoding="utf-8") as handle:
        project = yaml.safe_load(handle)
    return {
        name: SourceContract(
            name=name,
            columns=tuple(spec["columns"]),
            primary_key=spec["primary_key"],
            required=tuple(spec["required"]),
            timestamps=tuple(spec["timestamps"]),
            event_time=spec["event_time"],
            enums={column: tuple(values) for column, values in (spec.get("enums") or {}).items()},
            latest_by=spec.get("latest_by"),
        )
        for name, spec in project["vars"]["landing_sources"].items()
    }


SOURCES: dict[str, SourceContract] = landing_sources()
SOURCE_NAMES: tuple[str, ...] = tuple(SOURCES)


def hidden_from_spark(source_file: str) -> bool:
    """Spark's file sources skip names starting with . or _ (the generator's record too):
    such landing files are in DuckDB's inventory only (docs/DECISIONS.md)."""
    return any(part.startswith((".", "_")) for part in source_file.split("/"))
