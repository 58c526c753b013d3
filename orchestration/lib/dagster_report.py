"""`optout build` tells the Dagster instance what it built, when one is configured
($DAGSTER_HOME): each dbt model it built becomes a materialization of that model's asset, so
the asset catalog and the partition bars show CLI builds too.

Partitions are cumulative (orchestration/defs/partitions.py): a build that loaded every file
dated up to day D holds what the partitions up to D would. So the build is recorded for the
partitions up to D (its `--through`, else the last dated landing file; never a day that has
not ended) that the asset has no materialization for yet, and always for D itself. The first
CLI build after `make run` records every day of the sample; later builds a few events.

Many partitions mean many events: Dagster stores them one transaction each, which on SQLite
takes minutes for a few thousand. The events are written in one transaction instead
(`_store`); PostgreSQL has a batch write of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence

from orchestration.config import DagsterSettings, Settings
from orchestration.contract import SOURCE_NAMES
from orchestration.lib.landing import landing_days

CLI_TAG = {"optout/reported_by": "optout_build"}  # the CLI, not a Dagster run


def report_build(
    settings: Settings, through: dt.date | None = None, now: dt.datetime | None = None
) -> str | None:
    """Record the models of the build that just published in the Dagster instance of
    $DAGSTER_HOME; returns a line saying what was recorded (None: no instance). Never fails
    the build: a problem with the instance is a one-line note."""
    if settings.dagster_home is None:
        return None
    try:
        return _report(settings, through, now)
    except Exception as exc:  # the build itself succeeded and is published
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"optout: note: the build is not recorded in Dagster ({first})"


def _report(settings: Settings, through: dt.date | None, now: dt.datetime | None) -> str:
    from dagster import AssetMaterialization, DagsterInstance, MetadataValue

    from orchestration.build import build_target_path
    from orchestration.defs.dbt.translator import OptoutTranslator
    from orchestration.defs.partitions import partition_keys, partitions_start

    target = build_target_path(settings)
    manifest = json.loads((target / "manifest.json").read_text("utf-8"))
    run_results = json.loads((target / "run_results.json").read_text("utf-8"))
    built = [
        r["unique_id"]
        for r in run_results["results"]
        if r["unique_id"].startswith("model.") and r["status"] == "success"
    ]
    translator = OptoutTranslator()
    keys = [translator.get_asset_key(manifest["nodes"][unique_id]) for unique_id in built]
    days = landing_days(settings.raw_dir, SOURCE_NAMES)
    last_day = through or (days[-1] if days else None)
    # The partitions as the code location defines them with the same settings.
    start = partitions_start(DagsterSettings.from_env(), settings.raw_dir, now)
    partitions = partition_keys(start, last_day, now) if last_day else []
    if not partitions:
        return "Dagster: no partition has ended yet; nothing recorded"

    invocation = run_results["metadata"]["invocation_id"]
    metadata = {
        "dbt_invocation_id": invocation,
        "warehouse": MetadataValue.path(str(settings.warehouse)),
        "loaded_through": partitions[-1],
    }
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        events = []
        for key in keys:
            done = instance.get_materialized_partitions(key)
            for partition in partitions:
                if partition not in done or partition == partitions[-1]:
                    events.append(
                        AssetMaterialization(
                            asset_key=key,
                            partition=partition,
                            description="built by `optout build` (CLI)",
                            metadata=metadata,
                            tags=CLI_TAG,
                        )
                    )
        _store(instance, events)
    return (
        f"Dagster: recorded {len(keys)} models for {len(events) // max(len(keys), 1)} "
        f"partition(s) up to {partitions[-1]} in {settings.dagster_home}"
    )


def _store(instance, materializations: Sequence) -> None:
    """Store runless materializations as `report_runless_asset_event` does, in one
    transaction where the storage allows."""
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.events.log import EventLogEntry
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
    from dagster._time import get_current_timestamp

    entries = [
        EventLogEntry(
            user_message="",
            level=logging.INFO,
            job_name=RUNLESS_JOB_NAME,
            run_id=RUNLESS_RUN_ID,
            error_info=None,
            timestamp=get_current_timestamp(),
            step_key=None,
            dagster_event=DagsterEvent(
                event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
                event_specific_data=StepMaterializationData(materialization),
                job_name=RUNLESS_JOB_NAME,
            ),
        )
        for materialization in materializations
    ]
    if not entries:
        return
    storage = instance.event_log_storage
    if isinstance(storage, SqliteEventLogStorage):
        _store_sqlite(storage, entries, RUNLESS_RUN_ID)
    else:  # PostgreSQL: one multi-row insert; others fall back to one event at a time
        storage.store_event_batch(entries)


def _store_sqlite(storage, entries: list, run_id: str) -> None:
    """SqliteEventLogStorage.store_event for many events: the run shard and the index shard
    each in one transaction (dagster 1.13)."""
    with storage.run_connection(run_id) as conn:
        for entry in entries:
            conn.execute(storage.prepare_insert_event(entry))
    with storage.index_transaction() as conn:
        for entry in entries:
            result = conn.execute(storage.prepare_insert_event(entry))
            event_id = result.inserted_primary_key[0]
            storage._store_asset_event_tags(conn, [entry], [event_id])
            storage._store_asset_event(conn, entry, event_id)
