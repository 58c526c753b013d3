"""Bad input planted in the sample data, so the quarantine and the reconciliation have
something to show (README "Planted bad rows" lists them, docs/CONTRACT.md §3 the rules).

A few rows of each kind the warehouse must catch, on the middle day D of the window: missing
values, bad timestamps, unknown enum values, a conflicting key, a redelivered file and an
unreadable line (a wrong number of fields; CSV only, a Parquet file has no lines). They are
fixed rows, not random draws: the clean rows are the same bytes with or without them.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.generator.files import Written
from orchestration.generator.parameters import COLUMNS


@dataclass(frozen=True)
class Planted:
    source: str
    key: str  # the primary key of the row (the line's first field when it is unreadable)
    what: str
    reason: str  # the quarantine reason it gets, or `duplicate`


def planted_rows(day: dt.date) -> tuple[Planted, ...]:
    """What `plant_bad_rows` writes for middle day `day`, as the README documents it."""
    return (
        Planted("users", "u_bad_1", "no `updated_at`", "missing_required:updated_at"),
        Planted(
            "campaigns", "c_bad_1", "`message_category` = promo", "invalid_value:message_category"
        ),
        Planted("sends", "s_bad_1", "no `user_id`", "missing_required:user_id"),
        Planted("sends", "s_bad_2", "`channel` = fax", "invalid_value:channel"),
        Planted("sends", "s_bad_3", "a line with 4 of the 7 fields", "unreadable_row:…"),
        Planted(
            "interactions",
            "i_bad_1",
            f"`occurred_at` = {day} 25:00:00",
            "unparseable_timestamp:occurred_at",
        ),
        Planted("events", "e_bad_1", "no `event_name`", "missing_required:event_name"),
        Planted(
            "events",
            "e_bad_2",
            f"`occurred_at` = {day:%d/%m/%Y} 10:15",
            "unparseable_timestamp:occurred_at",
        ),
        Planted(
            "events",
            "first event of D",
            "the same `event_id` again in events_D_correction with another `event_name`: the "
            "correction (the later file) wins",
            "conflicting_duplicate_key",
        ),
        Planted("consent_changes", "cc_bad_1", "`status` = unsubscribed", "invalid_value:status"),
        Planted(
            "consent_changes",
            "cc_bad_2",
            "`changed_at` = 1899-12-31T23:59:59Z",
            "timestamp_out_of_range:changed_at",
        ),
        Planted(
            "consent_changes",
            "every row of the copied file",
            "consent_changes_D (or the latest file before it) delivered a second time as "
            "consent_changes_D_redelivered",
            "duplicate",
        ),
    )


def plant_bad_rows(
    out: Path, day: dt.date, fmt: str, per_day: bool, user_id: str, written: Written
) -> dict[str, int]:
    """Write the planted rows into the landing zone under `out`; return the lines added per
    source (the redelivered copy included)."""
    stamp = f"{day}T12:00:00Z"

    def path(source: str, suffix: str = "") -> Path:
        dated = per_day and source not in ("users", "campaigns")
        stem = f"{source}_{day}" if dated else source
        return out / source / f"{stem}{suffix}.{fmt}"

    added: dict[str, int] = {}

    def add(source: str, n: int) -> None:
        added[source] = added.get(source, 0) + n

    # A redelivery: the day's consent file (or the latest one before it) delivered again
    # under another name, copied before the bad rows below go into the original.
    folder = out / "consent_changes"
    day_file = path("consent_changes").name
    files = sorted(p for p in folder.glob(f"*.{fmt}") if p.name <= day_file)
    if files:
        copy = written.add(folder / f"{files[-1].stem}_redelivered.{fmt}")
        shutil.copyfile(files[-1], copy)
        add("consent_changes", _rows(copy))

    # A conflicting key: an event of the day sent again with another name, in a later file.
    events = path("events")
    if events.exists() and _rows(events):
        first = _read(events).slice(0, 1).to_pylist()[0]
        first["event_name"] = "session_start" if first["event_name"] != "session_start" else "login"
        _append(written.add(path("events", "_correction")), "events", [first], fmt)
        add("events", 1)

    rows = {
        "users": [{"user_id": "u_bad_1", "email": "bad@example.com", "created_at": stamp}],
        "campaigns": [
            {
                "campaign_id": "c_bad_1",
                "campaign_name": "Promo Without Category",
                "channel": "email",
                "message_category": "promo",
                "started_at": stamp,
            }
        ],
        "sends": [
            {"send_id": "s_bad_1", "channel": "push", "message_category": "marketing"},
            {"send_id": "s_bad_2", "user_id": user_id, "channel": "fax"},
        ],
        "interactions": [
            {
                "interaction_id": "i_bad_1",
                "user_id": user_id,
                "channel": "push",
                "interaction_type": "open",
                "occurred_at": f"{day} 25:00:00",
            }
        ],
        "events": [
            {"event_id": "e_bad_1", "user_id": user_id, "occurred_at": stamp},
            {
                "event_id": "e_bad_2",
                "user_id": user_id,
                "event_name": "app_open",
                "occurred_at": f"{day:%d/%m/%Y} 10:15",
            },
        ],
        "consent_changes": [
            {"change_id": "cc_bad_1", "user_id": user_id, "channel": "email"},
            {
                "change_id": "cc_bad_2",
                "user_id": user_id,
                "channel": "sms",
                "status": "opted_out",
                "changed_at": "1899-12-31T23:59:59Z",
            },
        ],
    }
    defaults = {
        "sends": {
            "sent_at": stamp,
            "message_category": "marketing",
            "delivery_status": "delivered",
        },
        "consent_changes": {"status": "unsubscribed", "changed_at": stamp, "source": "api"},
    }
    for source, source_rows in rows.items():
        full = [{**defaults.get(source, {}), **row} for row in source_rows]
        _append(written.add(path(source)), source, full, fmt)
        add(source, len(full))

    # An unreadable line: 4 of the 7 fields (CSV only; a Parquet file has no lines).
    if fmt == "csv":
        with open(path("sends"), "a", encoding="utf-8", newline="") as handle:
            handle.write(f"s_bad_3,{user_id},,push\n")
        add("sends", 1)
    return added


def _read(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    strings = {column: pa.string() for column in COLUMNS[path.parent.name]}
    options = pacsv.ConvertOptions(column_types=strings, strings_can_be_null=False)
    return pacsv.read_csv(path, convert_options=options)


def _rows(path: Path) -> int:
    return _read(path).num_rows


def _append(path: Path, source: str, rows: list[dict], fmt: str) -> None:
    """Append rows (missing columns empty) to a file of the source, created if missing."""
    columns = COLUMNS[source]
    if fmt == "parquet":
        schema = pa.schema([(c, pa.string()) for c in columns])
        new = pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows], schema)
        table = pa.concat_tables([pq.read_table(path), new]) if path.exists() else new
        pq.write_table(table, path)
        return
    lines = []
    for row in rows:
        values = ["" if row.get(c) is None else str(row[c]) for c in columns]
        assert not any(ch in v for v in values for ch in ',"\n'), values  # no quoting needed
        lines.append(",".join(values) + "\n")
    new_file = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8", newline="") as handle:
        if new_file:
            handle.write(",".join(columns) + "\n")
        handle.writelines(lines)
