-- Incremental: appends this build's bad rows; the conflict rows of the keys it
-- touches are dropped first (pre-hook) and recomputed.
{{
    config(
        alias='sends',
        materialized=keyed_incremental_materialization(),
        incremental_strategy='append',
        pre_hook="{{ forget_batch_conflicts('sends') }}",
    )
}}

{{ quarantine_rows('sends', incremental=is_incremental()) }}
