"""Helpers shared by the CLI and the Dagster definitions (no Dagster import here)."""
