-- Incremental: appends this build's bad rows; the conflict rows of the keys it
-- touches are dropped first (pre-hook) and recomputed.
{{
    config(
        alias='events',
        materialized=keyed_incremental_materialization(),
        incremental_strategy='append',
        pre_hook="{{ forget_batch_conflicts('events') }}",
    )
}}

{{ quarantine_rows('events', incremental=is_incremental()) }}
