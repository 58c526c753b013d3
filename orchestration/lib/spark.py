"""The Spark side of a build (OPTOUT_TARGET=spark), for `warehouse_build`.

A Spark build writes the staging tables in place (a load is a partition of its own, undone
by the next build when it died half-way) and builds the marts and the quarantine into fresh
databases named after the build, `marts__<id>` / `quarantine__<id>`. dbt's on-run-end hook
publishes them only when every model and test passed (macros/project/publish_spark.sql), so
a failed build leaves the published marts as they were (docs/DECISIONS.md "Spark:
atomic publish through views").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
from collections.abc import Iterator

from orchestration.build import (
    _ensure_folder,
    check_landing_zone,
    dbt_environment,
    environ,
    private_files,
    warehouse_lock,
)
from orchestration.config import Settings


def new_build_id(now: dt.datetime | None = None) -> str:
    """A build's id: its UTC start time and a random suffix (database names: [a-z0-9_])."""
    now = now or dt.datetime.now(dt.UTC)
    return f"b{now:%Y%m%d%H%M%S}_{secrets.token_hex(3)}"


def build_env(settings: Settings, build_id: str) -> dict[str, str]:
    """What a Spark build adds to dbt's environment: the build id, and the landing zone as
    the cluster reads it when that is not the local OPTOUT_RAW_DIR."""
    env = {"OPTOUT_SPARK_BUILD": build_id}
    if settings.spark_raw_dir:
        env["OPTOUT_RAW_DIR"] = settings.spark_raw_dir
    return env


@contextlib.contextmanager
def spark_build(settings: Settings) -> Iterator[int]:
    """The frame of a Spark build: check a local landing zone, take the lock (one writer per
    warehouse: the session's Derby metastore admits one process, and a cluster's staging
    tables one build at a time), point dbt at the engine with a fresh build id. Yields the
    lock's file descriptor."""
    if not settings.spark_raw_dir:
        check_landing_zone(settings)
    # Session: the warehouse; thrift: the lock and dbt's artifacts of this machine.
    _ensure_folder(settings.spark_warehouse, "Spark warehouse")
    with (
        private_files(),
        warehouse_lock(settings.spark_warehouse) as lock_fd,
        dbt_environment(settings),
        environ(build_env(settings, new_build_id())),
    ):
        yield lock_fd
