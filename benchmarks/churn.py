"""Benchmark: how much of each mart one day's load changes (DuckDB).

    python -m benchmarks.churn --scale small|medium|large [--workdir DIR] [--keep]
        [--update-doc]

Generates N days ending on END (as benchmarks.run does, same seed), builds the first N-1
days (`optout build --full-refresh`), keeps a copy of the published marts, adds END's files
and builds again (`optout build`). Per mart it then counts the rows of the second build
that the first did not have (new, or changed in any column) and the rows of the first that
are gone. That is what a mart kept up to date by what a load changes would have to write:
the bound on an incremental mart design (issue #16, docs/BENCHMARKS.md "What one day's
load changes"), measured before building one.

Results go to benchmarks/results/churn_<scale>.json; --update-doc regenerates
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path

from benchmarks.report import update_doc
from benchmarks.run import (
    _require_ok,
    held_back_files,
    machine,
    measure,
    move_files,
    optout_command,
    step_env,
    versions,
)
from benchmarks.scales import DEFAULT_END, DOC, REPO, RESULTS_DIR, SCALES
from orchestration.config import Settings
from orchestration.marts import mart_names


@dataclasses.dataclass(frozen=True)
class Churn:
    before: int  # rows of the first build
    after: int  # rows of the second build
    written: int  # rows of the second build the first did not have
    gone: int  # rows of the first build the second does not have

    @property
    def share(self) -> float:
        return self.written / self.after if self.after else 0.0


def compare(before: Path, after: Path, tables: list[str]) -> dict[str, Churn]:
    """Per table of the `marts` schema of two DuckDB files, the rows each has that the other
    lacks (as multisets: `except all`), compared on every column."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("attach ? as b (read_only)", [str(before)])
        con.execute("attach ? as a (read_only)", [str(after)])

        def count(sql: str) -> int:
            return con.execute(f"select count(*) from ({sql})").fetchone()[0]

        found = {}
        for table in tables:
            b, a = f"b.marts.{table}", f"a.marts.{table}"
            found[table] = Churn(
                before=count(f"select * from {b}"),
                after=count(f"select * from {a}"),
                written=count(f"select * from {a} except all select * from {b}"),
                gone=count(f"select * from {b} except all select * from {a}"),
            )
        return found
    finally:
        con.close()


def run(args: argparse.Namespace) -> dict:
    scale = SCALES[args.scale]
    workdir = (args.workdir or REPO / "benchmarks" / "data" / f"churn-{args.scale}").resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    raw, held, logs = workdir / "raw", workdir / "held_back", workdir / "logs"
    env, optout, steps = step_env(workdir, 2, "3GB"), optout_command(), {}
    generate = [*optout, "generate", "--out", str(raw), "--users", str(scale.users)]
    generate += ["--days", str(scale.days), "--seed", str(args.seed), "--end-date", args.end_date]
    steps["generator"] = measure("generator", [*generate, "--clean"], env, logs)
    _require_ok("generator", steps["generator"])
    held_files = move_files(held_back_files(raw, args.end_date), raw, held)
    steps["full_build"] = measure("full_build", [*optout, "build", "--full-refresh"], env, logs)
    _require_ok("full_build", steps["full_build"])
    settings = Settings.from_env(env)
    before = workdir / "before_the_day.duckdb"
    shutil.copy2(settings.warehouse, before)  # the published marts of the N-1 days
    move_files(held_files, held, raw)
    steps["incremental_build"] = measure("incremental_build", [*optout, "build"], env, logs)
    _require_ok("incremental_build", steps["incremental_build"])
    churn = compare(before, settings.warehouse, mart_names(settings))
    for step in steps.values():
        step.pop("log", None)
    result = {
        "kind": "churn",
        "scale": args.scale,
        "users": scale.users,
        "days": scale.days,
        "end_date": args.end_date,
        "machine": machine(),
        "versions": versions(),
        "steps": steps,
        "marts": {table: dataclasses.asdict(c) for table, c in churn.items()},
        "command": f"python -m benchmarks.churn --scale {args.scale}",
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"churn_{args.scale}.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(workdir)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.churn", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--scale", choices=list(SCALES))
    parser.add_argument(
        "--workdir", type=Path, help="default: benchmarks/data/churn-<scale> (emptied first)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data and warehouses")
    parser.add_argument("--update-doc", action="store_true", help="regenerate the doc")
    parser.add_argument("--end-date", default=DEFAULT_END, help=f"default {DEFAULT_END}")
    parser.add_argument("--seed", type=int, default=42)  # as benchmarks.run
    args = parser.parse_args(argv)
    if args.scale is None and not args.update_doc:
        parser.error("give --scale (and/or --update-doc)")
    if args.scale:
        result = run(args)
        for table, c in result["marts"].items():
            print(f"{table:32} {c['written']:>9} of {c['after']:>9} rows new or changed")
    if args.update_doc:
        update_doc()
        print(f"updated {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
