"""The four core marts (docs/CONTRACT.md §5) in plain pandas: what an analyst would write instead.

    python -m benchmarks.pandas_peer --raw-dir DIR [--out DIR] [--as-of TS]

Reads every landing file of the sources it needs with `pd.read_csv` (all columns, the
way an analyst loads an export), parses timestamps with `pd.to_datetime(utc=True)` and
computes fct_optouts, fct_push_before_optout_7d, fct_last_campaign and
fct_optout_retention with the definitions of docs/CONTRACT.md §4/§5. Straightforward on purpose:
no chunking, no categoricals, no tuned dtypes.

What it does not do, unlike the warehouse: no validation or quarantine of bad rows, no
removal of duplicate rows (the synthetic data has neither), no incremental loading. It
trims `keyword` and `reason` (docs/CONTRACT.md §2.5: values are compared trimmed) and keeps
the latest `users` row per user_id, because both change the numbers on clean data too.

Prints one JSON line: seconds per phase and row counts. With --out, writes each mart as
<out>/<mart>.parquet (benchmarks/run.py compares them with the warehouse on `small`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pandas as pd

RETENTION_WINDOWS = (1, 3, 7, 14, 30)
PUSH_WINDOW_DAYS = 7
TIMESTAMPS = {
    "users": "updated_at",
    "campaigns": "started_at",
    "sends": "sent_at",
    "interactions": "occurred_at",
    "events": "occurred_at",
    "consent_changes": "changed_at",
}


def parse_ts(values: pd.Series) -> pd.Series:
    """ISO-8601 text -> UTC timestamps (no offset means UTC)."""
    return pd.to_datetime(values, utc=True, format="ISO8601")


def read_source(raw_dir: Path, source: str) -> pd.DataFrame:
    """Every file of one source, concatenated, with its timestamp column parsed."""
    folder = Path(raw_dir) / source
    frames = [pd.read_csv(path, dtype=str) for path in sorted(folder.glob("*.csv"))]
    frames += [pd.read_parquet(path) for path in sorted(folder.glob("*.parquet"))]
    frame = pd.concat(frames, ignore_index=True)
    frame[TIMESTAMPS[source]] = parse_ts(frame[TIMESTAMPS[source]])
    return frame


# --- CONTRACT §4: consent timeline and opt-outs -----------------------------------------------


def optouts_from(consent_changes: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    """fct_optouts: status changes to opted_out that are not imports."""
    cc = consent_changes.sort_values(["user_id", "channel", "changed_at", "change_id"])
    previous = cc.groupby(["user_id", "channel"])["status"].shift()
    is_status_change = previous.isna() | (previous != cc["status"])
    is_optout = is_status_change & (cc["status"] == "opted_out") & (cc["source"] != "import")
    optouts = cc[is_optout].rename(columns={"change_id": "optout_id", "changed_at": "opted_out_at"})

    latest_users = users.sort_values("updated_at").drop_duplicates("user_id", keep="last")
    optouts = optouts.merge(latest_users[["user_id", "external_id"]], on="user_id", how="left")
    optouts["opted_out_date"] = optouts["opted_out_at"].dt.date
    optouts["keyword"] = optouts["keyword"].str.strip().replace("", None)
    optouts["reason"] = optouts["reason"].str.strip().replace("", None)
    columns = [
        "optout_id",
        "user_id",
        "external_id",
        "channel",
        "opted_out_at",
        "opted_out_date",
        "source",
        "keyword",
        "reason",
    ]
    return optouts[columns].sort_values("optout_id").reset_index(drop=True)


# --- CONTRACT §5 ------------------------------------------------------------------------------

OPTOUT_KEYS = ["optout_id", "user_id", "channel", "opted_out_at"]


def push_before_optout(optouts: pd.DataFrame, sends: pd.DataFrame) -> pd.DataFrame:
    """fct_push_before_optout_7d: delivered pushes in [t - 7 days, t)."""
    pushes = sends[(sends["channel"] == "push") & (sends["delivery_status"] == "delivered")]
    pushes = pushes[["user_id", "sent_at", "message_category"]]
    pairs = optouts[["optout_id", "user_id", "opted_out_at"]].merge(pushes, on="user_id")
    start = pairs["opted_out_at"] - pd.Timedelta(days=PUSH_WINDOW_DAYS)
    pairs = pairs[(pairs["sent_at"] >= start) & (pairs["sent_at"] < pairs["opted_out_at"])]
    pairs = pairs.assign(is_marketing=pairs["message_category"] == "marketing")
    counts = pairs.groupby("optout_id").agg(
        push_count_7d=("sent_at", "size"), marketing_push_count_7d=("is_marketing", "sum")
    )
    result = optouts[OPTOUT_KEYS].merge(counts, on="optout_id", how="left")
    count_columns = ["push_count_7d", "marketing_push_count_7d"]
    result[count_columns] = result[count_columns].fillna(0).astype("int64")
    return result


def last_campaign(
    optouts: pd.DataFrame, interactions: pd.DataFrame, campaigns: pd.DataFrame
) -> pd.DataFrame:
    """fct_last_campaign: the latest interaction with a campaign strictly before the opt-out
    (ties on occurred_at: the greatest interaction_id, i.e. the last one after sorting)."""
    with_campaign = interactions[interactions["campaign_id"].notna()]
    with_campaign = with_campaign[
        ["user_id", "occurred_at", "interaction_id", "campaign_id", "interaction_type"]
    ].sort_values(["occurred_at", "interaction_id"])
    result = pd.merge_asof(
        optouts[OPTOUT_KEYS].sort_values("opted_out_at"),
        with_campaign,
        left_on="opted_out_at",
        right_on="occurred_at",
        by="user_id",
        direction="backward",
        allow_exact_matches=False,
    )
    result = result.merge(campaigns[["campaign_id", "campaign_name"]], on="campaign_id", how="left")
    result = result.rename(
        columns={
            "campaign_id": "last_campaign_id",
            "campaign_name": "last_campaign_name",
            "interaction_type": "last_interaction_type",
            "occurred_at": "last_interaction_at",
        }
    )
    columns = [
        *OPTOUT_KEYS,
        "last_campaign_id",
        "last_campaign_name",
        "last_interaction_type",
        "last_interaction_at",
    ]
    return result[columns].sort_values("optout_id").reset_index(drop=True)


def retention(
    optouts: pd.DataFrame,
    events: pd.DataFrame,
    as_of: pd.Timestamp,
    windows: tuple[int, ...] = RETENTION_WINDOWS,
) -> pd.DataFrame:
    """fct_optout_retention: events in [t - W, t) and (t, t + W] per opt-out and window."""
    pairs = optouts[["optout_id", "user_id", "opted_out_at"]].merge(
        events[["user_id", "occurred_at"]], on="user_id"
    )
    widest = pd.Timedelta(days=max(windows))
    t, occurred = pairs["opted_out_at"], pairs["occurred_at"]
    pairs = pairs[(occurred >= t - widest) & (occurred <= t + widest)]
    t, occurred = pairs["opted_out_at"], pairs["occurred_at"]

    results = []
    for window in windows:
        days = pd.Timedelta(days=window)
        counts = (
            pairs.assign(
                events_before=(occurred >= t - days) & (occurred < t),
                events_after=(occurred > t) & (occurred <= t + days),
            )
            .groupby("optout_id")[["events_before", "events_after"]]
            .sum()
        )
        result = optouts[OPTOUT_KEYS].merge(counts, on="optout_id", how="left")
        result[["events_before", "events_after"]] = (
            result[["events_before", "events_after"]].fillna(0).astype("int64")
        )
        result["window_days"] = window
        result["retention_status"] = "pending"
        result.loc[result["opted_out_at"] + days <= as_of, "retention_status"] = "churn"
        result.loc[result["events_after"] > 0, "retention_status"] = "retain"
        results.append(result)
    columns = [
        *OPTOUT_KEYS,
        "window_days",
        "retention_status",
        "events_before",
        "events_after",
    ]
    combined = pd.concat(results, ignore_index=True)[columns]
    return combined.sort_values(["optout_id", "window_days"]).reset_index(drop=True)


def build_marts(
    raw_dir: Path, as_of: str | None = None, timings: dict[str, float] | None = None
) -> dict[str, pd.DataFrame]:
    """The four marts from the landing zone; `timings` gets seconds per phase."""
    timings = {} if timings is None else timings
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    data = {source: read_source(raw_dir, source) for source in TIMESTAMPS}
    lap("read_and_parse")
    optouts = optouts_from(data["consent_changes"], data["users"])
    lap("fct_optouts")
    push = push_before_optout(optouts, data["sends"])
    lap("fct_push_before_optout_7d")
    last = last_campaign(optouts, data["interactions"], data["campaigns"])
    lap("fct_last_campaign")
    events = data["events"]
    as_of_ts = parse_ts(pd.Series([as_of])).iloc[0] if as_of else events["occurred_at"].max()
    kept = retention(optouts, events, as_of_ts)
    lap("fct_optout_retention")
    return {
        "fct_optouts": optouts,
        "fct_push_before_optout_7d": push,
        "fct_last_campaign": last,
        "fct_optout_retention": kept,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw-dir", required=True, type=Path)
    parser.add_argument("--out", type=Path, help="write each mart as <out>/<mart>.parquet")
    parser.add_argument("--as-of", help="ISO timestamp closing retention windows")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    timings: dict[str, float] = {}
    marts = build_marts(args.raw_dir, args.as_of, timings)
    total = time.perf_counter() - started
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, frame in marts.items():
            frame.to_parquet(args.out / f"{name}.parquet", index=False)
    rows = {name: len(frame) for name, frame in marts.items()}
    print(json.dumps({"seconds": round(total, 3), "phases": timings, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
