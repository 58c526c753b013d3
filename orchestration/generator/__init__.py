"""Synthetic landing zone for the opt-out warehouse (docs/CONTRACT.md §2 and §8).

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
bytes. Values are valid per docs/CONTRACT.md §2 except a fixed set of planted bad rows
(`planted`; `bad_rows=False` for none).

Modules, one concern each: `parameters` (the contract's columns and enum codes, every
tunable), `population` (users), `calendars` (the time window and the campaign calendar),
`simulation` (the day-by-day world and its rows), `files` (text formatting and writing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np

from orchestration.generator.calendars import Window, make_campaigns
from orchestration.generator.files import (
    RECORD_NAME,
    GeneratorContractError,
    OutDirNotEmpty,
    Written,
    prepare_out_dir,
    write_whole,
)
from orchestration.generator.parameters import DAILY_SOURCES, SPIKE_NAME
from orchestration.generator.planted import plant_bad_rows, planted_rows
from orchestration.generator.population import make_users
from orchestration.generator.simulation import Simulation

__all__ = [
    "RECORD_NAME",
    "SPIKE_NAME",
    "GeneratorContractError",
    "OutDirNotEmpty",
    "generate",
    "last_complete_day",
    "planned_files",
    "planted_rows",
]


def last_complete_day(now: dt.datetime | None = None) -> dt.date:
    """The last UTC day that has ended: sample data never runs into the future."""
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(dt.UTC).date() - dt.timedelta(days=1)


def planned_files(window: Window, fmt: str, per_day: bool, bad_rows: bool) -> set[str]:
    """Every file a run may write (relative paths): a day without rows gets no file."""
    names = {f"{source}/{source}.{fmt}" for source in ("users", "campaigns")}
    days = [d.isoformat() for d in window.dates]
    for source in DAILY_SOURCES:
        stems = [f"{source}_{day}" for day in days] if per_day else [source]
        names.update(f"{source}/{stem}.{fmt}" for stem in stems)
        if bad_rows and source == "consent_changes":
            names.update(f"{source}/{stem}_redelivered.{fmt}" for stem in stems)
        if bad_rows and source == "events":
            stem = f"{source}_{days[len(days) // 2]}" if per_day else source
            names.add(f"{source}/{stem}_correction.{fmt}")
    return names


def generate(
    out_dir: str | Path,
    users: int = 2000,
    days: int = 90,
    seed: int = 42,
    end_date: dt.date | str | None = None,
    fmt: str = "csv",
    files_per_day: bool = True,
    *,
    force: bool = False,
    bad_rows: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Write a synthetic landing zone under out_dir/<source>/ and return {source: rows}.

    Data covers the `days` UTC days ending on `end_date` (default: the last complete UTC
    day, yesterday), inclusive. `out_dir` must be empty or missing unless `force`: then
    the files an earlier run recorded there (RECORD_NAME) are replaced and every other file
    is kept. A day without rows for a source gets no file. `progress(day, days)` is called
    after each simulated day.

    `bad_rows` (the default) plants a few rows of each kind the quarantine catches on the
    middle day of the window (`planted.planted_rows`); `bad_rows=False` writes clean data
    only. The counts include the planted rows.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    if users < 1 or days < 1:
        raise ValueError("users and days must be at least 1")
    if end_date is None:
        end_date = last_complete_day()
    elif isinstance(end_date, str):
        end_date = dt.date.fromisoformat(end_date)
    elif isinstance(end_date, dt.datetime):
        end_date = end_date.date()

    out = Path(out_dir)
    window = Window(end_date - dt.timedelta(days=days - 1), days)
    prepare_out_dir(out, force, planned_files(window, fmt, files_per_day, bad_rows))
    out.mkdir(parents=True, exist_ok=True)
    written = Written(out)

    rng = np.random.default_rng(seed)
    users_table, population = make_users(rng, users, window)
    campaigns_table, calendar = make_campaigns(rng, window)
    write_whole(users_table, out / "users" / f"users.{fmt}", fmt, written)
    write_whole(campaigns_table, out / "campaigns" / f"campaigns.{fmt}", fmt, written)

    sim = Simulation(
        rng,
        window,
        population,
        calendar,
        users_table["user_id"],
        campaigns_table["campaign_id"],
        out,
        fmt,
        files_per_day,
        written,
    )
    for day in range(days):
        sim.step(day)
        if progress is not None:
            progress(day + 1, days)
    sim.close()

    counts = {"users": users_table.num_rows, "campaigns": campaigns_table.num_rows}
    counts.update({name: sink.rows for name, sink in sim.sinks.items()})
    if bad_rows:
        day = window.dates[days // 2]
        first_user = users_table["user_id"][0].as_py()
        for source, n in plant_bad_rows(out, day, fmt, files_per_day, first_user, written).items():
            counts[source] += n
    written.save(
        {
            "users": users,
            "days": days,
            "seed": seed,
            "end_date": end_date.isoformat(),
            "format": fmt,
            "files_per_day": files_per_day,
            "bad_rows": bad_rows,
        }
    )
    return counts
