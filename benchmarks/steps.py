"""Child-process steps of the benchmark; each prints one JSON line on stdout.

    python -m benchmarks.steps raw-scan --raw-dir DIR [--threads 2] [--memory-limit 3GB]
    python -m benchmarks.steps export --as-of YYYY-MM-DD
    python -m benchmarks.steps explain --warehouse FILE --compiled-dir DIR --out DIR
        [--raw-dir DIR] MODEL...
    python -m benchmarks.steps rusage --out FILE -- CMD...

`benchmarks/run.py` runs each in a fresh process, so wall time and peak memory are the
step's own.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from orchestration.contract import SOURCE_NAMES

SOURCES = SOURCE_NAMES  # the landing contract (dbt_project.yml `landing_sources`)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def landing_files(raw_dir: Path, source: str) -> tuple[list[Path], list[Path]]:
    folder = raw_dir / source
    return sorted(folder.glob("*.csv")), sorted(folder.glob("*.parquet"))


def raw_scan_queries(raw_dir: Path) -> list[tuple[str, list[Path], str]]:
    """(source, files, SQL) per group of files: every column of every file, as text.

    CSV files are read the way the landing views read them (header, explicit VARCHAR
    columns, RFC 4180 quoting, no sniffing), grouped by header; Parquet with read_parquet.
    `max()` of every column forces DuckDB to parse and materialise all of them.
    """
    queries = []
    for source in SOURCES:
        csv_files, parquet_files = landing_files(raw_dir, source)
        groups: dict[tuple[str, ...], list[Path]] = {}
        for path in csv_files:
            if path.stat().st_size == 0:
                continue
            with open(path, newline="", encoding="utf-8") as handle:
                header = tuple(next(csv.reader(handle)))
            groups.setdefault(header, []).append(path)
        for header, files in groups.items():
            columns = ", ".join(f"{_quote_str(name)}: 'VARCHAR'" for name in header)
            relation = (
                f"read_csv([{', '.join(_quote_str(str(f)) for f in files)}], header = true, "
                f"auto_detect = false, columns = {{{columns}}}, delim = ',', quote = '\"', "
                f"escape = '\"', encoding = 'utf-8')"
            )
            aggregates = ", ".join(f"max({_quote_ident(name)})" for name in header)
            queries.append((source, files, f"select count(*), {aggregates} from {relation}"))
        if parquet_files:
            import duckdb

            names = [
                row[0]
                for row in duckdb.sql(
                    f"describe select * from read_parquet({_quote_str(str(parquet_files[0]))})"
                ).fetchall()
            ]
            relation = (
                f"read_parquet([{', '.join(_quote_str(str(f)) for f in parquet_files)}], "
                f"union_by_name = true)"
            )
            aggregates = ", ".join(f"max(cast({_quote_ident(n)} as varchar))" for n in names)
            queries.append(
                (source, parquet_files, f"select count(*), {aggregates} from {relation}")
            )
    return queries


def raw_scan(args: argparse.Namespace) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute(f"set threads = {int(args.threads)}")
    con.execute(f"set memory_limit = {_quote_str(args.memory_limit)}")
    sources: dict[str, dict] = {}
    started = time.perf_counter()
    for source, files, sql in raw_scan_queries(Path(args.raw_dir)):
        clock = time.perf_counter()
        rows = con.execute(sql).fetchone()[0]
        entry = sources.setdefault(source, {"files": 0, "bytes": 0, "rows": 0, "seconds": 0.0})
        entry["files"] += len(files)
        entry["bytes"] += sum(f.stat().st_size for f in files)
        entry["rows"] += rows
        entry["seconds"] = round(entry["seconds"] + time.perf_counter() - clock, 3)
    return {"seconds": round(time.perf_counter() - started, 3), "sources": sources}


def export(args: argparse.Namespace) -> dict:
    """write_export of the Last Month range, timed inside the process (no interpreter
    start-up), twice: cold (first query of the file) and warm."""
    clock = time.perf_counter()
    from orchestration.config import Settings
    from orchestration.exports import write_export
    from orchestration.ranges import resolve_range

    imports = time.perf_counter() - clock
    settings = Settings.from_env()
    date_range = resolve_range("last_month", as_of=args.as_of)
    timings = []
    for attempt in ("cold", "warm"):
        clock = time.perf_counter()
        result = write_export(
            settings, "users", date_range, "csv", output=f"benchmark_inner_{attempt}.csv"
        )
        timings.append(time.perf_counter() - clock)
    return {
        "import_seconds": round(imports, 3),
        "cold_seconds": round(timings[0], 3),
        "warm_seconds": round(timings[1], 3),
        "rows": result.row_count,
        "bytes": result.path.stat().st_size,
        "sha256": result.sha256,
    }


def _operators(node: dict, depth: int = 0):
    """Flatten a DuckDB JSON profile (1.x `children` or 2.x `operator` lists)."""
    kind = node.get("type") or node.get("operator_type") or node.get("operator_name")
    if kind:
        yield {
            "depth": depth,
            "type": kind,
            "seconds": float(node.get("timing", node.get("operator_timing", 0.0)) or 0.0),
            "rows": int(node.get("intermediate_rows", node.get("operator_cardinality", 0)) or 0),
            "extra": node.get("extra_info", {}),
        }
        depth += 1
    for child in node.get("operator", []) + node.get("children", []):
        yield from _operators(child, depth)


def _describe(extra: dict) -> str:
    keys = (
        "Join Type",
        "Conditions",
        "Table",
        "Function",
        "Groups",
        "Aggregates",
        "Partitions",
        "Orders",
        "Projections",
    )
    parts = []
    for key in keys:
        if key in extra and extra[key]:
            value = extra[key]
            text = ", ".join(value) if isinstance(value, list) else str(value)
            parts.append(f"{key}: {text}")
    text = re.sub(r"[\x00-\x1f]", lambda m: repr(m.group())[1:-1], "; ".join(parts))
    return text[:300]


def landing_relation(raw_dir: Path, source: str) -> str:
    """A subquery equal to the landing view `landing.<source>` over every file (the view in a
    finished warehouse holds only the files not loaded yet, usually none)."""
    import duckdb

    parts = []
    for query_source, files, _sql in raw_scan_queries(raw_dir):
        if query_source != source:
            continue
        quoted = ", ".join(_quote_str(str(f)) for f in files)
        if files[0].suffix == ".parquet":
            reader = f"read_parquet([{quoted}], union_by_name = true, filename = true)"
            describe = f"describe select * from read_parquet({_quote_str(str(files[0]))})"
            names = [row[0] for row in duckdb.sql(describe).fetchall()]
        else:
            with open(files[0], newline="", encoding="utf-8") as handle:
                names = next(csv.reader(handle))
            columns = ", ".join(f"{_quote_str(name)}: 'VARCHAR'" for name in names)
            reader = (
                f"read_csv([{quoted}], header = true, auto_detect = false, "
                f"columns = {{{columns}}}, delim = ',', quote = '\"', escape = '\"', "
                f"encoding = 'utf-8', filename = true)"
            )
        selected = ", ".join(
            f"cast({_quote_ident(n)} as varchar) as {_quote_ident(n.strip().lower())}"
            for n in names
        )
        parts.append(f"select {selected}, cast(filename as varchar) as source_file from {reader}")
    return "(" + " union all by name ".join(parts) + ")"


def explain(args: argparse.Namespace) -> dict:
    """EXPLAIN ANALYZE each model's compiled SELECT on the built warehouse with DuckDB's JSON
    profiler: total time, peak buffer memory, and the operators that took the time. A base
    model's landing view is replaced by a read of every landing file, so its profile is
    that of a full refresh."""
    import duckdb

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # The databases as a build names them (dbt_project/profiles.yml): the state and the
    # published marts, attached read-only to an in-memory database.
    con = duckdb.connect(":memory:")
    warehouse = Path(args.warehouse)
    state = warehouse.with_name(warehouse.name.removesuffix(".duckdb") + ".state.duckdb")
    con.execute("attach ? as state (read_only)", [str(state)])
    con.execute("attach ? as published (read_only)", [str(warehouse)])
    con.execute(f"set threads = {int(args.threads)}")
    con.execute(f"set memory_limit = {_quote_str(args.memory_limit)}")
    con.execute("set TimeZone = 'UTC'")
    con.execute("pragma enable_profiling = 'json'")
    models = {}
    for model in args.models:
        matches = sorted(Path(args.compiled_dir).rglob(f"{model}.sql"))
        if not matches:
            models[model] = {"error": "compiled SQL not found"}
            continue
        sql = matches[0].read_text()
        if model.startswith("base_messaging__") and args.raw_dir:
            source = model.removeprefix("base_messaging__")
            pattern = re.compile(rf'"[^"]+"\."landing"\."{source}"')
            relation = landing_relation(Path(args.raw_dir), source)
            sql = pattern.sub(lambda _match, rel=relation: rel, sql)
        clock = time.perf_counter()
        profile = json.loads(con.execute(f"explain analyze {sql}").fetchall()[0][1])
        seconds = time.perf_counter() - clock
        operators = [
            op
            for op in _operators(profile)
            if op["type"] not in ("EXPLAIN_ANALYZE", "RESULT_COLLECTOR", "QUERY")
        ]
        rows = next((op["rows"] for op in operators if op["rows"]), 0)
        top = sorted(operators, key=lambda op: -op["seconds"])[: args.top]
        tree = [
            f"{'  ' * op['depth']}{op['type']}  {op['seconds']:.3f} s  {op['rows']:,} rows"
            + (f"  [{_describe(op['extra'])}]" if _describe(op["extra"]) else "")
            for op in operators
        ]
        (out / f"{model}.plan.txt").write_text("\n".join(tree) + "\n")
        (out / f"{model}.profile.json").write_text(json.dumps(profile, indent=1))
        models[model] = {
            "seconds": round(seconds, 3),
            "rows": rows,
            "peak_buffer_memory": profile.get("system", {}).get("peak_buffer_memory"),
            "top_operators": [
                {
                    "type": op["type"],
                    "seconds": round(op["seconds"], 3),
                    "rows": op["rows"],
                    "detail": _describe(op["extra"]),
                }
                for op in top
            ],
        }
    return {"models": models}


def rusage(args: argparse.Namespace) -> int:
    """Fallback when /usr/bin/time is missing: run CMD, record the peak RSS of the largest
    process among its waited-for descendants and CPU time."""
    clock = time.perf_counter()
    returncode = subprocess.call(args.command)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    Path(args.out).write_text(
        json.dumps(
            {
                "returncode": returncode,
                "wall_seconds": time.perf_counter() - clock,
                "user_seconds": usage.ru_utime,
                "system_seconds": usage.ru_stime,
                "max_rss_bytes": usage.ru_maxrss * 1024,  # kilobytes on Linux
            }
        )
    )
    return returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="benchmark steps")
    commands = parser.add_subparsers(dest="step", required=True)

    scan = commands.add_parser("raw-scan")
    scan.add_argument("--raw-dir", required=True)
    scan.add_argument("--threads", type=int, default=2)
    scan.add_argument("--memory-limit", default="3GB")

    exp = commands.add_parser("export")
    exp.add_argument("--as-of", required=True)

    plans = commands.add_parser("explain")
    plans.add_argument("--warehouse", required=True)
    plans.add_argument("--raw-dir", help="landing zone, to profile base models over it")
    plans.add_argument("--compiled-dir", required=True)
    plans.add_argument("--out", required=True)
    plans.add_argument("--threads", type=int, default=2)
    plans.add_argument("--memory-limit", default="3GB")
    plans.add_argument("--top", type=int, default=5)
    plans.add_argument("models", nargs="+")

    wrap = commands.add_parser("rusage")
    wrap.add_argument("--out", required=True)
    wrap.add_argument("command", nargs=argparse.REMAINDER)

    args = parser.parse_args(argv)
    if args.step == "rusage":
        if args.command and args.command[0] == "--":
            args.command = args.command[1:]
        return rusage(args)
    result = {"raw-scan": raw_scan, "export": export, "explain": explain}[args.step](args)
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    raise SystemExit(main())
