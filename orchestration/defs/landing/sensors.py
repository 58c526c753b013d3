"""A sensor that notices new files in the landing zone and requests a warehouse build.

Each tick fingerprints every source folder (name, size and mtime of its *.csv / *.parquet
files, what dbt reads); the cursor keeps one digest per folder. When a digest changes
(a file arrived, was replaced or removed) the sensor records a materialization of that
folder's landing asset and requests one `optout_build` run, keyed by the whole landing
zone's state so the same state never builds twice. On its very first tick it builds only
if some file is newer than the warehouse (or there is no warehouse yet).

The run is the partition of the last landing day that has ended: it loads every new file
dated up to that day (late files of any earlier day included). A file of today waits for
a build of its day, at the latest the daily schedule's once the day has ended.
"""

# No `from __future__ import annotations`: Dagster reads the Config and resource
# annotations of these functions when they are decorated.

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    AssetMaterialization,
    MetadataValue,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from orchestration.defs.dbt.translator import landing_asset_key
from orchestration.defs.jobs import optout_build_job
from orchestration.defs.landing.assets import LANDING_PATTERNS, LANDING_SOURCES
from orchestration.defs.partitions import last_complete_day
from orchestration.defs.resources import OptoutSettings
from orchestration.defs.schedules import SENSOR_STATUS


@dataclass(frozen=True)
class FolderState:
    files: tuple[tuple[str, int, int], ...]  # (name, size, mtime_ns), sorted

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.files).encode()).hexdigest()[:16]

    @property
    def newest_mtime_ns(self) -> int:
        return max((mtime for _, _, mtime in self.files), default=0)


def folder_state(folder: Path) -> FolderState:
    files = set()
    for pattern in LANDING_PATTERNS:
        for path in folder.glob(pattern):
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed between glob and stat
                continue
            if path.is_file():
                files.add((path.name, stat.st_size, stat.st_mtime_ns))
    return FolderState(tuple(sorted(files)))


def landing_state(raw_dir: Path) -> dict[str, FolderState]:
    return {source: folder_state(raw_dir / source) for source in LANDING_SOURCES}


@sensor(
    name="optout_landing_sensor",
    job=optout_build_job,
    minimum_interval_seconds=60,
    default_status=SENSOR_STATUS,
    description="Requests a warehouse build when files arrive in the landing zone.",
)
def optout_landing_sensor(context: SensorEvaluationContext, optout: OptoutSettings) -> SensorResult:
    settings = optout.resolve()
    state = landing_state(settings.raw_dir)
    digests = {source: folder.digest for source, folder in state.items()}
    previous = json.loads(context.cursor) if context.cursor else None
    cursor = json.dumps(digests, sort_keys=True)

    if previous is None:
        changed = [source for source, folder in state.items() if folder.files]
        newest = max((folder.newest_mtime_ns for folder in state.values()), default=0)
        warehouse = settings.warehouse
        build = bool(changed) and (not warehouse.exists() or newest > warehouse.stat().st_mtime_ns)
    else:
        changed = [source for source in state if previous.get(source) != digests[source]]
        build = bool(changed)

    events = [
        AssetMaterialization(
            asset_key=landing_asset_key(source),
            description="files in the landing-zone folder changed",
            metadata={
                "folder": MetadataValue.path(str(settings.raw_dir / source)),
                "files": len(state[source].files),
                "bytes": sum(size for _, size, _ in state[source].files),
                "digest": digests[source],
            },
        )
        for source in changed
    ]
    day = last_complete_day()
    if not build or day is None:
        if not changed:
            reason = "no new files in the landing zone"
        elif day is None:
            reason = "no landing day has ended since OPTOUT_PARTITIONS_START"
        else:
            reason = "the warehouse is newer"
        return SensorResult(skip_reason=SkipReason(reason), cursor=cursor, asset_events=events)
    run_key = hashlib.sha256(cursor.encode()).hexdigest()[:16]
    return SensorResult(
        run_requests=[
            RunRequest(
                run_key=f"landing-{run_key}",
                partition_key=day,
                tags={"optout/changed": ",".join(changed)},
            )
        ],
        cursor=cursor,
        asset_events=events,
    )
