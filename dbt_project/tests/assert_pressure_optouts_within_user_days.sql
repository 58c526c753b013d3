-- The opt-outs of a pressure level are some of its users, never more.
select *
from {{ ref('agg_optout_pressure') }}
where optouts > user_days or user_days <= 0
