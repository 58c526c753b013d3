{#
    For each opt-out, the user's latest interaction with a campaign strictly
    before opted_out_at; ties on occurred_at go to the greatest
    interaction_id. Returns (optout_id, interaction_id, campaign_id,
    interaction_type, occurred_at), one row per opt-out that has one.
#}
{% macro last_interaction_before(optouts, interactions) %}
    {{ return(adapter.dispatch('last_interaction_before', 'optout')(optouts, interactions)) }}
{% endmacro %}

{# Spark: rank every earlier interaction of the user. #}
{% macro spark__last_interaction_before(optouts, interactions) %}
    select optout_id, interaction_id, campaign_id, interaction_type, occurred_at
    from (
        select
            o.optout_id,
            i.interaction_id,
            i.campaign_id,
            i.interaction_type,
            i.occurred_at,
            row_number() over (
                partition by o.optout_id
                order by i.occurred_at desc, {{ id_order('i.interaction_id', descending=true) }}
            ) as _rank
        from {{ optouts }} as o
        inner join {{ interactions }} as i
            on o.user_id = i.user_id and i.occurred_at < o.opted_out_at
    ) as ranked
    where _rank = 1
{% endmacro %}

{# DuckDB: keep the tie winner per (user, instant), then one ASOF join. #}
{% macro duckdb__last_interaction_before(optouts, interactions) %}
    select
        o.optout_id,
        i.interaction_id,
        i.campaign_id,
        i.interaction_type,
        i.occurred_at
    from {{ optouts }} as o
    asof inner join (
        select *
        from {{ interactions }}
        qualify row_number() over (
            partition by user_id, occurred_at
            order by {{ id_order('interaction_id', descending=true) }}
        ) = 1
    ) as i
        on o.user_id = i.user_id and o.opted_out_at > i.occurred_at
{% endmacro %}
