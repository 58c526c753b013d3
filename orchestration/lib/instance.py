"""The Dagster instance configuration, $DAGSTER_HOME/dagster.yaml: deploy/dagster.yaml,
plus PostgreSQL storage when the one setting OPTOUT_DAGSTER_POSTGRES_URL is set
(orchestration/config.py). The URL itself stays in the environment: the file names the
variable, Dagster reads it at start-up.

    python -m orchestration.lib.instance     # what `make manifest` runs
"""

from __future__ import annotations

import sys
from pathlib import Path

from orchestration.config import REPO_ROOT, ConfigError, DagsterSettings, Settings

TEMPLATE = REPO_ROOT / "deploy" / "dagster.yaml"

POSTGRES_STORAGE = """
# OPTOUT_DAGSTER_POSTGRES_URL was set: runs, event logs and schedule state in PostgreSQL
# (dagster-postgres), shared by dagster-webserver, dagster-daemon and the run workers.
storage:
  postgres:
    postgres_url:
      env: OPTOUT_DAGSTER_POSTGRES_URL
"""


def instance_yaml(settings: DagsterSettings) -> str:
    text = TEMPLATE.read_text(encoding="utf-8")
    return text + POSTGRES_STORAGE if settings.postgres_url else text


def write_instance(dagster_home: Path, settings: DagsterSettings | None = None) -> Path:
    """Write dagster.yaml into `dagster_home` (created if missing); returns its path."""
    settings = settings or DagsterSettings.from_env()
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    path.write_text(instance_yaml(settings), encoding="utf-8")
    return path


def main() -> int:
    try:
        home = Settings.from_env().dagster_home
        if home is None:
            raise ConfigError("DAGSTER_HOME must name the folder of the Dagster instance")
        settings = DagsterSettings.from_env()
        path = write_instance(home, settings)
    except ConfigError as exc:
        print(f"optout: error: {exc}", file=sys.stderr)
        return 2
    storage = "PostgreSQL" if settings.postgres_url else f"SQLite under {home}"
    print(f"Dagster instance: {path} ({storage})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
