"""The landing zone as Python sees it: which day a file belongs to, and the first day of
data. A file's day is the first YYYY-MM-DD in its name, the rule of the dbt macro
macros/landing/load_window.sql (a partition loads the files dated up to its day)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def file_day(name: str) -> dt.date | None:
    """The day of a landing file, or None for an undated file (users.csv)."""
    match = _DAY.search(name)
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def landing_days(raw_dir: Path, sources: Iterable[str]) -> list[dt.date]:
    """The days of the dated files in the sources' folders, sorted, each once."""
    days = set()
    for source in sources:
        folder = raw_dir / source
        if folder.is_dir():
            days.update(d for p in folder.iterdir() if (d := file_day(p.name)) is not None)
    return sorted(days)
