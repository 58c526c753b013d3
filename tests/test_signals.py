"""The generator's planted signals are visible in the marts (docs/CONTRACT.md §8): opt-outs
follow push pressure, and the spike campaign causes an opt-out spike and is
the most common last campaign before opting out."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import build, query, query_all, query_state, settings_for

from orchestration.generator import SPIKE_NAME, generate

END = dt.date(2024, 6, 30)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("signals"))
    generate(settings.raw_dir, users=1500, days=45, seed=3, end_date=END)
    return build(settings)


def test_spike_campaign_causes_the_biggest_opt_out_day(warehouse):
    daily = query(
        warehouse,
        "select date, sum(optouts) as n from marts.agg_optouts_daily group by date order by n desc",
    )
    spike_day = query(
        warehouse,
        "select cast(started_at as date) from marts.dim_campaigns where campaign_name = ?",
        [SPIKE_NAME],
    )[0][0]
    counts = sorted(n for _, n in daily)
    median = counts[len(counts) // 2]
    assert daily[0][0] in (spike_day, spike_day + dt.timedelta(days=1))
    assert daily[0][1] >= 3 * median


def test_spike_campaign_is_the_most_common_last_campaign(warehouse):
    top = query(
        warehouse,
        "select last_campaign_name, count(distinct user_id) as users from marts.fct_last_campaign "
        "where last_campaign_id is not null group by 1 order by 2 desc limit 1",
    )
    assert top[0][0] == SPIKE_NAME


def test_opt_outs_follow_push_pressure(warehouse):
    """Opted-out users had more delivered pushes in their last 7 days than the
    population's average 7 days."""
    optout_mean = query(
        warehouse,
        "select avg(push_count_7d) from marts.fct_push_before_optout_7d where channel = 'push'",
    )[0][0]
    population_mean = query_state(
        warehouse,
        f"select count(*) * 7.0 / {query(warehouse, 'select count(*) from marts.dim_users')[0][0]} "
        "/ (date_diff('day', min(sent_at), max(sent_at)) + 1) "
        "from staging.stg_messaging__sends "
        "where channel = 'push' and delivery_status = 'delivered'",
    )[0][0]
    assert optout_mean > 1.3 * population_mean


# --- The marts that answer "why" ----------------------------------------------------------

BUCKETS = "case when sends_7d <= 5 then 'low' when sends_7d >= 11 then 'high' end"


def test_pressure_curve_rises(warehouse):
    """Push opt-outs per opted-in user-day (agg_optout_pressure) rise with the pushes
    received in the 7 days before: at 11+ they are well above the rate at 0-5. The spike
    day is left out: it is the other signal."""
    spike_day = _spike_day(warehouse)
    rates = dict(
        query(
            warehouse,
            f"select {BUCKETS} as bucket, sum(optouts) * 1000.0 / sum(user_days) "
            "from marts.agg_optout_pressure where channel = 'push' and date != ? "
            "group by 1 having bucket is not null",
            [spike_day],
        )
    )
    assert rates["high"] > 1.5 * rates["low"]


def test_spike_campaign_tops_the_lift_ranking(warehouse):
    top = query(
        warehouse,
        "select campaign_name, lift from marts.agg_campaign_optouts "
        "where deliveries >= 100 order by lift desc limit 2",
    )
    assert top[0][0] == SPIKE_NAME
    assert top[0][1] > 3 * top[1][1]  # far ahead of the next campaign


def test_spike_day_is_alerted_and_little_else(warehouse):
    spike_day = _spike_day(warehouse)
    alerts = query(
        warehouse,
        "select date, channel, severity, top_campaign_name from marts.agg_optout_alerts "
        "order by date, channel",
    )
    assert (spike_day, "push", "critical", SPIKE_NAME) in alerts
    # Spike opt-outs come within hours, some after midnight: the next day may be flagged
    # too; no other day of the 45 is.
    assert {date for date, *_ in alerts} <= {spike_day, spike_day + dt.timedelta(days=1)}


def _spike_day(warehouse) -> dt.date:
    return query(
        warehouse,
        "select cast(started_at as date) from marts.dim_campaigns where campaign_name = ?",
        [SPIKE_NAME],
    )[0][0]


# A dense recount of agg_optout_pressure: every (user, channel, day), its status at 00:00
# from fct_consent_history, its delivered sends in the 7 x 24h before, from the sends
# themselves. Slow (a cross join), independent of the mart's runs and running sums.
DENSE_PRESSURE = """
with days as (
    select date_day as date, cast(date_day as timestamp) as t0 from intermediate.int_calendar
),
channels as (select unnest(['push', 'email', 'sms', 'whatsapp']) as channel),
users as (
    select user_id from staging.stg_messaging__consent_changes
    union select user_id from staging.stg_messaging__sends
),
delivered as (
    select user_id, channel, sent_at from staging.stg_messaging__sends
    where delivery_status = 'delivered'
),
grid as (select * from users cross join channels cross join days),
at_risk as (
    select grid.* from grid
    where exists (
        select 1 from marts.fct_consent_history h
        where h.user_id = grid.user_id and h.channel = grid.channel and h.status = 'opted_in'
            and h.valid_from < grid.t0 and (h.valid_to is null or h.valid_to >= grid.t0)
    ) or (
        not exists (
            select 1 from marts.fct_consent_history h
            where h.user_id = grid.user_id and h.channel = grid.channel and h.valid_from < grid.t0
        ) and exists (
            select 1 from delivered d
            where d.user_id = grid.user_id and d.channel = grid.channel
                and cast(d.sent_at as date) < grid.date
        )
    )
),
counted as (
    select at_risk.user_id, at_risk.channel, at_risk.date, count(d.sent_at) as sends_7d
    from at_risk left join delivered d
        on d.user_id = at_risk.user_id and d.channel = at_risk.channel
        and d.sent_at >= at_risk.t0 - interval 7 day and d.sent_at < at_risk.t0
    group by all
),
opted_out as (
    select distinct o.user_id, c.channel, o.opted_out_date as date
    from marts.fct_optouts o
    join channels c on o.channel = c.channel or o.channel = 'all'
)
select counted.date, counted.channel, counted.sends_7d,
    count(*) as user_days, count(opted_out.user_id) as optouts
from counted left join opted_out using (user_id, channel, date)
group by all
"""


def test_pressure_mart_equals_a_dense_recount(warehouse):
    mart = query(
        warehouse,
        "select date, channel, sends_7d, user_days, optouts from marts.agg_optout_pressure",
    )
    dense = query_all(warehouse, DENSE_PRESSURE)
    assert len(mart) > 500
    assert sorted(mart) == sorted(dense)
