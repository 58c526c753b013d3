"""The generator's planted signals are visible in the marts (docs/CONTRACT.md §8): opt-outs
follow push pressure, and the spike campaign causes an opt-out spike and is
the most common last campaign before opting out."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import build, query, query_state, settings_for

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
