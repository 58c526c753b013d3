-- Every opt-out has exactly one row in each per-opt-out mart, and exactly
-- one row per retention window in fct_optout_retention.
-- (meta.dagster.ref: the asset check hangs on fct_optouts.)
{{ config(meta={'dagster': {'ref': {'name': 'fct_optouts'}}}) }}
{%- set windows = var('retention_windows') %}
{%- if windows is string %}{% set windows = fromjson(windows) %}{% endif %}
with

optouts as (

    select optout_id from {{ ref('fct_optouts') }}

),

per_mart as (

    select
        'fct_push_before_optout_7d' as mart,
        optouts.optout_id,
        count(m.optout_id) as n_rows,
        1 as expected
    from optouts
    left join {{ ref('fct_push_before_optout_7d') }} as m on optouts.optout_id = m.optout_id
    group by optouts.optout_id

    union all

    select
        'fct_last_campaign' as mart,
        optouts.optout_id,
        count(m.optout_id) as n_rows,
        1 as expected
    from optouts
    left join {{ ref('fct_last_campaign') }} as m on optouts.optout_id = m.optout_id
    group by optouts.optout_id

    union all

    select
        'fct_optout_retention' as mart,
        optouts.optout_id,
        count(m.optout_id) as n_rows,
        {{ windows | length }} as expected
    from optouts
    left join {{ ref('fct_optout_retention') }} as m on optouts.optout_id = m.optout_id
    group by optouts.optout_id

)

select * from per_mart
where n_rows != expected
