"""The sample data's planted bad rows (README "Planted bad rows"): one real build of a small
generated landing zone shows each of them in the quarantine with its reason, the redelivered
file as duplicates, and a reconciliation that balances.

The expectations are written out here by hand, independently of
`orchestration.generator.planted`, which is what they check.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pyarrow.parquet as pq
import pytest
from conftest import build, query, query_state, settings_for

from orchestration.config import REPO_ROOT
from orchestration.generator import generate, planted_rows

END = dt.date(2026, 1, 31)
DAYS = 5
D = END - dt.timedelta(days=DAYS - 1 - DAYS // 2)  # the middle day: 2026-01-29

PRIMARY_KEYS = {
    "users": "user_id",
    "campaigns": "campaign_id",
    "sends": "send_id",
    "interactions": "interaction_id",
    "events": "event_id",
    "consent_changes": "change_id",
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    settings = settings_for(root)
    counts = generate(settings.raw_dir, users=80, days=DAYS, seed=3, end_date=END)
    build(settings)
    return settings, counts


def quarantine(settings, source: str) -> list[tuple]:
    key = PRIMARY_KEYS[source]
    return query(
        settings.warehouse,
        f"select {key}, reason, source_file, raw_line from quarantine.{source} order by all",
    )


def test_each_planted_row_is_quarantined_with_its_reason(sample):
    settings, _ = sample
    day = D.isoformat()
    first_event = (settings.raw_dir / "events" / f"events_{day}.csv").read_text().splitlines()[1]
    assert quarantine(settings, "users") == [
        ("u_bad_1", "missing_required:updated_at", "users/users.csv", None)
    ]
    assert quarantine(settings, "campaigns") == [
        ("c_bad_1", "invalid_value:message_category", "campaigns/campaigns.csv", None)
    ]
    sends = quarantine(settings, "sends")
    assert sends[:2] == [
        ("s_bad_1", "missing_required:user_id", f"sends/sends_{day}.csv", None),
        ("s_bad_2", "invalid_value:channel", f"sends/sends_{day}.csv", None),
    ]
    (key, reason, file, line) = sends[2]
    assert key is None and file == f"sends/sends_{day}.csv"
    assert line.startswith("s_bad_3,") and len(line.split(",")) == 4
    assert re.fullmatch(r"unreadable_row:\w+ \(line \d+: .*\)", reason), reason
    assert len(sends) == 3
    assert quarantine(settings, "interactions") == [
        (
            "i_bad_1",
            "unparseable_timestamp:occurred_at",
            f"interactions/interactions_{day}.csv",
            None,
        )
    ]
    # The conflicting key: the original row loses to the correction, the later file.
    assert quarantine(settings, "events") == sorted(
        [
            ("e_bad_1", "missing_required:event_name", f"events/events_{day}.csv", None),
            ("e_bad_2", "unparseable_timestamp:occurred_at", f"events/events_{day}.csv", None),
            (
                first_event.split(",")[0],
                "conflicting_duplicate_key",
                f"events/events_{day}.csv",
                None,
            ),
        ]
    )
    assert quarantine(settings, "consent_changes") == [
        ("cc_bad_1", "invalid_value:status", f"consent_changes/consent_changes_{day}.csv", None),
        (
            "cc_bad_2",
            "timestamp_out_of_range:changed_at",
            f"consent_changes/consent_changes_{day}.csv",
            None,
        ),
    ]


def test_the_correction_wins_the_conflict(sample):
    settings, _ = sample
    day = D.isoformat()
    original = (settings.raw_dir / "events" / f"events_{day}.csv").read_text().splitlines()[1]
    event_id, _, name, _ = original.split(",")
    staged = query_state(
        settings.warehouse,
        "select event_name, source_file from staging.stg_messaging__events where event_id = ?",
        [event_id],
    )
    assert staged == [
        ("session_start" if name != "session_start" else "login",
         f"events/events_{day}_correction.csv")
    ]  # fmt: skip


def test_the_redelivered_file_is_counted_as_duplicates_and_everything_balances(sample):
    settings, counts = sample
    redelivered = list((settings.raw_dir / "consent_changes").glob("*_redelivered.csv"))
    assert len(redelivered) == 1
    copied = len(redelivered[0].read_text().splitlines()) - 1
    assert copied > 0
    rows = {
        source: (raw, clean, quarantined, duplicates)
        for source, raw, clean, quarantined, duplicates in query(
            settings.warehouse,
            "select source_name, raw_rows, clean_rows, quarantined_rows, duplicate_rows_removed "
            "from marts.agg_load_reconciliation",
        )
    }
    assert rows["consent_changes"][3] == copied
    assert {source: row[2] for source, row in rows.items()} == {
        "users": 1, "campaigns": 1, "sends": 3, "interactions": 1, "events": 3,
        "consent_changes": 2,
    }  # fmt: skip
    for source, (raw, clean, quarantined, duplicates) in rows.items():
        assert raw == counts[source], source  # every line the generator wrote is counted
        assert raw == clean + quarantined + duplicates, source
    # Only users has no duplicates but versions; no other source has duplicates.
    assert [s for s, row in rows.items() if row[3]] == ["consent_changes"]


def test_clean_data_plants_nothing(tmp_path):
    counts = generate(tmp_path, users=80, days=DAYS, seed=3, end_date=END, bad_rows=False)
    planted = generate(tmp_path / "p", users=80, days=DAYS, seed=3, end_date=END)
    text = "".join(p.read_text() for p in tmp_path.glob("*/*.csv"))
    assert "_bad_" not in text and not list(tmp_path.glob("*/*_redelivered.csv"))
    redelivered = next((tmp_path / "p" / "consent_changes").glob("*_redelivered.csv"))
    expected = Counter(users=1, campaigns=1, sends=3, interactions=1, events=2, consent_changes=2)
    expected["consent_changes"] += len(redelivered.read_text().splitlines()) - 1
    expected["events"] += 1  # the correction
    assert {s: planted[s] - counts[s] for s in counts} == dict(expected)


def test_parquet_sample_plants_the_same_rows_but_the_unreadable_line(tmp_path):
    generate(tmp_path, users=80, days=DAYS, seed=3, end_date=END, fmt="parquet")
    sends = pq.read_table(tmp_path / "sends" / f"sends_{D}.parquet").to_pylist()
    assert [row["send_id"] for row in sends if "_bad_" in row["send_id"]] == ["s_bad_1", "s_bad_2"]
    assert (tmp_path / "events" / f"events_{D}_correction.parquet").exists()
    assert list((tmp_path / "consent_changes").glob("*_redelivered.parquet"))


def test_the_readme_documents_every_planted_row():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Planted bad rows", 1)[1].split("\n#", 1)[0]
    for row in planted_rows(D):
        reason = row.reason.rstrip("…")
        line = next((ln for ln in section.splitlines() if row.key in ln), "")
        assert reason in line, (row.key, row.reason)


def test_the_generators_record_is_metadata_not_an_unread_file(sample):
    """`optout generate` leaves .optout-generate.json at the top of the landing zone: the
    inventory lists it as metadata, and nothing of the sample is reported as not read."""
    settings, _ = sample
    assert (settings.raw_dir / ".optout-generate.json").is_file()
    assert query(
        settings.warehouse,
        "select source_file, status from marts.fct_landing_files "
        "where status in ('metadata', 'not read')",
    ) == [(".optout-generate.json", "metadata")]
