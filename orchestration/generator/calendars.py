"""The simulated time window (UTC days, epoch seconds), when things happen within a day, and
the campaign calendar."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from orchestration.generator.files import epoch_strings, ids, labels
from orchestration.generator.parameters import (
    BLAST_SHARE,
    CATEGORIES,
    CHANNEL_LABELS,
    CHANNELS,
    DAY,
    EVERGREEN_THEMES,
    HOUR_P,
    MARKETING,
    MARKETING_THEMES,
    PUSH,
    SCHEDULED_CHANNEL_P,
    SPIKE_HOURS,
    SPIKE_NAME,
    SPIKE_SHARE,
    UTILITY_THEMES,
)

# ==================================================================================================
# Time
# ==================================================================================================


@dataclass
class Window:
    first_date: dt.date
    days: int

    def __post_init__(self) -> None:
        self.start = int(dt.datetime.combine(self.first_date, dt.time(), dt.UTC).timestamp())
        self.end = self.start + self.days * DAY - 1  # last second included
        self.dates = [self.first_date + dt.timedelta(days=d) for d in range(self.days)]

    def day_start(self, day: int) -> int:
        return self.start + day * DAY


def diurnal_seconds(rng: np.random.Generator, tz_offset: np.ndarray) -> np.ndarray:
    """Second of the UTC day for activity following the local-time profile of each row."""
    local = rng.choice(24, size=len(tz_offset), p=HOUR_P) * 3600
    local += rng.integers(0, 3600, size=len(tz_offset))
    return (local - tz_offset) % DAY


def lognormal_seconds(
    rng: np.random.Generator, median: np.ndarray | float, sigma: float, size: int
) -> np.ndarray:
    """Reaction delays: at least one second, at most two days."""
    delay = np.exp(np.log(median) + sigma * rng.standard_normal(size))
    return np.clip(np.ceil(delay), 1, 2 * DAY).astype(np.int64)


# ==================================================================================================
# Campaigns
# ==================================================================================================


@dataclass
class Calendar:
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


def make_campaigns(rng: np.random.Generator, window: Window) -> tuple[pa.Table, Calendar]:
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
            "campaign_id": ids("c", np.arange(1, len(rows) + 1), width),
            "campaign_name": pa.array(names),
            "channel": labels(CHANNELS, chan),
            "message_category": labels(CATEGORIES, cat),
            "started_at": epoch_strings(start),
        }
    )
    calendar = Calendar(
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
