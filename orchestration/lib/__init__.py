"""Helpers shared by the CLI, the Dagster definitions and the dashboard (no Dagster import
here)."""
