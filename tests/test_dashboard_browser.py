"""End to end: `optout dashboard` served on a free loopback port against the
session's sample warehouse (conftest.sample_project, data up to 2026-01-31),
driven by Debian's chromium through Playwright. Every number read from the page
must equal the marts, as the dashboard's query module (and, for the totals, a
direct query of the marts) computes them; the Export button must download the
bytes `optout export` writes.

The page's last element repeats the selection (`.st-key-shown`): once it shows
the expected selection and no element is stale, the rerun is complete.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import SAMPLE_END_DATE, query
from playwright.sync_api import Page, expect, sync_playwright

from orchestration.dashboard import queries as q

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
OPTOUT = Path(sys.executable).with_name("optout")
AS_OF = SAMPLE_END_DATE.isoformat()  # inside the fixture data, unlike today
TIMEOUT_MS = 30_000  # per wait; the machine is shared, so be patient

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium "
    "(apt-get install -y --no-install-recommends chromium)",
)


def _optout(*args: str) -> list[str]:
    if OPTOUT.exists():
        return [os.fspath(OPTOUT), *args]
    return [sys.executable, "-m", "orchestration.cli", *args]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _default_signals() -> None:
    # The child must die on SIGTERM/SIGINT whatever the parent ignores.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture(scope="module")
def server(sample_project, tmp_path_factory):
    """`optout dashboard --port N` in its own process group; killed at the end."""
    tmp = tmp_path_factory.mktemp("dashboard_server")
    port = _free_port()
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
def page(server):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.fspath(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(
                viewport={"width": 1400, "height": 2400}, accept_downloads=True
            )
            context.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)  # assertions wait 5 s by default
            page = context.new_page()
            page.goto(server)
            expect(page.locator(".st-key-shown")).to_contain_text("Shown:", timeout=60_000)
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def wh(sample_project):
    return sample_project.warehouse


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


def settled(page: Page, shown: str) -> None:
    """Wait until the page shows the selection `shown` and nothing is stale."""
    expect(page.locator(".st-key-shown")).to_contain_text(shown)
    expect(page.locator("[data-stale='true']")).to_have_count(0)


def choose_preset(page: Page, label: str, period: q.Period) -> None:
    click_option(page, "period", label)
    settled(page, f"Shown: {label} ")
    if page.locator(".st-key-as_of [role=spinbutton]").count() == 0:
        click_option(page, "as_of_mode", "Chosen date")
        set_date(page, "as_of", AS_OF)
    settled(page, f"Shown: {label} {period.current.start} … {period.current.end} ·")


# --- Reading the page ----------------------------------------------------------------


def number(text: str) -> int:
    return int(text.replace(",", ""))


def rate(text: str) -> float | None:
    """A rate shown as 0.18% (None for —)."""
    return None if text == "—" else float(text.rstrip("%")) / 100


def metric(page: Page, section: str, label: str) -> str:
    card = page.locator(f".st-key-{section} [data-testid=stMetric]").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return card.get_by_test_id("stMetricValue").inner_text().strip()


def metric_delta(page: Page, section: str, label: str) -> str:
    card = page.locator(f".st-key-{section} [data-testid=stMetric]").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return card.get_by_test_id("stMetricDelta").inner_text().strip()


def table(page: Page, section: str) -> list[list[str]]:
    """Rows (header first) of the section's table, as the cells' text."""
    return page.locator(f".st-key-{section} [data-testid=stTable] table").evaluate(
        "t => [...t.querySelectorAll('tr')].map("
        "r => [...r.querySelectorAll('th,td')].map(c => c.innerText.trim()))"
    )


# --- What the page must show -------------------------------------------------------


def assert_trend(page: Page, wh: Path, period: q.Period, channel: str | None = None) -> None:
    summary = q.trend_summary(wh, period, channel)
    assert number(metric(page, "trend", "Opt-outs")) == summary["optouts"]
    assert number(metric(page, "trend", "Previous period")) == summary["previous_optouts"]
    assert number(metric(page, "trend", "Opt-ins")) == summary["optins"]
    shown_rate = rate(metric(page, "trend", "Opt-out rate"))
    if summary["optout_rate"] is None:
        assert shown_rate is None
    else:
        assert shown_rate == pytest.approx(round(summary["optout_rate"] * 100, 2) / 100)
    delta = metric_delta(page, "trend", "Opt-outs")
    assert delta.startswith(f"{summary['change']:+,}")
    if summary["change_pct"] is not None:
        assert f"({summary['change_pct']:+.1f}%)" in delta
    if channel is None:
        # Straight from the marts too: every opt-out of the period, and of the one before.
        for name, rng in (("Opt-outs", period.current), ("Previous period", period.previous)):
            [(count,)] = query(
                wh,
                "select count(*) from marts.fct_optouts where opted_out_date between ? and ?",
                [rng.start, rng.end],
            )
            assert number(metric(page, "trend", name)) == count

    rows = table(page, "trend")
    assert rows[0] == ["Channel", "Opt-outs", "Previous", "Change", "Opt-ins", "Opt-out rate"]
    expected = q.trend_by_channel(wh, period)
    assert [r[0] for r in rows[1:]] == list(expected["channel"])
    for row, want in zip(rows[1:], expected.itertuples(), strict=True):
        assert [number(c) for c in row[1:5]] == [
            want.optouts,
            want.previous_optouts,
            want.change,
            want.optins,
        ]


def assert_push(page: Page, wh: Path, period: q.Period, marketing: bool = False) -> None:
    hist = q.push_histogram(wh, period.current, marketing_only=marketing)
    rows = table(page, "push")
    assert rows[0] == ["Pushes in 7 days", *q.PUSH_BUCKETS]
    assert rows[1][0] == "Opt-outs"
    assert [number(c) for c in rows[1][1:]] == list(hist["optouts"])
    assert number(metric(page, "push", "Opt-outs")) == hist["optouts"].sum()
    [(count,)] = query(
        wh,
        "select count(*) from marts.fct_push_before_optout_7d"
        " where cast(opted_out_at as date) between ? and ?",
        [period.current.start, period.current.end],
    )
    assert hist["optouts"].sum() == count


def assert_campaigns(page: Page, wh: Path, period: q.Period) -> None:
    totals = q.last_campaign_totals(wh, period.current)
    assert (
        number(metric(page, "campaigns", "Opt-outs after a campaign interaction"))
        == (totals["with_campaign"])
    )
    assert number(metric(page, "campaigns", "Opt-outs without one")) == totals["without_campaign"]
    top = q.last_campaigns(wh, period.current)
    rows = table(page, "campaigns")
    assert rows[0] == ["Campaign", "Campaign id", "Opted-out users", "Opt-outs"]
    assert [[r[0], r[1], number(r[2]), number(r[3])] for r in rows[1:]] == [
        [t.campaign, t.campaign_id, t.users, t.optouts] for t in top.itertuples()
    ]


def assert_events(page: Page, wh: Path, period: q.Period, window: int, measure: str) -> None:
    counts = q.retention_counts(wh, period.current, window).set_index("retention_status")
    for status, label in (("retain", "Retain"), ("churn", "Churn"), ("pending", "Pending")):
        assert number(metric(page, "events", f"{label} users")) == counts.loc[status, "users"]
    events = q.last_events(wh, period.current, window, measure)
    if events.empty:  # e.g. every opt-out of the period still pending
        expect(page.locator(".st-key-events")).to_contain_text("No events in the")
        expect(page.locator(".st-key-events [data-testid=stTable]")).to_have_count(0)
        return
    rows = table(page, "events")
    assert rows[0] == ["Event", "Retain", "Churn"]
    assert [[r[0], number(r[1]), number(r[2])] for r in rows[1:]] == [
        [e.event_name, e.retain, e.churn] for e in events.itertuples()
    ]


def assert_page(page: Page, wh: Path, period: q.Period) -> None:
    assert_trend(page, wh, period)
    assert_push(page, wh, period)
    assert_campaigns(page, wh, period)
    assert_events(page, wh, period, 7, "total")


# --- The tests -----------------------------------------------------------------------


@needs_chromium
@pytest.mark.parametrize(
    ("label", "range_name"),
    [("Last Week", "last_week"), ("Last Month", "last_month"), ("Last Year", "last_year")],
)
def test_presets_as_of_a_chosen_date(page, wh, label, range_name):
    period = q.period(range_name, as_of=AS_OF)
    choose_preset(page, label, period)
    info = page.locator(".st-key-period_info").inner_text()
    assert f"{period.current.start} … {period.current.end}" in info
    assert f"previous period {period.previous.start} … {period.previous.end}" in info
    assert q.trend_summary(wh, period)["optouts"] > 0  # the fixture covers the period
    assert_page(page, wh, period)


@needs_chromium
def test_dates_between(page, wh):
    period = q.period("between", start="2026-01-05", end="2026-01-20")
    click_option(page, "period", "Dates Between")
    set_date(page, "start", "2026-01-05")
    set_date(page, "end", "2026-01-20")
    settled(page, "Shown: Dates Between 2026-01-05 … 2026-01-20 ·")
    assert (
        "previous period 2025-12-20 … 2026-01-04"
        in page.locator(".st-key-period_info").inner_text()
    )
    assert_page(page, wh, period)


@needs_chromium
def test_chart_settings(page, wh):
    period = q.period("last_month", as_of=AS_OF)
    choose_preset(page, "Last Month", period)

    click_option(page, "trend_channel", "push")
    settled(page, "channel push ·")
    assert_trend(page, wh, period, "push")

    page.locator(".st-key-push_marketing").get_by_text("Marketing pushes only").click()
    settled(page, "marketing only on ·")
    assert_push(page, wh, period, marketing=True)

    for window, measure_label, measure in (
        (3, "Unique User", "unique"),
        (3, "Total Event", "total"),
        (30, "Unique User", "unique"),
        (1, "Total Event", "total"),
    ):
        days = f"{window} day" if window == 1 else f"{window} days"
        click_option(page, "events_window", days)
        click_option(page, "events_measure", measure_label)
        settled(page, f"window {days} · {measure_label} ·")
        assert_events(page, wh, period, window, measure)

    # The settings are kept when the period changes, and the export ignores them.
    week = q.period("last_week", as_of=AS_OF)
    choose_preset(page, "Last Week", week)
    settled(page, f"Shown: Last Week {week.current.start} … {week.current.end} · channel push")
    settled(page, "channel push · marketing only on · window 1 day · Total Event")
    assert_trend(page, wh, week, "push")
    assert_events(page, wh, week, 1, "total")


@needs_chromium
@pytest.mark.parametrize(
    ("label", "range_name", "cli_args", "fmt"),
    [
        ("Last Month", "last_month", ["--range", "last_month", "--as-of", AS_OF], "CSV"),
        (
            "Dates Between",
            "between",
            ["--range", "between", "--start", "2026-01-05", "--end", "2026-01-20"],
            "Parquet",
        ),
    ],
)
def test_export_downloads_the_clis_file(
    page, sample_project, tmp_path, label, range_name, cli_args, fmt
):
    if range_name == "between":
        click_option(page, "period", "Dates Between")
        set_date(page, "start", "2026-01-05")
        set_date(page, "end", "2026-01-20")
        settled(page, "Shown: Dates Between 2026-01-05 … 2026-01-20 ·")
    else:
        choose_preset(page, label, q.period(range_name, as_of=AS_OF))
    click_option(page, "export_format", fmt)
    settled(page, f"· {fmt}")
    caption = page.locator(".st-key-export").inner_text()
    assert f"optout export {' '.join(cli_args)} --format {fmt.lower()}" in caption

    with page.expect_download(timeout=TIMEOUT_MS) as info:
        page.locator(".st-key-export_download button").click()
    download = info.value
    downloaded = Path(download.path()).read_bytes()

    env = os.environ | {
        "OPTOUT_WAREHOUSE": os.fspath(sample_project.warehouse),
        "OPTOUT_EXPORT_DIR": os.fspath(tmp_path / "cli"),
    }
    result = subprocess.run(
        _optout("export", *cli_args, "--format", fmt.lower()),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    written = Path(result.stdout.strip().splitlines()[-1])
    assert download.suggested_filename == written.name
    assert downloaded == written.read_bytes()
    assert len(downloaded) > 100  # the period has opt-outs: more than a header


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
