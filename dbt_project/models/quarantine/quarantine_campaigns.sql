-- Incremental: appends this build's bad rows; the conflict rows of the keys it
-- touches are dropped first (pre-hook) and recomputed.
{{
    config(
        alias='campaigns',
        materialized=keyed_incremental_materialization(),
        incremental_strategy='append',
        pre_hook="{{ forget_batch_conflicts('campaigns') }}",
    )
}}

{{ quarantine_rows('campaigns', incremental=is_incremental()) }}
