"""`optout`: generate sample data, build the warehouse, write exports (docs/CONTRACT.md §7.3)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

from orchestration.config import ConfigError, Settings
from orchestration.marts import marts_source
from orchestration.ranges import (
    RANGES,
    UsageError,
    check_as_of,
    check_format,
    parse_date,
    resolve_range,
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line, exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"optout: error: {message} (see `{self.prog} --help`)\n")


def _positive_int(option: str):
    def parse(value: str) -> int:
        if not re.fullmatch(r"\d+", value.strip()) or int(value) <= 0:
            raise argparse.ArgumentTypeError(
                f"{option} must be a positive whole number, got {value!r}"
            )
        return int(value)

    return parse


def _port(value: str) -> int:
    if not re.fullmatch(r"\d+", value.strip()) or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be a whole number 1-65535, got {value!r}")
    return int(value)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="optout", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    gen = commands.add_parser("generate", help="write synthetic raw data (docs/CONTRACT.md §8)")
    gen.add_argument("--out", required=True, help="landing-zone folder to write")
    gen.add_argument("--users", type=_positive_int("--users"), default=2000)
    gen.add_argument("--days", type=_positive_int("--days"), default=90)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--end-date", help="last day of data, YYYY-MM-DD (default: today, UTC)")
    gen.add_argument("--format", default="csv", help="csv (default) or parquet")

    build = commands.add_parser("build", help="build and test every dbt model")
    build.add_argument("--as-of", help="ISO timestamp closing the retention windows")
    build.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    build.add_argument(
        "--through",
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

    export = commands.add_parser("export", help="write an export file (docs/CONTRACT.md §6)")
    export.add_argument(
        "--kind", default="users", help="users (default), status_changes or suppression"
    )
    export.add_argument("--range", help=" | ".join(RANGES) + " (not for suppression)")
    export.add_argument("--start", help="first date for --range between, YYYY-MM-DD")
    export.add_argument("--end", help="last date for --range between, YYYY-MM-DD")
    export.add_argument("--as-of", help="the date D the presets end on (default: today, UTC)")
    export.add_argument("--format", default="csv", help="csv (default) or parquet")
    export.add_argument(
        "--output", help="file name inside $OPTOUT_EXPORT_DIR (default: from kind and range)"
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


def _generate(args: argparse.Namespace) -> None:
    from orchestration.generator import generate

    check_format(args.format)
    end_date = parse_date(args.end_date, "--end-date") if args.end_date else None
    counts = generate(
        args.out,
        users=args.users,
        days=args.days,
        seed=args.seed,
        end_date=end_date,
        fmt=args.format,
    )
    for source, rows in counts.items():
        print(f"{source:>16}: {rows:>10,} rows")
    print(os.path.abspath(args.out))


def _build(args: argparse.Namespace, settings: Settings) -> None:
    from orchestration.build import run_build

    as_of = check_as_of(args.as_of)
    through = parse_date(args.through, "--through") if args.through is not None else None
    run_build(
        settings,
        as_of=as_of,
        full_refresh=args.full_refresh,
        through=through,
        allow_empty=args.allow_empty,
        force=args.force,
    )
    _print_unread_files(settings)
    print(f"warehouse: {marts_source(settings).location}")


def _print_unread_files(settings: Settings) -> None:
    """Files of the landing zone the build did not read: nothing is skipped silently."""
    from orchestration.status import unread_files

    for source_file, reason in unread_files(settings):
        print(f"optout: warning: not read: {source_file} ({reason})", file=sys.stderr)


def _export(args: argparse.Namespace, settings: Settings) -> None:
    from orchestration.exports import export_kind, write_export

    check_format(args.format)
    date_range = None
    if export_kind(args.kind).ranged or args.range is not None:
        if args.range is None:
            raise UsageError(f"--kind {args.kind} needs --range ({' | '.join(RANGES)})")
        date_range = resolve_range(args.range, start=args.start, end=args.end, as_of=args.as_of)
    elif args.start or args.end or args.as_of:
        raise UsageError("--start, --end and --as-of need --range; suppression takes none")
    result = write_export(
        settings,
        args.kind,
        date_range,
        args.format,
        output=args.output,
        escape_formulas=args.escape_formulas,
    )
    scope = f"{date_range.start} .. {date_range.end}" if date_range else "current state"
    print(f"{result.row_count} rows, {scope}, sha256 {result.sha256}")
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
