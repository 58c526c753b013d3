"""Exports of docs/CONTRACT.md §6, hand-computed: range presets, the opted-out users file
(CSV and Parquet), the status-changes report, and the CLI's handling of bad
arguments.

The landing zone is built once. Around as_of D = 2024-03-01 (leap year):
last_week = 2024-02-24 .. 2024-03-01, last_month = 2024-02-01 .. 2024-03-01.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import build, settings_for, write_landing_zone
from factories import consent_change, user

from orchestration.config import Settings
from orchestration.exports import write_export
from orchestration.ranges import UsageError, resolve_range

VENV_BIN = os.path.dirname(sys.executable)
OPTOUT = os.path.join(VENV_BIN, "optout")

# fmt: off
USER_COLUMNS = ["user_id", "external_id", "email", "phone", "first_name", "last_name",
                "team_code", "channels", "optout_count", "first_opted_out_at",
                "last_opted_out_at"]
# fmt: on


USERS = [
    user(
        user_id="u_a",
        external_id="EXT-A-OLD",
        email="a.old@example.com",
        phone="+15550000001",
        first_name="Ann",
        last_name="Old",
        team_code="T1",
        updated_at="2024-01-01T00:00:00Z",
    ),
    user(
        user_id="u_a",
        external_id="EXT-A",
        email="ann@example.com",
        phone="+15550000002",
        first_name="Ann",
        last_name="Smith, Jr.",
        team_code="TEAM-1",
        updated_at="2024-02-01T00:00:00Z",
    ),
    user(
        user_id="u_b",
        external_id="EXT-B",
        email="b@example.com",
        phone="+15550000003",
        first_name="Bob",
        last_name="Ray",
        team_code="TEAM-1",
        updated_at="2024-01-01T00:00:00Z",
    ),
    user(
        user_id="u_e",
        external_id="EXT-E",
        email="e@example.com",
        phone=None,
        first_name="Eve",
        last_name="Stone",
        team_code="TEAM-2",
        updated_at="2024-01-01T00:00:00Z",
    ),
    user(
        user_id="u_g",
        external_id="EXT-G",
        email="g@example.com",
        phone="+15550000007",
        first_name="Gus",
        last_name="Lee",
        team_code="TEAM-1",
        updated_at="2024-01-01T00:00:00Z",
    ),
]

# Written in a shuffled user order on purpose.
CONSENT = [
    # fraction truncated
    consent_change(
        change_id="g1", user_id="u_g", changed_at="2024-02-28T10:00:00.900Z", channel="sms"
    ),
    consent_change(change_id="e1", user_id="u_e", changed_at="2024-02-25T09:00:00Z"),
    consent_change(
        change_id="e2", user_id="u_e", changed_at="2024-02-26T09:00:00Z", status="opted_in"
    ),
    consent_change(change_id="e3", user_id="u_e", changed_at="2024-02-27T09:00:00Z"),
    consent_change(change_id="e4", user_id="u_e", changed_at="2024-02-28T09:00:00Z", channel="all"),
    # last day of last_week
    consent_change(
        change_id="a2", user_id="u_a", changed_at="2024-03-01T23:59:59Z", channel="email"
    ),
    # first day of last_week
    consent_change(change_id="a1", user_id="u_a", changed_at="2024-02-24T00:00:00Z"),
    # unknown user; 08:00Z
    consent_change(change_id="d1", user_id="u_d", changed_at="2024-02-27T10:00:00+02:00"),
    # day before last_week
    consent_change(change_id="b1", user_id="u_b", changed_at="2024-02-23T23:59:59Z", channel="sms"),
    consent_change(change_id="c1", user_id="u_c", changed_at="2024-03-02T00:00:00Z"),  # day after
    # = 03-02T03:30Z: after
    consent_change(change_id="f1", user_id="u_f", changed_at="2024-03-01T22:30:00-05:00"),
    # = 02-23T23:00Z
    consent_change(
        change_id="f2", user_id="u_f", changed_at="2024-02-24T01:00:00+02:00", channel="email"
    ),
    # import: never
    consent_change(
        change_id="i1", user_id="u_i", changed_at="2024-02-27T00:00:00Z", source="import"
    ),
    consent_change(change_id="j1", user_id="u_j", changed_at="2024-02-20T10:00:00Z"),
    # repeat: never
    consent_change(
        change_id="j2", user_id="u_j", changed_at="2024-02-26T10:00:00Z", source="inbound_keyword"
    ),
    # last_year around a year boundary, D = 2024-01-15: 2023-01-16 .. 2024-01-15
    # first day: in
    consent_change(change_id="y1", user_id="u_y1", changed_at="2023-01-16T00:00:00Z"),
    # day before: out
    consent_change(change_id="y2", user_id="u_y2", changed_at="2023-01-15T23:59:59Z"),
    # last day: in
    consent_change(change_id="y3", user_id="u_y3", changed_at="2024-01-15T12:00:00Z"),
    # day after: out
    consent_change(change_id="y4", user_id="u_y4", changed_at="2024-01-16T00:00:00Z"),
]

# June 2024, outside every range above: numeric user ids of different widths and a text
# id, opting out on push (unless said) at the same instant (written shuffled). User 100's
# push changes "9" (opted in) and "10" (opted out) tie on changed_at: 9 < 10, so both are
# status changes.
JUNE_USERS = [
    user(
        user_id="9",
        external_id="EXT-9",
        email="nine@example.com",
        phone="+15550000009",
        first_name="Nia",
        last_name="Nine",
        team_code="TEAM-9",
    ),
    user(
        user_id="10",
        external_id="EXT-10",
        email="ten@example.com",
        phone="+15550000010",
        first_name="Tom",
        last_name="Ten",
        team_code="TEAM-10",
    ),
    user(
        user_id="100",
        external_id="EXT-100",
        email="hundred@example.com",
        phone="+15550000100",
        first_name="Hal",
        last_name="Hundred",
        team_code="TEAM-100",
    ),
    user(
        user_id="u_z",
        external_id="EXT-Z",
        email="zoe@example.com",
        first_name="Zoe",
        last_name="Zed",
        team_code="TEAM-Z",
    ),
]
JUNE_T = "2024-06-10T12:00:00Z"
JUNE_CONSENT = [
    consent_change(change_id="n_z", user_id="u_z", channel="email", changed_at=JUNE_T),
    consent_change(change_id="10", user_id="100", changed_at=JUNE_T),
    consent_change(change_id="n10b", user_id="10", channel="sms", changed_at=JUNE_T),
    consent_change(change_id="9", user_id="100", status="opted_in", changed_at=JUNE_T),
    consent_change(change_id="n9a", user_id="9", changed_at=JUNE_T),
    consent_change(change_id="n10a", user_id="10", changed_at=JUNE_T),
    consent_change(change_id="n100a", user_id="100", changed_at="2024-06-01T08:00:00Z"),
]

# The users export of June (between 2024-06-01 and 2024-06-30): 9 < 10 < 100 < u_z.
JUNE_USERS_CSV = (
    "user_id,external_id,email,phone,first_name,last_name,team_code,channels,optout_count,"
    "first_opted_out_at,last_opted_out_at\n"
    "9,EXT-9,nine@example.com,+15550000009,Nia,Nine,TEAM-9,push,1,"
    "2024-06-10T12:00:00Z,2024-06-10T12:00:00Z\n"
    "10,EXT-10,ten@example.com,+15550000010,Tom,Ten,TEAM-10,push|sms,2,"
    "2024-06-10T12:00:00Z,2024-06-10T12:00:00Z\n"
    "100,EXT-100,hundred@example.com,+15550000100,Hal,Hundred,TEAM-100,push,2,"
    "2024-06-01T08:00:00Z,2024-06-10T12:00:00Z\n"
    "u_z,EXT-Z,zoe@example.com,,Zoe,Zed,TEAM-Z,email,1,"
    "2024-06-10T12:00:00Z,2024-06-10T12:00:00Z\n"
)

STATUS_CHANGES_HEADER = (
    "first_name,last_name,user_id,external_id,team_code,phone,channel,status,status_time\n"
)

# The status-changes report of last_week (as_of 2024-03-01), byte for byte: by status
# time (the fraction of g1 truncated when written).
LAST_WEEK_STATUS_CHANGES_CSV = STATUS_CHANGES_HEADER + (
    'Ann,"Smith, Jr.",u_a,EXT-A,TEAM-1,+15550000002,push,Opted Out,2024-02-24T00:00:00Z\n'
    "Eve,Stone,u_e,EXT-E,TEAM-2,,push,Opted Out,2024-02-25T09:00:00Z\n"
    "Eve,Stone,u_e,EXT-E,TEAM-2,,push,Opted In,2024-02-26T09:00:00Z\n"
    ",,u_d,,,,push,Opted Out,2024-02-27T08:00:00Z\n"
    "Eve,Stone,u_e,EXT-E,TEAM-2,,push,Opted Out,2024-02-27T09:00:00Z\n"
    "Eve,Stone,u_e,EXT-E,TEAM-2,,all,Opted Out,2024-02-28T09:00:00Z\n"
    "Gus,Lee,u_g,EXT-G,TEAM-1,+15550000007,sms,Opted Out,2024-02-28T10:00:00Z\n"
    'Ann,"Smith, Jr.",u_a,EXT-A,TEAM-1,+15550000002,email,Opted Out,2024-03-01T23:59:59Z\n'
)

# June's report: at the same status time by user id (9 < 10 < 100 < u_z), then channel,
# then change id (user 100's "9" before "10").
JUNE_STATUS_CHANGES_CSV = STATUS_CHANGES_HEADER + (
    "Hal,Hundred,100,EXT-100,TEAM-100,+15550000100,push,Opted Out,2024-06-01T08:00:00Z\n"
    "Nia,Nine,9,EXT-9,TEAM-9,+15550000009,push,Opted Out,2024-06-10T12:00:00Z\n"
    "Tom,Ten,10,EXT-10,TEAM-10,+15550000010,push,Opted Out,2024-06-10T12:00:00Z\n"
    "Tom,Ten,10,EXT-10,TEAM-10,+15550000010,sms,Opted Out,2024-06-10T12:00:00Z\n"
    "Hal,Hundred,100,EXT-100,TEAM-100,+15550000100,push,Opted In,2024-06-10T12:00:00Z\n"
    "Hal,Hundred,100,EXT-100,TEAM-100,+15550000100,push,Opted Out,2024-06-10T12:00:00Z\n"
    "Zoe,Zed,u_z,EXT-Z,TEAM-Z,,email,Opted Out,2024-06-10T12:00:00Z\n"
)
JUNE = {"range_name": "between", "start": "2024-06-01", "end": "2024-06-30"}

# fmt: off
ROW_A = ["u_a", "EXT-A", "ann@example.com", "+15550000002", "Ann", "Smith, Jr.", "TEAM-1",
         "email|push", "2", "2024-02-24T00:00:00Z", "2024-03-01T23:59:59Z"]
ROW_D = ["u_d", "", "", "", "", "", "", "push", "1", "2024-02-27T08:00:00Z",
         "2024-02-27T08:00:00Z"]
ROW_E = ["u_e", "EXT-E", "e@example.com", "", "Eve", "Stone", "TEAM-2", "all|push", "3",
         "2024-02-25T09:00:00Z", "2024-02-28T09:00:00Z"]
ROW_G = ["u_g", "EXT-G", "g@example.com", "+15550000007", "Gus", "Lee", "TEAM-1", "sms", "1",
         "2024-02-28T10:00:00Z", "2024-02-28T10:00:00Z"]
# fmt: on

# The whole last_week file (as_of 2024-03-01), byte for byte.
LAST_WEEK_CSV = (
    "user_id,external_id,email,phone,first_name,last_name,team_code,channels,optout_count,"
    "first_opted_out_at,last_opted_out_at\n"
    'u_a,EXT-A,ann@example.com,+15550000002,Ann,"Smith, Jr.",TEAM-1,email|push,2,'
    "2024-02-24T00:00:00Z,2024-03-01T23:59:59Z\n"
    "u_d,,,,,,,push,1,2024-02-27T08:00:00Z,2024-02-27T08:00:00Z\n"
    "u_e,EXT-E,e@example.com,,Eve,Stone,TEAM-2,all|push,3,"
    "2024-02-25T09:00:00Z,2024-02-28T09:00:00Z\n"
    "u_g,EXT-G,g@example.com,+15550000007,Gus,Lee,TEAM-1,sms,1,"
    "2024-02-28T10:00:00Z,2024-02-28T10:00:00Z\n"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Settings:
    settings = settings_for(tmp_path_factory.mktemp("exports"))
    write_landing_zone(
        settings.raw_dir,
        {"users": USERS + JUNE_USERS, "consent_changes": CONSENT + JUNE_CONSENT},
    )
    build(settings)
    return settings


@pytest.fixture
def settings(project, tmp_path) -> Settings:
    """The built warehouse with a fresh, empty export folder."""
    return Settings(
        raw_dir=project.raw_dir, warehouse=project.warehouse, export_dir=tmp_path / "exports"
    )


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def export_rows(settings, range_name, **kwargs) -> list[list[str]]:
    result = write_export(settings, "users", resolve_range(range_name, **kwargs))
    header, *rows = read_csv(result.path)
    assert header == USER_COLUMNS
    return rows


# --- range presets (no warehouse needed) ----------------------------------------------------


@pytest.mark.parametrize(
    ("range_name", "as_of", "start", "end"),
    [
        ("last_week", "2024-03-01", "2024-02-24", "2024-03-01"),  # leap year: 29 Feb inside
        ("last_week", "2023-03-01", "2023-02-23", "2023-03-01"),  # not a leap year
        ("last_week", "2024-01-03", "2023-12-28", "2024-01-03"),  # across a year
        ("last_month", "2024-03-01", "2024-02-01", "2024-03-01"),  # 29 days back
        ("last_month", "2023-03-01", "2023-01-31", "2023-03-01"),
        ("last_month", "2024-01-10", "2023-12-12", "2024-01-10"),
        ("last_year", "2024-01-15", "2023-01-16", "2024-01-15"),  # 364 days back
        ("last_year", "2024-03-01", "2023-03-03", "2024-03-01"),  # spans 29 Feb 2024
        ("last_year", "2025-03-01", "2024-03-02", "2025-03-01"),
    ],
)
def test_range_presets(range_name, as_of, start, end):
    """D-6, D-29, D-364 days ... D, inclusive, counted on the calendar by hand."""
    got = resolve_range(range_name, as_of=as_of)
    assert (got.start, got.end) == (dt.date.fromisoformat(start), dt.date.fromisoformat(end))


def test_between_range_is_taken_as_given():
    got = resolve_range("between", start="2024-02-28", end="2024-03-01")
    assert (got.start, got.end) == (dt.date(2024, 2, 28), dt.date(2024, 3, 1))


def test_single_day_between_range_is_allowed():
    got = resolve_range("between", start="2024-02-29", end="2024-02-29")
    assert (got.start, got.end) == (dt.date(2024, 2, 29), dt.date(2024, 2, 29))


def test_default_as_of_is_today_utc():
    """No as_of: D = today in UTC; last_week starts 6 days earlier. The clock is read
    before and after, so a run across midnight UTC accepts either day."""
    before = dt.datetime.now(dt.UTC).date()
    got = resolve_range("last_week")
    after = dt.datetime.now(dt.UTC).date()
    assert got.end in {before, after}
    assert got.start == got.end - dt.timedelta(days=6)


@pytest.mark.parametrize(
    ("args", "what"),
    [
        ({"range_name": "last_quarter"}, "unknown range"),
        ({"range_name": "between", "start": "2024/03/01", "end": "2024-03-05"}, "malformed"),
        ({"range_name": "between", "start": "2024-02-30", "end": "2024-03-05"}, "impossible"),
        ({"range_name": "between", "start": "2024-03-05", "end": "2024-03-01"}, "start > end"),
        ({"range_name": "between", "start": "2024-03-01"}, "no end"),
        ({"range_name": "last_week", "as_of": "01-03-2024"}, "malformed as_of"),
    ],
)
def test_bad_range_arguments_raise_usage_error(args, what):
    with pytest.raises(UsageError) as info:
        resolve_range(**args)
    assert "\n" not in str(info.value), what


# --- opted-out users export -------------------------------------------------------------------


def test_last_week_file_byte_for_byte(settings):
    """as_of 2024-03-01: u_a (first and last day), u_d (unknown user, +02:00), u_e
    (2 push opt-outs + all), u_g (fraction truncated); sorted by user_id. Out: u_b (day
    before), u_c (day after), u_f (offsets move it out), u_i (import), u_j (repeat)."""
    result = write_export(settings, "users", resolve_range("last_week", as_of="2024-03-01"))
    assert result.path.read_bytes().decode("utf-8") == LAST_WEEK_CSV
    assert result.row_count == 4


def test_optouts_on_first_and_last_day_are_included(settings):
    """u_a: 02-24T00:00:00Z (first day) and 03-01T23:59:59Z (last day) both count."""
    rows = export_rows(settings, "last_week", as_of="2024-03-01")
    assert rows[0] == ROW_A


def test_optouts_the_day_before_and_after_are_excluded(settings):
    """u_b at 02-23T23:59:59Z and u_c at 03-02T00:00:00Z are not in last_week."""
    users = [r[0] for r in export_rows(settings, "last_week", as_of="2024-03-01")]
    assert users == ["u_a", "u_d", "u_e", "u_g"]


def test_range_uses_the_utc_date_of_the_optout(settings):
    """u_f: 03-01 22:30-05:00 is 03-02 UTC, 02-24 01:00+02:00 is 02-23 UTC -> not in."""
    users = [r[0] for r in export_rows(settings, "last_week", as_of="2024-03-01")]
    assert "u_f" not in users


def test_unknown_user_has_empty_personal_fields(settings):
    rows = export_rows(settings, "last_week", as_of="2024-03-01")
    assert rows[1] == ROW_D


def test_channels_distinct_sorted_and_counts(settings):
    """u_e: push out, push in, push out, all out -> 'all|push', 3 opt-outs."""
    rows = export_rows(settings, "last_week", as_of="2024-03-01")
    assert rows[2] == ROW_E


def test_between_scopes_counts_and_times_to_the_range(settings):
    """02-28 .. 03-01: u_a only its email opt-out, u_e only the `all` one, u_g."""
    rows = export_rows(settings, "between", start="2024-02-28", end="2024-03-01")
    assert rows == [
        ROW_A[:7] + ["email", "1", "2024-03-01T23:59:59Z", "2024-03-01T23:59:59Z"],
        ROW_E[:7] + ["all", "1", "2024-02-28T09:00:00Z", "2024-02-28T09:00:00Z"],
        ROW_G,
    ]


def test_last_month_reaches_29_days_back(settings):
    """02-01 .. 03-01 adds u_b (02-23) and u_j (02-20, its repeat STOP not counted)
    and u_f (02-23T23:00Z); u_c and the 2023/2024-01 users are out."""
    rows = export_rows(settings, "last_month", as_of="2024-03-01")
    assert [r[0] for r in rows] == ["u_a", "u_b", "u_d", "u_e", "u_f", "u_g", "u_j"]
    by_user = {r[0]: r for r in rows}
    assert by_user["u_j"][7:] == ["push", "1", "2024-02-20T10:00:00Z", "2024-02-20T10:00:00Z"]
    assert by_user["u_f"][7:] == ["email", "1", "2024-02-23T23:00:00Z", "2024-02-23T23:00:00Z"]


def test_last_year_across_a_year_boundary(settings):
    """D = 2024-01-15: 2023-01-16 .. 2024-01-15 -> u_y1 (first day), u_y3 (last day)."""
    rows = export_rows(settings, "last_year", as_of="2024-01-15")
    assert [r[0] for r in rows] == ["u_y1", "u_y3"]


def test_empty_range_gives_a_header_only_file(settings):
    rows = export_rows(settings, "between", start="2020-01-01", end="2020-12-31")
    assert rows == []


def test_same_range_gives_the_same_bytes(settings):
    date_range = resolve_range("last_month", as_of="2024-03-01")
    first = write_export(settings, "users", date_range)
    first_bytes = first.path.read_bytes()
    second = write_export(settings, "users", date_range)
    assert second.path.read_bytes() == first_bytes
    assert first.sha256 == second.sha256


def test_export_folder_holds_only_the_written_file(settings):
    """Written completely or not at all: no temporary files left behind."""
    result = write_export(settings, "users", resolve_range("last_week", as_of="2024-03-01"))
    assert [p.name for p in settings.export_dir.iterdir()] == [result.path.name]


def test_parquet_has_the_same_rows_and_columns(settings):
    """The same rows; counts are int64 and the times `timestamp` in UTC (the instants the
    CSV writes as text, to the second: g1's .900 is truncated in both)."""
    date_range = resolve_range("last_month", as_of="2024-03-01")
    csv_rows = read_csv(write_export(settings, "users", date_range).path)
    result = write_export(settings, "users", date_range, fmt="parquet")
    table = pq.read_table(result.path)
    assert table.column_names == USER_COLUMNS
    for name in ("first_opted_out_at", "last_opted_out_at"):
        assert table.schema.field(name).type == pa.timestamp("us", tz="UTC"), name
    assert table.schema.field("optout_count").type == pa.int64()

    def text(value) -> str:
        if isinstance(value, dt.datetime):
            assert value.utcoffset() == dt.timedelta(0) and value.microsecond == 0
            return value.strftime("%Y-%m-%dT%H:%M:%SZ")
        return "" if value is None else str(value)

    parquet_rows = [[text(v) for v in row.values()] for row in table.to_pylist()]
    assert parquet_rows == csv_rows[1:]
    assert table.column("optout_count").to_pylist() == [int(r[8]) for r in csv_rows[1:]]


def test_status_changes_parquet_time_is_a_utc_timestamp(settings):
    result = write_export(
        settings, "status_changes", resolve_range("last_week", as_of="2024-03-01"), "parquet"
    )
    table = pq.read_table(result.path)
    assert table.schema.field("status_time").type == pa.timestamp("us", tz="UTC")
    times = {row["user_id"]: row["status_time"] for row in table.to_pylist()}
    assert times["u_d"] == dt.datetime(2024, 2, 27, 8, 0, tzinfo=dt.UTC)  # +02:00 in the file


def test_an_empty_range_writes_the_header_and_says_so(settings):
    """No opt-out dated 2020-01-01 .. 2020-01-07: the file is written (an empty answer is an
    answer), with its header only, and a note on stderr says so; the path is still last."""
    done = run_cli(settings, "export", "--range", "last_week", "--as-of", "2020-01-07")
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.read_text(encoding="utf-8") == ",".join(USER_COLUMNS) + "\n"
    assert done.stderr.strip() == (
        "optout: note: no opt-outs dated 2020-01-01 .. 2020-01-07; the file has the header only"
    )
    assert done.stdout.splitlines()[0].startswith("0 rows, 2020-01-01 .. 2020-01-07")


def test_enum_arguments_ignore_case(settings):
    done = run_cli(
        settings, "export", "--kind", "Status_Changes", "--range", "LAST_WEEK",
        "--as-of", "2024-03-01", "--format", "CSV",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.name == "optout_status_changes_last_week_2024-02-24_2024-03-01.csv"


def test_as_of_timestamp_means_its_utc_date(settings):
    """--as-of 2024-02-29T22:30:00-05:00 is 2024-03-01 03:30 UTC: the presets end on 03-01."""
    date_range = resolve_range("last_week", as_of="2024-02-29T22:30:00-05:00")
    assert (date_range.start, date_range.end) == (dt.date(2024, 2, 24), dt.date(2024, 3, 1))


def test_bad_format_raises_and_writes_nothing(settings):
    with pytest.raises(UsageError):
        write_export(settings, "users", resolve_range("last_week", as_of="2024-03-01"), fmt="xlsx")
    assert not settings.export_dir.exists() or not any(settings.export_dir.iterdir())


# --- status-changes report --------------------------------------------------------------------


def test_status_changes_report(settings):
    """02-24 .. 03-01: every non-import status change; u_i's import, u_j's repeated STOP,
    u_b (02-23) and u_f (UTC dates outside) are absent. Columns: first name, last name,
    user id, external id, team code, phone, channel, status, status time; by status
    time. The whole file, byte for byte."""
    result = write_export(
        settings, "status_changes", resolve_range("last_week", as_of="2024-03-01")
    )
    assert result.path.read_bytes().decode("utf-8") == LAST_WEEK_STATUS_CHANGES_CSV
    assert result.row_count == 8


def test_status_changes_report_orders_ties_by_natural_user_id_channel_change_id(settings):
    """June: at 06-10T12:00Z users 9, 10 (push, then sms), 100 (change 9 in, then
    change 10 out), u_z: numeric ids by value, before text ids."""
    result = write_export(settings, "status_changes", resolve_range(**JUNE))
    assert result.path.read_bytes().decode("utf-8") == JUNE_STATUS_CHANGES_CSV


def test_users_export_orders_numeric_user_ids_by_value(settings):
    """June: 9, 10, 100, u_z (text order would be 10, 100, 9); user 100's opt-outs are
    n100a and change 10, which follows change 9 (an opt-in) at the same instant."""
    result = write_export(settings, "users", resolve_range(**JUNE))
    assert result.path.read_bytes().decode("utf-8") == JUNE_USERS_CSV


# --- the CLI ----------------------------------------------------------------------------------


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        OPTOUT_RAW_DIR=str(settings.raw_dir),
        OPTOUT_WAREHOUSE=str(settings.warehouse),
        OPTOUT_EXPORT_DIR=str(settings.export_dir),
    )
    return subprocess.run([OPTOUT, *args], env=env, capture_output=True, text=True, timeout=120)


def test_cli_export_prints_the_path_last(settings):
    """The last stdout line is the written file; its bytes are the hand-written CSV."""
    done = run_cli(settings, "export", "--range", "last_week", "--as-of", "2024-03-01")
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.parent == settings.export_dir
    assert path.read_bytes().decode("utf-8") == LAST_WEEK_CSV


def test_cli_export_parquet(settings):
    done = run_cli(
        settings,
        "export",
        "--range",
        "between",
        "--start",
        "2024-02-28",
        "--end",
        "2024-03-01",
        "--format",
        "parquet",
    )
    assert done.returncode == 0, done.stderr
    table = pq.read_table(done.stdout.strip().splitlines()[-1])
    assert table.column("user_id").to_pylist() == ["u_a", "u_e", "u_g"]


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--range", "last_quarter"], "--range"),
        (["--range", "between", "--start", "2024/03/01", "--end", "2024-03-05"], "--start"),
        (["--range", "between", "--start", "2024-02-30", "--end", "2024-03-05"], "--start"),
        (["--range", "between", "--start", "2024-03-05", "--end", "2024-03-01"], "--start"),
        (["--range", "between", "--start", "2024-03-01"], "--end"),
        (["--range", "last_week", "--format", "xlsx"], "--format"),
        (["--range", "last_week", "--as-of", "2024-13-01"], "--as-of"),
        (["--range", "last_wek"], "did you mean last_week?"),
        (["--kind", "suppresion"], "did you mean suppression?"),
        (["--range", "last_week", "--format", "parqet"], "did you mean parquet?"),
    ],
    ids=[
        "unknown-range",
        "malformed-date",
        "impossible-date",
        "start-after-end",
        "between-without-end",
        "bad-format",
        "bad-as-of",
        "misspelt-range",
        "misspelt-kind",
        "misspelt-format",
    ],
)
def test_cli_bad_argument_exits_nonzero_with_one_line_and_writes_nothing(settings, args, names):
    done = run_cli(settings, "export", *args)
    assert done.returncode != 0
    message = done.stderr.strip()
    assert message and "\n" not in message, done.stderr
    assert names in message  # says which option to fix
    assert "argument --" not in message, message  # the flag is named once, not twice
    assert not settings.export_dir.exists() or not any(settings.export_dir.iterdir())
