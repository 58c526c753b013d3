"""Opt-out analytics warehouse: the `optout` CLI and the Dagster code location."""
