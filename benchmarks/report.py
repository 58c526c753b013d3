"""Markdown of the benchmark results: the summary printed by benchmarks/run.py and
docs/BENCHMARKS.md, rendered from benchmarks/results/<scale>.json."""

from __future__ import annotations

import json

from benchmarks.scales import (
    BYTES_PER_USER_DAY,
    DISK_FACTOR,
    PANDAS_BYTES_FACTOR,
    PANDAS_CAP_GB,
    RESULTS_DIR,
    SCALES,
    SOURCES,
    TARGETS,
)


def _peak(step: dict) -> int:
    return max(step.get("max_rss_bytes") or 0, step.get("peak_tree_rss_bytes") or 0)


STEP_LABELS = {
    "generator": "generator (`optout generate`, all N days)",
    "raw_scan": "raw scan (DuckDB, every column, N−1 days)",
    "full_build": "full build (`optout build --full-refresh`, N−1 days)",
    "pandas_peer": "pandas peer (4 core marts, N−1 days)",
    "incremental_build": "incremental build (`optout build`, +1 day)",
    "noop_build": "no-op build (`optout build`, no new file)",
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
    if name in ("full_build", "incremental_build", "noop_build", "dbt_noop_build"):
        dbt = step.get("dbt", {})
        text = (
            f"dbt elapsed {_s(dbt.get('dbt_elapsed_seconds'))} ({dbt.get('models')} models, "
            f"{dbt.get('tests')} tests)"
        )
        if step.get("warehouse_bytes"):
            text += f"; warehouse file {_mb(step['warehouse_bytes'])} after"
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
        pandas_cell = f"{_x(r['pandas_per_full_build'])} ({_s(pandas_step['wall_seconds'])})"
    elif pandas_step.get("status") == "skipped":
        pandas_cell = f"skipped: {pandas_step['reason']}"
    elif pandas_step.get("status") == "did_not_fit":
        pandas_cell = f"did not fit ({_mb(pandas_step.get('memory_cap_bytes'))} cap)"
    else:
        pandas_cell = "failed (see its log)"
    scan = steps["raw_scan"]["report"]["seconds"]
    return (
        f"| {result['scale']} | {result['users']:,} × {result['days']} "
        f"| {rows.get('sends', 0) / 1e6:,.2f} M / {rows.get('events', 0) / 1e6:,.2f} M "
        f"| {_s(scan)} | {_s(steps['full_build']['wall_seconds'])} "
        f"| **{_x(r['full_build_per_raw_scan'])}** "
        f"| {_s(steps['incremental_build']['wall_seconds'])} "
        f"| **{_pct(r['incremental_per_full_build'])}** "
        f"| {_s(steps['export']['wall_seconds'])} / "
        f"{_s(steps['export_in_process']['report']['cold_seconds'])} "
        f"| **{pandas_cell}** | {_mb(r['peak_memory_bytes'])} |"
    )


RATIO_HEADER = [
    "| scale | users × days | sends / events | raw scan | full build | full ÷ scan "
    "| incremental day | incremental ÷ full | Last Month export (CLI / in-process) "
    "| pandas ÷ full | peak memory (builds, export) |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
]


def targets_table(result: dict) -> list[str]:
    steps, r = result["steps"], result["ratios"]
    export_cli = steps["export"]["wall_seconds"]
    export_inner = steps["export_in_process"]["report"]["cold_seconds"]
    checks = [
        (
            "full build ≤ 5 × raw scan",
            r["full_build_per_raw_scan"],
            TARGETS["full_build_per_raw_scan"],
            _x,
        ),
        (
            "one incremental day ≤ 10 % of a full build",
            r["incremental_per_full_build"],
            TARGETS["incremental_per_full_build"],
            _pct,
        ),
        ("Last Month export ≤ 1 s (CLI, whole process)", export_cli, 1.0, _s),
        ("Last Month export ≤ 1 s (write_export in-process)", export_inner, 1.0, _s),
        ("peak memory ≤ 4 GB", r["peak_memory_bytes"], TARGETS["peak_memory_bytes"], _mb),
        (
            "generator ≤ 3 min",
            steps["generator"]["wall_seconds"],
            TARGETS["generator_seconds"],
            _s,
        ),
    ]
    lines = ["| target | measured | met | by how much |", "|---|---:|---|---|"]
    for label, value, limit, fmt in checks:
        met = value <= limit
        how = "" if met else f"missed by {value / limit:,.1f} × the target"
        lines.append(f"| {label} | {fmt(value)} | {'yes' if met else '**no**'} | {how} |")
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


NOTES_FILE = RESULTS_DIR / "notes.md"
RUN_HINT = "python -m benchmarks.run --scale {scale} --update-doc"


def _disk_needed(scale: str) -> float:
    return SCALES[scale].users * SCALES[scale].days * BYTES_PER_USER_DAY * DISK_FACTOR


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


def _incremental_design(incr: dict) -> str:
    """Which models an incremental build updates from the new files only, from the manifest."""
    kinds = incr.get("materializations") or {}
    incremental = kinds.get("incremental", [])
    recomputed = sum(len(names) for kind, names in kinds.items() if kind != "incremental")
    new_files = f"the {incr['added_files']} new files, {_mb(incr['added_bytes'])}"
    if not kinds:
        return f"The build read {new_files}."
    groups: dict[str, int] = {}
    for name in incremental:
        prefix = name.split("_")[0]
        groups[prefix] = groups.get(prefix, 0) + 1
    listed = ", ".join(f"{count} {prefix}_*" for prefix, count in groups.items())
    return (
        f"{len(incremental)} models are incremental ({listed}: they process {new_files}, "
        f"or the keys these carry); the other {recomputed} models (tables and views) are "
        "recomputed from all rows on every build."
    )


def miss_explanations(result: dict) -> list[str]:
    """What the measurements say about each missed target (generated)."""
    steps, r = result["steps"], result["ratios"]
    full, incr = steps["full_build"], steps["incremental_build"]
    lines = []
    if r["full_build_per_raw_scan"] > TARGETS["full_build_per_raw_scan"]:
        dbt = full["dbt"]
        slow = ", ".join(f"`{m['model']}` {m['seconds']:.1f} s" for m in dbt["slowest_models"][:4])
        lines.append(
            f"- **Full build ÷ raw scan is {_x(r['full_build_per_raw_scan'])}** (target 5 ×, "
            f"missed by {r['full_build_per_raw_scan'] / 5:,.1f} ×). Of its "
            f"{_s(full['wall_seconds'])}, dbt itself ran {_s(dbt['dbt_elapsed_seconds'])} "
            f"(models {_s(dbt['model_seconds'])} and tests {_s(dbt['test_seconds'])} summed "
            f"over {result['threads']} threads); the rest, {_s(_fixed_cost(full))}, is start-up "
            f"(the `optout` process and its imports, dbt starting and parsing the project) "
            f"and copying/publishing the warehouse file. Slowest models: {slow}."
        )
        parse = steps.get("dbt_parse")
        if parse:
            lines[-1] += (
                f" A full `dbt parse` of the project alone takes {_s(parse['wall_seconds'])} "
                "(a full refresh in a fresh target folder parses everything)."
            )
    if r["incremental_per_full_build"] > TARGETS["incremental_per_full_build"]:
        dbt = incr["dbt"]
        slow = ", ".join(f"`{m['model']}` {m['seconds']:.1f} s" for m in dbt["slowest_models"][:4])
        lines.append(
            f"- **One incremental day is {_pct(r['incremental_per_full_build'])} of a full "
            f"build** (target 10 %, missed by {r['incremental_per_full_build'] / 0.1:,.1f} ×). "
            f"{_incremental_design(incr)} The build also copies the whole warehouse "
            f"({_mb(incr['warehouse_bytes'])}) before it starts, to publish it atomically. "
            f"dbt ran {_s(dbt['dbt_elapsed_seconds'])}; outside dbt "
            f"{_s(_fixed_cost(incr))}. Slowest models: {slow}."
        )
        noop = steps.get("noop_build")
        if noop:
            lines[-1] += (
                f" The same command with no new file takes {_s(noop['wall_seconds'])} "
                f"({_pct(noop['wall_seconds'] / full['wall_seconds'])} of a full build): "
                "the floor of any incremental build as the project stands."
            )
        direct = steps.get("dbt_noop_build")
        if noop and direct:
            lines[-1] += (
                f" `dbt build` alone, with no new file, takes {_s(direct['wall_seconds'])}: "
                f"the `optout build` wrapper adds "
                f"{_s(noop['wall_seconds'] - direct['wall_seconds'])}: everything outside "
                "`dbt build` (the `optout` process's start-up and imports, whatever it runs "
                "before dbt, and copying the warehouse file to publish it atomically)."
            )
    export_cli = steps["export"]["wall_seconds"]
    inner = steps["export_in_process"]["report"]
    if export_cli > TARGETS["export_seconds"]:
        lines.append(
            f"- **The Last Month export takes {_s(export_cli)} as a command** (target 1 s); "
            f"inside the process `write_export` takes {_s(inner['cold_seconds'])} cold and "
            f"{_s(inner['warm_seconds'])} warm, and the imports {_s(inner['import_seconds'])}: "
            f"the rest is the interpreter and the `optout` CLI starting."
        )
    if r["peak_memory_bytes"] > TARGETS["peak_memory_bytes"]:
        worst = max(("full_build", "incremental_build", "export"), key=lambda n: _peak(steps[n]))
        lines.append(
            f"- **Peak memory {_mb(r['peak_memory_bytes'])}** (target 4 GB) in "
            f"{worst.replace('_', ' ')}; DuckDB's memory_limit is {result['memory_limit']}."
        )
    if steps["generator"]["wall_seconds"] > TARGETS["generator_seconds"]:
        lines.append(
            f"- **The generator takes {_s(steps['generator']['wall_seconds'])}** (target 3 min)."
        )
    return lines


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


def _when_to_move(spark_results: dict[str, dict]) -> list[str]:
    """The advice, with the figures of the largest scale measured."""
    scale = list(spark_results)[-1]
    result = spark_results[scale]
    steps = result["steps"]
    duck, spark = steps["duckdb_full_build"], steps["spark_full_build"]
    events = result["mart_rows"]["duckdb"].get("fct_optouts")
    slower = spark["wall_seconds"] / duck["wall_seconds"]
    hour_multiple = 3600 / duck["wall_seconds"]
    return [
        f"- **On one machine, DuckDB.** At {scale}, local Spark (`{result['master']}`) took "
        f"{_s(spark['wall_seconds'])} for the full build that DuckDB did in "
        f"{_s(duck['wall_seconds'])}: {_x(slower)} slower on the same 2 cores, with a peak "
        f"of {_mb(_peak(spark))} against {_mb(_peak(duck))}; its incremental day "
        f"({_s(steps['spark_incremental_build']['wall_seconds'])}) is slower than DuckDB's "
        f"full build. Spark pays a JVM, a task scheduler, Parquet writes and a shuffle "
        "through disk for every model, and re-reads every base table for the keyed "
        "models (below). If that ratio holds on bigger machines (not measured here), "
        f"a Spark cluster needs more than about {slower:.0f} × DuckDB's cores to build "
        "faster.",
        f"- **Move when one machine runs out.** DuckDB's full build ran at about "
        f"{_s(duck['wall_seconds'])} per {scale} ({result['users']:,} users × "
        f"{result['days']} days, {events:,} opt-outs) here; read linearly, a one-hour "
        f"window holds about {hour_multiple:.0f} × {scale} on this 2-core machine, and "
        "daily builds are incremental by file, so the full build is rare. Move to a "
        "Spark cluster when a build no longer fits the window on the largest machine you "
        "can have, when DuckDB spills most of its window joins at `memory_limit` (the "
        "slowest models in *Per scale*), when the landing zone outgrows one disk, or when "
        "the files already live in object storage that a cluster reads in parallel. The "
        "models, marts and exports stay the same (`OPTOUT_TARGET=spark`).",
        "",
    ]


def spark_section(spark_results: dict[str, dict]) -> list[str]:
    """DuckDB and local Spark on the same files (benchmarks/spark.py)."""
    lines = [
        "## DuckDB and Spark",
        "",
        "`python -m benchmarks.spark --scale small|medium [--master local[2]] "
        "[--driver-memory 3g] --update-doc` builds the same generated files (seed and END as "
        "above) with `OPTOUT_TARGET=duckdb` and with `OPTOUT_TARGET=spark` (dbt-spark, "
        "`method: session`, a local Spark in the dbt process), then checks that both "
        "engines' marts hold the same number of rows (the row-for-row and byte-for-byte "
        "comparison is `tests/test_spark.py`, in CI). Peak memory is the whole process "
        "tree's, the JVM included.",
        "",
    ]
    if not spark_results:
        return lines + ["*Not yet measured.*", ""]
    for scale, result in spark_results.items():
        steps = result["steps"]
        duck, spark = steps["duckdb_full_build"], steps["spark_full_build"]
        scan = steps["raw_scan"]
        scan_s = (scan.get("report") or {}).get("seconds") or scan["wall_seconds"]
        lines += [
            f"### {scale}: {result['users']:,} users × {result['days']} days, "
            f"`{result['master']}`, driver memory {result['driver_memory']}",
            "",
            "| step | wall | CPU | peak memory |",
            "|---|---:|---:|---:|",
        ]
        for name, label in SPARK_STEPS.items():
            step = steps.get(name)
            if not step:
                continue
            cpu = step.get("cpu_seconds")
            lines.append(
                f"| {label} | {_s(step['wall_seconds'])} | {_s(cpu)} | {_mb(_peak(step))} |"
            )
        differing = result.get("marts_with_different_row_counts") or []
        lines += [
            "",
            f"- Spark full build ÷ DuckDB full build: "
            f"{_x(spark['wall_seconds'] / duck['wall_seconds'])}; Spark full build ÷ raw "
            f"scan: {_x(spark['wall_seconds'] / scan_s)} (DuckDB: "
            f"{_x(duck['wall_seconds'] / scan_s)}).",
            f"- Spark incremental day ÷ Spark full build: "
            f"{_pct(steps['spark_incremental_build']['wall_seconds'] / spark['wall_seconds'])}.",
            "- Mart row counts: "
            + ("identical on both engines." if not differing else f"DIFFER in {differing}."),
            f"- Command: `{result['command']}`; Python packages: "
            + ", ".join(f"{k} {v}" for k, v in sorted(result["versions"].items()) if v)
            + ".",
            "",
        ]
    lines += ["### When to move from DuckDB to a Spark cluster", "", *_when_to_move(spark_results)]
    lines += [
        "### How the incremental models partition on Spark",
        "",
        "- `base_messaging__<source>` is incremental by file on both engines: the landing "
        "view holds only the files no build has loaded (`incremental_strategy: append`), "
        "so one day costs one day of reading, whatever the history.",
        "- The staging and quarantine models replace rows by key (`delete+insert` on "
        "DuckDB). Spark's Parquet tables cannot delete rows, so on Spark these models are "
        "rebuilt from the base tables on every build (`keyed_incremental_materialization()` "
        "in `macros/materializations.sql`); that full pass over the base tables is what "
        "the Spark incremental figure above pays. With a table format that can merge "
        "(Delta Lake, Iceberg, Hudi: not installable here, their jars come from Maven), "
        "those models become `incremental` with `incremental_strategy: merge` on their "
        "primary key, and the base tables can be partitioned by their load (`_batch_id`) "
        "or by day (`partition_by`), so a daily build touches one partition per table.",
        "- The marts are tables on both engines: each is a join over all of a user's "
        "history (the 7-day window, the last campaign with no look-back limit, retention "
        "re-evaluated as events arrive), recomputed from the staging tables.",
        "",
    ]
    return lines


def render_doc(results: dict[str, dict]) -> str:
    lines = [
        "# Benchmarks",
        "",
        "<!-- Generated by `python -m benchmarks.run --update-doc` from "
        "benchmarks/results/*.json (and benchmarks/results/notes.md if present). "
        "Edit those or benchmarks/run.py, not this file. -->",
        "",
        "How fast the warehouse turns the landing zone into marts, measured against the "
        "machine's limit for the same work (DuckDB reading every raw column once) and "
        "against the tool an analyst would reach for otherwise (pandas). One command "
        "generates a data set at a named scale and measures, on the same files:",
        "",
        "1. **generator**: `optout generate` of N days ending on END;",
        "2. **raw scan**: one DuckDB query per source reading every column of every landing "
        "file as text (`count(*)` and `max()` of each column, the landing views' CSV "
        "options, 2 threads): the time the machine needs just to read the input;",
        "3. **full build**: `optout build --full-refresh` on the first N−1 days (END's "
        "daily files are held back);",
        "4. **pandas peer**: `benchmarks/pandas_peer.py`, the four core marts of "
        "docs/CONTRACT.md §5 (fct_optouts, fct_push_before_optout_7d, fct_last_campaign, "
        "fct_optout_retention) "
        "in plain pandas on the same N−1 days, where it fits in memory; its output is "
        "compared row by row with the warehouse's marts;",
        "5. **incremental build**: `optout build` after END's files are moved back in;",
        "6. **Last Month export**: `optout export --range last_month --as-of END`, as a "
        "command and as `write_export` timed inside a process.",
        "",
        "## Commands",
        "",
        "```sh",
        "pip install -e .            # or: make install (then use .venv/bin/python)",
        "python -m benchmarks.run --scale small --update-doc     # ~2 min, CI-sized",
        "python -m benchmarks.run --scale medium --update-doc    # 150,000 users x 30 days",
        "python -m benchmarks.run --scale large --update-doc     # 750,000 users, if the disk "
        "allows",
        "python -m benchmarks.run --update-doc                   # only rewrite this file",
        "# --repeat 3: each timed step three times, median kept (for a busy machine)",
        "```",
        "",
        "Data, warehouse and logs go to `benchmarks/data/<scale>/` (git-ignored; "
        "`--workdir DIR` to put them elsewhere, `--keep` to keep them after the run). Raw "
        "numbers go to `benchmarks/results/<scale>.json`.",
        "",
        "## Results",
        "",
        *RATIO_HEADER,
    ]
    for scale in SCALES:
        lines.append(ratio_row(results[scale]) if scale in results else _placeholder_row(scale))
    lines += [
        "",
        "- *full ÷ scan*: wall time of `optout build --full-refresh` ÷ the raw scan's query "
        "time, on the same files. 1 × would be a build as cheap as reading its input once.",
        "- *incremental ÷ full*: wall time of `optout build` after one more day of files ÷ "
        "the full build's.",
        "- *pandas ÷ full*: wall time of the pandas peer (four marts, no tests, no "
        "quarantine) ÷ the full build's (every model and all dbt tests).",
        "- Wall times are whole commands in a fresh process (interpreter start-up included); "
        "peak memory is the largest of the builds' and the export's peaks (see Method).",
        "",
        "## Targets (at medium, on a 2-core machine)",
        "",
    ]
    if "medium" in results:
        lines += targets_table(results["medium"])
        misses = miss_explanations(results["medium"])
        if misses:
            lines += ["", "Where a target is missed, what bounds it:", "", *misses]
    else:
        lines += [
            f"*Not yet measured — run `{RUN_HINT.format(scale='medium')}`.*",
        ]
        if "small" in results:
            lines += [
                "",
                "For reference only, the same checks at small, where fixed costs (interpreter "
                "and dbt start-up, project parsing, "
                f"{results['small']['steps']['full_build']['dbt'].get('tests')} dbt tests) "
                "dominate every ratio:",
                "",
                *targets_table(results["small"]),
                "",
                *miss_explanations(results["small"]),
            ]
    if NOTES_FILE.exists():
        lines += ["", "## Analysis", "", NOTES_FILE.read_text().strip()]
    lines += ["", "## Per scale", ""]
    for scale in SCALES:
        if scale in results:
            lines += [*scale_section(results[scale]), ""]
        else:
            lines += [
                f"### {scale}",
                "",
                f"*Not yet measured — run `{RUN_HINT.format(scale=scale)}`.*",
                "",
            ]
    lines += spark_section(load_results("spark_"))
    lines += [
        "## Method",
        "",
        "- Each step runs in a fresh process group started by `benchmarks/run.py`, under "
        "`/usr/bin/time -v` (or, where it is missing, a Python wrapper reading "
        "`getrusage(RUSAGE_CHILDREN)`). *Peak RSS, largest process* is its "
        "`Maximum resident set size`: the largest single process of the step (for a build, "
        "usually the `dbt` process that runs DuckDB). *Peak RSS, process tree* is the sum "
        "of the RSS of the step's processes, sampled every 0.2 s from `/proc` (a build is "
        "`optout` plus the `dbt` it starts). Peak memory in the results table is the larger "
        "of the two.",
        "- Builds run with `OPTOUT_THREADS=2` and `OPTOUT_MEMORY_LIMIT=3GB` (DuckDB's "
        "`memory_limit`; it spills to disk above it), and the raw scan with the same "
        "settings. Files are in the page cache (just written): the numbers are CPU-bound, "
        "not disk-bound.",
        "- The data set is `optout generate --users U --days N --seed 42 --end-date "
        "2026-01-31`. The daily files of END (`*_2026-01-31.csv`) are moved aside before the "
        "raw scan and the full build and moved back for the incremental build; the pandas "
        "peer reads the same N−1 days as the full build, and its output is compared with "
        "the full build's marts (on small also: the peer on all N days against the "
        "incremental build's marts).",
        "- The pandas peer runs under `RLIMIT_AS` (`ulimit -v`) of "
        f"min({PANDAS_CAP_GB:g} GB, 90 % of available memory) and is killed if its RSS passes "
        "that cap (reported as *did not fit*); it is skipped without running where its "
        f"estimated peak ({PANDAS_BYTES_FACTOR:g} × the CSV bytes) exceeds the cap. It does "
        "no validation, quarantine or deduplication (the synthetic data is clean), so it "
        "does less work than the warehouse, which also runs every other model and all "
        "dbt data tests.",
        f"- `large` needs about {_disk_needed('large') / 1e9:,.0f} GB of disk (raw files, "
        "the warehouse, the build's working copy, DuckDB spill); "
        "where less is free the run uses the largest user count that fits and says so in "
        "its notes.",
        "",
        "## Machine and versions",
        "",
        "| scale | CPUs (nproc) | memory | CPU model | kernel | python | duckdb | dbt-core "
        "| dbt-duckdb | pandas | numpy | pyarrow |",
        "|---|---:|---:|---|---|---|---|---|---|---|---|---|",
    ]
    for scale, result in results.items():
        m, v = result["machine"], result["versions"]
        lines.append(
            f"| {scale} | {m['nproc']} | {_mb(m['memory_bytes'])} | {m['cpu_model']} "
            f"| {m['kernel']} | {v['python']} | {v['duckdb']} | {v['dbt-core']} "
            f"| {v['dbt-duckdb']} | {v['pandas']} | {v['numpy']} | {v['pyarrow']} |"
        )
    if not results:
        lines.append("| *no results yet* | | | | | | | | | | | |")
    return "\n".join(lines) + "\n"
