"""Scales, targets and paths shared by the benchmark runner and its report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestration.contract import SOURCE_NAMES

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"
DOC = REPO / "docs" / "BENCHMARKS.md"
DEFAULT_END = "2026-01-31"
SOURCES = SOURCE_NAMES  # the landing contract (dbt_project.yml `landing_sources`)
# Marts whose cost is a join on a time window (docs/CONTRACT.md §4.6 "in the N days before/after").
WINDOW_JOIN_MODELS = (
    "fct_push_before_optout_7d",
    "fct_last_campaign",
    "fct_optout_retention",
    "fct_last_events_retain_churn",
    "fct_sends_after_optout",
)
# CSV bytes the generator writes per user and day (measured: 25 MB for 2,000 users x 30 days).
BYTES_PER_USER_DAY = 420
# Disk a run needs, as a multiple of the raw bytes: the files (1), the warehouse (raw text
# and typed columns of every row: about 1 after a full refresh, 1.8 after incremental builds,
# measured at small), the build's working copy of it (1.8), and DuckDB's spill files.
DISK_FACTOR = 5.0
# Peak memory of the pandas peer per raw CSV byte (measured: 1.36 GB for 257 MB of CSV, 20,000
# users x 30 days); used to skip scales where it cannot fit.
PANDAS_BYTES_FACTOR = 5.5
PANDAS_CAP_GB = 16.0


@dataclass(frozen=True)
class Scale:
    users: int
    days: int
    note: str
    sends: int | None = None  # the size the scale stands for, to check the generator against
    events: int | None = None


SCALES = {
    "small": Scale(2_000, 30, "CI-sized"),
    "medium": Scale(
        150_000, 30, "about 10 million sends and 20 million events", 10_000_000, 20_000_000
    ),
    "large": Scale(
        750_000, 30, "about 50 million sends and 100 million events", 50_000_000, 100_000_000
    ),
}
TARGETS = {  # the build engine's targets, on a 2-core machine (docs/BENCHMARKS.md "Targets")
    "full_build_per_pandas": 1.0,  # at medium and at large
    "incremental_seconds": 12.0,  # one day's incremental build at medium
    "noop_seconds": 8.0,  # a build with no new file at medium
    "incremental_large_per_medium": 2.0,  # the same day at 5 x the history
    "peak_memory_bytes": 4 * 1024**3,  # at large
    "export_seconds": 1.0,
    "generator_seconds": 180.0,
}


def spark_prefix(workers: int | None) -> str:
    """Result files of benchmarks.spark: spark_<scale>.json for one worker (or a local
    Spark), spark<N>w_<scale>.json for N."""
    return "spark_" if workers in (None, 1) else f"spark{workers}w_"
