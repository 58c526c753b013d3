"""The exports (docs/CONTRACT.md §6) as assets materialized with a range in their run config."""
