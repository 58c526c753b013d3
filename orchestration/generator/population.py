"""Users: the `users` table and the per-user traits that drive the simulation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generator.calendars import Window
from orchestration.generator.files import epoch_strings, ids
from orchestration.generator.parameters import (
    CHANNEL_RATE_MEAN,
    CHANNEL_RATE_SHAPE,
    CHANNEL_REACH_P,
    COUNTRY_P,
    DAY,
    DISENGAGE_TAU_DAYS,
    DISENGAGING_SHARE,
    EMAIL,
    EMAIL_DOMAINS,
    EVENT_RATE_MEAN,
    FIRST_NAMES,
    LAST_NAMES,
    PUSH,
    SMS,
    TEAM_P,
    TEAMS,
    WHATSAPP,
)


def _digits(rng: np.random.Generator, n: int, count: int, base: int = 10) -> np.ndarray:
    """n random strings of `count` digits in `base` (vectorised through a char view)."""
    alphabet = np.array(list("0123456789abcdef"[:base]))
    chars = alphabet[rng.integers(0, base, size=(n, count))]
    return np.ascontiguousarray(chars).view(f"<U{count}").ravel()


@dataclass
class Population:
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


def make_users(rng: np.random.Generator, n: int, window: Window) -> tuple[pa.Table, Population]:
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
            "user_id": ids("u", np.arange(1, n + 1), width),
            "external_id": pc.binary_join_element_wise(
                "ext-", pa.array(_digits(rng, n, 12, 16)), ""
            ),
            "email": pa.array(email.to_numpy(dtype=object), mask=~has_email, type=pa.string()),
            "phone": pa.array(phone, mask=~has_phone, type=pa.string()),
            "first_name": pa.array(first),
            "last_name": pa.array(last),
            "team_code": pa.array(np.array(TEAMS)[rng.choice(len(TEAMS), size=n, p=TEAM_P)]),
            "created_at": epoch_strings(created),
            "updated_at": epoch_strings(updated),
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
    population = Population(
        tz_offset=tz_hours.astype(np.int64) * 3600,
        reach=reach,
        rates=rates,
        event_rate=rng.lognormal(np.log(EVENT_RATE_MEAN) - sigma**2 / 2, sigma, size=n),
        sensitivity=rng.lognormal(-0.125, 0.5, size=n),  # mean 1
        fade_start=np.where(fading, rng.uniform(-10, window.days, size=n), np.inf),
        fade_tau=rng.uniform(*DISENGAGE_TAU_DAYS, size=n),
    )
    return table, population
