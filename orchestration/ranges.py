"""Date ranges of the exports (docs/CONTRACT.md §6.1), shared by the CLI and Dagster so a bad
value gets the same one-line message everywhere."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

RANGE_DAYS = {"last_week": 7, "last_month": 30, "last_year": 365}
RANGES = (*RANGE_DAYS, "between")
FORMATS = ("csv", "parquet")

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt ][0-9:.]+([Zz]|[+-]\d{2}(:?\d{2})?)?$")


# The ISO-8601 shape the dbt macro iso_timestamp_pattern() accepts.
ISO_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"(?:[Zz]|[+-](?:0\d|1[0-4])(?::?[0-5]\d)?)?$"
)


class UsageError(ValueError):
    """A bad argument: the message is one line saying what to fix."""


@dataclass(frozen=True)
class DateRange:
    name: str
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        return f"{self.name}_{self.start.isoformat()}_{self.end.isoformat()}"


def parse_date(value: str, option: str) -> dt.date:
    """YYYY-MM-DD (an ISO timestamp is accepted for its date) or UsageError."""
    text = str(value).strip()
    match = _TIMESTAMP_DATE.match(text)
    if match:
        text = match.group(1)
    if not _DATE.match(text):
        raise UsageError(f"{option} must be a date as YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} must be a real calendar date (YYYY-MM-DD), got {value!r}"
        ) from None


def today_utc() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def resolve_range(
    range_name: str,
    start: str | None = None,
    end: str | None = None,
    as_of: str | None = None,
) -> DateRange:
    """The inclusive UTC dates a range covers, D being --as-of (default today, UTC)."""
    if range_name not in RANGES:
        raise UsageError(f"--range must be one of {', '.join(RANGES)}, got {range_name!r}")
    if range_name == "between":
        if start is None or end is None:
            raise UsageError("--range between needs both --start and --end (YYYY-MM-DD)")
        start_date = parse_date(start, "--start")
        end_date = parse_date(end, "--end")
        if start_date > end_date:
            raise UsageError(
                f"--start ({start_date}) is after --end ({end_date}); swap them or fix the dates"
            )
        return DateRange(range_name, start_date, end_date)
    if start is not None or end is not None:
        raise UsageError(f"--start/--end only apply to --range between, not {range_name}")
    day = parse_date(as_of, "--as-of") if as_of is not None else today_utc()
    return DateRange(range_name, day - dt.timedelta(days=RANGE_DAYS[range_name] - 1), day)


def check_as_of(value: str | None) -> str | None:
    """The build's --as-of (an ISO timestamp for the dbt var), stripped, or UsageError."""
    if value is None:
        return None
    if not ISO_TIMESTAMP.match(value.strip()):
        raise UsageError(
            f"--as-of must be an ISO-8601 timestamp like 2026-01-31T00:00:00Z, got {value!r}"
        )
    return value.strip()


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"--format must be csv or parquet, got {fmt!r}")
    return fmt
