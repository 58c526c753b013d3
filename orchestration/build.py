"""The one code path that writes the warehouse: `optout build` and the Dagster dbt assets
both go through `warehouse_build` and `dbt_build_args`.

A DuckDB warehouse is two files (docs/OPERATIONS.md "How a build publishes"):

- the **state** (`<name>.state.duckdb`): the landing rows of every loaded file, staging and
  intermediate models. Each build updates it in place, and only with what is new: a load
  of new files is one transaction per source, so a killed build leaves whole loads, and
  the next build catches up.
- the **published** file (`OPTOUT_WAREHOUSE`): the schemas `marts` and `quarantine`, all
  readers open. A build writes them into a fresh file (`<name>.next.duckdb`) and swaps it
  in with one rename only when every model and test passed, so readers never wait for a
  build nor see half of one, and a failed build leaves the previous marts published.

A lock beside the published file keeps a second writer out; the dbt process holds it too,
so it is released only when the build and its dbt are both gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestration.config import DBT_PROJECT_DIR, Settings, lock_timeout
from orchestration.lib.parse_state import PARSED_ENV, relative_paths, shared_parse_state
from orchestration.lib.progress import BuildProgress


class WarehouseBusyError(RuntimeError):
    """Another process is writing the warehouse."""


class BuildError(RuntimeError):
    """The build failed; the published warehouse is untouched. The message says why."""


# Files a build creates (warehouse, state, exports of the build) are the owner's only:
# they hold emails, phones and raw quarantined lines.
PRIVATE_UMASK = 0o077


@dataclass(frozen=True)
class WarehouseFiles:
    """The files of one DuckDB warehouse; every name derives from the published file's, so
    two warehouses in one folder share nothing."""

    published: Path
    state: Path
    next: Path
    lock: Path

    @classmethod
    def of(cls, settings: Settings) -> WarehouseFiles:
        published = settings.warehouse
        stem = published.name.removesuffix(".duckdb")
        return cls(
            published=published,
            state=settings.state_file,
            next=published.with_name(f"{stem}.next.duckdb"),
            lock=published.with_name(published.name + ".lock"),
        )


def dbt_build_args(
    as_of: str | None = None,
    full_refresh: bool = False,
    extra_vars: dict | None = None,
    skip_tests: Sequence[str] = (),
) -> list[str]:
    """Arguments of `dbt build` for a warehouse build; `skip_tests` names generic tests
    (e.g. not_null) the build leaves out."""
    dbt_vars = dict(extra_vars or {})
    if as_of:
        dbt_vars["as_of"] = as_of
    args = ["build"]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars, sort_keys=True)]
    if full_refresh:
        args.append("--full-refresh")
    if skip_tests:
        args += ["--exclude", *(f"test_name:{name}" for name in skip_tests)]
    return args


def load_window_env(through: dt.date | str | None) -> dict[str, str]:
    """What limits a build to the landing files dated up to `through` (a partition's last
    day, `optout build --through`); none loads every file. dbt checks the value again
    (macros/landing/load_window.sql). An environment variable, not the var load_through:
    --vars are part of dbt's parse state, so each new day would cost a full parse. Always
    set, so a value left in the caller's environment never narrows a build."""
    return {"OPTOUT_LOAD_THROUGH": str(through) if through else ""}


def landing_vars(allow_empty: bool) -> dict[str, bool]:
    """The dbt var that lets a landing zone without data files build (empty marts)."""
    return {"allow_empty_landing": True} if allow_empty else {}


@contextlib.contextmanager
def warehouse_lock(warehouse: Path, timeout_s: float | None = None) -> Iterator[int]:
    """Exclusive advisory lock beside the warehouse file; waits up to timeout_s. Yields the
    lock's file descriptor: a child process given it keeps the lock while it lives."""
    if timeout_s is None:
        timeout_s = lock_timeout()
    _ensure_folder(warehouse.parent, "warehouse")
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    try:
        handle = open(lock_path, "a+")  # noqa: SIM115 - held for the whole build
    except OSError as exc:
        raise BuildError(f"cannot create the lock file {lock_path}: {exc.strerror}") from None
    with handle:
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
            yield handle.fileno()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _ensure_folder(folder: Path, what: str) -> None:
    """Create `folder` (owner-only) or fail with one line saying what to fix."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BuildError(f"cannot create the {what} folder {folder}: {exc.strerror}") from None
    if os.statvfs(folder).f_flag & os.ST_RDONLY:
        raise BuildError(
            f"the {what} folder {folder} is on a read-only file system; "
            "remount it read-write or point the setting elsewhere"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BuildError(
            f"the {what} folder {folder} is not writable by this user; "
            "fix its permissions or point the setting elsewhere"
        )


def _remove(*paths: Path) -> None:
    """Remove DuckDB files and their companions (WAL, spill folder), if present."""
    for path in paths:
        for candidate in (path, path.with_name(path.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                candidate.unlink()


def check_landing_zone(settings: Settings) -> None:
    """A build reads an existing landing zone; it never creates one (an unmounted or
    mistyped folder must fail, not publish empty marts). dbt checks that it holds data."""
    if not settings.raw_dir.is_dir():
        raise BuildError(
            f"landing zone {settings.raw_dir} does not exist (is it mounted? is OPTOUT_RAW_DIR "
            "right?); nothing was built and the published marts are unchanged"
        )


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files and folders created meanwhile (by this process or its children) are the
    owner's only."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def _publish(files: WarehouseFiles) -> None:
    """Swap the freshly built marts in: one rename, after the file is complete on disk."""
    if files.next.with_name(files.next.name + ".wal").exists():
        import duckdb

        duckdb.connect(os.fspath(files.next)).close()  # replays the WAL into the file
    os.chmod(files.next, 0o600)
    with open(files.next, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(files.next, files.published)
    directory = os.open(files.published.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@contextlib.contextmanager
def dbt_environment(settings: Settings, publish: Path | None = None) -> Iterator[None]:
    """Point dbt (which reads os.environ) at this warehouse, then restore."""
    with environ(settings.dbt_env(publish)):
        yield


@contextlib.contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    """os.environ with these values set, restored afterwards."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def dbt_executable() -> str:
    """The dbt of this interpreter's environment (an un-activated venv works too), through
    `optout-dbt`, which makes it die with the build that started it."""
    for name in ("optout-dbt", "dbt"):
        beside = Path(sys.executable).parent / name
        if beside.exists():
            return os.fspath(beside)
    return "dbt"


@contextlib.contextmanager
def warehouse_build(
    settings: Settings,
    full_refresh: bool = False,
    on_published: Callable[[], None] | None = None,
) -> Iterator[int]:
    """The frame of every build, `optout build` and the Dagster dbt assets alike: check the
    landing zone, lock, point dbt at the state and a fresh file for the marts, and publish
    that file only if the body raises nothing (then `on_published`, still under the lock).
    Yields the lock's file descriptor.

    On Spark (OPTOUT_TARGET=spark) the marts go to databases of their own build, which
    dbt publishes at its end when every model and test passed (orchestration/lib/spark.py)."""
    if settings.target == "spark":
        from orchestration.lib.spark import spark_build

        with spark_build(settings) as lock_fd:
            yield lock_fd
        return
    check_landing_zone(settings)
    files = WarehouseFiles.of(settings)
    with private_files(), warehouse_lock(files.published) as lock_fd:
        _ensure_folder(files.state.parent, "warehouse state")
        _remove(files.next)
        if full_refresh:
            _remove(files.state)  # a full refresh starts from no state at all
        for existing in (files.published, files.state):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(existing, 0o600)
        try:
            with dbt_environment(settings, publish=files.next):
                yield lock_fd
        except BaseException:
            _remove(files.next)
            raise
        try:
            _publish(files)
        except OSError as exc:
            _remove(files.next)
            raise BuildError(
                f"cannot publish the new marts over {files.published}: {exc.strerror}; "
                "the previous warehouse is unchanged"
            ) from None
        if on_published is not None:
            on_published()


@contextlib.contextmanager
def dbt_invocation(
    settings: Settings,
    target: Path,
    through: dt.date | str | None,
    as_of: str | None,
    dbt_vars: dict,
) -> Iterator[tuple[Path, dict[str, str]]]:
    """Where a build's dbt runs and what it gets beyond os.environ (inside
    `warehouse_build`), for `optout build` and the Dagster dbt assets alike; `as_of` and
    `dbt_vars` are the build's --vars (`dbt_build_args`). On DuckDB: in the warehouse's
    folder, naming the files there by their names, and starting from the shared parse
    state unless the build has --vars (they are part of the parse; lib/parse_state.py).
    `OPTOUT_DBT_CWD` tells optout-dbt where to run when the caller cannot choose
    (dagster-dbt runs dbt in the project folder)."""
    _ensure_folder(target, "dbt target")
    env = load_window_env(through)
    cwd, parse_inputs = DBT_PROJECT_DIR, None
    if settings.target == "duckdb":
        cwd = settings.warehouse.parent
        env.update(relative_paths(os.environ, cwd))
        if not (dbt_vars or as_of):
            parse_inputs = {k: env.get(k, os.environ.get(k)) for k in PARSED_ENV}
    env["OPTOUT_DBT_CWD"] = os.fspath(cwd)
    with shared_parse_state(target, parse_inputs):
        yield cwd, env


def build_target_path(settings: Settings) -> Path:
    """dbt's target folder of the builds of a warehouse (CLI and Dagster), one per
    warehouse."""
    if settings.target == "spark":
        return (
            settings.spark_warehouse.parent
            / ".dbt_target"
            / f"spark-{settings.spark_warehouse.name}"
        )
    return (
        settings.warehouse.parent / ".dbt_target" / settings.warehouse.name.removesuffix(".duckdb")
    )


class _Interrupted(BaseException):
    """SIGTERM or SIGINT during a build: stop dbt, then fail."""


@contextlib.contextmanager
def _stop_child_on_signals(process: subprocess.Popen) -> Iterator[None]:
    """Forward SIGTERM / SIGINT to dbt's process group and wait for it, so the build's
    lock is released only when dbt is gone. Main thread only (signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, _frame):
        raise _Interrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    except _Interrupted as exc:
        _stop(process)
        raise BuildError(
            f"build stopped by {signal.Signals(exc.args[0]).name}; dbt was stopped with it, "
            "the published warehouse is unchanged"
        ) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# What a build's result depends on, besides the landing files: the project's code.
_PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests")


def build_fingerprint(settings: Settings, dbt_vars: dict) -> str:
    """A digest of everything a build's result depends on: the landing zone's files (names,
    sizes, modification times: files are never edited in place), the dbt project's code,
    the engine, the dbt vars and the package versions."""
    from importlib import metadata

    digest = hashlib.sha256()
    digest.update(json.dumps([settings.target, dbt_vars], sort_keys=True, default=str).encode())
    for package in ("dbt-core", "dbt-duckdb", "duckdb"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            digest.update(f"{package}={metadata.version(package)}".encode())
    for part in _PROJECT_PARTS:
        root = DBT_PROJECT_DIR / part
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            digest.update(path.relative_to(DBT_PROJECT_DIR).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    for folder, dirs, names in sorted(os.walk(settings.raw_dir)):
        dirs.sort()
        for name in sorted(names):
            info = os.stat(os.path.join(folder, name))
            relative = os.path.relpath(os.path.join(folder, name), settings.raw_dir)
            digest.update(f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _build_record_path(settings: Settings) -> Path:
    return settings.warehouse.with_name(settings.warehouse.name + ".build.json")


def _identity(path: Path) -> list[int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return [info.st_ino, info.st_size, info.st_mtime_ns]


def up_to_date(settings: Settings, fingerprint: str) -> str | None:
    """When the published marts were built from exactly these inputs, the time they were
    built (UTC, ISO); else None."""
    try:
        record = json.loads(_build_record_path(settings).read_text())
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != fingerprint:
        return None
    if record.get("published") != _identity(settings.warehouse):
        return None  # another build (Dagster, dbt) published since, or the file was replaced
    return record.get("built_at")


def _record_build(settings: Settings, fingerprint: str) -> None:
    record = {
        "fingerprint": fingerprint,
        "published": _identity(settings.warehouse),
        "built_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    path = _build_record_path(settings)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(record) + "\n")
    os.replace(temporary, path)


def run_build(
    settings: Settings,
    as_of: str | None = None,
    full_refresh: bool = False,
    log: Callable[[str], None] | None = None,
    through: dt.date | str | None = None,
    allow_empty: bool = False,
    extra_vars: dict | None = None,
    force: bool = False,
    skip_tests: Sequence[str] = (),
) -> bool:
    """Build and test every model (the `optout build` command); `through` loads only the
    landing files dated up to that day, `allow_empty` lets a landing zone without data
    files build, `skip_tests` leaves generic tests of those names out (the Spark tests do:
    docs/DECISIONS.md). Returns False, building nothing, when the published marts were built
    from exactly these inputs (same landing files, code, vars) unless `force` or
    `full_refresh`.

    The same frame as the Dagster dbt assets (`warehouse_build`, `dbt_build_args`); dbt
    runs as a plain subprocess here, which spares the CLI dagster-dbt's start-up. dbt's
    output goes to stdout, and to `log` when given.
    """
    # Per warehouse: concurrent builds of different warehouses must not share dbt's
    # artifacts, and a manifest must not meet another project state.
    target = build_target_path(settings)
    dbt_vars = {**landing_vars(allow_empty), **(extra_vars or {})}
    progress = BuildProgress(target, verbose=settings.verbose)
    args = [
        dbt_executable(),
        *progress.dbt_args,
        *dbt_build_args(
            as_of=as_of, full_refresh=full_refresh, extra_vars=dbt_vars, skip_tests=skip_tests
        ),
        "--target-path",
        os.fspath(target),
        "--log-path",
        os.fspath(target),
    ]
    fingerprint = None
    if settings.target == "duckdb":
        check_landing_zone(settings)
        options = {"as_of": as_of, **dbt_vars}
        if through:
            options["load_through"] = str(through)
        if skip_tests:  # a build that tested less is not the same build
            options["skip_tests"] = sorted(skip_tests)
        fingerprint = build_fingerprint(settings, options)
        if not (force or full_refresh):
            built_at = up_to_date(settings, fingerprint)
            if built_at is not None:
                # A build killed earlier may have left its unfinished marts: remove them.
                with (
                    contextlib.suppress(WarehouseBusyError),
                    warehouse_lock(settings.warehouse, timeout_s=10),
                ):
                    _remove(WarehouseFiles.of(settings).next)
                message = (
                    f"nothing new since the build of {built_at}: the published marts are "
                    "current (same landing files, project and options; --force rebuilds)"
                )
                print(message)
                if log is not None:
                    log(message)
                return False

    def record() -> None:
        if fingerprint is not None:
            _record_build(settings, fingerprint)

    with warehouse_build(settings, full_refresh=full_refresh, on_published=record) as lock_fd:
        env = {
            **os.environ,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "true" if sys.stdout.isatty() else "false",
        }
        lines: list[str] = []
        with (
            dbt_invocation(settings, target, through, as_of, dbt_vars) as (cwd, invocation_env),
            subprocess.Popen(
                [*args, "--project-dir", os.fspath(DBT_PROJECT_DIR)],
                cwd=cwd,
                env={**env, **invocation_env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # its own process group: stopped as a whole
                pass_fds=(lock_fd,),  # dbt holds the lock as long as it runs
            ) as process,
        ):
            assert process.stdout is not None
            try:
                with _stop_child_on_signals(process):
                    for line in process.stdout:
                        for text in progress.feed(line):
                            lines.append(text)
                            if log is not None:
                                log(text)
                    process.wait()
            except BaseException:
                _stop(process)
                raise
        progress.finish(process.returncode)
        if process.returncode != 0:
            raise BuildError(failure_summary(lines, settings))
    return True


# What dbt's output says, in the words a user can act on (first match wins).
_OUR_MESSAGES = ("landing file ", "landing zone ", "load_through ", "var as_of ")


def failure_summary(lines: list[str], settings: Settings) -> str:
    """One line for a failed dbt build: the project's own message when dbt printed one
    (a bad landing file, an empty landing zone, a bad var), the cause when the disk or the
    file system refused, else a pointer to dbt's messages above."""
    unchanged = "The previous warehouse is unchanged."
    for line in lines:
        text = line.strip()
        for start in _OUR_MESSAGES:
            if text.startswith(start):
                return f"{text} {unchanged}"
    folder = settings.warehouse.parent
    for line in lines:
        if "No space left on device" in line:
            return (
                f"the disk holding {folder} is full: free space there (or set OPTOUT_WAREHOUSE "
                f"and OPTOUT_STATE to a bigger disk) and build again. {unchanged}"
            )
        if "Read-only file system" in line or "Permission denied" in line:
            return f"cannot write in {folder} ({line.strip()[:200]}). {unchanged}"
    return f"dbt build failed (see the messages above). {unchanged}"
