"""Every setting read from the environment, in one place (docs/CONTRACT.md §7.1), resolved
once to absolute paths: `Settings` for the warehouse (CLI, dbt, Dagster runs),
`DagsterSettings` for the Dagster code location (partitions, schedules, instance). Nothing
else in the project reads os.environ for a setting. A bad value raises ConfigError with one
line naming it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


class ConfigError(ValueError):
    """A bad environment setting: the message says which and how to fix it."""


def _file_mode(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o777:
        raise ConfigError(f"OPTOUT_EXPORT_FILE_MODE must be octal like 600 or 640, got {text!r}")
    return mode


def _positive_int(name: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{name} must be a whole number of 1 or more, got {text!r}")
    return value


_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.I)


def _memory(name: str, text: str) -> str:
    if not _MEMORY.match(text):
        raise ConfigError(f"{name} must be an amount like 3GB or 512MB, got {text!r}")
    return text.strip()


def lock_timeout(env: dict[str, str] | None = None) -> float:
    """OPTOUT_LOCK_TIMEOUT: seconds a build waits for another build's lock (default 600)."""
    text = (os.environ if env is None else env).get("OPTOUT_LOCK_TIMEOUT", "600")
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(
            f"OPTOUT_LOCK_TIMEOUT must be a number of seconds (0 or more), got {text!r}"
        )
    return value


TARGETS = ("duckdb", "spark")  # the dbt profile's targets (dbt_project/profiles.yml)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value not in _TRUE + _FALSE:
        raise ConfigError(f"{name} must be 1 or 0 (true or false), got {text!r}")
    return value in _TRUE


def parse_target(text: str) -> str:
    target = text.strip().lower()
    if target not in TARGETS:
        raise ConfigError(f"OPTOUT_TARGET must be {' or '.join(TARGETS)}, got {text!r}")
    return target


SPARK_METHODS = ("session", "thrift")  # dbt-spark methods of the spark target (profiles.yml)


def parse_spark_method(text: str) -> str:
    method = text.strip().lower()
    if method not in SPARK_METHODS:
        raise ConfigError(f"OPTOUT_SPARK_METHOD must be {' or '.join(SPARK_METHODS)}, got {text!r}")
    return method


def _port(text: str, name: str) -> int:
    port = int(text) if text.strip().isdigit() else 0
    if not 0 < port < 65536:
        raise ConfigError(f"{name} must be a TCP port (1-65535), got {text!r}")
    return port


@dataclass(frozen=True)
class Settings:
    raw_dir: Path
    warehouse: Path
    export_dir: Path
    threads: int = 2  # dbt threads (models built at once)
    memory_limit: str = "3GB"  # DuckDB memory_limit
    duckdb_threads: int = 2  # DuckDB threads per query
    # Exports hold personal data: owner-only unless OPTOUT_EXPORT_FILE_MODE says otherwise.
    export_file_mode: int = 0o600
    # The engine dbt builds with and the marts are read from (dbt profile target).
    target: str = "duckdb"
    spark_warehouse: Path = Path("data/spark-warehouse").resolve()  # tables + metastore
    spark_master: str = "local[2]"
    spark_driver_memory: str = "3g"
    # session: a local Spark in the dbt process; thrift: a cluster's Spark Thrift server.
    spark_method: str = "session"
    spark_host: str = "127.0.0.1"
    spark_port: int = 10000
    spark_user: str = "optout"  # the user name sent to the Thrift server
    # The landing zone as the cluster reads it (s3a://…, gs://…); none: raw_dir.
    spark_raw_dir: str | None = None
    # DuckDB: the landing state, staging and intermediate models, updated in place by
    # each build (none: beside the warehouse, <name>.state.duckdb).
    state: Path | None = None
    # `optout build`: dbt's own output instead of one line per layer (`--verbose`).
    verbose: bool = False
    # The Dagster instance a CLI build reports its materializations to (unset: none).
    dagster_home: Path | None = None

    @property
    def state_file(self) -> Path:
        if self.state is not None:
            return self.state
        return self.warehouse.with_name(
            self.warehouse.name.removesuffix(".duckdb") + ".state.duckdb"
        )

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        for name in ("OPTOUT_WAREHOUSE", "OPTOUT_STATE"):
            if "?" in env.get(name, ""):
                raise ConfigError(
                    f"{name} must not contain '?' (DuckDB reads it as the start of connection "
                    f"options), got {Path(env[name]).resolve()}"
                )
        return cls(
            raw_dir=Path(env.get("OPTOUT_RAW_DIR", "data/raw")).resolve(),
            warehouse=Path(env.get("OPTOUT_WAREHOUSE", "data/warehouse.duckdb")).resolve(),
            export_dir=Path(env.get("OPTOUT_EXPORT_DIR", "exports")).resolve(),
            threads=_positive_int("OPTOUT_THREADS", env.get("OPTOUT_THREADS", "2")),
            memory_limit=_memory("OPTOUT_MEMORY_LIMIT", env.get("OPTOUT_MEMORY_LIMIT", "3GB")),
            duckdb_threads=_positive_int(
                "OPTOUT_DUCKDB_THREADS", env.get("OPTOUT_DUCKDB_THREADS", "2")
            ),
            export_file_mode=_file_mode(env.get("OPTOUT_EXPORT_FILE_MODE", "600")),
            target=parse_target(env.get("OPTOUT_TARGET", "duckdb")),
            spark_warehouse=Path(
                env.get("OPTOUT_SPARK_WAREHOUSE", "data/spark-warehouse")
            ).resolve(),
            spark_master=env.get("OPTOUT_SPARK_MASTER", "local[2]"),
            spark_driver_memory=env.get("OPTOUT_SPARK_DRIVER_MEMORY", "3g"),
            spark_method=parse_spark_method(env.get("OPTOUT_SPARK_METHOD", "session")),
            spark_host=env.get("OPTOUT_SPARK_HOST", "127.0.0.1"),
            spark_port=_port(env.get("OPTOUT_SPARK_PORT", "10000"), "OPTOUT_SPARK_PORT"),
            spark_user=env.get("OPTOUT_SPARK_USER", "optout"),
            spark_raw_dir=env.get("OPTOUT_SPARK_RAW_DIR") or None,
            state=Path(env["OPTOUT_STATE"]).resolve() if env.get("OPTOUT_STATE") else None,
            verbose=_flag("OPTOUT_VERBOSE", env.get("OPTOUT_VERBOSE", "")),
            dagster_home=Path(env["DAGSTER_HOME"]).resolve() if env.get("DAGSTER_HOME") else None,
        )

    def dbt_env(self, publish: Path | None = None) -> dict[str, str]:
        """Environment for a dbt invocation: absolute paths, whatever the cwd. `publish` is
        the file the build writes the marts to (default: the warehouse itself)."""
        return {
            "OPTOUT_RAW_DIR": str(self.raw_dir),
            "OPTOUT_WAREHOUSE": str(self.warehouse),
            "OPTOUT_STATE": str(self.state_file),
            "OPTOUT_PUBLISH": str(publish or self.warehouse),
            "OPTOUT_THREADS": str(self.threads),
            "OPTOUT_MEMORY_LIMIT": self.memory_limit,
            "OPTOUT_DUCKDB_THREADS": str(self.duckdb_threads),
            "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
            "OPTOUT_TARGET": self.target,
            "OPTOUT_SPARK_WAREHOUSE": str(self.spark_warehouse),
            "OPTOUT_SPARK_MASTER": self.spark_master,
            "OPTOUT_SPARK_DRIVER_MEMORY": self.spark_driver_memory,
            "OPTOUT_SPARK_METHOD": self.spark_method,
            "OPTOUT_SPARK_HOST": self.spark_host,
            "OPTOUT_SPARK_USER": self.spark_user,
            "OPTOUT_SPARK_PORT": str(self.spark_port),
        }


SCHEDULE_STATUSES = ("running", "stopped")
_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?#LW]+$")


def _cron(name: str, text: str) -> str:
    fields = text.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(part) for part in fields):
        raise ConfigError(
            f"{name} must be a cron expression of 5 fields like '0 2 * * *', got {text!r}"
        )
    return " ".join(fields)


def _timezone(name: str, text: str) -> str:
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be an IANA time zone like UTC or Europe/Istanbul, got {text!r}"
        ) from None
    return text


def _date(name: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a date as YYYY-MM-DD, got {text!r}") from None


@dataclass(frozen=True)
class DagsterSettings:
    """The Dagster code location's settings, read when it loads (docs/OPERATIONS.md)."""

    # First daily partition; None: the first day of data in the landing zone.
    partitions_start: dt.date | None = None
    schedule_timezone: str = "UTC"
    build_cron: str = "0 2 * * *"
    exports_cron: str = "0 3 * * *"
    schedules_running: bool = True  # default status of the schedules and the sensor
    # The instance's storage: PostgreSQL at this URL, else SQLite under $DAGSTER_HOME.
    postgres_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DagsterSettings:
        env = os.environ if env is None else env
        start = env.get("OPTOUT_PARTITIONS_START", "").strip()
        status = env.get("OPTOUT_SCHEDULE_STATUS", "running").strip().lower()
        if status not in SCHEDULE_STATUSES:
            raise ConfigError(f"OPTOUT_SCHEDULE_STATUS must be running or stopped, got {status!r}")
        url = env.get("OPTOUT_DAGSTER_POSTGRES_URL", "").strip() or None
        # SQLAlchemy 2.1 reads a plain postgresql:// as psycopg 3; dagster-postgres brings
        # psycopg2, so the URL names that driver.
        if url is not None and not url.startswith("postgresql+psycopg2://"):
            raise ConfigError(
                "OPTOUT_DAGSTER_POSTGRES_URL must be a URL like "
                f"postgresql+psycopg2://user:password@host:5432/dagster, got {url!r}"
            )
        return cls(
            partitions_start=_date("OPTOUT_PARTITIONS_START", start) if start else None,
            schedule_timezone=_timezone(
                "OPTOUT_SCHEDULE_TIMEZONE", env.get("OPTOUT_SCHEDULE_TIMEZONE", "UTC")
            ),
            build_cron=_cron("OPTOUT_BUILD_CRON", env.get("OPTOUT_BUILD_CRON", "0 2 * * *")),
            exports_cron=_cron("OPTOUT_EXPORTS_CRON", env.get("OPTOUT_EXPORTS_CRON", "0 3 * * *")),
            schedules_running=status == "running",
            postgres_url=url,
        )
