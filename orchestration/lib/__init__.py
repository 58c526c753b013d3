"""Helpers shared by the CLI, the Dagster definitions and the dashboard."""
