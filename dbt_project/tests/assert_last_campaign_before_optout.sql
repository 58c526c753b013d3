-- The last interaction always lies strictly before the opt-out.
select *
from {{ ref('fct_last_campaign') }}
where last_interaction_at >= opted_out_at
