-- Incremental: appends this build's bad rows; the conflict rows of the keys it
-- touches are dropped first (pre-hook) and recomputed.
{{
    config(
        alias='consent_changes',
        materialized=keyed_incremental_materialization(),
        incremental_strategy='append',
        pre_hook="{{ forget_batch_conflicts('consent_changes') }}",
    )
}}

{{ quarantine_rows('consent_changes', incremental=is_incremental()) }}
