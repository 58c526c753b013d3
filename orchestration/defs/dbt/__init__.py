"""dbt models as Dagster assets (dagster-dbt) and their tests as asset checks."""
