"""`optout`: generate sample data, build the warehouse, write exports (docs/CONTRACT.md §7.3)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import time
from collections.abc import Callable, Sequence

from orchestration.config import ConfigError, Settings
from orchestration.marts import marts_source
from orchestration.ranges import (
    FORMATS,
    RANGES,
    UsageError,
    check_as_of,
    parse_choice,
    parse_date,
    resolve_range,
)

AS_OF_HELP = (
    "a date YYYY-MM-DD (the end of that UTC day) or an ISO-8601 timestamp "
    "(2026-01-31T18:00:00Z; no offset is UTC)"
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line, exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # "argument --users: --users must be ..." names the flag twice: keep the second.
        match = re.match(r"argument ([^:]+): (.*)$", message)
        if match and match.group(2).startswith(match.group(1).split("/")[0]):
            message = match.group(2)
        self.exit(2, f"optout: error: {message} (see `{self.prog} --help`)\n")


def _checked(parse: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse type from one of our parsers: its UsageError is the message."""

    def convert(value: str) -> object:
        try:
            return parse(value)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def _positive_int(option: str) -> Callable[[str], object]:
    def parse(value: str) -> int:
        if not re.fullmatch(r"\d+", value.strip()) or int(value) <= 0:
            raise UsageError(f"{option} must be a positive whole number, got {value!r}")
        return int(value)

    return _checked(parse)


def _whole_number(option: str) -> Callable[[str], object]:
    def parse(value: str) -> int:
        if not re.fullmatch(r"-?\d+", value.strip()):
            raise UsageError(f"{option} must be a whole number, got {value!r}")
        return int(value)

    return _checked(parse)


def _choice(option: str, choices: Sequence[str]) -> Callable[[str], object]:
    return _checked(lambda value: parse_choice(value, choices, option))


def _port(value: str) -> int:
    if not re.fullmatch(r"\d+", value.strip()) or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be a whole number 1-65535, got {value!r}")
    return int(value)


def _parser() -> argparse.ArgumentParser:
    from orchestration.exports import KINDS

    parser = _Parser(prog="optout", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    gen = commands.add_parser(
        "generate", help="write a synthetic landing zone (README, Sample data)"
    )
    gen.add_argument(
        "--out", required=True, metavar="DIR", help="landing-zone folder to write (empty or new)"
    )
    gen.add_argument(
        "--users",
        type=_positive_int("--users"),
        default=2000,
        metavar="N",
        help="number of users (default 2000)",
    )
    gen.add_argument(
        "--days",
        type=_positive_int("--days"),
        default=90,
        metavar="N",
        help="number of UTC days of data, ending on --end-date (default 90)",
    )
    gen.add_argument(
        "--seed",
        type=_whole_number("--seed"),
        default=42,
        metavar="N",
        help="random seed: the same arguments give the same files (default 42)",
    )
    gen.add_argument(
        "--end-date",
        type=_checked(lambda v: parse_date(v, "--end-date")),
        metavar="D",
        help="last day of data, YYYY-MM-DD (default: the last complete UTC day, yesterday)",
    )
    gen.add_argument(
        "--format",
        type=_choice("--format", FORMATS),
        default="csv",
        help="csv (default) or parquet",
    )
    gen.add_argument(
        "--force",
        action="store_true",
        help="write into a folder that holds files: replaces those an earlier `optout "
        "generate` wrote there, keeps every other file",
    )
    gen.add_argument(
        "--clean",
        action="store_true",
        help="clean data only: no planted bad rows (README, Planted bad rows)",
    )

    build = commands.add_parser("build", help="build and test every dbt model")
    build.add_argument(
        "--as-of",
        metavar="WHEN",
        help=f"when the retention windows close: {AS_OF_HELP} (default: the latest event)",
    )
    build.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild every table from the landing files (default: load the new files only)",
    )
    build.add_argument(
        "--through",
        metavar="D",
        help="load only landing files dated up to this day, YYYY-MM-DD (default: every file)",
    )
    build.add_argument(
        "--allow-empty",
        action="store_true",
        help="build even when the landing zone holds no data file (publishes empty marts)",
    )
    build.add_argument(
        "--force",
        action="store_true",
        help="build even when nothing changed since the last build (same files, code, options)",
    )
    build.add_argument(
        "--verbose",
        action="store_true",
        help="print dbt's own output (default: one line per layer; dbt's full log is "
        "kept in a file, named at the end)",
    )

    export = commands.add_parser(
        "export", help="write an export of the marts (docs/CONTRACT.md §6)"
    )
    kinds = "; ".join(f"{k.name}: {k.description}" for k in KINDS.values())
    export.add_argument(
        "--kind",
        type=_choice("--kind", tuple(KINDS)),
        default="users",
        help=f"which export (default users) - {kinds}",
    )
    export.add_argument(
        "--range",
        type=_choice("--range", RANGES),
        metavar="RANGE",
        help=" | ".join(RANGES) + " (every kind but suppression)",
    )
    export.add_argument("--start", metavar="D", help="first day for --range between, YYYY-MM-DD")
    export.add_argument("--end", metavar="D", help="last day for --range between, YYYY-MM-DD")
    export.add_argument(
        "--as-of",
        metavar="WHEN",
        help=f"the day D the presets end on: {AS_OF_HELP} (default: today, UTC)",
    )
    export.add_argument(
        "--format",
        type=_choice("--format", FORMATS),
        default="csv",
        help="csv (default) or parquet (timestamps as UTC timestamps)",
    )
    export.add_argument(
        "--output",
        metavar="NAME",
        help="file name inside $OPTOUT_EXPORT_DIR (default: from kind and range)",
    )
    export.add_argument(
        "--escape-formulas",
        action="store_true",
        help="prefix text cells a spreadsheet would run as a formula with ' (numbers and "
        "phone numbers such as +905551234567 are kept)",
    )

    commands.add_parser("status", help="show raw = clean + quarantined + duplicates per source")

    dashboard = commands.add_parser(
        "dashboard", help="serve the Opt Out analytics dashboard on 127.0.0.1 (Streamlit)"
    )
    dashboard.add_argument(
        "--port", type=_port, default=8501, help="port on 127.0.0.1 (default 8501)"
    )
    return parser


class _GenerateProgress:
    """A line every few seconds on stderr, so a long run shows it is moving."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.started = self.last = time.monotonic()
        self.every_s = every_s

    def __call__(self, day: int, days: int) -> None:
        now = time.monotonic()
        if now - self.last >= self.every_s and day < days:
            self.last = now
            print(
                f"optout generate: day {day:,} of {days:,} ({now - self.started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )


def _generate(args: argparse.Namespace) -> None:
    from orchestration.generator import OutDirNotEmpty, generate

    try:
        counts = generate(
            args.out,
            users=args.users,
            days=args.days,
            seed=args.seed,
            end_date=args.end_date,
            fmt=args.format,
            force=args.force,
            bad_rows=not args.clean,
            progress=_GenerateProgress(),
        )
    except OutDirNotEmpty as exc:
        raise UsageError(f"--out {exc}") from None
    for source, rows in counts.items():
        print(f"{source:>16}: {rows:>10,} rows")
    if not args.clean:
        print("planted bad rows for the quarantine to catch: README, Planted bad rows")
    print(os.path.abspath(args.out))


def _build(args: argparse.Namespace, settings: Settings) -> None:
    from orchestration.build import run_build
    from orchestration.lib.dagster_report import report_build
    from orchestration.lib.progress import rows_summary

    as_of = check_as_of(args.as_of)
    through = parse_date(args.through, "--through") if args.through is not None else None
    if args.verbose:
        settings = dataclasses.replace(settings, verbose=True)
    built = run_build(
        settings,
        as_of=as_of,
        full_refresh=args.full_refresh,
        through=through,
        allow_empty=args.allow_empty,
        force=args.force,
    )
    _print_unread_files(settings)
    print(rows_summary(settings))
    if built:
        reported = report_build(settings, through=through)
        if reported:
            print(reported)
    print(f"warehouse: {marts_source(settings).location}")


def _print_unread_files(settings: Settings) -> None:
    """Files of the landing zone the build did not read: nothing is skipped silently."""
    from orchestration.status import unread_files

    for source_file, reason in unread_files(settings):
        print(f"optout: warning: not read: {source_file} ({reason})", file=sys.stderr)


def _export(args: argparse.Namespace, settings: Settings) -> None:
    from orchestration.exports import empty_reason, export_kind, scope_label, write_export

    kind = export_kind(args.kind)
    date_range = None
    if kind.ranged or args.range is not None:
        if args.range is None:
            raise UsageError(f"--kind {kind.name} needs --range ({' | '.join(RANGES)})")
        date_range = resolve_range(args.range, start=args.start, end=args.end, as_of=args.as_of)
    elif args.start or args.end or args.as_of:
        raise UsageError("--start, --end and --as-of need --range; suppression takes none")
    result = write_export(
        settings,
        kind.name,
        date_range,
        args.format,
        output=args.output,
        escape_formulas=args.escape_formulas,
    )
    if result.row_count == 0:
        print(f"optout: note: {empty_reason(kind, date_range)}", file=sys.stderr)
    print(f"{result.row_count} rows, {scope_label(date_range)}, sha256 {result.sha256}")
    print(result.path)


def _status(settings: Settings) -> None:
    from orchestration.status import reconciliation

    rows = reconciliation(settings)
    header = ("source", "raw", "clean", "quarantined", "duplicates", "balanced")
    print("{:<16} {:>12} {:>12} {:>12} {:>12} {:>9}".format(*header))
    for row in rows:
        print("{:<16} {:>12,} {:>12,} {:>12,} {:>12,} {:>9}".format(*row))
    _print_unread_files(settings)


def _dashboard(args: argparse.Namespace, settings: Settings) -> None:
    from orchestration.dashboard import run

    source = marts_source(settings)
    if not source.exists:
        # Not fatal: the page says so and shows the marts once a build publishes them.
        print(f"optout: note: no warehouse at {source.location} yet; run `optout build`")
    run(host="127.0.0.1", port=args.port, warehouse=settings.warehouse)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "generate":
            _generate(args)
        elif args.command == "build":
            _build(args, settings)
        elif args.command == "export":
            _export(args, settings)
        elif args.command == "status":
            _status(settings)
        elif args.command == "dashboard":
            _dashboard(args, settings)
    except (UsageError, ConfigError) as exc:
        print(f"optout: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a known failure: one line, no traceback
        from orchestration.build import BuildError, WarehouseBusyError
        from orchestration.dashboard import DashboardError
        from orchestration.exports import ExportError

        if isinstance(exc, BuildError | WarehouseBusyError | ExportError | DashboardError):
            print(f"optout: error: {exc}", file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
