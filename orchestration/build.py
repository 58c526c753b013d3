"""The one code path that writes the warehouse: `optout build` and the Dagster
dbt assets both go through `warehouse_build` and `dbt_build_args`.

A build runs against a copy of the warehouse and replaces the real file only
when dbt succeeds, so a failed or killed build leaves the previous marts in
place, and readers never see a half-built state. A lock file keeps a second
writer out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from orchestration.config import DBT_PROJECT_DIR, Settings
from orchestration.lib.progress import BuildProgress


class WarehouseBusyError(RuntimeError):
    """Another process is writing the warehouse."""


class BuildError(RuntimeError):
    """dbt failed; the previous warehouse is untouched."""


def dbt_build_args(
    as_of: str | None = None,
    full_refresh: bool = False,
    extra_vars: dict | None = None,
) -> list[str]:
    """Arguments of `dbt build` for a warehouse build."""
    dbt_vars = dict(extra_vars or {})
    if as_of:
        dbt_vars["as_of"] = as_of
    args = ["build"]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
    if full_refresh:
        args.append("--full-refresh")
    return args


def load_window_vars(through: dt.date | str | None) -> dict[str, str]:
    """The dbt var that limits a build to the landing files dated up to `through` (a
    partition's last day, `optout build --through`); none loads every file. dbt checks the
    value again (macros/load_window.sql)."""
    return {"load_through": str(through)} if through else {}


@contextlib.contextmanager
def warehouse_lock(warehouse: Path, timeout_s: float | None = None) -> Iterator[None]:
    """Exclusive advisory lock beside the warehouse file; waits up to timeout_s."""
    if timeout_s is None:
        timeout_s = float(os.environ.get("OPTOUT_LOCK_TIMEOUT", "600"))
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    with open(lock_path, "a+") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseBusyError(
                        f"another build is writing {warehouse}; wait for it to finish "
                        f"or raise OPTOUT_LOCK_TIMEOUT (now {timeout_s:g} s)"
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def warehouse_writer(settings: Settings, fresh: bool = False) -> Iterator[Path]:
    """Yield the path a build should write; publish it atomically on success.

    The working copy keeps the warehouse's file name (DuckDB names the
    database after the file stem, and dbt's manifest after the database).
    `fresh` (a full refresh rebuilds every table) starts from an empty file
    instead of copying the current one.
    """
    target = settings.warehouse
    work_dir = target.parent / ".building"
    work = work_dir / target.name
    with warehouse_lock(target):
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True)
        if target.exists() and not fresh:
            shutil.copyfile(target, work)
        try:
            yield work
        except BaseException:
            shutil.rmtree(work_dir, ignore_errors=True)
            raise
        if work.with_name(work.name + ".wal").exists():
            import duckdb

            duckdb.connect(os.fspath(work)).close()  # replays the WAL into the file
        os.replace(work, target)
        shutil.rmtree(work_dir, ignore_errors=True)


@contextlib.contextmanager
def dbt_environment(settings: Settings, warehouse: Path) -> Iterator[None]:
    """Point dbt (which reads os.environ) at the given warehouse, then restore."""
    saved = {key: os.environ.get(key) for key in settings.dbt_env(warehouse)}
    os.environ.update(settings.dbt_env(warehouse))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def dbt_resource():
    """The DbtCliResource of the Dagster definitions (the CLI runs the same dbt directly)."""
    from dagster_dbt import DbtCliResource

    return DbtCliResource(
        project_dir=os.fspath(DBT_PROJECT_DIR),
        profiles_dir=os.fspath(DBT_PROJECT_DIR),
        dbt_executable=dbt_executable(),
    )


def dbt_executable() -> str:
    """The dbt of this interpreter's environment, so an un-activated venv works too."""
    beside = Path(sys.executable).parent / "dbt"
    return os.fspath(beside) if beside.exists() else "dbt"


@contextlib.contextmanager
def warehouse_build(settings: Settings, full_refresh: bool = False) -> Iterator[Path]:
    """The frame of every build, `optout build` and the Dagster dbt assets alike: lock,
    copy, point dbt at the copy, and publish it only if the body raises nothing.

    On Spark (OPTOUT_TARGET=spark) dbt-spark writes the tables of the Spark warehouse in
    place: the lock keeps one writer (its Derby metastore admits one process), and there
    is no copy to publish, so a failed build can leave some tables rebuilt and others not
    (docs/DECISIONS.md)."""
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    if settings.target == "spark":
        settings.spark_warehouse.mkdir(parents=True, exist_ok=True)
        with (
            warehouse_lock(settings.spark_warehouse),
            dbt_environment(settings, settings.warehouse),
        ):
            yield settings.spark_warehouse
        return
    with warehouse_writer(settings, fresh=full_refresh) as work, dbt_environment(settings, work):
        yield work


def build_target_path(settings: Settings) -> Path:
    """dbt's target folder of CLI builds, one per warehouse."""
    if settings.target == "spark":
        return (
            settings.spark_warehouse.parent
            / ".dbt_target"
            / f"spark-{settings.spark_warehouse.name}"
        )
    return settings.warehouse.parent / ".dbt_target" / settings.warehouse.stem


def run_build(
    settings: Settings,
    as_of: str | None = None,
    full_refresh: bool = False,
    log: Callable[[str], None] | None = None,
    through: dt.date | str | None = None,
) -> None:
    """Build and test every model (the `optout build` command); `through` loads only the
    landing files dated up to that day.

    The same frame as the Dagster dbt assets (`warehouse_build`, `dbt_build_args`); dbt
    runs as a plain subprocess here, which spares the CLI dagster-dbt's start-up. dbt's
    output goes to stdout, and to `log` when given.
    """
    # Per warehouse: concurrent builds of different warehouses must not share dbt's
    # artifacts, and a manifest must not meet another database name.
    target = build_target_path(settings)
    progress = BuildProgress(target, verbose=settings.verbose)
    args = [
        dbt_executable(),
        *progress.dbt_args,
        *dbt_build_args(
            as_of=as_of, full_refresh=full_refresh, extra_vars=load_window_vars(through)
        ),
        "--target-path",
        os.fspath(target),
        "--log-path",
        os.fspath(target),
    ]
    with warehouse_build(settings, full_refresh=full_refresh):
        env = {
            **os.environ,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "true" if sys.stdout.isatty() else "false",
        }
        with subprocess.Popen(
            args,
            cwd=DBT_PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                for text in progress.feed(line):
                    if log is not None:
                        log(text)
        progress.finish(process.returncode)
        if process.returncode != 0:
            raise BuildError(
                "dbt build failed (see the messages above); the previous warehouse is unchanged"
            )
