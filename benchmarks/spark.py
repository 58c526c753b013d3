"""Benchmark: the same data on DuckDB and on a Spark standalone cluster through Thrift.

    python -m benchmarks.spark --scale small|medium [--workers 1] [--workdir DIR]
        [--method thrift|session] [--driver-memory 3g] [--update-doc]

Generates N days ending on END (as benchmarks.run does, same seed), holds END's daily files
back, starts a standalone cluster on this machine (orchestration/lib/spark_cluster.py: a
Master, `--workers` Workers sharing the machine's cores, the Thrift server; `--method
session` measures a local Spark inside dbt instead) and measures in fresh processes (wall
time, CPU time of the client, peak memory of the client's process tree plus the cluster's
daemons and executors):

1. raw scan         DuckDB reads every column of every landing file once (the machine's
                    limit, as in benchmarks.run);
2. duckdb full      `optout build --full-refresh` (OPTOUT_TARGET=duckdb);
3. spark full       `optout build --full-refresh` (OPTOUT_TARGET=spark);
4. spark increment  `optout build` on Spark after END's files are added;
5. spark export     `optout export --range last_month --as-of END` through the Thrift server;
then checks that both engines' marts hold the same number of rows, table by table.

Results go to benchmarks/results/spark_<scale>.json (one worker) or
spark<N>w_<scale>.json (N workers); --update-doc regenerates docs/BENCHMARKS.md (its Spark
section comes from these files).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from benchmarks.report import update_doc
from benchmarks.run import (
    _require_ok,
    dbt_model_timings,
    held_back_files,
    machine,
    measure,
    move_files,
    optout_command,
    step_env,
    versions,
)
from benchmarks.scales import DEFAULT_END, DOC, REPO, RESULTS_DIR, SCALES, spark_prefix
from orchestration.build import build_target_path
from orchestration.config import Settings
from orchestration.lib import spark_cluster

DBT_THREADS = 2  # OPTOUT_THREADS of both engines' builds, recorded with the results


def mart_row_counts(settings_env: dict[str, str]) -> dict[str, int]:
    """Rows per mart, read through orchestration.marts with the given environment."""
    from orchestration.config import Settings
    from orchestration.contract import hidden_from_spark
    from orchestration.marts import mart_names, read_marts

    settings = Settings.from_env(settings_env)
    counts = {}
    for table in mart_names(settings):  # Spark: the published build's marts
        if table == "fct_landing_files":
            # Spark's file sources never list names starting with . or _ (the generator's
            # record among them; docs/DECISIONS.md): compare the files both engines list.
            files = read_marts(settings, "select source_file from marts.fct_landing_files")[1]
            counts[table] = sum(1 for (f,) in files if not hidden_from_spark(f))
        else:
            counts[table] = read_marts(settings, f"select count(*) from marts.{table}")[1][0][0]
    return counts


def spark_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in ("pyspark", "dbt-spark"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    found["java"] = (java.stderr.splitlines() or [None])[0]
    return found


def run(args: argparse.Namespace) -> dict:
    scale = SCALES[args.scale]
    workdir = (args.workdir or REPO / "benchmarks" / "data" / f"spark_{args.scale}").resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    env = step_env(workdir, DBT_THREADS, "3GB")
    env.update(
        {
            # session: the warehouse; thrift: the build's lock and dbt's artifacts
            "OPTOUT_SPARK_WAREHOUSE": str(workdir / "spark-warehouse"),
            "OPTOUT_SPARK_MASTER": args.master,
            "OPTOUT_SPARK_DRIVER_MEMORY": args.driver_memory,
        }
    )
    cluster = _cluster(args, workdir) if args.method == "thrift" else None
    spark_env = {**env, "OPTOUT_TARGET": "spark", **(cluster.client_env() if cluster else {})}
    duck_env = {**env, "OPTOUT_TARGET": "duckdb"}
    where = f"{args.workers} worker(s)" if cluster else args.master
    print(f"spark benchmark {args.scale} ({where}): {scale.users:,} users x {scale.days} days")
    with contextlib.ExitStack() as stack:
        if cluster is not None:
            spark_cluster.start(cluster)
            stack.callback(spark_cluster.stop, cluster)
        result = _measure_all(args, scale, workdir, spark_env, duck_env, cluster)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def _cluster(args: argparse.Namespace, workdir: Path) -> spark_cluster.Cluster:
    """The machine's cores split between the workers; free loopback ports."""
    cores = max(1, (os.cpu_count() or 2) // args.workers)
    return spark_cluster.Cluster.on_free_ports(
        workdir / "cluster",
        workers=args.workers,
        worker_cores=cores,
        worker_memory=args.worker_memory,
        executor_memory=args.executor_memory,
        driver_memory=args.driver_memory,
    )


def _measure_all(args, scale, workdir, spark_env, duck_env, cluster) -> dict:
    raw, held, logs = workdir / "raw", workdir / "held_back", workdir / "logs"
    optout, end, steps = optout_command(), args.end_date, {}

    def daemons() -> list[int]:
        return [pid for pid in spark_cluster.status(cluster).values() if pid] if cluster else []

    steps["generator"] = measure(
        "generator",
        [*optout, "generate", "--out", str(raw), "--users", str(scale.users)]
        # --clean: the same files as benchmarks.run's (whose raw scan is strict).
        + ["--days", str(scale.days), "--seed", str(args.seed), "--end-date", end, "--clean"],
        duck_env,
        logs,
    )
    _require_ok("generator", steps["generator"])
    held_files = move_files(held_back_files(raw, end), raw, held)

    steps["raw_scan"] = measure(
        "raw_scan",
        [sys.executable, "-m", "benchmarks.steps", "raw-scan", "--raw-dir", str(raw)]
        + ["--threads", "2", "--memory-limit", "3GB"],
        duck_env,
        logs,
    )
    _require_ok("raw_scan", steps["raw_scan"])
    # dbt's time per node of the Spark builds: what of a build is its tests.
    spark_target = build_target_path(Settings.from_env(spark_env))
    for name, step_env_ in (("duckdb_full_build", duck_env), ("spark_full_build", spark_env)):
        also = daemons if step_env_ is spark_env else None
        steps[name] = measure(
            name, [*optout, "build", "--full-refresh"], step_env_, logs, also=also
        )
        _require_ok(name, steps[name])
        print(f"  {name}: {steps[name]['wall_seconds']:.1f} s")
    steps["spark_full_build"]["dbt"] = dbt_model_timings(spark_target)

    move_files(held_files, held, raw)
    steps["spark_incremental_build"] = measure(
        "spark_incremental_build", [*optout, "build"], spark_env, logs, also=daemons
    )
    _require_ok("spark_incremental_build", steps["spark_incremental_build"])
    steps["spark_incremental_build"]["dbt"] = dbt_model_timings(spark_target)
    steps["spark_export"] = measure(
        "spark_export",
        [*optout, "export", "--range", "last_month", "--as-of", end],
        spark_env,
        logs,
        also=daemons,
    )
    _require_ok("spark_export", steps["spark_export"])

    # Same files for DuckDB (incremental too) before comparing the row counts.
    steps["duckdb_incremental_build"] = measure(
        "duckdb_incremental_build", [*optout, "build"], duck_env, logs
    )
    _require_ok("duckdb_incremental_build", steps["duckdb_incremental_build"])
    counts = {"duckdb": mart_row_counts(duck_env), "spark": mart_row_counts(spark_env)}
    differing = sorted(t for t in counts["duckdb"] if counts["duckdb"][t] != counts["spark"].get(t))
    for step in steps.values():  # the report holds ratios, not the machine's paths
        step.pop("log", None)
    result = {
        "kind": "spark",
        "scale": args.scale,
        "users": scale.users,
        "days": scale.days,
        "end_date": end,
        "method": args.method,
        "master": cluster.master_url if cluster else args.master,
        "workers": args.workers if cluster else None,
        "worker_cores": cluster.worker_cores if cluster else None,
        "driver_memory": args.driver_memory,
        "threads": DBT_THREADS,
        "machine": machine(),
        "versions": {**versions(), **spark_versions()},
        "steps": steps,
        "mart_rows": counts,
        "marts_with_different_row_counts": differing,
        "command": f"python -m benchmarks.spark --scale {args.scale} --method {args.method} "
        + (f"--workers {args.workers} " if cluster else f"--master '{args.master}' ")
        + f"--driver-memory {args.driver_memory}",
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    name = spark_prefix(args.workers if cluster else None)
    (RESULTS_DIR / f"{name}{args.scale}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES))
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--method", choices=("thrift", "session"), default="thrift")
    parser.add_argument("--workers", type=int, default=1, help="thrift: cluster workers")
    parser.add_argument("--worker-memory", default="3g")
    parser.add_argument("--executor-memory", default="2g")
    parser.add_argument("--master", default="local[2]", help="session: the local master")
    parser.add_argument("--driver-memory", default="3g", help="the Thrift server's, or dbt's")
    parser.add_argument("--seed", type=int, default=42)  # as benchmarks.run
    parser.add_argument("--end-date", default=DEFAULT_END)
    parser.add_argument("--keep", action="store_true", help="keep the data and warehouses")
    parser.add_argument("--update-doc", action="store_true")
    args = parser.parse_args(argv)
    if args.scale:
        result = run(args)
        s = result["steps"]
        print(
            f"spark full build {s['spark_full_build']['wall_seconds']:.1f} s, duckdb "
            f"{s['duckdb_full_build']['wall_seconds']:.1f} s; differing marts: "
            f"{result['marts_with_different_row_counts'] or 'none'}"
        )
    if args.update_doc:
        update_doc()
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
