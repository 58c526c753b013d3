"""Markdown of the benchmark results: the summary printed by benchmarks/run.py and
docs/BENCHMARKS.md, rendered from benchmarks/results/<scale>.json."""

from __future__ import annotations

import json

from benchmarks.scales import (
    DOC,
    RESULTS_DIR,
    SCALES,
    SOURCES,
    TARGETS,
    spark_prefix,
)


def _peak(step: dict) -> int:
    return max(step.get("max_rss_bytes") or 0, step.get("peak_tree_rss_bytes") or 0)


STEP_LABELS = {
    "generator": "generator (`optout generate`, all N days)",
    "raw_scan": "raw scan (DuckDB, every column, N−1 days)",
    "full_build": "full build (`optout build --full-refresh`, N−1 days)",
    "pandas_peer": "pandas peer (4 core marts, N−1 days)",
    "incremental_build": "incremental build (`optout build`, +1 day)",
    "noop_build": "no-op build (`optout build`, no new file: nothing to build)",
    "forced_noop_build": "forced no-op build (`optout build --force`, no new file)",
    "dbt_parse": "`dbt parse` alone (full parse of the project)",
    "dbt_noop_build": "no-op build with `dbt build` alone (no wrapper)",
    "export": "Last Month export (`optout export`, CLI)",
    "export_in_process": "Last Month export (`write_export` in-process)",
}


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f} s"


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f} ×"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:,.1f} %"


def _mb(value: int | None) -> str:
    if not value:
        return "–"
    if value < 1024**2:
        return f"{value / 1024:,.0f} KB"
    return f"{value / 1024**2:,.0f} MB" if value < 1024**3 else f"{value / 1024**3:,.2f} GB"


def step_table(result: dict) -> list[str]:
    lines = [
        "| step | wall | CPU (user+sys) | peak RSS, largest process | peak RSS, process tree "
        "| notes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, label in STEP_LABELS.items():
        step = result["steps"].get(name)
        if step is None:
            continue
        if step.get("status") == "skipped":
            lines.append(f"| {label} | skipped | | | | {step['reason']} |")
            continue
        note = _step_note(name, step, result)
        if step.get("status") != "ok":
            note = f"**{step['status']}** (cap {_mb(step.get('memory_cap_bytes'))}); {note}"
        wall = _s(step["wall_seconds"])
        if step.get("wall_seconds_runs"):
            wall += " (median of " + " / ".join(f"{w:.2f}" for w in step["wall_seconds_runs"])
            wall += ")"
        lines.append(
            f"| {label} | {wall} | {_s(step['cpu_seconds'])} "
            f"| {_mb(step['max_rss_bytes'])} | {_mb(step['peak_tree_rss_bytes'])} | {note} |"
        )
    return lines


def _step_note(name: str, step: dict, result: dict) -> str:
    report = step.get("report", {})
    if name == "generator":
        return f"{sum(result['rows'].values()):,} rows, {_mb(result['raw_bytes'])} of CSV"
    if name == "raw_scan":
        rows = sum(s["rows"] for s in report["sources"].values())
        files = sum(s["files"] for s in report["sources"].values())
        return (
            f"query time {_s(report['seconds'])} for {rows:,} rows in {files} files "
            f"({_mb(result['raw_bytes_full_build'])})"
        )
    if name in ("full_build", "incremental_build", "forced_noop_build", "dbt_noop_build"):
        dbt = step.get("dbt", {})
        text = (
            f"dbt elapsed {_s(dbt.get('dbt_elapsed_seconds'))} ({dbt.get('models')} models, "
            f"{dbt.get('tests')} tests)"
        )
        if step.get("warehouse_bytes"):
            text += f"; published file {_mb(step['warehouse_bytes'])} after"
        if step.get("state_bytes"):
            text += f", state {_mb(step['state_bytes'])}"
        if name == "incremental_build":
            text += f"; +{step['added_files']} files ({_mb(step['added_bytes'])})"
        return text
    if name == "pandas_peer" and report:
        phases = ", ".join(f"{k} {v:.2f} s" for k, v in report["phases"].items())
        return f"in-process {report['seconds']:.2f} s: {phases}"
    if name == "export_in_process" and report:
        return (
            f"cold {_s(report['cold_seconds'])}, warm {_s(report['warm_seconds'])}; "
            f"{report['rows']:,} users, {_mb(report['bytes'])}"
        )
    if name == "export":
        return "includes interpreter start-up and imports"
    return ""


def ratio_row(result: dict) -> str:
    steps, r = result["steps"], result["ratios"]
    rows = result["rows"]
    pandas_step = steps.get("pandas_peer", {})
    if pandas_step.get("status") == "ok":
        ratio = _x(r.get("full_build_per_pandas"))
        pandas_cell = f"{_s(pandas_step['wall_seconds'])} (full ÷ pandas {ratio})"
    elif pandas_step.get("status") == "skipped":
        pandas_cell = f"skipped: {pandas_step['reason']}"
    elif pandas_step.get("status") == "did_not_fit":
        pandas_cell = f"did not fit ({_mb(pandas_step.get('memory_cap_bytes'))} cap)"
    else:
        pandas_cell = "failed (see its log)"
    scan = steps["raw_scan"]["report"]["seconds"]
    noop = steps.get("noop_build", {}).get("wall_seconds")
    forced = steps.get("forced_noop_build", {}).get("wall_seconds")
    return (
        f"| {result['scale']} | {result['users']:,} × {result['days']} "
        f"| {rows.get('sends', 0) / 1e6:,.2f} M / {rows.get('events', 0) / 1e6:,.2f} M "
        f"| {_s(scan)} | {_s(steps['full_build']['wall_seconds'])} "
        f"| **{pandas_cell}** "
        f"| **{_s(steps['incremental_build']['wall_seconds'])}** "
        f"| {_s(noop)} / {_s(forced)} "
        f"| {_s(steps['export']['wall_seconds'])} "
        f"| {_mb(r['peak_memory_bytes'])} |"
    )


RATIO_HEADER = [
    "| scale | users × days | sends / events | raw scan | full build | pandas peer "
    "| incremental day | no-op build (nothing new / `--force`) | Last Month export "
    "| peak memory (builds, export) |",
    "|---|---|---|---:|---:|---|---:|---:|---:|---:|",
]


def _met(value: float | None, limit: float) -> tuple[str, str]:
    if value is None:
        return "not measured", ""
    if value <= limit:
        return "yes", ""
    return "**no**", f"missed by {value / limit:,.2f} × the target"


def targets_table(results: dict[str, dict]) -> list[str]:
    """The build engine's targets (docs/BENCHMARKS.md "Targets"), from every scale measured."""
    medium, large = results.get("medium"), results.get("large")
    checks = []
    for scale, result in (("medium", medium), ("large", large)):
        value = result["ratios"].get("full_build_per_pandas") if result else None
        checks.append((f"full build ÷ pandas peer ≤ 1 × at {scale}", value, 1.0, _x))
    if medium:
        steps = medium["steps"]
        checks += [
            (
                "one day's incremental build ≤ 12 s at medium",
                steps["incremental_build"]["wall_seconds"],
                TARGETS["incremental_seconds"],
                _s,
            ),
            (
                "no-op build (no new file) ≤ 8 s at medium",
                steps["noop_build"]["wall_seconds"],
                TARGETS["noop_seconds"],
                _s,
            ),
        ]
    cross = None
    if medium and large:
        cross = (
            large["steps"]["incremental_build"]["wall_seconds"]
            / medium["steps"]["incremental_build"]["wall_seconds"]
        )
    checks.append(
        (
            "incremental day at large ÷ at medium ≤ 2 ×",
            cross,
            TARGETS["incremental_large_per_medium"],
            _x,
        )
    )
    peak = large or medium
    if peak:
        checks.append(
            (
                f"peak memory ≤ 4 GB at {peak['scale']}",
                peak["ratios"]["peak_memory_bytes"],
                TARGETS["peak_memory_bytes"],
                _mb,
            )
        )
    if medium:
        steps = medium["steps"]
        checks += [
            (
                "Last Month export ≤ 1 s at medium (CLI, whole process)",
                steps["export"]["wall_seconds"],
                TARGETS["export_seconds"],
                _s,
            ),
            (
                "generator ≤ 3 min at medium",
                steps["generator"]["wall_seconds"],
                TARGETS["generator_seconds"],
                _s,
            ),
        ]
    lines = ["| target | measured | met | by how much |", "|---|---:|---|---|"]
    for label, value, limit, fmt in checks:
        met, how = _met(value, limit)
        lines.append(f"| {label} | {fmt(value)} | {met} | {how} |")
    return lines


def measured_facts(result: dict) -> list[str]:
    """Where a build's time went, as measured (the explanations are written by hand)."""
    steps = result["steps"]
    lines = []
    for name in ("full_build", "incremental_build", "forced_noop_build"):
        step = steps.get(name)
        if not step or not step.get("dbt"):
            continue
        dbt = step["dbt"]
        slow = ", ".join(f"`{m['model']}` {m['seconds']:.1f} s" for m in dbt["slowest_models"][:5])
        sizes = ", ".join(
            f"{label} {_mb(step[key])}"
            for key, label in (("warehouse_bytes", "published file"), ("state_bytes", "state"))
            if step.get(key)
        )
        lines.append(
            f"- {result['scale']}, {name.replace('_', ' ')}: {_s(step['wall_seconds'])} wall, "
            f"{_s(step['cpu_seconds'])} CPU; dbt {_s(dbt['dbt_elapsed_seconds'])} (models "
            f"{_s(dbt['model_seconds'])} and {dbt['tests']} tests {_s(dbt['test_seconds'])} "
            f"summed over threads), outside dbt {_s(_fixed_cost(step))}; slowest: {slow}"
            + (f"; after it: {sizes}" if sizes else "")
            + "."
        )
    return lines


def check_tables(result: dict) -> list[str]:
    lines = []
    for phase, report in result.get("checks", {}).items():
        verdict = "equal" if report["ok"] else "**DIFFERENT**"
        lines += [
            "",
            f"Pandas peer vs. marts {phase.replace('_', ' ')}: {verdict} (row by row, "
            "every column).",
            "",
            "| mart | measure | warehouse | pandas |",
            "|---|---|---:|---:|",
        ]
        for mart, entry in report["marts"].items():
            for measure_name, value in entry["warehouse"].items():
                other = entry["pandas"].get(measure_name)
                flag = "" if other == value else " ≠"
                lines.append(f"| {mart} | {measure_name} | {value:,} | {other:,}{flag} |")
            if not entry["ok"]:
                lines.append(
                    f"| {mart} | rows only in warehouse / only in pandas / mismatched columns "
                    f"| {entry['only_in_warehouse']} | {entry['only_in_pandas']} "
                    f"{entry['mismatched_columns']} |"
                )
    return lines


def profile_lines(result: dict) -> list[str]:
    profiles = result.get("profiles") or {}
    if not profiles:
        return []
    lines = [
        "| model | query time | peak buffer memory | slowest operators |",
        "|---|---:|---:|---|",
    ]
    for model, entry in profiles.items():
        if "error" in entry:
            lines.append(f"| {model} | – | – | {entry['error']} |")
            continue
        ops = "<br>".join(
            f"{op['type']} {op['seconds']:.3f} s, {op['rows']:,} rows"
            + (f" ({op['detail'][:140]})" if op["detail"] else "")
            for op in entry["top_operators"][:3]
        )
        ops = ops.replace("|", "\\|")
        lines.append(
            f"| {model} | {_s(entry['seconds'])} | {_mb(entry['peak_buffer_memory'])} | {ops} |"
        )
    return lines


def slowest_models_lines(result: dict) -> list[str]:
    lines = ["| build | dbt elapsed | model time (sum) | test time (sum) | slowest models |"]
    lines.append("|---|---:|---:|---:|---|")
    for name in ("full_build", "incremental_build"):
        dbt = result["steps"][name].get("dbt") or {}
        if not dbt:
            continue
        slow = ", ".join(f"{m['model']} {m['seconds']:.2f} s" for m in dbt["slowest_models"][:6])
        lines.append(
            f"| {name.replace('_', ' ')} | {_s(dbt['dbt_elapsed_seconds'])} "
            f"| {_s(dbt['model_seconds'])} | {_s(dbt['test_seconds'])} | {slow} |"
        )
    return lines


def print_summary(result: dict) -> None:
    print()
    print("\n".join([*RATIO_HEADER, ratio_row(result)]))
    print()
    print("\n".join(step_table(result)))
    for line in check_tables(result):
        print(line)


def load_results(prefix: str = "") -> dict[str, dict]:
    """Results per scale: benchmarks/results/<prefix><scale>.json (prefix spark_: DuckDB
    and Spark, benchmarks/spark.py)."""
    found = {}
    for scale in SCALES:
        path = RESULTS_DIR / f"{prefix}{scale}.json"
        if path.exists():
            found[scale] = json.loads(path.read_text())
    return found


def load_spark_results() -> dict[str, dict]:
    """benchmarks.spark's results, labelled "<scale>" (one worker) or "<scale>, N workers",
    by scale and then workers."""
    found = {}
    for scale in SCALES:
        for workers in (1, 2, 4):
            path = RESULTS_DIR / f"{spark_prefix(workers)}{scale}.json"
            if path.exists():
                label = scale if workers == 1 else f"{scale}, {workers} workers"
                found[label] = json.loads(path.read_text())
    return found


def load_churn_results() -> dict[str, dict]:
    """benchmarks.churn's results per scale: benchmarks/results/churn_<scale>.json."""
    return load_results("churn_")


RUN_HINT = "python -m benchmarks.run --scale {scale} --update-doc"


def _placeholder_row(scale: str) -> str:
    spec = SCALES[scale]
    hint = RUN_HINT.format(scale=scale)
    return (
        f"| {scale} | {spec.users:,} × {spec.days} | {spec.note} "
        f"| *not yet measured — run `{hint}`* | | | | | | | |"
    )


def _fixed_cost(step: dict) -> float | None:
    dbt = step.get("dbt") or {}
    if not dbt:
        return None
    return step["wall_seconds"] - dbt["dbt_elapsed_seconds"]


def scale_section(result: dict) -> list[str]:
    rows = result["rows"]
    lines = [
        f"### {result['scale']}: {result['users']:,} users × {result['days']} days "
        f"({result['scale_note']})",
        "",
        f"Measured {result['measured_at']} with `{result['command']}`; data ends "
        f"{result['end_date']}, seed {result['seed']}; DuckDB threads {result['threads']}, "
        f"memory_limit {result['memory_limit']}"
        + (
            f"; each timed step (not the generator) ran {result['repeat']} times, the median "
            "run is shown."
            if result.get("repeat", 1) > 1
            else "; each step ran once."
        ),
        "",
        "Rows generated: "
        + ", ".join(f"{source} {rows.get(source, 0):,}" for source in SOURCES)
        + f"; {_mb(result['raw_bytes'])} of CSV.",
    ]
    code = result.get("code")
    if code:
        text = f"Code: commit `{code['commit']}`"
        if code["uncommitted"]:
            shown = ", ".join(f"`{path}`" for path in code["uncommitted"][:8])
            more = len(code["uncommitted"]) - 8
            text += f" plus uncommitted changes to {shown}" + (
                f" and {more} more" if more > 0 else ""
            )
        lines += ["", text + "."]
    load = result.get("load_average")
    if load:
        before = " / ".join(f"{x:.2f}" for x in load["before"])
        after = " / ".join(f"{x:.2f}" for x in load["after"])
        lines += [
            "",
            f"Load average (1 / 5 / 15 min) on {result['machine']['nproc']} CPUs: {before} "
            f"before the run, {after} after. Anything well above 0 means the run shared "
            "the CPUs with other work, and its times are that much noisier.",
        ]
    for note in result.get("notes", []):
        lines += ["", f"Note: {note}."]
    lines += ["", *step_table(result), ""]
    lines += ["dbt's own timings (from `run_results.json`):", "", *slowest_models_lines(result)]
    profiles = profile_lines(result)
    if profiles:
        lines += [
            "",
            "DuckDB profile (`EXPLAIN ANALYZE`, same threads and memory limit) of each "
            "window-join mart and of the full build's three slowest models, re-run as the "
            "SELECT the full build compiled, on the finished warehouse (a base model reads "
            "every landing file, as in a full refresh); operator times are summed over "
            "threads; top 3 operators by time:",
            "",
            *profiles,
        ]
    lines += check_tables(result)
    pandas_step = result["steps"].get("pandas_peer", {})
    if pandas_step.get("status") == "ok" and not result.get("checks"):
        lines += ["", "The pandas results were not compared with the marts at this scale."]
    return lines


SPARK_STEPS = {
    "raw_scan": "raw scan (DuckDB, every column, N−1 days)",
    "duckdb_full_build": "DuckDB full build (`optout build --full-refresh`)",
    "spark_full_build": "Spark full build (`OPTOUT_TARGET=spark optout build --full-refresh`)",
    "spark_incremental_build": "Spark incremental build (`optout build`, +1 day)",
    "spark_export": "Last Month export from Spark's marts (`optout export`)",
    "duckdb_incremental_build": "DuckDB incremental build (`optout build`, +1 day)",
}
SPARK_INCREMENTAL_TARGET = 0.25  # a Spark incremental day ÷ a Spark full build
SPARK_BUILDS = {"full": "spark_full_build", "incremental": "spark_incremental_build"}
CPU_BOUND_SHARE = 0.8  # busier than this, a build has no idle core for another thread


def _where(result: dict) -> str:
    if result.get("method", "session") == "thrift":
        return (
            f"standalone cluster through Thrift, {result['workers']} worker(s) × "
            f"{result['worker_cores']} core(s), Thrift server driver memory "
            f"{result['driver_memory']}"
        )
    return f"local Spark `{result['master']}` in dbt, driver memory {result['driver_memory']}"


def _wall(result: dict, step: str) -> float:
    return result["steps"][step]["wall_seconds"]


def _crossover(spark_results: dict[str, dict]) -> list[str]:
    """A cluster's worth from the measured builds: fit, per engine, full build = fixed +
    per user-day × size over the one-worker scales, and project to more cores."""
    one = [r for r in spark_results.values() if r.get("method") == "thrift" and r["workers"] == 1]
    lines = []
    if len(one) >= 2:
        ordered = sorted(one, key=lambda r: r["users"] * r["days"])
        small, big = ordered[0], ordered[-1]
        size = [r["users"] * r["days"] for r in (small, big)]
        spark = [_wall(r, "spark_full_build") for r in (small, big)]
        duck = [_wall(r, "duckdb_full_build") for r in (small, big)]
        spark_per = (spark[1] - spark[0]) / (size[1] - size[0])
        duck_per = (duck[1] - duck[0]) / (size[1] - size[0])
        spark_fixed = spark[0] - spark_per * size[0]
        lines += [
            f"- **Measured on this machine (2 cores, one worker).** A Spark full build costs "
            f"about {_s(spark_fixed)} whatever the size (dbt's ~650 statements, each planned "
            f"and scheduled by the Thrift server's driver) plus {spark_per * 1e6:,.0f} µs per "
            f"user-day; DuckDB's costs {duck_per * 1e6:,.0f} µs per user-day on the same "
            f"cores ({small['scale']} and {big['scale']} fitted: "
            f"{_s(spark[0])} / {_s(spark[1])} against {_s(duck[0])} / {_s(duck[1])}).",
        ]
        ratio = spark_per / duck_per if duck_per > 0 else None
        if ratio:
            lines.append(
                f"- **Projection.** Assume the per-user-day work spreads over the cluster's "
                f"cores (executors scale out; shuffles and Parquet I/O on local disks) while "
                f"the fixed part stays (it runs on the driver). A cluster then builds faster "
                f"than DuckDB on 2 cores only with more than {ratio:.1f} × the cores "
                f"({2 * ratio:.0f} cores), and with k × the cores from a size of "
                f"{_s(spark_fixed)} ÷ ({duck_per * 1e6:,.0f} − {spark_per * 1e6:,.0f} ÷ k) µs "
                "user-days: with 8 × (16 cores) about "
                + (
                    f"{spark_fixed / (duck_per - spark_per / 8) / 1e6:,.1f} M user-days"
                    if duck_per > spark_per / 8
                    else "never"
                )
                + ", with 32 × about "
                + (
                    f"{spark_fixed / (duck_per - spark_per / 32) / 1e6:,.1f} M user-days"
                    if duck_per > spark_per / 32
                    else "never"
                )
                + " (medium is 4.5 M). DuckDB grows with one machine's cores too, and a "
                "daily build is incremental, so the full build is rare: the move is for "
                "when the data no longer fits one machine's disk or memory, not for speed.",
            )
    for label, result in spark_results.items():
        if result.get("method") == "thrift" and result["workers"] > 1:
            single = next((r for r in one if r["scale"] == result["scale"]), None)
            if single:
                lines.append(
                    f"- **{result['workers']} workers on the same 2 cores** ({label}): full "
                    f"build {_s(_wall(result, 'spark_full_build'))} against "
                    f"{_s(_wall(single, 'spark_full_build'))} with one worker: what "
                    "distributing costs when it adds no cores (more executors, each with "
                    "less memory, and shuffles between them)."
                )
    if len(one) < 2:
        lines.insert(
            0, "- *The fit and its projection need two one-worker scales (small and medium).*"
        )
    return lines + [""]


def _spark_dbt_lines(steps: dict, threads: int | None) -> list[str]:
    """dbt's own times of the Spark builds, the floor the tests set for an incremental
    build (each test is a Spark job of its own, whatever the rows it reads), and how busy
    the machine was."""
    dbts = {label: steps[name].get("dbt") for label, name in SPARK_BUILDS.items()}
    if not all(dbts.values()) or not threads:
        return []
    lines = []
    for label, dbt in dbts.items():
        lines.append(
            f"- dbt in the Spark {label} build: elapsed {_s(dbt['dbt_elapsed_seconds'])}; "
            f"{dbt['models']} models {_s(dbt['model_seconds'])}, {dbt['tests']} tests "
            f"{_s(dbt['test_seconds'])} (summed over dbt's {threads} threads)."
        )
    floor = dbts["incremental"]["test_seconds"] / threads
    full_wall = steps[SPARK_BUILDS["full"]]["wall_seconds"]
    lines.append(
        f"- The incremental build's tests alone, spread over {threads} threads, take about "
        f"{_s(floor)}: {_pct(floor / full_wall)} of the full build, a floor for any incremental "
        "build that runs every test."
    )
    busy = [steps[name].get("machine_busy_share") for name in SPARK_BUILDS.values()]
    if all(busy):
        verdict = (
            "the builds are bound by CPU, so more dbt threads would not hide the statements' cost"
            if min(busy) >= CPU_BOUND_SHARE
            else "cores stood idle, so more dbt threads (`OPTOUT_THREADS`) may shorten them"
        )
        lines.append(
            f"- The machine's cores were busy {_pct(busy[0])} of the Spark full build and "
            f"{_pct(busy[1])} of the incremental build (every process, the cluster's JVMs "
            f"included): {verdict}."
        )
    return lines


def spark_section(spark_results: dict[str, dict]) -> list[str]:
    """DuckDB and Spark on the same files (benchmarks/spark.py)."""
    lines = [
        "## DuckDB and Spark",
        "",
        "`python -m benchmarks.spark --scale small|medium [--workers N] --update-doc` builds "
        "the same generated files (seed and END as above) with `OPTOUT_TARGET=duckdb` and "
        "with `OPTOUT_TARGET=spark` on a standalone cluster it starts on this machine "
        "(`method: thrift`: a Master, N Workers sharing the 2 cores, the Thrift server; "
        "`--method session` measures a local Spark in dbt instead), then checks that both "
        "engines' marts hold the same number of rows (the row-for-row and byte-for-byte "
        "comparison is `tests/test_spark.py`, `make test-spark`). Peak memory is the whole process "
        "tree's plus the cluster's daemons and executors (JVMs included); CPU is the "
        "client's only.",
        "",
    ]
    if not spark_results:
        return lines + ["*Not yet measured.*", ""]
    for label, result in spark_results.items():
        steps = result["steps"]
        duck, spark = steps["duckdb_full_build"], steps["spark_full_build"]
        scan = steps["raw_scan"]
        scan_s = (scan.get("report") or {}).get("seconds") or scan["wall_seconds"]
        incremental = steps["spark_incremental_build"]["wall_seconds"] / spark["wall_seconds"]
        lines += [
            f"### {label}: {result['users']:,} users × {result['days']} days, {_where(result)}",
            "",
            "| step | wall | CPU | peak memory |",
            "|---|---:|---:|---:|",
        ]
        for name, step_label in SPARK_STEPS.items():
            step = steps.get(name)
            if not step:
                continue
            cpu = step.get("cpu_seconds")
            lines.append(
                f"| {step_label} | {_s(step['wall_seconds'])} | {_s(cpu)} | {_mb(_peak(step))} |"
            )
        differing = result.get("marts_with_different_row_counts") or []
        met = "met" if incremental <= SPARK_INCREMENTAL_TARGET else "missed"
        lines += [
            "",
            f"- Spark full build ÷ DuckDB full build: "
            f"{_x(spark['wall_seconds'] / duck['wall_seconds'])}; Spark full build ÷ raw "
            f"scan: {_x(spark['wall_seconds'] / scan_s)} (DuckDB: "
            f"{_x(duck['wall_seconds'] / scan_s)}).",
            f"- Spark incremental day ÷ Spark full build: {_pct(incremental)} (target ≤ "
            f"{_pct(SPARK_INCREMENTAL_TARGET)}: {met}).",
            *_spark_dbt_lines(steps, result.get("threads")),
            "- Mart row counts: "
            + ("identical on both engines." if not differing else f"DIFFER in {differing}."),
            f"- Command: `{result['command']}`; Python packages: "
            + ", ".join(f"{k} {v}" for k, v in sorted(result["versions"].items()) if v)
            + ".",
            "",
        ]
    lines += ["### When a Spark cluster is worth it", "", *_crossover(spark_results)]
    lines += [
        "### How the incremental models partition on Spark",
        "",
        "- `base_messaging__<source>` is partitioned by its load (`_load_id`): a build "
        "appends one partition holding only the files no build has loaded, so one day "
        "costs one day of reading, whatever the history. Parquet cannot update rows, so "
        "the keys a load repeats (duplicates, conflicts, versions) are settled again in a "
        "side table, `staging.landing_repeated__<source>`; the staging views read the "
        "base rows of other keys as inserted plus that table (docs/DECISIONS.md "
        '"Spark: incremental staging by load partition"). With Delta Lake or Iceberg '
        "(not installable here: their jars come from Maven) the side table becomes a "
        "`merge` into the base table on its primary key.",
        "- The intermediate models and the marts are tables, rebuilt by every build from "
        "staging into the build's own databases and published by repointing the `marts` "
        "views: each mart is a join over a user's whole history (the 7-day window, the "
        "last campaign with no look-back limit, retention re-evaluated as events arrive). "
        "That recompute, and the fixed cost of dbt's statements, are what a Spark "
        "incremental day pays.",
        "",
    ]
    return lines


CHURN_SMALL_SHARE = 0.05  # "a few per cent" in the summary line


def churn_section(churn_results: dict[str, dict]) -> list[str]:
    """Per scale, the share of each mart that one day's load changes (benchmarks/churn.py)."""
    lines = [
        "## What one day's load changes",
        "",
        "`python -m benchmarks.churn --scale small|medium|large --update-doc` builds the "
        "first N−1 days on DuckDB, keeps the published marts, adds END's files, builds "
        "again and counts per mart the rows the second build has that the first had not "
        "(new, or different in any column) and the first build's rows that are gone. A "
        "mart kept up to date by what a load changes would have to write at least the "
        "first; the rest of its rows could stay as they were. Both builds equal a full "
        "refresh (tests/test_incremental.py) and Spark's marts equal DuckDB's row for row "
        "(tests/test_spark.py), so the shares are the marts', whatever the engine.",
        "",
    ]
    if not churn_results:
        return lines + ["*Not yet measured.*", ""]
    for scale, result in churn_results.items():
        marts, steps = result["marts"], result["steps"]
        lines += [
            f"### {scale}: {result['users']:,} users × {result['days']} days, "
            f"{result['machine']['cpu_model']} ({result['machine']['nproc']} CPUs)",
            "",
            "| mart | rows before | rows after | new or changed | share of the mart | gone |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for table, c in marts.items():
            share = c["written"] / c["after"] if c["after"] else 0.0
            lines.append(
                f"| `{table}` | {c['before']:,} | {c['after']:,} | {c['written']:,} "
                f"| {_pct(share)} | {c['gone']:,} |"
            )
        small = [t for t, c in marts.items() if c["written"] <= CHURN_SMALL_SHARE * c["after"]]
        written = sum(c["written"] for c in marts.values())
        rows = sum(c["after"] for c in marts.values())
        lines += [
            "",
            f"- {len(small)} of {len(marts)} marts change at most "
            f"{_pct(CHURN_SMALL_SHARE)} of their rows; all marts together "
            f"{written:,} of {rows:,} rows ({_pct(written / rows if rows else 0.0)}).",
            f"- The DuckDB builds: first N−1 days {_s(steps['full_build']['wall_seconds'])}, "
            f"the day {_s(steps['incremental_build']['wall_seconds'])} (every mart "
            "recomputed).",
            f"- Command: `{result['command']}`.",
            "",
        ]
    return lines


def _generated(name: str, lines: list[str]) -> list[str]:
    return [
        f"<!-- generated:{name} (python -m benchmarks.run --update-doc) -->",
        *lines,
        f"<!-- /generated:{name} -->",
    ]


def generated_blocks(
    results: dict[str, dict], spark_results: dict[str, dict], churn_results: dict[str, dict]
) -> dict:
    """The parts of docs/BENCHMARKS.md made from the results JSON: tables and measured
    facts. Everything between them is written by hand."""
    table = [*RATIO_HEADER]
    for scale in SCALES:
        table.append(ratio_row(results[scale]) if scale in results else _placeholder_row(scale))
    facts = [line for result in results.values() for line in measured_facts(result)]
    per_scale = []
    for scale in SCALES:
        if scale in results:
            per_scale += [*scale_section(results[scale]), ""]
        else:
            per_scale += [
                f"### {scale}",
                "",
                f"*Not yet measured — run `{RUN_HINT.format(scale=scale)}`.*",
                "",
            ]
    machine = [
        "| scale | CPUs (nproc) | memory | CPU model | kernel | python | duckdb | dbt-core "
        "| dbt-duckdb | pandas | numpy | pyarrow |",
        "|---|---:|---:|---|---|---|---|---|---|---|---|---|",
    ]
    for scale, result in results.items():
        m, v = result["machine"], result["versions"]
        machine.append(
            f"| {scale} | {m['nproc']} | {_mb(m['memory_bytes'])} | {m['cpu_model']} "
            f"| {m['kernel']} | {v['python']} | {v['duckdb']} | {v['dbt-core']} "
            f"| {v['dbt-duckdb']} | {v['pandas']} | {v['numpy']} | {v['pyarrow']} |"
        )
    return {
        "results": ["", *table, "", *targets_table(results), "", *facts, ""],
        "per-scale": ["", *per_scale],
        "spark": ["", *spark_section(spark_results)],
        "churn": ["", *churn_section(churn_results)],
        "machine": ["", *machine, ""],
    }


def render_doc(
    doc: str,
    results: dict[str, dict],
    spark_results: dict[str, dict],
    churn_results: dict[str, dict],
) -> str:
    """docs/BENCHMARKS.md with its generated blocks replaced; a block the document lacks is
    an error (the text around the blocks is the document's own)."""
    import re

    for name, lines in generated_blocks(results, spark_results, churn_results).items():
        pattern = re.compile(
            rf"<!-- generated:{re.escape(name)} .*?-->.*?<!-- /generated:{re.escape(name)} -->",
            re.DOTALL,
        )
        if not pattern.search(doc):
            raise SystemExit(f"docs/BENCHMARKS.md has no generated:{name} block")
        doc = pattern.sub(
            lambda _m, lines=lines, name=name: "\n".join(_generated(name, lines)), doc
        )
    return doc


def update_doc() -> None:
    """docs/BENCHMARKS.md rendered from every results JSON present (all three benchmarks)."""
    doc = DOC.read_text()
    DOC.write_text(render_doc(doc, load_results(), load_spark_results(), load_churn_results()))
