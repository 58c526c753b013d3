"""agg_optout_alerts on steady, noisy data: false alarms are rare, and a one-day blast is
flagged on every channel, big or small.

One landing zone of opt-outs only (users without records or sends), 2024-01-01 + 365
days, seed 2024. Each channel's daily opt-outs are Poisson around a steady mean with a
weekly pattern (weekends 15 % lower) and day-to-day over-dispersion (a gamma-distributed
day factor, shape 50: about 14 % more spread than Poisson alone):

    push 120 a day, email 30, sms 8, whatsapp 2, all 0.5

On day 350 every channel has a blast: three times its mean (six times for whatsapp, 20
times for all). Days 28 .. 349 (322 days x 5 channels) measure the false alarms.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import build, query, settings_for, write_landing_zone

START = dt.date(2024, 1, 1)
DAYS = 365
BLAST_DAY = 350
MEANS = {"push": 120.0, "email": 30.0, "sms": 8.0, "whatsapp": 2.0, "all": 0.5}
BLAST = {"push": 3, "email": 3, "sms": 3, "whatsapp": 6, "all": 20}
WEEKDAY = (1.05, 1.05, 1.05, 1.05, 1.05, 0.875, 0.875)  # Monday first; mean 1
DISPERSION_SHAPE = 50.0
SEED = 2024


def daily_counts() -> dict[str, list[int]]:
    rng = np.random.default_rng(SEED)
    counts = {}
    for channel, mean in MEANS.items():
        days = [START + dt.timedelta(days=i) for i in range(DAYS)]
        expected = np.array([mean * WEEKDAY[d.weekday()] for d in days])
        noisy = expected * rng.gamma(DISPERSION_SHAPE, 1 / DISPERSION_SHAPE, size=DAYS)
        n = rng.poisson(noisy)
        n[BLAST_DAY] = round(BLAST[channel] * expected[BLAST_DAY])
        counts[channel] = [int(x) for x in n]
    return counts


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    settings = settings_for(tmp_path_factory.mktemp("alerts_noise"))
    changes = []
    for channel, counts in daily_counts().items():
        for i, n in enumerate(counts):
            day = START + dt.timedelta(days=i)
            for k in range(n):
                user = f"{channel}_{i}_{k}"
                changes.append(
                    {
                        "change_id": user,
                        "user_id": user,
                        "channel": channel,
                        "status": "opted_out",
                        "changed_at": f"{day}T{k % 24:02d}:{k // 24 % 60:02d}:00Z",
                        "source": "app_settings",
                    }
                )
    write_landing_zone(settings.raw_dir, {"consent_changes": changes})
    return build(settings)


def flagged(wh) -> list[tuple[dt.date, str]]:
    return query(wh, "select date, channel from marts.agg_optout_alerts order by date, channel")


def test_every_blast_is_flagged(wh):
    blast = START + dt.timedelta(days=BLAST_DAY)
    assert {channel for day, channel in flagged(wh) if day == blast} == set(MEANS)


def test_false_alarms_are_rare(wh):
    first, last = START + dt.timedelta(days=28), START + dt.timedelta(days=BLAST_DAY - 1)
    alarms = [(day, ch) for day, ch in flagged(wh) if first <= day <= last]
    channel_days = ((last - first).days + 1) * len(MEANS)
    print(f"false alarms: {len(alarms)} in {channel_days} channel-days: {alarms}")
    # "A few days in two months at most": never more than 2 on a channel in any 60 days,
    # and well under 1 % of all channel-days.
    for channel in MEANS:
        days = [day for day, ch in alarms if ch == channel]
        windows = [sum(1 for other in days if 0 <= (other - day).days < 60) for day in days]
        assert max(windows, default=0) <= 2, (channel, days)
    assert len(alarms) <= channel_days // 200


def test_the_noise_is_noisy(wh):
    """The fixture is what it says: over-dispersed, with a weekly pattern."""
    counts = daily_counts()["push"][:BLAST_DAY]
    assert np.var(counts) > 2 * np.mean(counts)  # well above Poisson's variance = mean
    [(optouts,)] = query(
        wh, "select sum(optouts) from marts.agg_optouts_daily where channel = 'push'"
    )
    assert optouts == sum(daily_counts()["push"])
