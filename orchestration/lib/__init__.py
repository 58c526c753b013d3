"""Helpers shared by the CLI, the Dagster definitions, the dashboard and the benchmarks
(no Dagster import here)."""
