"""The SPEC §5 exports as assets materialized with a date range in their run config."""
