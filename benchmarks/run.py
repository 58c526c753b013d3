"""Benchmark: the warehouse against the machine's limit and against pandas, on one data set.

    python -m benchmarks.run --scale small|medium|large [--workdir DIR] [--keep] [--update-doc]
    python -m benchmarks.run --update-doc        # only regenerate docs/BENCHMARKS.md

One run generates N days of synthetic data ending on END, holds END's daily files back, and
measures, each step in a fresh process (wall time, CPU time, peak memory):

1. generator          `optout generate` of the whole scale;
2. raw scan           DuckDB reads every column of every landing file once (threads=2):
                      the machine's limit for this work;
3. full build         `optout build --full-refresh` on the N-1 days;
4. pandas peer        the four core marts in plain pandas on the same N-1 days
                      (benchmarks/pandas_peer.py), where it fits in memory, and a check
                      that its numbers equal the marts';
5. incremental build  `optout build` after END's files are added;
6. export             `optout export --range last_month --as-of END` (the CLI, and
                      write_export timed inside the process);
then profiles the window-join marts and the slowest model with DuckDB's profiler.

Raw numbers go to benchmarks/results/<scale>.json; --update-doc regenerates
docs/BENCHMARKS.md from every results JSON present.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from benchmarks.report import _peak, print_summary, update_doc
from benchmarks.scales import (
    BYTES_PER_USER_DAY,
    DEFAULT_END,
    DISK_FACTOR,
    DOC,
    PANDAS_BYTES_FACTOR,
    PANDAS_CAP_GB,
    REPO,
    RESULTS_DIR,
    SCALES,
    SOURCES,
    WINDOW_JOIN_MODELS,
)

DBT_PROJECT = REPO / "dbt_project"

# ==============================================================================================
# Measuring one step
# ==============================================================================================

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _tree_rss(root: int) -> int:
    """Sum of the resident set sizes of `root` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm") as handle:
                total += int(handle.read().split()[1]) * PAGE_SIZE
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(children.get(pid, []))
    return total


def _parse_time_v(text: str) -> dict:
    """The fields of `/usr/bin/time -v` output the benchmark uses."""
    fields = {}
    for line in text.splitlines():
        key, _, value = line.strip().rpartition(": ")
        fields[key] = value
    if "User time (seconds)" not in fields:  # killed before time could report
        return {"user_seconds": None, "system_seconds": None, "max_rss_bytes": None}
    return {
        "user_seconds": float(fields["User time (seconds)"]),
        "system_seconds": float(fields["System time (seconds)"]),
        "max_rss_bytes": int(fields["Maximum resident set size (kbytes)"]) * 1024,
    }


def _machine_busy_ticks() -> int | None:
    """Clock ticks all CPUs spent busy since boot, from /proc/stat (Linux only)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(ticks) - ticks[3] - ticks[4]  # not idle, not waiting for I/O


def measure(
    name: str,
    command: list[str],
    env: dict[str, str],
    logs: Path,
    memory_cap: int | None = None,
    also: Callable[[], list[int]] | None = None,
) -> dict:
    """Run `command` in a fresh process group; wall and CPU time, peak memory.

    max_rss_bytes: the peak RSS of the largest single process of the step (getrusage of
    the waited-for descendants, via /usr/bin/time -v or a Python wrapper).
    peak_tree_rss_bytes: the peak of the summed RSS of the whole process tree, sampled
    every 0.2 s (a build is `optout` plus the `dbt` process it starts).
    memory_cap: the step runs under RLIMIT_AS (ulimit -v) of that many bytes and is
    killed if its tree RSS passes it; either way it is reported as did_not_fit.
    also: the roots of other process trees the step uses, counted in its peak (a Spark
    cluster's daemons and their executors); their CPU time is not in cpu_seconds.
    """
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    usage_file = Path(tempfile.mkstemp(prefix=f"{name}.", suffix=".usage", dir=logs)[1])
    if Path("/usr/bin/time").exists():
        wrapped = ["/usr/bin/time", "-v", "-o", str(usage_file), *command]
    else:
        wrapped = [sys.executable, "-m", "benchmarks.steps", "rusage", "--out", str(usage_file)]
        wrapped += ["--", *command]

    def limit() -> None:
        if memory_cap:
            resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))

    peak = {"tree": 0, "killed": False}
    busy_before = _machine_busy_ticks()
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            wrapped,
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=limit if memory_cap else None,
        )
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                rss = _tree_rss(process.pid) + sum(map(_tree_rss, also() if also else []))
                peak["tree"] = max(peak["tree"], rss)
                if memory_cap and rss > memory_cap and not peak["killed"]:
                    peak["killed"] = True
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        returncode = process.wait()
        done.set()
        sampler.join()
    wall = time.perf_counter() - started
    busy_after = _machine_busy_ticks()
    busy = (
        round((busy_after - busy_before) / os.sysconf("SC_CLK_TCK"), 1)
        if busy_before is not None and busy_after is not None
        else None
    )

    usage_text = usage_file.read_text() if usage_file.exists() else ""
    usage_file.unlink(missing_ok=True)
    if usage_text.lstrip().startswith("{"):
        usage = json.loads(usage_text)
        usage.pop("wall_seconds", None)
        usage.pop("returncode", None)
    else:
        usage = _parse_time_v(usage_text)
    output = log_path.read_text(errors="replace")
    result = {
        "command": " ".join(command),
        "returncode": returncode,
        "wall_seconds": round(wall, 3),
        "cpu_seconds": (
            round(usage["user_seconds"] + usage["system_seconds"], 3)
            if usage["user_seconds"] is not None
            else None
        ),
        "max_rss_bytes": usage["max_rss_bytes"],
        "peak_tree_rss_bytes": peak["tree"],
        # Every process's CPU (a cluster's JVMs too): how busy the machine's cores were.
        "machine_busy_core_seconds": busy,
        "machine_busy_share": round(busy / (wall * (os.cpu_count() or 1)), 3) if busy else None,
        "log": str(log_path),
    }
    if memory_cap:
        result["memory_cap_bytes"] = memory_cap
    lowered = output.lower()
    memory_error = any(
        marker in lowered
        for marker in (
            "memoryerror",
            "unable to allocate",
            "out of memory",
            "outofmemory",
            "bad_alloc",
            "cannot allocate memory",
        )
    )
    if returncode != 0 and (peak["killed"] or memory_error or returncode == -signal.SIGKILL):
        result["status"] = "did_not_fit"
    elif returncode != 0:
        result["status"] = "failed"
        result["output_tail"] = output[-3000:]
    else:
        result["status"] = "ok"
    for line in reversed(output.splitlines()):  # the step's own JSON line, if it prints one
        if line.startswith("{") and line.endswith("}"):
            with contextlib.suppress(json.JSONDecodeError):
                result["report"] = json.loads(line)
                break
    print(
        f"  {name:<18} {result['status']:<12} {wall:9.2f} s  "
        f"peak {_gb(max(result['max_rss_bytes'] or 0, peak['tree'])):>8}",
        flush=True,
    )
    return result


def measure_repeated(
    name: str,
    command: list[str],
    env: dict[str, str],
    logs: Path,
    repeat: int,
    prepare=None,
    memory_cap: int | None = None,
) -> dict:
    """`measure` `repeat` times (calling `prepare()`, untimed, before each run) and keep the
    run with the median wall time; `wall_seconds_runs` lists them all."""
    runs = []
    for attempt in range(repeat):
        if prepare is not None:
            prepare()
        label = name if repeat == 1 else f"{name}.{attempt + 1}"
        runs.append(measure(label, command, env, logs, memory_cap=memory_cap))
        if runs[-1]["status"] != "ok":
            return runs[-1]
    ordered = sorted(runs, key=lambda run: run["wall_seconds"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    if repeat > 1:
        chosen["wall_seconds_runs"] = [run["wall_seconds"] for run in runs]
        chosen["max_rss_bytes"] = max(run["max_rss_bytes"] or 0 for run in runs)
        chosen["peak_tree_rss_bytes"] = max(run["peak_tree_rss_bytes"] for run in runs)
    return chosen


def _require_ok(name: str, step: dict) -> None:
    if step["status"] != "ok":
        tail = step.get("output_tail", "")
        raise SystemExit(f"benchmark step {name} {step['status']} (log: {step['log']})\n{tail}")


# ==============================================================================================
# Environment, machine, versions
# ==============================================================================================


def optout_command() -> list[str]:
    script = Path(sys.executable).parent / "optout"
    return [str(script)] if script.exists() else [sys.executable, "-m", "orchestration.cli"]


def dbt_command() -> str:
    script = Path(sys.executable).parent / "dbt"
    return str(script) if script.exists() else "dbt"


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    total = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "memory_bytes": int(total.group(1)) * 1024 if total else None,
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "kernel": f"{platform.system()} {platform.release()}",
    }


CODE_PATHS = ("dbt_project", "orchestration", "pyproject.toml")


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.rstrip("\n")
    except (OSError, subprocess.CalledProcessError):
        return ""


def code_state() -> dict:
    """The commit measured, and uncommitted changes to the code a build runs."""
    changed = [line[3:] for line in _git("status", "--porcelain", "--", *CODE_PATHS).splitlines()]
    digest = hashlib.sha256(_git("diff", "HEAD", "--", *CODE_PATHS).encode())
    for path in changed:  # untracked files are not in the diff
        file = REPO / path
        if file.is_file():
            digest.update(file.read_bytes())
    return {
        "commit": _git("rev-parse", "--short", "HEAD") or None,
        "uncommitted": changed,
        "uncommitted_sha256": digest.hexdigest() if changed else None,
    }


def code_changes(before: dict, after: dict) -> list[str]:
    """Files of CODE_PATHS that changed between two code_state() snapshots."""
    files = set()
    if before["commit"] != after["commit"]:
        diff = _git("diff", "--name-only", before["commit"], after["commit"], "--", *CODE_PATHS)
        files.update(diff.splitlines())
    if before["uncommitted_sha256"] != after["uncommitted_sha256"]:
        files.update(before["uncommitted"])
        files.update(after["uncommitted"])
    return sorted(files)


def versions() -> dict:
    found = {"python": platform.python_version()}
    for package in ("duckdb", "dbt-core", "dbt-duckdb", "pandas", "numpy", "pyarrow"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def step_env(workdir: Path, threads: int, memory_limit: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "OPTOUT_RAW_DIR": str(workdir / "raw"),
            "OPTOUT_WAREHOUSE": str(workdir / "warehouse.duckdb"),
            "OPTOUT_EXPORT_DIR": str(workdir / "exports"),
            "OPTOUT_THREADS": str(threads),
            "OPTOUT_MEMORY_LIMIT": memory_limit,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        }
    )
    return env


def _gb(value: float | None) -> str:
    return "–" if not value else f"{value / 1024**3:.2f} GB"


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


# ==============================================================================================
# Data set: generate, hold the last day back
# ==============================================================================================


def held_back_files(raw: Path, end: str) -> list[Path]:
    return sorted(
        path
        for source in SOURCES
        for path in (raw / source).glob(f"*_{end}.*")
        if path.suffix in (".csv", ".parquet")
    )


def move_files(files: list[Path], source_root: Path, target_root: Path) -> list[Path]:
    moved = []
    for path in files:
        target = target_root / path.relative_to(source_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        moved.append(target)
    return moved


def parse_generator_counts(text: str) -> dict[str, int]:
    counts = {}
    for line in text.splitlines():
        match = re.match(r"\s*(\w+):\s+([\d,]+) rows", line)
        if match:
            counts[match.group(1)] = int(match.group(2).replace(",", ""))
    return counts


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def materializations(target_dir: Path) -> dict[str, list[str]]:
    """Model names per materialization, from dbt's manifest of the build."""
    path = target_dir / "manifest.json"
    if not path.exists():
        return {}
    found: dict[str, list[str]] = {}
    for node in json.loads(path.read_text()).get("nodes", {}).values():
        if node.get("resource_type") == "model":
            kind = node.get("config", {}).get("materialized", "?")
            found.setdefault(kind, []).append(node["name"])
    return {kind: sorted(names) for kind, names in sorted(found.items())}


def dbt_model_timings(target_dir: Path, top: int = 8) -> dict:
    """dbt's own elapsed time and its slowest models, from run_results.json."""
    path = target_dir / "run_results.json"
    if not path.exists():
        return {}
    results = json.loads(path.read_text())
    rows = results.get("results", [])
    models = [r for r in rows if r["unique_id"].startswith("model.")]
    tests = [r for r in rows if r["unique_id"].startswith("test.")]
    slowest = sorted(models, key=lambda r: -r["execution_time"])[:top]
    return {
        "dbt_elapsed_seconds": round(results.get("elapsed_time", 0.0), 3),
        "model_seconds": round(sum(r["execution_time"] for r in models), 3),
        "test_seconds": round(sum(r["execution_time"] for r in tests), 3),
        "models": len(models),
        "tests": len(tests),
        "slowest_models": [
            {"model": r["unique_id"].split(".")[-1], "seconds": round(r["execution_time"], 3)}
            for r in slowest
        ],
    }


# ==============================================================================================
# The check: pandas peer == marts
# ==============================================================================================

CHECK_KEYS = {
    "fct_optouts": ["optout_id"],
    "fct_push_before_optout_7d": ["optout_id"],
    "fct_last_campaign": ["optout_id"],
    "fct_optout_retention": ["optout_id", "window_days"],
}


def _normalise(values, column: str):
    import pandas as pd

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    if column.endswith("_date"):
        values = pd.to_datetime(values)
        text = values.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    else:
        text = values.map(lambda v: None if pd.isna(v) else str(v))
    return text.astype(object).where(values.notna(), None)


def _aggregates(mart: str, frame) -> dict[str, int]:
    """Counts and sums that summarise a mart (reported in docs/BENCHMARKS.md)."""
    out = {"rows": len(frame), "distinct users": int(frame["user_id"].nunique())}
    if mart == "fct_optouts":
        out["with keyword"] = int(frame["keyword"].notna().sum())
        out["with reason"] = int(frame["reason"].notna().sum())
        out["channel = all"] = int((frame["channel"] == "all").sum())
    elif mart == "fct_push_before_optout_7d":
        out["sum push_count_7d"] = int(frame["push_count_7d"].sum())
        out["sum marketing_push_count_7d"] = int(frame["marketing_push_count_7d"].sum())
    elif mart == "fct_last_campaign":
        out["with last campaign"] = int(frame["last_campaign_id"].notna().sum())
        out["with campaign name"] = int(frame["last_campaign_name"].notna().sum())
    elif mart == "fct_optout_retention":
        out["sum events_before"] = int(frame["events_before"].sum())
        out["sum events_after"] = int(frame["events_after"].sum())
        for status in ("retain", "churn", "pending"):
            out[status] = int((frame["retention_status"] == status).sum())
    return out


def compare_with_marts(warehouse: Path, pandas_dir: Path) -> dict:
    """Row-by-row comparison of the pandas peer's marts with the warehouse's."""
    import duckdb
    import pandas as pd

    report: dict = {"ok": True, "marts": {}}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for mart, keys in CHECK_KEYS.items():
            ours = pd.read_parquet(pandas_dir / f"{mart}.parquet")
            columns = list(ours.columns)
            theirs = con.execute(
                f"select {', '.join(columns)} from marts.{mart}"  # noqa: S608 - fixed names
            ).df()
            entry = {
                "warehouse": _aggregates(mart, theirs),
                "pandas": _aggregates(mart, ours),
            }
            left = theirs.assign(**{c: _normalise(theirs[c], c) for c in columns})
            right = ours.assign(**{c: _normalise(ours[c], c) for c in columns})
            merged = left.merge(
                right, on=keys, how="outer", suffixes=("_wh", "_pd"), indicator=True
            )
            entry["only_in_warehouse"] = int((merged["_merge"] == "left_only").sum())
            entry["only_in_pandas"] = int((merged["_merge"] == "right_only").sum())
            both = merged[merged["_merge"] == "both"]
            mismatches, examples = {}, {}
            for column in columns:
                if column in keys:
                    continue
                a, b = both[f"{column}_wh"], both[f"{column}_pd"]
                differ = ~((a == b) | (a.isna() & b.isna()))
                if differ.any():
                    mismatches[column] = int(differ.sum())
                    sample = both.loc[differ, [*keys, f"{column}_wh", f"{column}_pd"]].head(3)
                    examples[column] = sample.astype(str).to_dict(orient="records")
            entry["mismatched_columns"] = mismatches
            if examples:
                entry["examples"] = examples
            entry["ok"] = (
                not mismatches and not entry["only_in_warehouse"] and not (entry["only_in_pandas"])
            )
            report["ok"] = report["ok"] and entry["ok"]
            report["marts"][mart] = entry
    return report


# ==============================================================================================
# One scale
# ==============================================================================================


def run_scale(args: argparse.Namespace) -> dict:
    scale = SCALES[args.scale]
    workdir = (args.workdir or REPO / "benchmarks" / "data" / args.scale).resolve()
    raw, held, logs = workdir / "raw", workdir / "held_back", workdir / "logs"
    warehouse = workdir / "warehouse.duckdb"
    state = workdir / "warehouse.state.duckdb"  # orchestration.build.WarehouseFiles
    build_record = workdir / "warehouse.duckdb.build.json"
    target_dir = workdir / ".dbt_target" / warehouse.stem
    notes: list[str] = []
    users, days = scale.users, scale.days

    # Disk: the largest user count that fits, for `large` only.
    free = shutil.disk_usage(_existing_parent(workdir)).free
    if workdir.exists():
        free += dir_bytes(workdir)  # a previous run's files are removed first
    needed = users * days * BYTES_PER_USER_DAY * DISK_FACTOR
    if needed > free:
        if args.scale != "large":
            raise SystemExit(
                f"{args.scale} needs about {_gb(needed)} of disk under {workdir}, "
                f"{_gb(free)} free; use --workdir on a bigger disk"
            )
        fitting = int(free * 0.9 / (days * BYTES_PER_USER_DAY * DISK_FACTOR)) // 1000 * 1000
        if fitting < SCALES["medium"].users:
            raise SystemExit(f"large does not fit: {_gb(free)} free, {_gb(needed)} needed")
        notes.append(
            f"large reduced from {users:,} to {fitting:,} users: {_gb(free)} of disk free, "
            f"{_gb(needed)} needed for {users:,}"
        )
        users = fitting

    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    env = step_env(workdir, args.threads, args.memory_limit)
    optout = optout_command()
    py = sys.executable
    end = args.end_date
    steps: dict[str, dict] = {}
    load_before = os.getloadavg()
    code_before = code_state()
    print(f"benchmark {args.scale}: {users:,} users x {days} days ending {end} in {workdir}")

    # 1. Generator (the whole scale, END included).
    steps["generator"] = measure(
        "generator",
        [*optout, "generate", "--out", str(raw), "--users", str(users), "--days", str(days)]
        # --clean: the pandas peer does no validation, so its marts compare only on clean data.
        + ["--seed", str(args.seed), "--end-date", end, "--clean"],
        env,
        logs,
    )
    _require_ok("generator", steps["generator"])
    rows = parse_generator_counts(Path(steps["generator"]["log"]).read_text())
    for source in ("sends", "events"):
        nominal = getattr(scale, source)
        if nominal and not 0.85 <= rows.get(source, 0) * scale.users / (nominal * users) <= 1.15:
            notes.append(
                f"the generator made {rows.get(source, 0):,} {source}, not about "
                f"{nominal * users // scale.users:,}"
            )
    raw_bytes = dir_bytes(raw)

    # Hold END's daily files back for the incremental build.
    held_files = move_files(held_back_files(raw, end), raw, held)
    if not held_files:
        raise SystemExit(f"no daily files *_{end}.* under {raw}: is --end-date right?")

    # 2. Raw scan of the files the full build reads.
    steps["raw_scan"] = measure_repeated(
        "raw_scan",
        [py, "-m", "benchmarks.steps", "raw-scan", "--raw-dir", str(raw)]
        + ["--threads", str(args.threads), "--memory-limit", args.memory_limit],
        env,
        logs,
        args.repeat,
    )
    _require_ok("raw_scan", steps["raw_scan"])

    # 3. Full build, each run from nothing (no warehouse, no dbt target folder).
    def fresh() -> None:
        for path in (warehouse, state, state.with_name(state.name + ".wal"), build_record):
            path.unlink(missing_ok=True)
        shutil.rmtree(target_dir, ignore_errors=True)

    steps["full_build"] = measure_repeated(
        "full_build", [*optout, "build", "--full-refresh"], env, logs, args.repeat, fresh
    )
    _require_ok("full_build", steps["full_build"])
    steps["full_build"]["dbt"] = dbt_model_timings(target_dir)
    steps["full_build"]["warehouse_bytes"] = warehouse.stat().st_size
    steps["full_build"]["state_bytes"] = state.stat().st_size
    # Copies to start each incremental run from the same point (the benchmark's, not a build's).
    saved = workdir / "after_full_build"
    saved.mkdir()
    for path in (warehouse, state, build_record):
        shutil.copy2(path, saved / path.name)
    # The SQL of the full refresh (incremental models compile differently later), to profile.
    full_compiled = workdir / "compiled_full_build"
    shutil.copytree(target_dir / "compiled", full_compiled)

    # 4. Pandas peer on the same files, where it fits.
    checks: dict[str, dict] = {}
    scanned_bytes = sum(s["bytes"] for s in steps["raw_scan"]["report"]["sources"].values())
    available = _mem_available()
    cap = int(min(args.pandas_cap_gb * 1024**3, available * 0.9 if available else 1e18))
    estimate = int(scanned_bytes * PANDAS_BYTES_FACTOR)
    if args.skip_pandas:
        steps["pandas_peer"] = {"status": "skipped", "reason": "--skip-pandas"}
    elif estimate > cap:
        steps["pandas_peer"] = {
            "status": "skipped",
            "reason": f"estimated peak {_gb(estimate)} > cap {_gb(cap)}",
        }
    else:
        pandas_out = workdir / "pandas_full_build"
        steps["pandas_peer"] = measure_repeated(
            "pandas_peer",
            [py, "-m", "benchmarks.pandas_peer", "--raw-dir", str(raw), "--out", str(pandas_out)],
            env,
            logs,
            args.repeat,
            memory_cap=cap,
        )
        steps["pandas_peer"]["estimated_peak_bytes"] = estimate
        if steps["pandas_peer"]["status"] == "ok":
            checks["after_full_build"] = compare_with_marts(warehouse, pandas_out)
    print(f"  pandas peer: {steps['pandas_peer']['status']}")

    # 5. Incremental build with END's files.
    restored = move_files(held_files, held, raw)

    def after_full_build() -> None:  # the new files are new again
        for path in (warehouse, state, build_record):
            shutil.copy2(saved / path.name, path)

    steps["incremental_build"] = measure_repeated(
        "incremental_build", [*optout, "build"], env, logs, args.repeat, after_full_build
    )
    _require_ok("incremental_build", steps["incremental_build"])
    steps["incremental_build"]["dbt"] = dbt_model_timings(target_dir)
    steps["incremental_build"]["warehouse_bytes"] = warehouse.stat().st_size
    steps["incremental_build"]["state_bytes"] = state.stat().st_size
    steps["incremental_build"]["added_files"] = len(restored)
    steps["incremental_build"]["added_bytes"] = sum(f.stat().st_size for f in restored)
    steps["incremental_build"]["materializations"] = materializations(target_dir)

    # The same command with no new file: the build sees nothing new and publishes nothing.
    steps["noop_build"] = measure_repeated("noop_build", [*optout, "build"], env, logs, args.repeat)
    _require_ok("noop_build", steps["noop_build"])
    steps["noop_build"]["warehouse_bytes"] = warehouse.stat().st_size
    # The floor of a build that runs dbt: --force with no new file (every model and test).
    steps["forced_noop_build"] = measure_repeated(
        "forced_noop_build", [*optout, "build", "--force"], env, logs, args.repeat
    )
    _require_ok("forced_noop_build", steps["forced_noop_build"])
    steps["forced_noop_build"]["dbt"] = dbt_model_timings(target_dir)

    # The same no-op build with dbt alone (no optout wrapper, no copy of the warehouse): the
    # difference is the `optout build` wrapper's own cost. A `dbt parse` first (a full parse:
    # what a fresh full build pays) leaves the partial-parse state the no-op build reuses.
    direct_target = workdir / ".dbt_target_direct"
    dbt_args = ["--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT)]
    dbt_args += ["--target-path", str(direct_target), "--log-path", str(direct_target)]
    steps["dbt_parse"] = measure("dbt_parse", [dbt_command(), "parse", *dbt_args], env, logs)
    _require_ok("dbt_parse", steps["dbt_parse"])
    steps["dbt_noop_build"] = measure_repeated(
        "dbt_noop_build", [dbt_command(), "build", *dbt_args], env, logs, args.repeat
    )
    _require_ok("dbt_noop_build", steps["dbt_noop_build"])
    steps["dbt_noop_build"]["dbt"] = dbt_model_timings(direct_target)

    # 6. Last Month export: the CLI as a user runs it, and write_export inside a process.
    steps["export"] = measure_repeated(
        "export",
        [*optout, "export", "--range", "last_month", "--as-of", end],
        env,
        logs,
        args.repeat,
    )
    _require_ok("export", steps["export"])
    export_path = Path(Path(steps["export"]["log"]).read_text().strip().splitlines()[-1])
    steps["export"]["file_bytes"] = export_path.stat().st_size if export_path.exists() else None
    steps["export_in_process"] = measure_repeated(
        "export_in_process",
        [py, "-m", "benchmarks.steps", "export", "--as-of", end],
        env,
        logs,
        args.repeat,
    )
    _require_ok("export_in_process", steps["export_in_process"])

    # The pandas peer again on all N days, against the incremental build's marts.
    if args.scale == "small" and steps["pandas_peer"].get("status") == "ok":
        pandas_all = workdir / "pandas_incremental_build"
        again = measure(
            "pandas_peer_all_days",
            [py, "-m", "benchmarks.pandas_peer", "--raw-dir", str(raw), "--out", str(pandas_all)],
            env,
            logs,
            memory_cap=cap,
        )
        if again["status"] == "ok":
            checks["after_incremental_build"] = compare_with_marts(warehouse, pandas_all)

    # Profiles: the window joins, and the slowest models of the full build (a base model
    # over every landing file, as in a full refresh).
    profiled = list(WINDOW_JOIN_MODELS)
    slowest = [m["model"] for m in steps["full_build"]["dbt"].get("slowest_models", [])]
    for model in slowest[:3]:
        if model not in profiled:
            profiled.append(model)
    plans = measure(
        "profile_models",
        [py, "-m", "benchmarks.steps", "explain", "--warehouse", str(warehouse)]
        + ["--raw-dir", str(raw)]
        + ["--compiled-dir", str(full_compiled), "--out", str(workdir / "plans")]
        + ["--threads", str(args.threads), "--memory-limit", args.memory_limit, *profiled],
        env,
        logs,
    )

    result = {
        "scale": args.scale,
        "scale_note": scale.note,
        "users": users,
        "days": days,
        "end_date": end,
        "seed": args.seed,
        "repeat": args.repeat,
        "threads": args.threads,
        "memory_limit": args.memory_limit,
        "rows": rows,
        "raw_bytes": raw_bytes,
        "raw_bytes_full_build": scanned_bytes,
        "steps": steps,
        "ratios": ratios(steps),
        "checks": checks,
        "profiles": plans.get("report", {}).get("models", {}),
        "notes": notes,
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:]),
        "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        "code": code_before,
        "machine": machine(),
        "versions": versions(),
    }
    changed = code_changes(code_before, code_state())
    if changed:
        notes.append(
            "these files of the project changed while the benchmark ran (commits or edits by "
            "others); rerun if a measured step uses them: " + ", ".join(changed)
        )
    result["steps"] = _strip_paths(steps, workdir)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{args.scale}.json"
    out.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    print(f"results: {out.relative_to(REPO)}")

    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _strip_paths(value, workdir: Path):
    """Keep the results JSON free of this machine's paths."""
    if isinstance(value, dict):
        return {k: _strip_paths(v, workdir) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_paths(v, workdir) for v in value]
    if isinstance(value, str):
        value = value.replace(str(workdir), "$WORKDIR").replace(sys.executable, "python")
        return value.replace(str(Path(sys.executable).parent) + os.sep, "")
    return value


def _mem_available() -> int | None:
    with contextlib.suppress(OSError):
        match = re.search(r"MemAvailable:\s+(\d+) kB", Path("/proc/meminfo").read_text())
        if match:
            return int(match.group(1)) * 1024
    return None


def ratios(steps: dict) -> dict:
    scan = steps["raw_scan"]["report"]["seconds"]
    full = steps["full_build"]["wall_seconds"]
    pandas_step = steps.get("pandas_peer", {})
    return {
        "full_build_per_raw_scan": round(full / scan, 2) if scan else None,
        "incremental_per_full_build": round(steps["incremental_build"]["wall_seconds"] / full, 4),
        "pandas_per_full_build": (
            round(pandas_step["wall_seconds"] / full, 3)
            if pandas_step.get("status") == "ok"
            else None
        ),
        "full_build_per_pandas": (
            round(full / pandas_step["wall_seconds"], 3)
            if pandas_step.get("status") == "ok"
            else None
        ),
        "incremental_seconds": steps["incremental_build"]["wall_seconds"],
        "noop_seconds": steps["noop_build"]["wall_seconds"],
        "forced_noop_seconds": steps.get("forced_noop_build", {}).get("wall_seconds"),
        "peak_memory_bytes": max(
            _peak(steps[name]) for name in ("full_build", "incremental_build", "export")
        ),
    }


# ==============================================================================================
# CLI
# ==============================================================================================


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--scale", choices=list(SCALES))
    parser.add_argument("--workdir", type=Path, help="default: benchmarks/data/<scale>")
    parser.add_argument("--keep", action="store_true", help="keep the data and warehouse")
    parser.add_argument("--update-doc", action="store_true", help="regenerate the doc")
    parser.add_argument("--end-date", default=DEFAULT_END, help=f"default {DEFAULT_END}")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GB")
    parser.add_argument("--pandas-cap-gb", type=float, default=PANDAS_CAP_GB)
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each timed step N times and keep the median (on a busy machine)",
    )
    args = parser.parse_args(argv)
    if args.scale is None and not args.update_doc:
        parser.error("give --scale (and/or --update-doc)")
    dt.date.fromisoformat(args.end_date)

    status = 0
    if args.scale:
        result = run_scale(args)
        print_summary(result)
        failed = [phase for phase, check in result["checks"].items() if not check["ok"]]
        if failed:
            print(f"pandas peer and marts differ ({', '.join(failed)}): see {RESULTS_DIR}")
            status = 1
    if args.update_doc:
        update_doc()
        print(f"updated {DOC.relative_to(REPO)}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
