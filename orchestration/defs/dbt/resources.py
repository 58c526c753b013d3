"""The dbt project, its manifest, and the dbt CLI resource Dagster runs it with.

dagster-dbt reads `target/manifest.json` when the definitions are imported. The install
step (`make manifest`, i.e. `dbt parse`) writes it; `prepare_manifest` writes it at start-up
when it is missing, when it was parsed for another engine, and on every start
under `dagster dev` (what `DbtProject.prepare_if_dev()` does, but with the dbt of this
environment rather than whatever `dbt` is on PATH).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.dbt_project import using_dagster_dev
from packaging import version

from orchestration.build import dbt_executable
from orchestration.config import DBT_PROJECT_DIR, Settings

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class OptoutDbtCli(DbtCliResource):
    """dagster-dbt's dbt resource, told the version of this environment's dbt (which
    `optout-dbt` runs) instead of asking `dbt --version` on every run: a dbt start-up,
    about 3 s of CPU."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(metadata.version("dbt-core"))


def dbt_resource() -> DbtCliResource:
    """The dbt resource of the Dagster definitions (the CLI runs the same dbt directly)."""
    return OptoutDbtCli(
        project_dir=os.fspath(DBT_PROJECT_DIR),
        profiles_dir=os.fspath(DBT_PROJECT_DIR),
        dbt_executable=dbt_executable(),
    )


def manifest_database(manifest: Mapping[str, Any]) -> str | None:
    """The databases the manifest's models were parsed against, comma-separated (DuckDB:
    the profile's fixed names `published,state`, whatever the files are called; Spark:
    none)."""
    names = {
        node.get("database")
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model"
    }
    return ",".join(sorted(name for name in names if name)) or None


def manifest_identity(manifest: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(adapter, database) the manifest was parsed for: the Spark adapter has no database,
    DuckDB's is the warehouse file stem."""
    return manifest.get("metadata", {}).get("adapter_type"), manifest_database(manifest)


def expected_identity(settings: Settings) -> tuple[str, str | None]:
    """The manifest identity a build with these settings needs."""
    if settings.target == "spark":
        return "spark", None
    return "duckdb", "published,state"


def describe_identity(identity: tuple[str | None, str | None]) -> str:
    adapter, database = identity
    return f"{adapter} warehouse {database!r}" if database else f"{adapter}"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    # A code server and run workers may start together; one parse at a time.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _parse(settings: Settings, target: Path) -> None:
    env = {
        **os.environ,
        **settings.dbt_env(),
        "DBT_TARGET_PATH": os.fspath(target),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    done = subprocess.run(
        [dbt_executable(), "parse", "--quiet"],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise RuntimeError(f"`dbt parse` failed in {DBT_PROJECT_DIR}:\n{tail}")


def prepare_manifest(settings: Settings | None = None) -> dict[str, Any]:
    """Return the parsed manifest, (re)parsing first when it is missing, parsed for
    another engine, or when running under `dagster dev`."""
    settings = settings or Settings.from_env()
    path = DBT_PROJECT.manifest_path
    expected = expected_identity(settings)

    def current() -> dict[str, Any] | None:
        manifest = _read(path)
        if manifest is None or manifest_identity(manifest) != expected:
            return None
        return manifest

    manifest = None if using_dagster_dev() else current()
    if manifest is None:
        before = path.stat().st_mtime_ns if path.exists() else None
        with _lock(path):
            after = path.stat().st_mtime_ns if path.exists() else None
            manifest = current() if after != before else None  # parsed while we waited
            if manifest is None:
                _parse(settings, path.parent)
                manifest = current()
    if manifest is None:
        raise RuntimeError(
            f"{path} was not parsed for the {describe_identity(expected)}; "
            "run `make manifest` with the same OPTOUT_TARGET and OPTOUT_WAREHOUSE as at run time"
        )
    return manifest
