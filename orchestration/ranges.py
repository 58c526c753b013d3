"""Date ranges of the exports (docs/CONTRACT.md §6.1), the as-of date, and the enum
arguments, shared by the CLI and Dagster so a bad value gets the same one-line message
everywhere."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Sequence
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
_ISO_PARTS = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?)?"
    r"(?P<offset>[Zz]|(?P<sign>[+-])(?P<off_h>\d{2})(?::?(?P<off_m>\d{2}))?)?$"
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


def parse_choice(value: str, choices: Sequence[str], option: str) -> str:
    """One of `choices`, compared trimmed and case-insensitively, or UsageError with the
    closest choice as a suggestion."""
    text = str(value).strip().lower()
    if text in choices:
        return text
    close = difflib.get_close_matches(text, choices, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise UsageError(f"{option} must be one of {', '.join(choices)}, got {value!r}{hint}")


def parse_date(value: str, option: str) -> dt.date:
    """YYYY-MM-DD (an ISO timestamp is accepted for its UTC date) or UsageError."""
    text = str(value).strip()
    if _TIMESTAMP_DATE.match(text):
        return parse_as_of(text, option).date
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


@dataclass(frozen=True)
class AsOf:
    """`--as-of`, the same for `optout build` and `optout export` (docs/DECISIONS.md): a
    date D means the end of D; a timestamp means that instant."""

    date: dt.date  # the last UTC day it covers: the export presets end on it
    instant: dt.datetime  # UTC (aware): the build's var as_of, which closes retention windows

    @property
    def dbt_value(self) -> str:
        text = self.instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        return text.rstrip("0").rstrip(".") + "Z"


def parse_as_of(value: str, option: str = "--as-of") -> AsOf:
    """A date YYYY-MM-DD (the end of that UTC day) or an ISO-8601 timestamp (that instant;
    no offset is UTC), or UsageError."""
    text = str(value).strip()
    match = _ISO_PARTS.match(text) if ISO_TIMESTAMP.match(text) else None
    if match is None:
        raise UsageError(
            f"{option} must be a date YYYY-MM-DD or an ISO-8601 timestamp like "
            f"2026-01-31T00:00:00Z, got {value!r}"
        )
    try:
        day = dt.date.fromisoformat(match["date"])
        if match["hour"] is None:  # a date alone: the end of that day (midnight after it)
            if match["offset"]:
                raise ValueError
            start = dt.datetime.combine(day, dt.time(), dt.UTC)
            return AsOf(day, start + dt.timedelta(days=1))
        fraction = (match["fraction"] or "")[:6].ljust(6, "0")
        offset = dt.timedelta(0)
        if match["sign"]:
            offset = dt.timedelta(hours=int(match["off_h"]), minutes=int(match["off_m"] or 0))
            offset = -offset if match["sign"] == "-" else offset
        local = dt.datetime(
            day.year,
            day.month,
            day.day,
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            int(fraction),
            tzinfo=dt.timezone(offset),
        )
        instant = local.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise UsageError(
            f"{option} must be a real date and time (YYYY-MM-DD[THH:MM[:SS]][Z|±HH:MM]), "
            f"got {value!r}"
        ) from None
    return AsOf(instant.date(), instant)


def resolve_range(
    range_name: str,
    start: str | None = None,
    end: str | None = None,
    as_of: str | None = None,
) -> DateRange:
    """The inclusive UTC dates a range covers, D being --as-of (default today, UTC)."""
    range_name = parse_choice(range_name, RANGES, "--range")
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
    day = parse_as_of(as_of).date if as_of is not None else today_utc()
    return DateRange(range_name, day - dt.timedelta(days=RANGE_DAYS[range_name] - 1), day)


def check_as_of(value: str | None) -> str | None:
    """The build's --as-of as the dbt var `as_of` (UTC, ISO-8601), or UsageError."""
    if value is None:
        return None
    return parse_as_of(value).dbt_value


def check_format(fmt: str) -> str:
    return parse_choice(fmt, FORMATS, "--format")
