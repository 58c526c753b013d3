"""Tests of the synthetic landing-zone generator (docs/CONTRACT.md §2, §4 and §8)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import COLUMNS  # docs/CONTRACT.md §2.2, shared with the fixtures

from orchestration.contract import SOURCES
from orchestration.generator import (
    RECORD_NAME,
    GeneratorContractError,
    OutDirNotEmpty,
    generate,
    last_complete_day,
    parameters,
    planned_files,
)
from orchestration.generator.calendars import Window

END = dt.date(2026, 3, 31)
SIGNAL_ARGS = {"users": 1500, "days": 45, "seed": 7, "end_date": END, "bad_rows": False}

DAILY = ("sends", "interactions", "events", "consent_changes")
CHANNELS = {"push", "email", "sms", "whatsapp"}
DOMAINS = {
    ("campaigns", "channel"): CHANNELS,
    ("sends", "channel"): CHANNELS,
    ("interactions", "channel"): CHANNELS,
    ("consent_changes", "channel"): CHANNELS | {"all"},
    ("campaigns", "message_category"): {"marketing", "transactional", "utility", "otp"},
    ("sends", "message_category"): {"marketing", "transactional", "utility", "otp"},
    ("sends", "delivery_status"): {"delivered", "failed", "bounced"},
    ("interactions", "interaction_type"): {"open", "click", "dismiss", "reply", "conversion"},
    ("consent_changes", "status"): {"opted_in", "opted_out"},
    ("consent_changes", "source"): {
        "app_settings",
        "unsubscribe_link",
        "inbound_keyword",
        "admin",
        "api",
        "import",
    },
}
TIMESTAMPS = {
    "users": ["created_at", "updated_at"],
    "campaigns": ["started_at"],
    "sends": ["sent_at"],
    "interactions": ["occurred_at"],
    "events": ["occurred_at"],
    "consent_changes": ["changed_at"],
}
REQUIRED = {
    "users": ["user_id", "updated_at"],
    "campaigns": ["campaign_id"],
    "sends": ["send_id", "user_id", "sent_at"],
    "interactions": ["interaction_id", "user_id", "occurred_at"],
    "events": ["event_id", "user_id", "event_name", "occurred_at"],
    "consent_changes": ["change_id", "user_id", "changed_at"],
}
ID_PREFIX = {
    "users": "u",
    "campaigns": "c",
    "sends": "s",
    "interactions": "i",
    "events": "e",
    "consent_changes": "cc",
}
TS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def read_source(root: Path, source: str) -> pd.DataFrame:
    """All files of a source as text; empty values are empty strings."""
    frames = []
    for path in sorted((root / source).iterdir()):
        if path.suffix == ".csv":
            frames.append(pd.read_csv(path, dtype=str, keep_default_na=False))
        else:
            frames.append(pd.read_parquet(path).astype(object).fillna("").astype(str))
    return pd.concat(frames, ignore_index=True)


def ts(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="%Y-%m-%dT%H:%M:%SZ", utc=True)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != RECORD_NAME  # the record holds mtimes
    }


@pytest.fixture(scope="module")
def signal_run(tmp_path_factory) -> tuple[Path, dict[str, int], dict[str, pd.DataFrame]]:
    root = tmp_path_factory.mktemp("signal")
    counts = generate(root, **SIGNAL_ARGS)
    return root, counts, {source: read_source(root, source) for source in COLUMNS}


@pytest.fixture(scope="module")
def data(signal_run) -> dict[str, pd.DataFrame]:
    return signal_run[2]


@pytest.fixture(scope="module")
def optouts(data) -> pd.DataFrame:
    """Opt-outs (docs/CONTRACT.md §4.4): status changes to opted_out that are not imports."""
    cc = data["consent_changes"].assign(t=lambda d: ts(d.changed_at))
    cc = cc.sort_values(["user_id", "channel", "t", "change_id"])
    previous = cc.groupby(["user_id", "channel"]).status.shift()
    is_change = previous.isna() | (previous != cc.status)
    out = cc[is_change & (cc.status == "opted_out") & (cc.source != "import")]
    return out.assign(date=out.t.dt.floor("D"))


# --------------------------------------------------------------------------------------------
# Layout, determinism, formats
# --------------------------------------------------------------------------------------------


def test_layout_headers_and_counts(signal_run):
    root, counts, data = signal_run
    assert sorted(p.name for p in root.iterdir()) == sorted([*COLUMNS, RECORD_NAME])
    assert sorted(p.name for p in (root / "users").iterdir()) == ["users.csv"]
    assert sorted(p.name for p in (root / "campaigns").iterdir()) == ["campaigns.csv"]
    first = END - dt.timedelta(days=SIGNAL_ARGS["days"] - 1)
    for source, columns in COLUMNS.items():
        for path in (root / source).iterdir():
            with path.open(encoding="utf-8") as f:
                assert f.readline().rstrip("\n") == ",".join(columns), path
        assert counts[source] == len(data[source])
    days = [first + dt.timedelta(days=d) for d in range(SIGNAL_ARGS["days"])]
    for source in DAILY:
        names = sorted(p.name for p in (root / source).iterdir())
        expected = [f"{source}_{day.isoformat()}.csv" for day in days]
        assert set(names) <= set(expected), source  # one file per UTC day, nothing else
        if source != "consent_changes":  # a quiet day may have no consent change
            assert names == expected, source


def test_daily_file_holds_only_its_day(signal_run):
    root = signal_run[0]
    for source, column in [
        ("sends", "sent_at"),
        ("interactions", "occurred_at"),
        ("consent_changes", "changed_at"),
    ]:
        for path in (root / source).iterdir():
            day = path.stem.rsplit("_", 1)[1]
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            assert frame[column].str.startswith(day).all(), path


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    args = {"users": 200, "days": 10, "end_date": END}
    generate(tmp_path / "a", seed=1, **args)
    generate(tmp_path / "b", seed=1, **args)
    generate(tmp_path / "c", seed=2, **args)
    a, b, c = (tree_bytes(tmp_path / x) for x in "abc")
    assert a == b
    assert a != c
    assert a["sends/sends_2026-03-31.csv"] != c["sends/sends_2026-03-31.csv"]


def test_parquet_and_single_file_have_the_same_rows(tmp_path):
    args = {"users": 300, "days": 12, "seed": 3, "end_date": END, "bad_rows": False}
    counts = generate(tmp_path / "csv", **args)
    assert generate(tmp_path / "pq", fmt="parquet", **args) == counts
    assert generate(tmp_path / "one", files_per_day=False, **args) == counts
    for source in COLUMNS:
        csv = read_source(tmp_path / "csv", source)
        parquet = read_source(tmp_path / "pq", source)
        single = read_source(tmp_path / "one", source)
        assert list(parquet.columns) == COLUMNS[source]
        pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)
        pd.testing.assert_frame_equal(csv, single, check_dtype=False)
        assert [p.name for p in (tmp_path / "one" / source).iterdir()] == [f"{source}.csv"]


def test_refuses_a_folder_that_is_not_empty(tmp_path):
    """Nothing is written or removed without force: a file of the landing naming scheme
    that someone else put there survives."""
    theirs = tmp_path / "sends" / "sends_2026-03-30.csv"
    theirs.parent.mkdir()
    theirs.write_text("send_id\ns_theirs\n")
    with pytest.raises(OutDirNotEmpty, match="--force"):
        generate(tmp_path, users=20, days=3, end_date=END)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "sends",
        "sends/sends_2026-03-30.csv",
    ]
    assert theirs.read_text() == "send_id\ns_theirs\n"


def test_force_replaces_its_own_files_and_keeps_every_other(tmp_path):
    """A re-run with force removes the files the previous run wrote (so two data sets never
    mix), keeps a foreign file even when it is named like a generated one, and keeps a
    generated file that was changed since (someone else's now)."""
    generate(tmp_path, users=20, days=3, end_date=END)
    foreign = tmp_path / "sends" / "sends_2026-03-01.csv"  # the generator's naming scheme
    foreign.write_text("send_id\ns_foreign\n")
    edited = tmp_path / "events" / "events_2026-03-29.csv"
    edited.write_text(edited.read_text() + "e_edited,u000001,app_open,2026-03-29T10:00:00Z\n")
    generate(tmp_path, users=20, days=2, end_date=END - dt.timedelta(days=10), force=True)
    assert sorted(p.name for p in (tmp_path / "sends").iterdir()) == [
        "sends_2026-03-01.csv",
        "sends_2026-03-20.csv",
        "sends_2026-03-21.csv",
    ]
    assert foreign.read_text() == "send_id\ns_foreign\n"
    # The first run's planted correction (events_2026-03-30_correction.csv) is gone too.
    assert sorted(p.name for p in (tmp_path / "events").iterdir()) == [
        "events_2026-03-20.csv",
        "events_2026-03-21.csv",
        "events_2026-03-21_correction.csv",
        "events_2026-03-29.csv",
    ]
    assert "e_edited" in edited.read_text()
    record = json.loads((tmp_path / RECORD_NAME).read_text())
    assert record["arguments"]["end_date"] == "2026-03-21"
    assert "sends/sends_2026-03-01.csv" not in [name for name, *_ in record["files"]]


@pytest.mark.parametrize(
    "kwargs", [{}, {"fmt": "parquet"}, {"files_per_day": False}, {"bad_rows": False}]
)
def test_every_file_written_was_planned(tmp_path, kwargs):
    """The overwrite check of `force` looks at the planned files: a run writes no other."""
    generate(tmp_path, users=50, days=7, end_date=END, **kwargs)
    written = {
        p.relative_to(tmp_path).as_posix()
        for p in tmp_path.rglob("*")
        if p.is_file() and p.name != RECORD_NAME
    }
    window = Window(END - dt.timedelta(days=6), 7)
    planned = planned_files(
        window,
        kwargs.get("fmt", "csv"),
        kwargs.get("files_per_day", True),
        kwargs.get("bad_rows", True),
    )
    assert written and written <= planned


def test_force_never_overwrites_a_file_it_did_not_write(tmp_path):
    theirs = tmp_path / "consent_changes" / "consent_changes_2026-03-30.csv"
    theirs.parent.mkdir()
    theirs.write_text("change_id\nmine\n")
    with pytest.raises(OutDirNotEmpty, match="consent_changes_2026-03-30.csv"):
        generate(tmp_path, users=20, days=3, end_date=END, force=True)
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "consent_changes",
        "consent_changes_2026-03-30.csv",
    ]


def test_progress_is_called_after_each_day(tmp_path):
    calls = []
    generate(tmp_path, users=20, days=4, end_date=END, progress=lambda *a: calls.append(a))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_default_end_date_is_the_last_complete_utc_day(tmp_path):
    """Nothing in the future: the last file is yesterday's (UTC) and no timestamp is later
    than its last second."""
    before = last_complete_day()
    generate(tmp_path, users=30, days=2, bad_rows=False)
    after = last_complete_day()
    names = sorted(p.name for p in (tmp_path / "events").iterdir())
    assert names[-1] in (f"events_{before}.csv", f"events_{after}.csv")
    latest = max(
        pd.read_csv(path, dtype=str).occurred_at.max() for path in (tmp_path / "events").iterdir()
    )
    assert ts(pd.Series([latest])).iloc[0] < pd.Timestamp(after + dt.timedelta(days=1), tz="UTC")


def test_last_complete_day():
    now = dt.datetime(2026, 3, 31, 0, 0, 1, tzinfo=dt.UTC)
    assert last_complete_day(now) == dt.date(2026, 3, 30)
    # 23:30 on 30 March in New York is 03:30 UTC on the 31st: the 30th has ended in UTC.
    new_york = dt.timezone(dt.timedelta(hours=-4))
    assert last_complete_day(dt.datetime(2026, 3, 30, 23, 30, tzinfo=new_york)) == dt.date(
        2026, 3, 30
    )


def test_a_contract_column_the_generator_does_not_fill_fails_loudly(tmp_path, monkeypatch):
    """Adding a column to the landing contract without teaching the generator fails the run
    naming the source and column, rather than writing files where it is silently empty."""
    events = parameters.COLUMNS["events"]
    monkeypatch.setitem(parameters.COLUMNS, "events", (*events, "platform"))
    with pytest.raises(GeneratorContractError, match=r"events .*platform"):
        generate(tmp_path, users=20, days=2, end_date=END)


def test_the_generator_writes_exactly_the_contract_columns():
    """The generator reads the columns from the landing contract itself (one definition)."""
    assert {name: spec.columns for name, spec in SOURCES.items()} == parameters.COLUMNS


@pytest.mark.parametrize("kwargs", [{"fmt": "json"}, {"users": 0}, {"days": 0}])
def test_bad_arguments_raise(tmp_path, kwargs):
    with pytest.raises(ValueError):
        generate(tmp_path, **kwargs)


# --------------------------------------------------------------------------------------------
# Validity per docs/CONTRACT.md §2
# --------------------------------------------------------------------------------------------


def test_enum_values_in_domain(data):
    for (source, column), domain in DOMAINS.items():
        values = set(data[source][column].str.strip().str.lower())
        assert values <= domain, (source, column, values - domain)
        assert values == domain, (source, column, "every value used")


def test_required_values_present(data):
    for source, columns in REQUIRED.items():
        for column in columns:
            assert (data[source][column] != "").all(), (source, column)


def test_timestamps_parse_and_lie_in_window(data):
    start = pd.Timestamp(END - dt.timedelta(days=SIGNAL_ARGS["days"] - 1), tz="UTC")
    end = pd.Timestamp(END, tz="UTC") + pd.Timedelta(hours=23, minutes=59, seconds=59)
    for source, columns in TIMESTAMPS.items():
        for column in columns:
            values = data[source][column]
            assert values.str.fullmatch(TS_RE).all(), (source, column)
            parsed = ts(values)
            assert parsed.max() <= end, (source, column)
            if source != "users":
                assert parsed.min() >= start, (source, column)
    users = data["users"]
    assert (ts(users.created_at) < start).all()
    assert (ts(users.updated_at) >= ts(users.created_at)).all()


def test_ids_unique_prefixed_fixed_width(data):
    for source, prefix in ID_PREFIX.items():
        ids = data[source][COLUMNS[source][0]]
        assert ids.is_unique, source
        assert ids.str.fullmatch(rf"{prefix}\d+").all(), source
        assert ids.str.len().nunique() == 1, source  # text order == numeric order


def test_references_exist(data):
    user_ids = set(data["users"].user_id)
    for source in DAILY:
        assert set(data[source].user_id) <= user_ids, source
    campaign_ids = set(data["campaigns"].campaign_id) | {""}
    assert set(data["sends"].campaign_id) <= campaign_ids
    assert set(data["interactions"].campaign_id) <= campaign_ids
    assert set(data["interactions"].send_id) <= set(data["sends"].send_id) | {""}


def test_interactions_follow_their_send(data):
    linked = (
        data["interactions"]
        .query("send_id != ''")
        .merge(data["sends"], on="send_id", how="left", suffixes=("", "_s"), validate="many_to_one")
    )
    assert (ts(linked.occurred_at) > ts(linked.sent_at)).all()
    assert (linked.channel == linked.channel_s).all()
    assert (linked.campaign_id == linked.campaign_id_s).all()
    assert (linked.user_id == linked.user_id_s).all()
    assert (linked.delivery_status == "delivered").all()


def test_realistic_variety(data):
    users = data["users"]
    assert users.external_id.str.fullmatch(r"ext-[0-9a-f]{12}").all()
    phones = users.phone[users.phone != ""]
    assert phones.str.fullmatch(r"\+[1-9]\d{7,14}").all()  # E.164
    assert {p[:3] for p in phones} >= {"+15", "+44", "+90"}
    assert users.email.str.contains("@").mean() > 0.9
    assert users.team_code.nunique() >= 3

    campaigns = data["campaigns"]
    spike = campaigns[campaigns.campaign_name.str.contains("Spike")]
    assert len(spike) == 1
    assert spike.iloc[0][["channel", "message_category"]].tolist() == ["push", "marketing"]
    assert campaigns.started_at.nunique() > 10  # a calendar, not one date

    sends = data["sends"]
    assert sends.channel.value_counts().idxmax() == "push"
    assert 0.85 < (sends.delivery_status == "delivered").mean() < 0.99
    per_user_day = len(sends) / SIGNAL_ARGS["users"] / SIGNAL_ARGS["days"]
    assert 1 <= per_user_day <= 5

    interactions = data["interactions"]
    assert (interactions.campaign_id == "").any()
    assert (interactions.send_id == "").any()

    events = data["events"]
    assert {
        "app_open",
        "session_start",
        "view_product",
        "add_to_cart",
        "purchase",
        "search",
    } <= set(events.event_name)

    cc = data["consent_changes"]
    keywords = cc.keyword[(cc.source == "inbound_keyword") & (cc.status == "opted_out")]
    assert keywords.nunique() >= 6
    assert keywords[keywords.str.strip().str.lower() == "stop"].nunique() >= 3  # STOP, Stop..
    assert {"UNSUBSCRIBE", "cancel"} <= set(keywords)
    assert (cc.keyword[cc.source != "inbound_keyword"] == "").all()
    assert cc.reason.isin(["too many messages", "not relevant"]).any()
    imports = cc[cc.source == "import"]
    assert set(imports.status) == {"opted_in", "opted_out"}
    assert imports.user_id.nunique() > SIGNAL_ARGS["users"] / 2


def test_consent_timeline_has_repeats_and_optins(data, optouts):
    cc = data["consent_changes"]
    non_import = cc[cc.source != "import"]
    assert len(optouts) > 100
    assert set(optouts.source) == {
        "app_settings",
        "unsubscribe_link",
        "inbound_keyword",
        "admin",
        "api",
    }
    # Repeated STOPs: opt-out rows that are not status changes.
    assert (non_import.status == "opted_out").sum() > len(optouts)
    assert (non_import.status == "opted_in").any()


# --------------------------------------------------------------------------------------------
# Planted signals (docs/CONTRACT.md §8)
# --------------------------------------------------------------------------------------------


def test_optouts_rise_with_push_pressure(data, optouts):
    """Opt-outs per user-day grow with delivered pushes in the 7 days up to that day."""
    sends = data["sends"]
    push = sends[(sends.channel == "push") & (sends.delivery_status == "delivered")]
    days = pd.date_range(END - dt.timedelta(days=SIGNAL_ARGS["days"] - 1), END, tz="UTC")
    daily = (
        push.assign(date=ts(push.sent_at).dt.floor("D"))
        .groupby(["user_id", "date"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=data["users"].user_id, columns=days, fill_value=0)
    )
    pressure = daily.T.rolling(7, min_periods=1).sum().T.stack().rename("push_7d")
    exposure = pressure.reset_index()
    exposure.columns = ["user_id", "date", "push_7d"]
    hits = optouts.groupby(["user_id", "date"]).size().rename("optouts")
    exposure = exposure.join(hits, on=["user_id", "date"]).fillna({"optouts": 0})
    exposure["bucket"] = pd.qcut(exposure.push_7d, 3, labels=["low", "mid", "high"])
    rate = exposure.groupby("bucket", observed=True).optouts.mean()
    assert rate["low"] < rate["mid"] < rate["high"], rate
    assert rate["high"] > 2 * rate["low"], rate


def test_spike_campaign_causes_optout_spike(data, optouts):
    campaigns = data["campaigns"]
    spike = campaigns[campaigns.campaign_name.str.contains("Spike")].iloc[0]
    spike_day = ts(pd.Series([spike.started_at])).dt.floor("D").iloc[0]
    recipients = data["sends"].query("campaign_id == @spike.campaign_id").user_id.nunique()
    assert recipients > 0.5 * SIGNAL_ARGS["users"]

    per_day = optouts.groupby("date").size()
    median = per_day.median()
    after = per_day.reindex([spike_day, spike_day + pd.Timedelta(days=1)], fill_value=0)
    assert after.sum() > 6 * median, (after, median)
    assert after.max() > 4 * median, (after, median)

    # Their last campaign before opting out (docs/CONTRACT.md §5.3) is mostly the spike.
    interactions = data["interactions"].query("campaign_id != ''")
    interactions = interactions.assign(at=ts(interactions.occurred_at))
    window = optouts[
        (optouts.t > ts(pd.Series([spike.started_at])).iloc[0])
        & (optouts.date <= spike_day + pd.Timedelta(days=1))
    ]
    last = pd.merge_asof(
        window.sort_values("t")[["change_id", "user_id", "t"]],
        interactions.sort_values(["at", "interaction_id"])[["user_id", "at", "campaign_id"]],
        left_on="t",
        right_on="at",
        by="user_id",
        allow_exact_matches=False,
    )
    assert (last.campaign_id == spike.campaign_id).mean() > 0.4


def test_activity_fades_before_optout(data, optouts):
    """Events in the 7 days before an opt-out are fewer than in the 7 days before that."""
    start = pd.Timestamp(END - dt.timedelta(days=SIGNAL_ARGS["days"] - 1), tz="UTC")
    late = optouts[optouts.t >= start + pd.Timedelta(days=14)][["change_id", "user_id", "t"]]
    events = data["events"].assign(event_at=lambda d: ts(d.occurred_at))
    joined = late.merge(events[["user_id", "event_at"]], on="user_id")
    age = joined.t - joined.event_at
    week = pd.Timedelta(days=7)
    last_week = ((age > pd.Timedelta(0)) & (age <= week)).sum()
    week_before = ((age > week) & (age <= 2 * week)).sum()
    assert last_week < 0.9 * week_before, (last_week, week_before)
