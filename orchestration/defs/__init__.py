"""Dagster definitions of the opt-out warehouse, one sub-package per concern; the single
`Definitions` object lives in `orchestration.definitions`."""
