-- Incremental: appends this build's bad rows; the conflict rows of the keys it
-- touches are dropped first (pre-hook) and recomputed.
{{
    config(
        alias='interactions',
        materialized=keyed_incremental_materialization(),
        incremental_strategy='append',
        pre_hook="{{ forget_batch_conflicts('interactions') }}",
    )
}}

{{ quarantine_rows('interactions', incremental=is_incremental()) }}
