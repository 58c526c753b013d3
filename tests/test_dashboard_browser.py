"""End to end: `optout dashboard` served on a free loopback port against the session's
sample warehouse (conftest.sample_project: 300 users, data 2025-12-23 .. 2026-01-31, the
spike campaign on 2026-01-16), driven by Debian's chromium through Playwright.

Every number read from the page is checked against SQL written here, over the marts, not
against the page's own query module (orchestration.dashboard.queries): a wrong query there
cannot hide behind itself. Every download must be byte for byte the file `optout export`
writes for the same arguments.

The page's last element repeats the selection (`.st-key-shown`): once it shows the expected
selection and no element is stale, the rerun is complete. Without chromium the browser
tests skip, except in CI (env CI set, as `.ci/run` does), where they fail.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import SAMPLE_END_DATE, free_port, query
from playwright.sync_api import Page, expect, sync_playwright

from orchestration.ranges import DateRange, resolve_range

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL = "apt-get install -y --no-install-recommends chromium"
IN_CI = bool(os.environ.get("CI"))
OPTOUT = Path(sys.executable).with_name("optout")
AS_OF = SAMPLE_END_DATE.isoformat()  # inside the fixture data, unlike today
SPIKE_DAY = "2026-01-16"
TIMEOUT_MS = 30_000  # per wait; the machine is shared, so be patient
PAGE_SIZE = 25

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not IN_CI,
    reason=f"needs Debian's chromium at {CHROMIUM} ({INSTALL}); in CI it is required",
)


def _optout(*args: str) -> list[str]:
    if OPTOUT.exists():
        return [os.fspath(OPTOUT), *args]
    return [sys.executable, "-m", "orchestration.cli", *args]


def _default_signals() -> None:
    # The child must die on SIGTERM/SIGINT whatever the parent ignores.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture(scope="module")
def server(sample_project, tmp_path_factory):
    """`optout dashboard --port N` in its own process group; killed at the end."""
    if not CHROMIUM.exists():
        pytest.fail(f"CI runs the browser tests: install chromium ({INSTALL})")
    tmp = tmp_path_factory.mktemp("dashboard_server")
    port = free_port()
    env = os.environ | {
        "OPTOUT_WAREHOUSE": os.fspath(sample_project.warehouse),
        "OPTOUT_EXPORT_DIR": os.fspath(tmp / "exports"),
    }
    log_path = tmp / "streamlit.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            _optout("dashboard", "--port", str(port)),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_signals,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"optout dashboard exited ({proc.returncode}):\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"optout dashboard not healthy in 60 s:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(server):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.fspath(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, url: str, width: int) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 2400}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)  # assertions wait 5 s by default
    page = context.new_page()
    page.goto(url)
    expect(page.locator(".st-key-shown")).to_contain_text("Shown:", timeout=60_000)
    return page


@pytest.fixture(scope="module")
def page(browser, server):
    page = open_page(browser, server, 1400)
    yield page
    page.context.close()


@pytest.fixture(scope="module")
def wh(sample_project):
    return sample_project.warehouse


# --- Periods, computed here (the exports' ranges; the previous period of equal length) ---


class Period:
    def __init__(self, current: DateRange):
        days = (current.end - current.start).days + 1
        self.current = current
        self.previous = DateRange(
            "previous",
            current.start - dt.timedelta(days=days),
            current.start - dt.timedelta(days=1),
        )


def preset(range_name: str) -> Period:
    return Period(resolve_range(range_name, as_of=AS_OF))


def between(start: str, end: str) -> Period:
    return Period(resolve_range("between", start=start, end=end))


# --- Driving the page ------------------------------------------------------------


def click_option(page: Page, key: str, label: str) -> None:
    """Pick `label` of the radio group with widget key `key`."""
    page.locator(f".st-key-{key}").get_by_text(label, exact=True).click()


def set_date(page: Page, key: str, value: str) -> None:
    """Type YYYY-MM-DD into the date input `key` (year, month, day segments), commit."""
    segments = page.locator(f".st-key-{key} [role=spinbutton]")
    expect(segments).to_have_count(3)
    for index, part in enumerate(value.split("-")):
        segments.nth(index).press_sequentially(part)
    page.keyboard.press("Escape")  # closes the calendar and commits the typed date


def set_number(page: Page, key: str, value: int) -> None:
    box = page.locator(f".st-key-{key} input")
    box.fill(str(value))
    box.press("Enter")


def settled(page: Page, shown: str) -> None:
    """Wait until the page shows the selection `shown` and nothing is stale."""
    expect(page.locator(".st-key-shown")).to_contain_text(shown)
    expect(page.locator("[data-stale='true']")).to_have_count(0)


def choose_preset(page: Page, label: str, period: Period, as_of: str = AS_OF) -> None:
    click_option(page, "period", label)
    settled(page, f"Shown: {label} ")
    if page.locator(".st-key-as_of [role=spinbutton]").count() == 0:
        click_option(page, "as_of_mode", "Chosen date")
    set_date(page, "as_of", as_of)
    settled(page, f"Shown: {label} {period.current.start} … {period.current.end} ·")


def choose_between(page: Page, start: str, end: str) -> None:
    click_option(page, "period", "Dates Between")
    # Each date reruns the page; typing into a date input while that rerun redraws it can
    # lose a keystroke, so each is typed once the page has settled on the previous one.
    settled(page, "Shown: Dates Between ")
    set_date(page, "start", start)
    settled(page, f"Shown: Dates Between {start} … ")
    set_date(page, "end", end)
    settled(page, f"Shown: Dates Between {start} … {end} ·")


# --- Reading the page ----------------------------------------------------------------


def number(text: str) -> int:
    return int(text.replace(",", ""))


def pct(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def fixed(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def metric_card(page: Page, section: str, label: str):
    return page.locator(f".st-key-{section} [data-testid=stMetric]").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )


def metric(page: Page, section: str, label: str) -> str:
    return metric_card(page, section, label).get_by_test_id("stMetricValue").inner_text().strip()


def metric_delta(page: Page, section: str, label: str) -> str | None:
    delta = metric_card(page, section, label).get_by_test_id("stMetricDelta")
    return delta.inner_text().strip() if delta.count() else None


def tables(page: Page, section: str) -> list[list[list[str]]]:
    """Every table of the section: rows (header first) as the cells' text."""
    return page.locator(f".st-key-{section} [data-testid=stTable] table").evaluate_all(
        "ts => ts.map(t => [...t.querySelectorAll('tr')].map("
        "r => [...r.querySelectorAll('th,td')].map(c => c.innerText.trim())))"
    )


def section_text(page: Page, section: str) -> str:
    return page.locator(f".st-key-{section}").inner_text()


# --- Independent SQL over the marts ------------------------------------------------------


def one(wh: Path, sql: str, params=None):
    [(value,)] = query(wh, sql, params)
    return value


def first_data_day(wh: Path) -> dt.date:
    return one(wh, "select min(cast(valid_from as date)) from marts.fct_consent_history")


def channel_sql(channel: str | None) -> str:
    return "" if channel is None else f" and channel = '{channel}'"


def optouts_in(wh: Path, rng: DateRange, channel: str | None = None) -> int:
    return one(
        wh,
        "select count(*) from marts.fct_optouts where opted_out_date between ? and ?"
        + channel_sql(channel),
        [rng.start, rng.end],
    )


def optins_in(wh: Path, rng: DateRange, channel: str | None = None) -> int:
    return one(
        wh,
        "select count(*) from marts.fct_status_changes where status = 'opted_in' "
        "and changed_date between ? and ?" + channel_sql(channel),
        [rng.start, rng.end],
    )


def rates(wh: Path, rng: DateRange, channel: str | None = None) -> tuple:
    """(period rate, average daily rate) from the subscriptions of agg_optout_pressure."""
    removed, user_days, days = query(
        wh,
        "select sum(optouts), sum(user_days), count(distinct date) "
        "from marts.agg_optout_pressure where date between ? and ?" + channel_sql(channel),
        [rng.start, rng.end],
    )[0]
    if not user_days:
        return None, None
    return removed * days / user_days, removed / user_days


# --- What the page must show -------------------------------------------------------


def assert_trend(page: Page, wh: Path, period: Period, channel: str | None = None) -> None:
    optouts = optouts_in(wh, period.current, channel)
    previous = optouts_in(wh, period.previous, channel)
    assert number(metric(page, "trend", "Opt-outs")) == optouts
    assert number(metric(page, "trend", "Opt-ins")) == optins_in(wh, period.current, channel)
    period_rate, daily_rate = rates(wh, period.current, channel)
    assert metric(page, "trend", "Opt-out rate (period)") == pct(period_rate, 2)
    assert metric(page, "trend", "Average daily rate") == pct(daily_rate, 3)
    if period.previous.end < first_data_day(wh):
        assert metric(page, "trend", "Previous period") == "no data"
        assert metric_delta(page, "trend", "Opt-outs") is None
        assert "No data for the previous period" in section_text(page, "trend")
    else:
        assert number(metric(page, "trend", "Previous period")) == previous
        change = optouts - previous
        delta = f"{change:+,}" + (f" ({100 * change / previous:+.1f}%)" if previous else "")
        assert metric_delta(page, "trend", "Opt-outs") == delta
        previous_rate = rates(wh, period.previous, channel)[0]
        assert metric_delta(page, "trend", "Opt-out rate (period)") == (
            f"{100 * (period_rate - previous_rate):+.2f} pp"
        )
    [by_channel] = tables(page, "trend")
    assert by_channel[0] == [
        "Channel", "Opt-outs", "Previous", "Change", "Opt-ins", "Average daily rate"
    ]  # fmt: skip
    expected = query(
        wh,
        """
        with o as (
            select channel,
                count(*) filter (where opted_out_date between $1 and $2) as cur,
                count(*) filter (where opted_out_date between $3 and $4) as prev
            from marts.fct_optouts group by channel
        ), i as (
            select channel, count(*) as optins from marts.fct_status_changes
            where status = 'opted_in' and changed_date between $1 and $2 group by channel
        ), r as (
            select channel, sum(optouts) * 1.0 / sum(user_days) as rate
            from marts.agg_optout_pressure where date between $1 and $2 group by channel
        )
        select o.channel, o.cur, o.prev, coalesce(i.optins, 0), r.rate
        from o left join i using (channel) left join r using (channel)
        where o.cur > 0 or o.prev > 0 or i.optins > 0
        order by o.cur desc, o.channel
        """,
        [period.current.start, period.current.end, period.previous.start, period.previous.end],
    )
    compared = period.previous.end >= first_data_day(wh)
    assert [r[0] for r in by_channel[1:]] == [e[0] for e in expected]
    for row, (_, cur, prev, optins, rate) in zip(by_channel[1:], expected, strict=True):
        assert number(row[1]) == cur
        assert row[2:4] == ([f"{prev:,}", f"{cur - prev:+,}"] if compared else ["no data", "—"])
        assert number(row[4]) == optins
        assert row[5] == pct(rate, 3)


def assert_alerts(page: Page, wh: Path, period: Period) -> None:
    expected = query(
        wh,
        "select cast(date as varchar), channel, optouts, expected_optouts, score, severity, "
        "top_campaigns from marts.agg_optout_alerts where date between ? and ? "
        "order by date desc, channel",
        [period.current.start, period.current.end],
    )
    if not expected:
        assert "No abnormal opt-out day in this period." in section_text(page, "alerts")
        assert tables(page, "alerts") == []
        return
    [rows] = tables(page, "alerts")
    assert rows[0] == [
        "Date", "Channel", "Opt-outs", "Expected", "Score", "Severity", "Top campaigns"
    ]  # fmt: skip
    assert rows[1:] == [
        [day, ch, f"{n:,}", f"{e:.1f}", f"{s:.1f}", sev, top or "—"]
        for day, ch, n, e, s, sev, top in expected
    ]


def bucket_case(column: str, buckets) -> str:
    cases = " ".join(
        f"when {column} between {lo} and {hi} then '{label}'" for lo, hi, label in buckets
    )
    return f"case {cases} end"


CURVE_BUCKETS = [(0, 0, "0"), (1, 2, "1–2"), (3, 5, "3–5"), (6, 10, "6–10"),
                 (11, 20, "11–20"), (21, 10**9, "21+")]  # fmt: skip


def assert_pressure(
    page: Page, wh: Path, period: Period, marketing: bool = False, channel: str = "push"
) -> None:
    histogram, curve = tables(page, "pressure")
    column = "marketing_push_count_7d" if marketing else "push_count_7d"
    counts = dict(
        query(
            wh,
            f"select least({column}, 10), count(*) from marts.fct_push_before_optout_7d "
            "where cast(opted_out_at as date) between ? and ? group by 1",
            [period.current.start, period.current.end],
        )
    )
    assert histogram[0][1:] == [str(n) for n in range(10)] + ["10+"]
    assert histogram[1][0] == "Opt-outs"
    assert [number(c) for c in histogram[1][1:]] == [counts.get(n, 0) for n in range(11)]
    found = {
        label: (user_days, optouts)
        for label, user_days, optouts in query(
            wh,
            f"select {bucket_case('sends_7d', CURVE_BUCKETS)}, sum(user_days), sum(optouts) "
            "from marts.agg_optout_pressure where date between ? and ? and channel = ? "
            "group by 1",
            [period.current.start, period.current.end, channel],
        )
    }
    labels = [label for *_, label in CURVE_BUCKETS]
    assert curve[0] == [f"Delivered {channel} messages", *labels]
    user_days = [found.get(label, (0, 0))[0] for label in labels]
    optouts = [found.get(label, (0, 0))[1] for label in labels]
    assert curve[1] == ["User-days", *[f"{n:,}" for n in user_days]]
    assert curve[2] == ["Opt-outs", *[f"{n:,}" for n in optouts]]
    assert curve[3] == [
        "Per 1,000 user-days",
        *[fixed(1000 * o / u if u else None) for o, u in zip(optouts, user_days, strict=True)],
    ]


def default_min_deliveries(wh: Path) -> int:
    optouts, deliveries = query(
        wh, "select sum(attributed_optouts), sum(deliveries) from marts.agg_campaign_optouts"
    )[0]
    return max(100, math.ceil(deliveries / optouts / 100) * 100) if optouts else 100


def assert_campaigns(page: Page, wh: Path, period: Period, min_deliveries: int) -> None:
    rng = period.current
    attributed, unattributed = query(
        wh,
        "select count(*) filter (where is_attributed), count(*) filter (where not is_attributed) "
        "from marts.fct_optout_attribution where opted_out_date between ? and ?",
        [rng.start, rng.end],
    )[0]
    assert number(metric(page, "campaigns", "Attributed opt-outs")) == attributed
    assert number(metric(page, "campaigns", "Not attributed")) == unattributed
    box = page.locator(".st-key-campaign_min_deliveries input")
    assert number(box.input_value()) == min_deliveries
    expected = query(
        wh,
        """
        select coalesce(campaign_name, campaign_id), channel, message_category, deliveries,
            attributed_optouts, optouts_per_1k_deliveries, baseline_per_1k_deliveries, lift
        from marts.agg_campaign_optouts
        where deliveries >= ? and cast(first_delivered_at as date) <= ?
            and cast(last_delivered_at as date) >= ?
        order by optouts_per_1k_deliveries desc, deliveries desc, campaign_id
        limit 15
        """,
        [min_deliveries, rng.end, rng.start],
    )
    all_tables = tables(page, "campaigns")
    if not expected:
        assert "No campaign with at least" in section_text(page, "campaigns")
        return
    rows = all_tables[0]
    assert rows[0] == [
        "Campaign", "Channel", "Category", "Deliveries", "Opt-outs", "Per 1,000",
        "Channel per 1,000", "Lift",
    ]  # fmt: skip
    assert rows[1:] == [
        [name, ch, cat, f"{d:,}", f"{o:,}", fixed(r), fixed(b), fixed(lift)]
        for name, ch, cat, d, o, r, b, lift in expected
    ]


def assert_reasons_and_compliance(page: Page, wh: Path, period: Period) -> None:
    rng = period.current
    reasons = query(
        wh,
        "select reason, sum(optouts) as n from marts.agg_optout_reasons "
        "where date between ? and ? group by reason order by n desc, reason limit 10",
        [rng.start, rng.end],
    )
    keywords = query(
        wh,
        "select keyword, sum(optouts) as n from marts.agg_optout_keywords "
        "where date between ? and ? group by keyword order by n desc, keyword",
        [rng.start, rng.end],
    )
    found = tables(page, "reasons")
    expected = []
    if reasons:
        expected.append([["Reason", "Opt-outs"], *[[r, f"{n:,}"] for r, n in reasons]])
    if keywords:
        expected.append([["Keyword", "Opt-outs"], *[[k, f"{n:,}"] for k, n in keywords]])
    assert found == expected
    # Opt-outs by keyword add up to every opt-out of the period.
    assert sum(n for _, n in keywords) == optouts_in(wh, rng)
    compliance = query(
        wh,
        "select coalesce(campaign_name, campaign_id, '(no campaign)') as c, sends_beyond_grace, "
        "sends_within_grace, users_affected from marts.agg_compliance_by_campaign "
        "order by sends_beyond_grace desc, sends_after_optout desc, c limit 10",
    )
    [rows] = tables(page, "compliance")
    assert rows == [
        ["Campaign", "Beyond grace", "Within grace", "Users affected"],
        *[[c, f"{b:,}", f"{w:,}", f"{u:,}"] for c, b, w, u in compliance],
    ]


def closed_windows(wh: Path, rng: DateRange) -> list[int]:
    rows = query(
        wh,
        "select window_days, count(*) filter (where retention_status = 'pending') "
        "from marts.fct_optout_retention where cast(opted_out_at as date) between ? and ? "
        "group by 1 order by 1",
        [rng.start, rng.end],
    )
    return [w for w, pending in rows if pending == 0]


def assert_events(page: Page, wh: Path, period: Period, window: int, measure: str) -> None:
    rng = period.current
    offered = page.locator(".st-key-events_window [role=radiogroup] label").all_inner_texts()
    assert [t.strip() for t in offered] == [
        f"{w} day" if w == 1 else f"{w} days" for w in closed_windows(wh, rng)
    ]
    users = dict(
        query(
            wh,
            "select retention_status, count(distinct user_id) from marts.fct_optout_retention "
            "where cast(opted_out_at as date) between ? and ? and window_days = ? group by 1",
            [rng.start, rng.end, window],
        )
    )
    assert number(metric(page, "events", "Retain users")) == users.get("retain", 0)
    assert number(metric(page, "events", "Churn users")) == users.get("churn", 0)
    value = "sum(event_count)" if measure == "total" else "count(distinct user_id)"
    expected = query(
        wh,
        f"""
        select event_name,
            coalesce({value} filter (where retention_status = 'retain'), 0) as retain,
            coalesce({value} filter (where retention_status = 'churn'), 0) as churn
        from marts.fct_last_events_retain_churn
        where cast(opted_out_at as date) between ? and ? and window_days = ?
            and retention_status in ('retain', 'churn')
        group by event_name order by retain + churn desc, event_name
        """,
        [rng.start, rng.end, window],
    )
    [rows] = tables(page, "events")
    assert rows == [
        ["Event", "Retain", "Churn"],
        *[[e, f"{r:,}", f"{c:,}"] for e, r, c in expected],
    ]


def cli_file(sample_project, tmp_path: Path, args: list[str]) -> Path:
    env = os.environ | {
        "OPTOUT_WAREHOUSE": os.fspath(sample_project.warehouse),
        "OPTOUT_EXPORT_DIR": os.fspath(tmp_path),
    }
    result = subprocess.run(
        _optout("export", *args), env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return Path(result.stdout.strip().splitlines()[-1])


def range_args(period: Period) -> list[str]:
    rng = period.current
    if rng.name == "between":
        return ["--range", "between", "--start", str(rng.start), "--end", str(rng.end)]
    return ["--range", rng.name, "--as-of", str(rng.end)]


def optouts_users(wh: Path, period: Period) -> int:
    return one(
        wh,
        "select count(distinct user_id) from marts.fct_optouts "
        "where opted_out_date between ? and ?",
        [period.current.start, period.current.end],
    )


def assert_who(page: Page, wh: Path, sample_project, tmp_path: Path, period: Period, page_no=1):
    n_users = optouts_users(wh, period)
    text = section_text(page, "who")
    if not n_users:
        assert "No user opted out in this period." in text
        return
    assert f"{n_users:,} users opted out in this period" in text
    written = cli_file(sample_project, tmp_path, ["--kind", "users", *range_args(period)])
    with open(written, newline="", encoding="utf-8") as handle:
        records = list(csv.DictReader(handle))
    assert len(records) == n_users
    columns = ["user_id", "external_id", "first_name", "last_name", "channels", "optout_count",
               "last_opted_out_at"]  # fmt: skip
    first = (page_no - 1) * PAGE_SIZE
    [rows] = tables(page, "who")
    assert rows[1:] == [[r[c] for c in columns] for r in records[first : first + PAGE_SIZE]]


def assert_page(page: Page, wh: Path, sample_project, tmp_path: Path, period: Period) -> None:
    assert_trend(page, wh, period)
    assert_alerts(page, wh, period)
    assert_pressure(page, wh, period)
    assert_campaigns(page, wh, period, default_min_deliveries(wh))
    assert_reasons_and_compliance(page, wh, period)
    assert_who(page, wh, sample_project, tmp_path, period)


# --- The tests -----------------------------------------------------------------------


@needs_chromium
@pytest.mark.parametrize(
    ("label", "range_name"),
    [("Last Week", "last_week"), ("Last Month", "last_month"), ("Last Year", "last_year")],
)
def test_presets_as_of_a_chosen_date(page, wh, sample_project, tmp_path, label, range_name):
    period = preset(range_name)
    choose_preset(page, label, period)
    info = page.locator(".st-key-period_info").inner_text()
    assert f"{period.current.start} … {period.current.end}" in info
    assert f"previous period {period.previous.start} … {period.previous.end}" in info
    assert optouts_in(wh, period.current) > 0  # the fixture covers the period
    assert_page(page, wh, sample_project, tmp_path, period)


@needs_chromium
def test_dates_between_with_the_spike(page, wh, sample_project, tmp_path):
    period = between("2026-01-05", "2026-01-20")
    choose_between(page, "2026-01-05", "2026-01-20")
    assert (
        "previous period 2025-12-20 … 2026-01-04"
        in page.locator(".st-key-period_info").inner_text()
    )
    assert one(wh, "select count(*) from marts.agg_optout_alerts where date = ?", [SPIKE_DAY]) > 0
    assert_page(page, wh, sample_project, tmp_path, period)
    # Part of the previous period lies before the data: the page says so.
    assert "The previous period is only partly covered" in section_text(page, "trend")


@needs_chromium
def test_banner_on_a_flagged_latest_day(page, wh):
    period = preset("last_week")
    choose_preset(page, "Last Week", Period(resolve_range("last_week", as_of=SPIKE_DAY)), SPIKE_DAY)
    flagged = query(
        wh,
        "select channel, optouts, expected_optouts, severity from marts.agg_optout_alerts "
        "where date = ? order by score desc",
        [SPIKE_DAY],
    )
    banner = section_text(page, "latest_alert")
    assert f"Opt-out alert on {SPIKE_DAY}, the latest complete day." in banner
    for channel, optouts, expected, severity in flagged:
        assert f"{channel}: {optouts:,} opt-outs, {expected:.1f} expected" in banner
        assert severity in banner
    choose_preset(page, "Last Week", period)
    assert section_text(page, "latest_alert").strip() == (
        f"No opt-out alert on the latest complete day, {AS_OF}."
    )


@needs_chromium
def test_chart_settings(page, wh, sample_project, tmp_path):
    period = preset("last_month")
    choose_preset(page, "Last Month", period)

    click_option(page, "trend_channel", "push")
    settled(page, "channel push ·")
    assert_trend(page, wh, period, "push")

    page.locator(".st-key-push_marketing").get_by_text("Marketing pushes only").click()
    settled(page, "marketing only on ·")
    click_option(page, "pressure_channel", "email")
    settled(page, "pressure email ·")
    assert_pressure(page, wh, period, marketing=True, channel="email")

    set_number(page, "campaign_min_deliveries", 50)
    settled(page, "min deliveries 50 ·")
    assert_campaigns(page, wh, period, 50)

    # Every window is still open for some of the last month's opt-outs: none offered.
    assert closed_windows(wh, period.current) == []
    assert "No retention window has closed" in section_text(page, "events")
    early = between("2025-12-23", "2026-01-10")
    choose_between(page, "2025-12-23", "2026-01-10")
    closed = closed_windows(wh, early.current)
    assert closed and max(closed) < 30  # the 30-day windows are not over by the as-of
    for window, measure_label, measure in (
        (closed[0], "Unique User", "unique"),
        (closed[-1], "Total Event", "total"),
    ):
        days = f"{window} day" if window == 1 else f"{window} days"
        click_option(page, "events_window", days)
        click_option(page, "events_measure", measure_label)
        settled(page, f"window {days} · {measure_label} ·")
        assert_events(page, wh, early, window, measure)

    # The settings are kept when the period changes.
    week = preset("last_week")
    choose_preset(page, "Last Week", week)
    settled(
        page, "channel push · 0 alerts · marketing only on · pressure email · min deliveries 50"
    )
    assert_trend(page, wh, week, "push")

    # Page 3 of the last month's 54 opted-out users: the last four.
    choose_preset(page, "Last Month", period)
    set_number(page, "who_page", 3)
    settled(page, "page 3 ·")
    assert_who(page, wh, sample_project, tmp_path, period, page_no=3)
    assert len(tables(page, "who")[0]) == 1 + optouts_users(wh, period) - 2 * PAGE_SIZE


@needs_chromium
@pytest.mark.parametrize(
    ("label", "period", "fmt"),
    [
        ("Last Month", preset("last_month"), "CSV"),
        ("Dates Between", between("2026-01-05", "2026-01-20"), "Parquet"),
    ],
    ids=["last_month-csv", "between-parquet"],
)
def test_downloads_are_the_clis_files(page, sample_project, tmp_path, label, period, fmt):
    if label == "Dates Between":
        choose_between(page, str(period.current.start), str(period.current.end))
    else:
        choose_preset(page, label, period)
    click_option(page, "export_format", fmt)
    settled(page, f"· {fmt}")
    buttons = page.locator(".st-key-who [data-testid=stDownloadButton]")
    assert buttons.count() == 3  # users, status changes, suppression: every export kind
    for kind in ("users", "status_changes", "suppression"):
        args = ["--kind", kind, *(range_args(period) if kind != "suppression" else [])]
        args += ["--format", fmt.lower()]
        assert f"optout export {' '.join(args)}" in section_text(page, "who")
        with page.expect_download(timeout=TIMEOUT_MS) as info:
            page.locator(f".st-key-download_{kind} button").click()
        download = info.value
        written = cli_file(sample_project, tmp_path / kind, args)
        assert download.suggested_filename == written.name
        assert Path(download.path()).read_bytes() == written.read_bytes()
        assert written.stat().st_size > 100  # the period has rows: more than a header


@needs_chromium
def test_reads_at_1024_px(browser, server):
    """At 1024 px no table is wider than its section and no metric label or value is cut
    (at 900 px the longest labels are)."""
    narrow = open_page(browser, server, 1024)
    try:
        choose_preset(narrow, "Last Month", preset("last_month"))
        overflowing = narrow.evaluate(
            """() => [...document.querySelectorAll(
                '[data-testid=stTable], [data-testid=stMetric] *'
            )].filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText.slice(0, 40))"""
        )
        assert overflowing == []
    finally:
        narrow.context.close()


# --- The command's arguments (no browser needed) ----------------------------------------


@pytest.mark.parametrize("port", ["0", "65536", "80a", "-1"])
def test_dashboard_rejects_a_bad_port_in_one_line(port):
    result = subprocess.run(
        _optout("dashboard", "--port", port), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "--port must be a whole number 1-65535" in result.stderr


def test_dashboard_refuses_a_port_in_use(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            _optout("dashboard", "--port", str(port)),
            env=os.environ | {"OPTOUT_WAREHOUSE": os.fspath(tmp_path / "w.duckdb")},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert (
        result.stderr
        == f"optout: error: port {port} on 127.0.0.1 is in use; pick another with --port\n"
    )
