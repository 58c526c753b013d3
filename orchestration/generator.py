"""Synthetic landing zone for the opt-out warehouse (SPEC §2 and §7).

`generate()` simulates an app's messaging history one UTC day at a time and writes it the
way daily exports land: `<out>/<source>/<source>_YYYY-MM-DD.csv` (or `.parquet`) for the
large sources, `users.csv` and `campaigns.csv` once.

The simulation keeps a little state per user (consent per channel, delivered pushes of the
last 7 days, engagement) so that the data carries signals an analysis should find:

1. Push pressure: the daily opt-out hazard grows linearly with the user's delivered pushes
   in the last 7 days.
2. A spike campaign: "Flash Blast Spike Push" is blasted (three pushes in one evening) to
   most users on one day; many recipients dismiss/open it and opt out within hours, so the
   opt-out count jumps on that day and the next, and their last campaign is the spike.
3. Disengagement: some users start fading on a random day (event rate decays
   exponentially); their opt-out hazard rises as they fade, so their events fall before
   they opt out. After an opt-out, part of the users stop using the app (churn).

Everything is vectorised per day with numpy and written with pyarrow; a single
`numpy.random.default_rng(seed)` drives all draws, so the same arguments give the same
bytes. Values are always valid per SPEC §2: tests add bad rows on their own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.contract import SOURCES

# The landing contract (dbt_project.yml `landing_sources`): columns, and the enum domains
# whose positions are the codes the simulation uses internally.
COLUMNS: dict[str, tuple[str, ...]] = {name: spec.columns for name, spec in SOURCES.items()}
DAILY_SOURCES = ("sends", "interactions", "events", "consent_changes")


def _codes(domain: tuple[str, ...], *values: str) -> tuple[int, ...]:
    return tuple(domain.index(value) for value in values)


CHANNELS = SOURCES["sends"].enums["channel"]
CONSENT_CHANNELS = SOURCES["consent_changes"].enums["channel"]
# A channel's code must not depend on the source.
assert CONSENT_CHANNELS[: len(CHANNELS)] == CHANNELS, CONSENT_CHANNELS
PUSH, EMAIL, SMS, WHATSAPP, ALL = _codes(
    CONSENT_CHANNELS, "push", "email", "sms", "whatsapp", "all"
)
CATEGORIES = SOURCES["sends"].enums["message_category"]
(MARKETING,) = _codes(CATEGORIES, "marketing")
DELIVERY_STATUSES = SOURCES["sends"].enums["delivery_status"]
INTERACTION_TYPES = SOURCES["interactions"].enums["interaction_type"]
OPEN, CLICK, DISMISS, REPLY, CONVERSION = _codes(
    INTERACTION_TYPES, "open", "click", "dismiss", "reply", "conversion"
)
STATUSES = SOURCES["consent_changes"].enums["status"]
OPTED_IN, OPTED_OUT = _codes(STATUSES, "opted_in", "opted_out")
CONSENT_SOURCES = SOURCES["consent_changes"].enums["source"]
APP_SETTINGS, UNSUBSCRIBE_LINK, INBOUND_KEYWORD, ADMIN, API, IMPORT = _codes(
    CONSENT_SOURCES, "app_settings", "unsubscribe_link", "inbound_keyword", "admin", "api", "import"
)

ID_WIDTH = 10  # s/i/e/cc ids: fixed width so text order == numeric order at any scale
DAY = 86_400
SPIKE_NAME = "Flash Blast Spike Push"

# --- Contact fields -------------------------------------------------------------------------
FIRST_NAMES = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elif",
    "Mehmet",
    "Zeynep",
    "Can",
    "Amelia",
    "Oliver",
    "Isla",
    "George",
    "Sofia",
    "Lucas",
    "Mia",
    "Ayse",
    "Emre",
    "Grace",
    "Jack",
)
LAST_NAMES = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Yilmaz",
    "Kaya",
    "Demir",
    "Celik",
    "Taylor",
    "Wilson",
    "Evans",
    "O'Brien",
    "Walker",
    "Wright",
)
TEAMS = ("growth", "lifecycle", "crm_emea", "crm_us", "retention")
TEAM_P = (0.3, 0.25, 0.2, 0.15, 0.1)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
# Country mix drives the phone prefix and the user's time zone (offset hours from UTC).
COUNTRY_P = (0.55, 0.30, 0.15)  # US, UK, TR

# --- Campaigns --------------------------------------------------------------------------------
CHANNEL_LABELS = ("Push", "Email", "SMS", "WhatsApp")
MARKETING_THEMES = (
    "Spring Sale",
    "Weekend Deals",
    "New Arrivals",
    "Flash Sale",
    "Loyalty Rewards",
    "Back In Stock",
    "Price Drop",
    "Abandoned Cart",
    "Summer Picks",
    "Member Exclusive",
    "Win Back",
    '"Treat Yourself", 20% Off',  # a name that needs RFC 4180 quoting
)
UTILITY_THEMES = ("Account Alerts", "App Update", "Service Notice")
# Always-on, non-marketing campaigns: one per (channel, category).
EVERGREEN_THEMES = {1: "Order Updates", 2: "Account Alerts", 3: "Login Code"}
SCHEDULED_CHANNEL_P = (0.5, 0.3, 0.12, 0.08)

# --- Message volume (per user per day, before weekday and engagement effects) ---------------
CHANNEL_REACH_P = (0.9, 0.95, 0.8, 0.4)  # has the app / email opt-in target / sms / whatsapp
CHANNEL_RATE_MEAN = (2.0, 0.35, 0.15, 0.12)
CHANNEL_RATE_SHAPE = (1.3, 2.0, 2.0, 2.0)  # gamma shape: push pressure is very uneven
MARKETING_SHARE = (0.75, 0.7, 0.4, 0.5)
OTHER_CATEGORY_P = (  # transactional, utility, otp for non-marketing sends per channel
    (0.6, 0.3, 0.1),
    (0.5, 0.3, 0.2),
    (0.3, 0.2, 0.5),
    (0.5, 0.2, 0.3),
)
SUPPRESSION_LEAK = 0.03  # marketing still reaching opted-out users (a real-world bug)
DELIVERY_P = ((0.93, 0.05, 0.02), (0.90, 0.03, 0.07), (0.95, 0.04, 0.01), (0.94, 0.05, 0.01))
BLAST_SHARE = (0.1, 0.35)
SPIKE_SHARE = 0.85
SPIKE_HOURS = (17, 19, 21)  # the spike campaign sends three pushes in one evening (UTC)

# --- Interactions -------------------------------------------------------------------------------
# First reaction to a delivered send: open, dismiss, reply, click (rest: none).
FIRST_REACTION_P = (
    (0.08, 0.12, 0.0, 0.01),
    (0.22, 0.0, 0.0, 0.01),
    (0.0, 0.0, 0.01, 0.05),
    (0.45, 0.0, 0.03, 0.01),
)
FIRST_REACTION_TYPES = np.array([OPEN, DISMISS, REPLY, CLICK], dtype=np.int8)
FIRST_REACTION_MEDIAN_S = np.array([1200.0, 90.0, 600.0, 900.0])
CLICK_AFTER_OPEN_P = (0.35, 0.18, 0.0, 0.12)
CONVERSION_AFTER_CLICK_P = 0.12
UNTRACKED_SEND_P = 0.02  # interactions whose send_id was lost by the tracker
ORGANIC_INTERACTIONS_PER_USER = 0.01  # inbox opens without a send or campaign

# --- Events -----------------------------------------------------------------------------------
EVENT_NAMES = (
    "app_open",
    "session_start",
    "view_screen",
    "view_product",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "begin_checkout",
    "purchase",
    "add_to_wishlist",
    "share",
    "login",
    "view_promotion",
    "view_notification_settings",
)
EVENT_P = (
    0.16,
    0.14,
    0.2,
    0.16,
    0.08,
    0.06,
    0.015,
    0.025,
    0.012,
    0.03,
    0.01,
    0.04,
    0.04,
    0.003,
)
SETTINGS_EVENT = EVENT_NAMES.index("view_notification_settings")
EVENT_RATE_MEAN = 5.0
DISENGAGING_SHARE = 0.3
DISENGAGE_TAU_DAYS = (4.0, 10.0)

# --- Consent ------------------------------------------------------------------------------------
IMPORT_P = (0.85, 0.7, 0.6, 0.5)  # initial import rows per reachable (user, channel)
IMPORT_OPTED_OUT_P = 0.04
MID_IMPORT_USERS = 0.03  # a second, smaller CRM import half-way through the window
BASE_HAZARD = (0.00015, 0.00015, 0.0002, 0.00015, 0.00005)  # per channel incl. all, per day
PUSH_K = (0.3, 0.05, 0.05, 0.05, 0.1)  # signal 1: hazard *= 1 + k * delivered push 7d
OWN_K = (0.0, 0.25, 0.25, 0.25, 0.0)  # fatigue from the channel's own messages 7d
DISENGAGE_K = 25.0  # signal 3: hazard *= 1 + k * (1 - activity)
SPIKE_OPTOUT_P = 0.08  # signal 2: per delivered spike recipient
SPIKE_DELAY_MEDIAN_S = 2.5 * 3600
SPIKE_INTERACTED_P = 0.75
OPTIN_P = 0.004  # opted-out (user, channel) opting back in, per day
REPEAT_P = (0.002, 0.002, 0.012, 0.012, 0.002)  # a second STOP, per day
CHURN_AFTER_OPTOUT = (0.3, 0.5)  # P(stop using the app) = a + b * (1 - activity)
OPTOUT_SOURCE_P = (
    (0.75, 0.0, 0.0, 0.08, 0.17, 0.0),
    (0.10, 0.80, 0.0, 0.04, 0.06, 0.0),
    (0.02, 0.0, 0.85, 0.05, 0.08, 0.0),
    (0.05, 0.0, 0.80, 0.05, 0.10, 0.0),
    (0.35, 0.15, 0.20, 0.15, 0.15, 0.0),
)
OPTIN_SOURCE_P = (
    (0.7, 0.0, 0.0, 0.1, 0.2, 0.0),
    (0.5, 0.0, 0.0, 0.2, 0.3, 0.0),
    (0.2, 0.0, 0.7, 0.05, 0.05, 0.0),
    (0.2, 0.0, 0.7, 0.05, 0.05, 0.0),
    (0.4, 0.0, 0.0, 0.3, 0.3, 0.0),
)
REPEAT_SOURCE = (API, UNSUBSCRIBE_LINK, INBOUND_KEYWORD, INBOUND_KEYWORD, ADMIN)
OPTOUT_KEYWORDS = (
    "STOP",
    "Stop",
    "stop",
    "UNSUBSCRIBE",
    "cancel",
    " STOP ",
    "END",
    "QUIT",
    "opt out",
)
OPTOUT_KEYWORD_P = (0.35, 0.12, 0.12, 0.1, 0.06, 0.05, 0.06, 0.06, 0.08)
OPTIN_KEYWORDS = ("START", "Start", "UNSTOP", "yes")
OPTIN_KEYWORD_P = (0.6, 0.2, 0.1, 0.1)
REASONS = (
    "too many messages",
    "not relevant",
    "never signed up",
    "privacy concerns",
    "switched to another app",
    "other",
)
REASON_GIVEN_P = 0.5  # only for sources where a form asks for one

# Local-time activity profile (hour 0..23): quiet nights, evening peak.
HOUR_WEIGHTS = np.array(
    [
        0.4,
        0.25,
        0.15,
        0.1,
        0.1,
        0.2,
        0.5,
        1.0,
        1.4,
        1.4,
        1.3,
        1.3,
        1.5,
        1.4,
        1.3,
        1.3,
        1.4,
        1.6,
        1.9,
        2.2,
        2.3,
        2.0,
        1.5,
        0.9,
    ]
)
HOUR_P = HOUR_WEIGHTS / HOUR_WEIGHTS.sum()
SEND_WEEKDAY = (1.05, 1.1, 1.05, 1.1, 1.0, 0.85, 0.8)  # Monday first
EVENT_WEEKDAY = (0.95, 0.95, 0.95, 1.0, 1.05, 1.1, 1.1)


def generate(
    out_dir: str | Path,
    users: int = 2000,
    days: int = 90,
    seed: int = 42,
    end_date: dt.date | None = None,
    fmt: str = "csv",
    files_per_day: bool = True,
) -> dict[str, int]:
    """Write a synthetic landing zone under out_dir/<source>/ and return {source: row_count}.

    Data covers the `days` UTC days ending on `end_date` (default: today, UTC), inclusive.
    Files this generator would write (`<source>.<ext>`, `<source>_YYYY-MM-DD.<ext>`) that
    are already in the source folders are removed first, so a re-run does not mix datasets;
    other files are left alone. A day without rows for a source gets no file.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    if users < 1 or days < 1:
        raise ValueError("users and days must be at least 1")
    if end_date is None:
        end_date = dt.datetime.now(dt.UTC).date()
    elif isinstance(end_date, str):
        end_date = dt.date.fromisoformat(end_date)
    elif isinstance(end_date, dt.datetime):
        end_date = end_date.date()

    out = Path(out_dir)
    for source in COLUMNS:
        _clear_generated_files(out / source, source)

    rng = np.random.default_rng(seed)
    window = _Window(end_date - dt.timedelta(days=days - 1), days)
    users_table, population = _make_users(rng, users, window)
    campaigns_table, calendar = _make_campaigns(rng, window)
    _write_whole(users_table, out / "users" / f"users.{fmt}", fmt)
    _write_whole(campaigns_table, out / "campaigns" / f"campaigns.{fmt}", fmt)

    sim = _Simulation(
        rng,
        window,
        population,
        calendar,
        users_table["user_id"],
        campaigns_table["campaign_id"],
        out,
        fmt,
        files_per_day,
    )
    for day in range(days):
        sim.step(day)
    sim.close()

    counts = {"users": users_table.num_rows, "campaigns": campaigns_table.num_rows}
    counts.update({name: sink.rows for name, sink in sim.sinks.items()})
    return counts


# ==================================================================================================
# Time helpers
# ==================================================================================================


@dataclass
class _Window:
    first_date: dt.date
    days: int

    def __post_init__(self) -> None:
        self.start = int(dt.datetime.combine(self.first_date, dt.time(), dt.UTC).timestamp())
        self.end = self.start + self.days * DAY - 1  # last second included
        self.dates = [self.first_date + dt.timedelta(days=d) for d in range(self.days)]

    def day_start(self, day: int) -> int:
        return self.start + day * DAY


def _time_of_day_strings() -> pa.Array:
    """'HH:MM:SSZ' for every second of a day: timestamps become prefix + lookup (fast)."""
    sec = np.arange(DAY)
    return pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in sec.tolist()])


_TOD: pa.Array | None = None


def _day_timestamps(date: dt.date, sec_of_day: np.ndarray) -> pa.Array:
    global _TOD
    if _TOD is None:
        _TOD = _time_of_day_strings()
    return pc.binary_join_element_wise(f"{date.isoformat()}T", _TOD.take(sec_of_day), "")


def _epoch_strings(epoch: np.ndarray) -> pa.Array:
    text = np.datetime_as_string(epoch.astype("datetime64[s]"), unit="s")
    return pc.binary_join_element_wise(pa.array(text), "Z", "")


def _diurnal_seconds(rng: np.random.Generator, tz_offset: np.ndarray) -> np.ndarray:
    """Second of the UTC day for activity following the local-time profile of each row."""
    local = rng.choice(24, size=len(tz_offset), p=HOUR_P) * 3600
    local += rng.integers(0, 3600, size=len(tz_offset))
    return (local - tz_offset) % DAY


def _lognormal_seconds(
    rng: np.random.Generator, median: np.ndarray | float, sigma: float, size: int
) -> np.ndarray:
    """Reaction delays: at least one second, at most two days."""
    delay = np.exp(np.log(median) + sigma * rng.standard_normal(size))
    return np.clip(np.ceil(delay), 1, 2 * DAY).astype(np.int64)


# ==================================================================================================
# String helpers
# ==================================================================================================


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded ids (`u000042`); negative numbers become nulls (empty references)."""
    nums = pa.array(numbers, mask=numbers < 0)
    padded = pc.utf8_lpad(pc.cast(nums, pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, padded, "")


def _labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Enum codes to their text; code -1 becomes null (an empty optional value)."""
    return pa.array(values, pa.string()).take(pa.array(codes, mask=codes < 0))


def _digits(rng: np.random.Generator, n: int, count: int, base: int = 10) -> np.ndarray:
    """n random strings of `count` digits in `base` (vectorised through a char view)."""
    alphabet = np.array(list("0123456789abcdef"[:base]))
    chars = alphabet[rng.integers(0, base, size=(n, count))]
    return np.ascontiguousarray(chars).view(f"<U{count}").ravel()


# ==================================================================================================
# Users
# ==================================================================================================


@dataclass
class _Population:
    tz_offset: np.ndarray  # seconds east of UTC
    reach: np.ndarray  # (n, 5) bool: can be messaged on / consent to each channel
    rates: np.ndarray  # (n, 4) sends per day per channel
    event_rate: np.ndarray
    sensitivity: np.ndarray  # individual multiplier of the opt-out hazard
    fade_start: np.ndarray  # day the user starts disengaging (inf: never)
    fade_tau: np.ndarray

    def activity(self, day: int) -> np.ndarray:
        """1 for engaged users, decaying towards 0 once a user starts fading."""
        since = np.maximum(0.0, day + 0.5 - self.fade_start)
        return np.exp(-since / self.fade_tau)


def _make_users(rng: np.random.Generator, n: int, window: _Window) -> tuple[pa.Table, _Population]:
    width = max(6, len(str(n)))
    first = np.array(FIRST_NAMES)[rng.integers(0, len(FIRST_NAMES), n)]
    last = np.array(LAST_NAMES)[rng.integers(0, len(LAST_NAMES), n)]
    country = rng.choice(3, size=n, p=COUNTRY_P)

    local = (
        pd.Series(np.char.lower(first))
        + "."
        + pd.Series(np.char.replace(np.char.lower(last), "'", ""))
        + pd.Series(_digits(rng, n, 2))
    )
    email = local + "@" + pd.Series(np.array(EMAIL_DOMAINS)[rng.integers(0, 4, n)])
    has_email = rng.random(n) < 0.96
    # E.164 numbers in fictional/drama ranges: +1 555 01xx xxx, +44 7700 900xxx, +90 5xx.
    phone = np.where(
        country == 0,
        np.char.add("+1555010", _digits(rng, n, 4)),
        np.where(
            country == 1,
            np.char.add("+447700900", _digits(rng, n, 3)),
            np.char.add("+905", _digits(rng, n, 9)),
        ),
    )
    has_phone = rng.random(n) < 0.88
    tz_hours = np.choose(
        country, [rng.choice([-8, -7, -6, -5], size=n), np.zeros(n, int), np.full(n, 3)]
    )

    created = window.start - rng.integers(DAY, 730 * DAY, size=n)
    # Most profiles were last touched before the window, some inside it.
    touched_in_window = rng.random(n) < 0.3
    updated = np.where(
        touched_in_window,
        window.start + rng.integers(0, window.days * DAY, size=n),
        created + (rng.random(n) * (window.start - created)).astype(np.int64),
    )

    table = pa.table(
        {
            "user_id": _ids("u", np.arange(1, n + 1), width),
            "external_id": pc.binary_join_element_wise(
                "ext-", pa.array(_digits(rng, n, 12, 16)), ""
            ),
            "email": pa.array(email.to_numpy(dtype=object), mask=~has_email, type=pa.string()),
            "phone": pa.array(phone, mask=~has_phone, type=pa.string()),
            "first_name": pa.array(first),
            "last_name": pa.array(last),
            "team_code": pa.array(np.array(TEAMS)[rng.choice(len(TEAMS), size=n, p=TEAM_P)]),
            "created_at": _epoch_strings(created),
            "updated_at": _epoch_strings(updated),
        }
    )

    reach = np.ones((n, 5), dtype=bool)
    reach[:, PUSH] = rng.random(n) < CHANNEL_REACH_P[PUSH]
    reach[:, EMAIL] = has_email & (rng.random(n) < CHANNEL_REACH_P[EMAIL])
    reach[:, SMS] = has_phone & (rng.random(n) < CHANNEL_REACH_P[SMS])
    reach[:, WHATSAPP] = has_phone & (rng.random(n) < CHANNEL_REACH_P[WHATSAPP])
    rates = np.column_stack(
        [
            rng.gamma(shape, mean / shape, size=n)
            for mean, shape in zip(CHANNEL_RATE_MEAN, CHANNEL_RATE_SHAPE, strict=True)
        ]
    )
    rates[:, PUSH] = np.minimum(rates[:, PUSH], 15.0)
    sigma = 0.6
    fading = rng.random(n) < DISENGAGING_SHARE
    population = _Population(
        tz_offset=tz_hours.astype(np.int64) * 3600,
        reach=reach,
        rates=rates,
        event_rate=rng.lognormal(np.log(EVENT_RATE_MEAN) - sigma**2 / 2, sigma, size=n),
        sensitivity=rng.lognormal(-0.125, 0.5, size=n),  # mean 1
        fade_start=np.where(fading, rng.uniform(-10, window.days, size=n), np.inf),
        fade_tau=rng.uniform(*DISENGAGE_TAU_DAYS, size=n),
    )
    return table, population


# ==================================================================================================
# Campaigns
# ==================================================================================================


@dataclass
class _Calendar:
    channel: np.ndarray
    category: np.ndarray
    start: np.ndarray  # epoch seconds
    start_day: np.ndarray
    end_day: np.ndarray  # last active day, inclusive
    blast_share: np.ndarray  # > 0: blasted to that share of users on its first day
    spike: int  # index of the spike campaign
    spike_day: int

    def active(self, day: int, channel: int, category: int) -> np.ndarray:
        """Campaigns a regular send of this (channel, category) can belong to on `day`."""
        mask = (
            (self.start_day <= day)
            & (self.end_day >= day)
            & (self.channel == channel)
            & (self.category == category)
        )
        mask[self.spike] = False  # the spike is a one-off blast only
        return np.flatnonzero(mask)


def _make_campaigns(rng: np.random.Generator, window: _Window) -> tuple[pa.Table, _Calendar]:
    days = window.days
    rows: list[tuple[int, int, int, int, float, str]] = []  # chan, cat, start, end, blast, name

    # Always-on transactional / utility / otp campaigns, live from the window start.
    for chan in range(4):
        for cat, theme in EVERGREEN_THEMES.items():
            rows.append((chan, cat, window.start, days - 1, 0.0, f"{theme} {CHANNEL_LABELS[chan]}"))

    # A calendar of scheduled campaigns; the first four cover every channel from day 0.
    n_scheduled = max(8, round(days * 0.8))
    channels = rng.choice(4, size=n_scheduled, p=SCHEDULED_CHANNEL_P)
    channels[:4] = np.arange(4)
    start_days = rng.integers(0, days, size=n_scheduled)
    start_days[:4] = 0
    categories = rng.choice([0, 2, 1], size=n_scheduled, p=[0.85, 0.1, 0.05])
    categories[:4] = MARKETING
    start_secs = rng.integers(7 * 3600, 18 * 3600, size=n_scheduled)
    durations = rng.integers(2, 15, size=n_scheduled)
    blast = rng.random(n_scheduled) < 0.6
    shares = rng.uniform(*BLAST_SHARE, size=n_scheduled)
    themes = rng.integers(0, len(MARKETING_THEMES), size=n_scheduled)
    util_themes = rng.integers(0, len(UTILITY_THEMES), size=n_scheduled)
    for k in range(n_scheduled):
        cat = int(categories[k])
        theme = MARKETING_THEMES[themes[k]] if cat == MARKETING else UTILITY_THEMES[util_themes[k]]
        rows.append(
            (
                int(channels[k]),
                cat,
                window.day_start(int(start_days[k])) + int(start_secs[k]),
                min(days - 1, int(start_days[k] + durations[k])),
                float(shares[k]) if blast[k] and cat == MARKETING else 0.0,
                theme,
            )
        )

    # The spike: late in the window, leaving a day after it to see the opt-outs.
    spike_day = max(0, min(days - 2, int(days * 0.6)))
    spike_start = window.day_start(spike_day) + SPIKE_HOURS[0] * 3600 - 300
    rows.append((PUSH, MARKETING, spike_start, spike_day, SPIKE_SHARE, SPIKE_NAME))

    # Campaign ids follow the calendar (stable sort keeps generation order on ties).
    starts = np.array([r[2] for r in rows], dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    rows = [rows[i] for i in order]
    width = max(4, len(str(len(rows))))
    names = []
    for number, r in enumerate(rows, start=1):
        scheduled = r[5] in MARKETING_THEMES or r[5] in UTILITY_THEMES
        names.append(f"{r[5]} {CHANNEL_LABELS[r[0]]} {number}" if scheduled else r[5])

    chan = np.array([r[0] for r in rows], dtype=np.int8)
    cat = np.array([r[1] for r in rows], dtype=np.int8)
    start = np.array([r[2] for r in rows], dtype=np.int64)
    table = pa.table(
        {
            "campaign_id": _ids("c", np.arange(1, len(rows) + 1), width),
            "campaign_name": pa.array(names),
            "channel": _labels(CHANNELS, chan),
            "message_category": _labels(CATEGORIES, cat),
            "started_at": _epoch_strings(start),
        }
    )
    calendar = _Calendar(
        channel=chan,
        category=cat,
        start=start,
        start_day=(start - window.start) // DAY,
        end_day=np.array([r[3] for r in rows]),
        blast_share=np.array([r[4] for r in rows]),
        spike=names.index(SPIKE_NAME),
        spike_day=spike_day,
    )
    return table, calendar


# ==================================================================================================
# Output
# ==================================================================================================

CSV_OPTIONS = pacsv.WriteOptions(quoting_style="none", quoting_header="none")


def _clear_generated_files(folder: Path, source: str) -> None:
    pattern = re.compile(rf"{source}(_\d{{4}}-\d{{2}}-\d{{2}})?\.(csv|parquet)")
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file() and pattern.fullmatch(path.name):
                path.unlink()


def _write_whole(table: pa.Table, path: Path, fmt: str) -> None:
    """Small tables whose free text may need quoting: pandas quotes minimally (RFC 4180)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        frame = table.to_pandas()
        frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


class _Sink:
    """Collects rows of one daily source and writes them per UTC day of their timestamp.

    Rows can be added for later days (a reaction crossing midnight); they are written when
    that day is flushed. Ids are given at flush time in timestamp order, so ids grow with
    time. Rows after the window end have not happened yet and are dropped.
    """

    def __init__(
        self,
        source: str,
        window: _Window,
        out: Path,
        fmt: str,
        per_day: bool,
        prefix: str,
        formatter,
    ) -> None:
        self.source, self.window, self.fmt, self.per_day = source, window, fmt, per_day
        self.prefix, self.formatter = prefix, formatter
        self.folder = out / source
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pending: dict[int, list[dict[str, np.ndarray]]] = {}
        self.flushed = -1
        self.rows = 0
        self.files = 0
        self.writer: pacsv.CSVWriter | pq.ParquetWriter | None = None
        self.schema = pa.schema([(c, pa.string()) for c in COLUMNS[source]])

    def add(self, cols: dict[str, np.ndarray]) -> None:
        t = cols["t"]
        if len(t) == 0:
            return
        day = (t - self.window.start) // DAY
        if day.min() <= self.flushed:
            raise AssertionError(f"{self.source}: row for an already written day")
        for d in np.unique(day[day < self.window.days]).tolist():
            mask = day == d
            self.pending.setdefault(d, []).append({k: v[mask] for k, v in cols.items()})

    def flush(self, day: int) -> dict[str, np.ndarray]:
        """Write the rows of `day`; return them sorted by time with their id numbers."""
        parts = self.pending.pop(day, [])
        self.flushed = day
        if not parts:
            return {}
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        order = np.argsort(cols["t"], kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
        cols["id"] = self.rows + 1 + np.arange(len(order), dtype=np.int64)
        self.rows += len(order)
        date = self.window.dates[day]
        stamps = _day_timestamps(date, cols["t"] - self.window.day_start(day))
        table = self.formatter(cols, stamps)
        self._write(table.select(list(COLUMNS[self.source])), date)
        return cols

    def _write(self, table: pa.Table, date: dt.date) -> None:
        self.files += 1
        if self.per_day:
            path = self.folder / f"{self.source}_{date.isoformat()}.{self.fmt}"
            if self.fmt == "csv":
                pacsv.write_csv(table, path, CSV_OPTIONS)
            else:
                pq.write_table(table, path)
            return
        if self.writer is None:
            path = self.folder / f"{self.source}.{self.fmt}"
            self.writer = (
                pacsv.CSVWriter(path, self.schema, write_options=CSV_OPTIONS)
                if self.fmt == "csv"
                else pq.ParquetWriter(path, self.schema)
            )
        self.writer.write_table(table)

    def close(self) -> None:
        if self.files == 0:  # keep the folder readable: a header-only file
            self._write(self.schema.empty_table(), self.window.dates[-1])
        if self.writer is not None:
            self.writer.close()


# ==================================================================================================
# Simulation
# ==================================================================================================


class _Simulation:
    """Day-by-day world state and the per-source row generators."""

    def __init__(
        self,
        rng,
        window: _Window,
        pop: _Population,
        cal: _Calendar,
        user_ids: pa.ChunkedArray,
        campaign_ids: pa.ChunkedArray,
        out: Path,
        fmt: str,
        per_day: bool,
    ) -> None:
        self.rng, self.window, self.pop, self.cal = rng, window, pop, cal
        self.n = len(pop.tz_offset)
        self.user_ids = user_ids.combine_chunks()
        self.campaign_ids = campaign_ids.combine_chunks()
        # Consent per (user, channel incl. all): -1 unknown, else OPTED_IN / OPTED_OUT.
        self.status = np.full((self.n, 5), -1, dtype=np.int8)
        # Ring buffer of delivered sends per day; seeded with the pressure of the days before
        # the window, so the first week's hazard is not artificially low.
        prior = rng.poisson(
            pop.rates.T * pop.reach[:, :4].T * np.array(DELIVERY_P)[:, :1], size=(7, 4, self.n)
        )
        self.delivered = prior.astype(np.int16)
        self.after_optout = np.ones(self.n)  # event rate multiplier; small once churned
        self.spike_send = np.full(self.n, -1, dtype=np.int64)
        self.spike_time = np.full(self.n, -1, dtype=np.int64)

        def sink(source: str, prefix: str, formatter) -> _Sink:
            return _Sink(source, window, out, fmt, per_day, prefix, formatter)

        self.sinks = {
            "sends": sink("sends", "s", self._format_sends),
            "interactions": sink("interactions", "i", self._format_interactions),
            "events": sink("events", "e", self._format_events),
            "consent_changes": sink("consent_changes", "cc", self._format_consent),
        }

    # -- driver ------------------------------------------------------------------------------

    def step(self, day: int) -> None:
        act = self.pop.activity(day)
        self._imports(day)
        self.sinks["sends"].add(self._sends(day))
        sends = self.sinks["sends"].flush(day)
        self._remember_sends(day, sends)
        self.sinks["interactions"].add(self._interactions(day, sends, act))
        self._consent(day, act)
        if day == self.cal.spike_day:
            self._spike_optouts(day)
        self.sinks["events"].add(self._events(day, act))
        self.sinks["interactions"].flush(day)
        self.sinks["consent_changes"].flush(day)
        self.sinks["events"].flush(day)

    def close(self) -> None:
        for s in self.sinks.values():
            s.close()

    def _times(self, day: int, users: np.ndarray) -> np.ndarray:
        return self.window.day_start(day) + _diurnal_seconds(self.rng, self.pop.tz_offset[users])

    def _opted_out(self, channel: int) -> np.ndarray:
        return (self.status[:, channel] == OPTED_OUT) | (self.status[:, ALL] == OPTED_OUT)

    # -- sends ---------------------------------------------------------------------------------

    def _sends(self, day: int) -> dict[str, np.ndarray]:
        rng, pop, cal = self.rng, self.pop, self.cal
        weekday = SEND_WEEKDAY[self.window.dates[day].weekday()]
        day_start = self.window.day_start(day)
        parts = []
        for ch in range(4):
            out = self._opted_out(ch)
            rate = pop.rates[:, ch] * pop.reach[:, ch] * weekday
            marketing = rng.poisson(
                rate * MARKETING_SHARE[ch] * np.where(out, SUPPRESSION_LEAK, 1.0)
            )
            other = rng.poisson(rate * (1 - MARKETING_SHARE[ch]))
            users = np.repeat(np.arange(self.n), marketing + other)
            # Per user: its marketing sends first, then the others.
            is_marketing = np.repeat(
                np.tile([True, False], self.n), np.column_stack([marketing, other]).ravel()
            )
            category = np.where(
                is_marketing, MARKETING, 1 + rng.choice(3, size=len(users), p=OTHER_CATEGORY_P[ch])
            )
            campaign = np.full(len(users), -1, dtype=np.int64)
            for cat in range(4):
                rows = np.flatnonzero(category == cat)
                active = cal.active(day, ch, cat)
                if len(rows) and len(active):
                    campaign[rows] = active[rng.integers(0, len(active), size=len(rows))]
            t = self._times(day, users)
            # A send cannot precede its campaign's start on the campaign's first day.
            floor = np.where(campaign >= 0, cal.start[campaign] - day_start, 0).clip(0)
            late = t - day_start < floor
            t[late] = day_start + floor[late] + (rng.random(late.sum()) * (DAY - floor[late]))
            parts.append((users, campaign, np.full(len(users), ch, dtype=np.int8), category, t))

            # Blasts of scheduled marketing campaigns starting today (the spike included).
            for c in np.flatnonzero(
                (cal.start_day == day) & (cal.channel == ch) & (cal.blast_share > 0)
            ).tolist():
                hit = pop.reach[:, ch] & ~out & (rng.random(self.n) < cal.blast_share[c])
                users = np.flatnonzero(hit)
                hours = SPIKE_HOURS if c == cal.spike else (None,)
                for hour in hours:
                    base = cal.start[c] if hour is None else day_start + hour * 3600
                    # Blasts roll out over ~15 minutes; stay within the day.
                    t = np.minimum(
                        base + rng.integers(0, 900, size=len(users)), day_start + DAY - 1
                    )
                    parts.append(
                        (
                            users,
                            np.full(len(users), c),
                            np.full(len(users), ch, np.int8),
                            np.full(len(users), MARKETING),
                            t,
                        )
                    )

        users, campaign, channel, category, t = (
            np.concatenate(x) for x in zip(*parts, strict=True)
        )
        cdf = np.cumsum(DELIVERY_P, axis=1)[channel]
        u = rng.random(len(users))
        status = (u >= cdf[:, 0]).astype(np.int8) + (u >= cdf[:, 1])
        return {
            "t": t.astype(np.int64),
            "user": users,
            "campaign": campaign.astype(np.int64),
            "channel": channel,
            "category": category.astype(np.int8),
            "status": status,
        }

    def _remember_sends(self, day: int, sends: dict[str, np.ndarray]) -> None:
        """Delivered counts per channel for the 7-day pressure; first spike send per user."""
        slot = self.delivered[day % 7]
        slot[:] = 0
        if not sends:
            return
        ok = sends["status"] == 0
        for ch in range(4):
            users = sends["user"][ok & (sends["channel"] == ch)]
            slot[ch] = np.minimum(np.bincount(users, minlength=self.n), np.iinfo(np.int16).max)
        if day == self.cal.spike_day:
            spike = ok & (sends["campaign"] == self.cal.spike)
            users, first = np.unique(sends["user"][spike], return_index=True)
            self.spike_send[users] = sends["id"][spike][first]
            self.spike_time[users] = sends["t"][spike][first]

    # -- interactions -----------------------------------------------------------------------

    def _interactions(
        self, day: int, sends: dict[str, np.ndarray], act: np.ndarray
    ) -> dict[str, np.ndarray]:
        rng = self.rng
        parts = []
        if sends:
            ok = np.flatnonzero(sends["status"] == 0)
            user, ch = sends["user"][ok], sends["channel"][ok]
            engagement = 0.3 + 0.7 * act[user]  # fading users react less
            cdf = np.cumsum(FIRST_REACTION_P, axis=1)[ch] * engagement[:, None]
            pick = (rng.random(len(ok))[:, None] >= cdf).sum(axis=1)
            reacted = pick < 4
            src = ok[reacted]
            kind = FIRST_REACTION_TYPES[pick[reacted]]
            t = sends["t"][src] + _lognormal_seconds(
                rng, FIRST_REACTION_MEDIAN_S[pick[reacted]], 1.2, len(src)
            )
            parts.append((src, kind, t))
            # Follow-ups: a click after an open, a conversion after a click.
            opened = kind == OPEN
            p_click = np.array(CLICK_AFTER_OPEN_P)[sends["channel"][src[opened]]]
            clicked = rng.random(opened.sum()) < p_click * engagement[reacted][opened]
            c_src = src[opened][clicked]
            c_t = t[opened][clicked] + _lognormal_seconds(rng, 45.0, 1.0, len(c_src))
            parts.append((c_src, np.full(len(c_src), CLICK, np.int8), c_t))
            all_clicks_src = np.concatenate([src[kind == CLICK], c_src])
            all_clicks_t = np.concatenate([t[kind == CLICK], c_t])
            conv = rng.random(len(all_clicks_src)) < CONVERSION_AFTER_CLICK_P
            parts.append(
                (
                    all_clicks_src[conv],
                    np.full(conv.sum(), CONVERSION, np.int8),
                    all_clicks_t[conv] + _lognormal_seconds(rng, 600.0, 1.0, conv.sum()),
                )
            )
            src, kind, t = (np.concatenate(x) for x in zip(*parts, strict=True))
            send_id = np.where(rng.random(len(src)) < UNTRACKED_SEND_P, -1, sends["id"][src])
            rows = {
                "t": t,
                "user": sends["user"][src],
                "campaign": sends["campaign"][src],
                "send": send_id,
                "channel": sends["channel"][src],
                "kind": kind,
            }
        else:
            rows = {k: np.zeros(0, np.int64) for k in ("t", "user", "campaign", "send")}
            rows |= {"channel": np.zeros(0, np.int8), "kind": np.zeros(0, np.int8)}

        # Organic inbox opens / link clicks: no send, no campaign.
        n_org = rng.poisson(ORGANIC_INTERACTIONS_PER_USER * self.n)
        users = rng.integers(0, self.n, size=n_org)
        organic = {
            "t": self._times(day, users),
            "user": users,
            "campaign": np.full(n_org, -1),
            "send": np.full(n_org, -1),
            "channel": rng.choice([PUSH, EMAIL], size=n_org).astype(np.int8),
            "kind": np.where(rng.random(n_org) < 0.7, OPEN, CLICK).astype(np.int8),
        }
        return {k: np.concatenate([rows[k], organic[k]]) for k in rows}

    # -- consent ----------------------------------------------------------------------------

    def _imports(self, day: int) -> None:
        """CRM imports set the starting state; a smaller re-import happens mid-window."""
        rng = self.rng
        mid = self.window.days // 2 if self.window.days >= 10 else -1
        if day == 0:
            chosen = self.pop.reach[:, :4] & (rng.random((self.n, 4)) < IMPORT_P)
        elif day == mid:
            chosen = np.zeros((self.n, 4), dtype=bool)
            picked = np.flatnonzero(rng.random(self.n) < MID_IMPORT_USERS)
            chosen[picked, rng.integers(0, 4, size=len(picked))] = True
            chosen &= self.pop.reach[:, :4]
        else:
            return
        users, channel = np.nonzero(chosen)
        out_p = IMPORT_OPTED_OUT_P if day == 0 else 0.3
        status = np.where(rng.random(len(users)) < out_p, OPTED_OUT, OPTED_IN).astype(np.int8)
        # The import job runs just after midnight UTC.
        t = self.window.day_start(day) + 300 + rng.integers(0, 1800, size=len(users))
        self.status[users, channel] = status
        self._add_changes(users, channel, status, np.full(len(users), IMPORT), t)

    def _consent(self, day: int, act: np.ndarray) -> None:
        rng, pop = self.rng, self.pop
        push_7d = self.delivered[:, PUSH].sum(axis=0, dtype=np.int64)
        own_7d = self.delivered.sum(axis=0, dtype=np.int64)  # (4, n)
        global_out = self.status[:, ALL] == OPTED_OUT
        for ch in range(5):
            out = self.status[:, ch] == OPTED_OUT
            fatigue = 1 + PUSH_K[ch] * push_7d + (OWN_K[ch] * own_7d[ch] if ch < 4 else 0)
            hazard = BASE_HAZARD[ch] * pop.sensitivity * fatigue * (1 + DISENGAGE_K * (1 - act))
            eligible = pop.reach[:, ch] & ~out & (~global_out if ch != ALL else True)
            optout = np.flatnonzero(eligible & (rng.random(self.n) < hazard))
            u = rng.random(self.n)
            optin = np.flatnonzero(out & (u < OPTIN_P))
            repeat = np.flatnonzero(out & (u >= OPTIN_P) & (u < OPTIN_P + REPEAT_P[ch]))

            self._optouts(optout, ch, self._times(day, optout), act, push_7d)
            self.status[optin, ch] = OPTED_IN
            source = rng.choice(6, size=len(optin), p=OPTIN_SOURCE_P[ch])
            self._add_changes(
                optin,
                np.full(len(optin), ch),
                np.full(len(optin), OPTED_IN),
                source,
                self._times(day, optin),
            )
            self._add_changes(
                repeat,
                np.full(len(repeat), ch),
                np.full(len(repeat), OPTED_OUT),
                np.full(len(repeat), REPEAT_SOURCE[ch]),
                self._times(day, repeat),
            )

    def _spike_optouts(self, day: int) -> None:
        """Signal 2: recipients of the spike opt out within hours, right after reacting."""
        rng = self.rng
        got = self.spike_send >= 0
        eligible = got & ~self._opted_out(PUSH)
        users = np.flatnonzero(eligible & (rng.random(self.n) < SPIKE_OPTOUT_P))
        t = self.spike_time[users] + np.maximum(
            60, _lognormal_seconds(rng, SPIKE_DELAY_MEDIAN_S, 0.9, len(users))
        )
        channel = np.where(rng.random(len(users)) < 0.85, PUSH, ALL)
        act = self.pop.activity(day)
        push_7d = self.delivered[:, PUSH].sum(axis=0, dtype=np.int64)
        for ch in (PUSH, ALL):
            sel = channel == ch
            self._optouts(users[sel], ch, t[sel], act, push_7d, spike=True)

        # Most of them dismissed or opened the spike push just before opting out.
        reacted = rng.random(len(users)) < SPIKE_INTERACTED_P
        users, t = users[reacted], t[reacted]
        it = np.maximum(self.spike_time[users] + 1, t - rng.integers(5, 90, size=len(users)))
        self.sinks["interactions"].add(
            {
                "t": it,
                "user": users,
                "campaign": np.full(len(users), self.cal.spike),
                "send": self.spike_send[users],
                "channel": np.full(len(users), PUSH, np.int8),
                "kind": np.where(rng.random(len(users)) < 0.55, DISMISS, OPEN).astype(np.int8),
            }
        )

    def _optouts(
        self,
        users: np.ndarray,
        ch: int,
        t: np.ndarray,
        act: np.ndarray,
        push_7d: np.ndarray,
        spike: bool = False,
    ) -> None:
        """Record status changes to opted_out with a source, keyword and optional reason."""
        rng = self.rng
        n = len(users)
        if n == 0:
            return
        self.status[users, ch] = OPTED_OUT
        source_p = (0.8, 0.0, 0.0, 0.1, 0.1, 0.0) if spike else OPTOUT_SOURCE_P[ch]
        source = rng.choice(6, size=n, p=source_p)
        # Reasons come from forms (settings, unsubscribe page, support); pressure shows in them.
        p_too_many = 0.6 if spike else np.clip(0.15 + 0.02 * push_7d[users], 0, 0.75)
        other = rng.integers(1, len(REASONS), size=n)
        reason = np.where(rng.random(n) < p_too_many, 0, other)
        asked = np.isin(source, [APP_SETTINGS, UNSUBSCRIBE_LINK, ADMIN])
        reason = np.where(asked & (rng.random(n) < REASON_GIVEN_P), reason, -1)
        self._add_changes(users, np.full(n, ch), np.full(n, OPTED_OUT), source, t, reason)

        # Users opening the settings screen before switching notifications off.
        settings = source == APP_SETTINGS
        floor = self.window.day_start(self.sinks["events"].flushed + 1)
        et = np.maximum(floor, t[settings] - rng.integers(20, 600, size=settings.sum()))
        self.sinks["events"].add(
            {"t": et, "user": users[settings], "name": np.full(settings.sum(), SETTINGS_EVENT)}
        )
        # Some users stop using the app after opting out; fading ones more often.
        a, b = CHURN_AFTER_OPTOUT
        churn = rng.random(n) < a + b * (1 - act[users])
        self.after_optout[users[churn]] = 0.03

    def _add_changes(self, users, channel, status, source, t, reason=None) -> None:
        n = len(users)
        if n == 0:
            return
        keyword = np.full(n, -1)
        inbound = np.flatnonzero(source == INBOUND_KEYWORD)
        out_kw = status[inbound] == OPTED_OUT
        keyword[inbound] = np.where(
            out_kw,
            self.rng.choice(len(OPTOUT_KEYWORDS), size=len(inbound), p=OPTOUT_KEYWORD_P),
            100 + self.rng.choice(len(OPTIN_KEYWORDS), size=len(inbound), p=OPTIN_KEYWORD_P),
        )
        self.sinks["consent_changes"].add(
            {
                "t": np.asarray(t, dtype=np.int64),
                "user": users,
                "channel": np.asarray(channel, dtype=np.int8),
                "status": np.asarray(status, np.int8),
                "source": np.asarray(source, dtype=np.int8),
                "keyword": keyword,
                "reason": np.full(n, -1) if reason is None else reason,
            }
        )

    # -- events ---------------------------------------------------------------------------

    def _events(self, day: int, act: np.ndarray) -> dict[str, np.ndarray]:
        rng = self.rng
        weekday = EVENT_WEEKDAY[self.window.dates[day].weekday()]
        rate = self.pop.event_rate * weekday * act * self.after_optout
        users = np.repeat(np.arange(self.n), rng.poisson(rate))
        names = rng.choice(len(EVENT_NAMES), size=len(users), p=np.array(EVENT_P) / sum(EVENT_P))
        return {"t": self._times(day, users), "user": users, "name": names}

    # -- formatting ---------------------------------------------------------------------------

    def _user(self, users: np.ndarray) -> pa.Array:
        return self.user_ids.take(users)

    def _campaign(self, campaigns: np.ndarray) -> pa.Array:
        return self.campaign_ids.take(pa.array(campaigns, mask=campaigns < 0))

    def _format_sends(self, c: dict[str, np.ndarray], ts: pa.Array) -> pa.Table:
        return pa.table(
            {
                "send_id": _ids("s", c["id"], ID_WIDTH),
                "user_id": self._user(c["user"]),
                "campaign_id": self._campaign(c["campaign"]),
                "channel": _labels(CHANNELS, c["channel"]),
                "message_category": _labels(CATEGORIES, c["category"]),
                "sent_at": ts,
                "delivery_status": _labels(DELIVERY_STATUSES, c["status"]),
            }
        )

    def _format_interactions(self, c: dict[str, np.ndarray], ts: pa.Array) -> pa.Table:
        return pa.table(
            {
                "interaction_id": _ids("i", c["id"], ID_WIDTH),
                "user_id": self._user(c["user"]),
                "campaign_id": self._campaign(c["campaign"]),
                "send_id": _ids("s", c["send"], ID_WIDTH),
                "channel": _labels(CHANNELS, c["channel"]),
                "interaction_type": _labels(INTERACTION_TYPES, c["kind"]),
                "occurred_at": ts,
            }
        )

    def _format_events(self, c: dict[str, np.ndarray], ts: pa.Array) -> pa.Table:
        return pa.table(
            {
                "event_id": _ids("e", c["id"], ID_WIDTH),
                "user_id": self._user(c["user"]),
                "event_name": _labels(EVENT_NAMES, c["name"]),
                "occurred_at": ts,
            }
        )

    def _format_consent(self, c: dict[str, np.ndarray], ts: pa.Array) -> pa.Table:
        kw = c["keyword"]
        keyword = pc.coalesce(
            _labels(OPTOUT_KEYWORDS, np.where(kw < 100, kw, -1)),
            _labels(OPTIN_KEYWORDS, np.where(kw >= 100, kw - 100, -1)),
        )
        return pa.table(
            {
                "change_id": _ids("cc", c["id"], ID_WIDTH),
                "user_id": self._user(c["user"]),
                "channel": _labels(CONSENT_CHANNELS, c["channel"]),
                "status": _labels(STATUSES, c["status"]),
                "changed_at": ts,
                "source": _labels(CONSENT_SOURCES, c["source"]),
                "keyword": keyword,
                "reason": _labels(REASONS, c["reason"]),
            }
        )
