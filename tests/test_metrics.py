"""The metrics layer (MetricFlow semantic models and metrics, dbt_project/models/semantic/)
gives the numbers the dashboard shows: `mf query` for a period equals the dashboard's
queries (orchestration/dashboard/queries.py) over the same warehouse, in total, per channel
and per day. Real `mf query` runs against a real build of generated sample data."""

import csv
import datetime as dt
import math
import os
import subprocess
import sys

import pytest
from conftest import build, query, settings_for

from orchestration.build import build_target_path
from orchestration.config import DBT_PROJECT_DIR
from orchestration.dashboard import queries
from orchestration.generator import generate
from orchestration.ranges import DateRange

MF = os.path.join(os.path.dirname(sys.executable), "mf")
END = dt.date(2026, 1, 31)
PERIOD = DateRange("between", dt.date(2026, 1, 5), dt.date(2026, 1, 25))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("metrics"))
    generate(settings.raw_dir, users=600, days=35, seed=5, end_date=END)
    build(settings)
    return settings


@pytest.fixture(scope="module")
def project(warehouse, tmp_path_factory):
    """The dbt project as `mf` sees it, with target/ = this warehouse's build: mf reads
    <project>/target/semantic_manifest.json, whatever DBT_TARGET_PATH says, and that of
    the build names this warehouse's database."""
    root = tmp_path_factory.mktemp("mf_project")
    for name in ("dbt_project.yml", "models", "macros", "tests", "profiles.yml"):
        (root / name).symlink_to(DBT_PROJECT_DIR / name)
    (root / "target").symlink_to(build_target_path(warehouse), target_is_directory=True)
    return root


def mf_query(settings, project, tmp_path, metrics: str, group_by: str | None = None) -> list[dict]:
    out = tmp_path / f"mf_{metrics.replace(',', '_')}_{group_by}.csv"
    args = [MF, "query", "--metrics", metrics, "--start-time", PERIOD.start.isoformat(),
            "--end-time", PERIOD.end.isoformat(), "--csv", str(out)]  # fmt: skip
    if group_by:
        args += ["--group-by", group_by]
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(project),
        "OPTOUT_WAREHOUSE": str(settings.warehouse),
        "OPTOUT_TARGET": "reader",  # the published file, read-only
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    done = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with open(out, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def number(text: str) -> float | None:
    return None if text in ("", "None") else float(text)


def same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b))


def test_the_period_totals_equal_the_dashboards(warehouse, project, tmp_path):
    [counts] = mf_query(warehouse, project, tmp_path, "optouts,optins")
    [rate] = mf_query(warehouse, project, tmp_path, "optout_rate,user_days_at_risk")
    summary = queries.trend_summary(warehouse.warehouse, queries.Period(PERIOD, PERIOD))
    assert summary["optouts"] > 20  # a period with something to compare
    assert int(number(counts["optouts"])) == summary["optouts"]
    assert int(number(counts["optins"])) == summary["optins"]
    assert same(number(rate["optout_rate"]), summary["avg_daily_rate"])


def test_per_channel_equals_the_dashboards(warehouse, project, tmp_path):
    counts = mf_query(warehouse, project, tmp_path, "optouts,optins", "channel_day__channel")
    rates = mf_query(warehouse, project, tmp_path, "optout_rate", "pressure_day__channel")
    got = {r["channel_day__channel"]: (int(number(r["optouts"])), int(number(r["optins"])))
           for r in counts}  # fmt: skip
    got_rate = {r["pressure_day__channel"]: number(r["optout_rate"]) for r in rates}
    dashboard = queries.trend_by_channel(warehouse.warehouse, queries.Period(PERIOD, PERIOD))
    expected = {r.channel: (int(r.optouts), int(r.optins)) for r in dashboard.itertuples()
                if r.optouts or r.optins}  # fmt: skip
    assert got == expected and "all" in got
    expected_rate = {r.channel: r.avg_daily_rate for r in dashboard.itertuples()
                     if r.avg_daily_rate == r.avg_daily_rate}  # fmt: skip
    assert got_rate.keys() >= expected_rate.keys() and len(expected_rate) >= 3
    for channel, rate in expected_rate.items():
        assert same(got_rate[channel], rate), channel


def test_per_day_equals_the_dashboards_rate_by_day(warehouse, project, tmp_path):
    rows = mf_query(
        warehouse, project, tmp_path, "optout_rate,user_days_at_risk,pressure_optouts",
        "metric_time__day",
    )  # fmt: skip
    got = {r["metric_time__day"][:10]: r for r in rows}
    dashboard = queries.rate_by_day(warehouse.warehouse, PERIOD)
    assert len(dashboard) == len(got) > 10
    for r in dashboard.itertuples():
        row = got[str(r.date)[:10]]
        assert int(number(row["user_days_at_risk"])) == r.user_days
        assert int(number(row["pressure_optouts"])) == r.optouts
        rate = None if r.optout_rate != r.optout_rate else r.optout_rate
        assert same(number(row["optout_rate"]), rate), r.date


def test_the_time_spine_covers_the_data(warehouse):
    [(first, last, days)] = query(
        warehouse.warehouse,
        "select min(date_day), max(date_day), count(*) from semantic.metricflow_time_spine",
    )
    assert first <= END - dt.timedelta(days=35) and last >= dt.date(2035, 12, 31)
    assert days == (last - first).days + 1  # one row per day, no gap


def test_pressure_rate_per_level_is_sum_over_sum(warehouse, project, tmp_path):
    """The opt-out rate by 7-day pressure over the period: the mart's sums over the
    period's days, not a mean of daily rates."""
    rows = mf_query(
        warehouse, project, tmp_path, "optout_rate,user_days_at_risk", "pressure_day__sends_7d"
    )
    got = {int(r["pressure_day__sends_7d"]): r for r in rows}
    expected = query(
        warehouse.warehouse,
        "select sends_7d, sum(user_days), cast(sum(optouts) as double) / sum(user_days) "
        "from marts.agg_optout_pressure where date between ? and ? group by sends_7d",
        [PERIOD.start, PERIOD.end],
    )
    assert len(expected) > 3 and got.keys() == {level for level, _, _ in expected}
    for level, user_days, rate in expected:
        assert int(number(got[level]["user_days_at_risk"])) == user_days
        assert same(number(got[level]["optout_rate"]), rate), level


def test_metrics_read_while_a_build_holds_the_state(warehouse, project, tmp_path):
    """`mf query` reads the published file only: a writer on the state file (a build in
    progress) does not block it."""
    import duckdb

    with duckdb.connect(str(warehouse.state_file)):  # the state file, open for writing
        [row] = mf_query(warehouse, project, tmp_path, "optouts")
    assert int(number(row["optouts"])) > 0


def test_optouts_per_1000_deliveries_per_campaign_is_the_marts(warehouse, project, tmp_path):
    """Per campaign that started in the period, the metric equals the mart's own column;
    over them all it is sum over sum."""
    rows = mf_query(
        warehouse, project, tmp_path, "optouts_per_1000_deliveries,deliveries", "campaign"
    )
    got = {r["campaign"]: r for r in rows}
    expected = query(
        warehouse.warehouse,
        "select campaign_id, deliveries, optouts_per_1k_deliveries from marts.agg_campaign_optouts "
        "where cast(first_delivered_at as date) between ? and ?",
        [PERIOD.start, PERIOD.end],
    )
    assert len(expected) >= 3 and got.keys() == {campaign for campaign, _, _ in expected}
    assert any(rate for _, _, rate in expected)  # some campaign has attributed opt-outs
    for campaign, deliveries, rate in expected:
        assert int(number(got[campaign]["deliveries"])) == deliveries
        assert same(number(got[campaign]["optouts_per_1000_deliveries"]), rate), campaign
    [total] = mf_query(warehouse, project, tmp_path, "optouts_per_1000_deliveries")
    [(overall,)] = query(
        warehouse.warehouse,
        "select 1000.0 * sum(attributed_optouts) / sum(deliveries) from marts.agg_campaign_optouts "
        "where cast(first_delivered_at as date) between ? and ?",
        [PERIOD.start, PERIOD.end],
    )
    assert same(number(total["optouts_per_1000_deliveries"]), overall)
