"""benchmarks/churn.py counts what one day's load changes per mart (docs/BENCHMARKS.md "What
one day's load changes"): on two small DuckDB files written here by hand, each count is the
one worked out below, and the rendered section says it."""

from __future__ import annotations

import duckdb

from benchmarks.churn import Churn, compare
from benchmarks.report import churn_section


def _warehouse(path, tables: dict[str, list[tuple]]) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    for table, rows in tables.items():
        con.execute(f"create table marts.{table} (day date, channel varchar, optouts int)")
        con.executemany(f"insert into marts.{table} values (?, ?, ?)", rows)
    con.close()


def test_new_changed_and_gone_rows_are_counted_per_mart(tmp_path):
    before, after = tmp_path / "before.duckdb", tmp_path / "after.duckdb"
    _warehouse(
        before,
        {
            "daily": [
                ("2026-01-29", "sms", 2),
                ("2026-01-30", "sms", 5),
                ("2026-01-30", "push", 1),
            ],
            "same": [("2026-01-29", "sms", 1), ("2026-01-29", "sms", 1)],
        },
    )
    _warehouse(
        after,
        {
            # 01-29 kept; 01-30 sms changed 5 -> 6 (one new row, one gone); 01-30 push gone;
            # 01-31 new.
            "daily": [("2026-01-29", "sms", 2), ("2026-01-30", "sms", 6), ("2026-01-31", "sms", 3)],
            # A repeated row is counted as often as it repeats: one of the two is gone.
            "same": [("2026-01-29", "sms", 1)],
        },
    )
    churn = compare(before, after, ["daily", "same"])
    assert churn == {
        "daily": Churn(before=3, after=3, written=2, gone=2),
        "same": Churn(before=2, after=1, written=0, gone=1),
    }
    assert churn["daily"].share == 2 / 3

    result = {
        "users": 10,
        "days": 3,
        "machine": {"cpu_model": "a CPU", "nproc": 2},
        "steps": {"full_build": {"wall_seconds": 2.0}, "incremental_build": {"wall_seconds": 1.0}},
        "marts": {
            t: {"before": c.before, "after": c.after, "written": c.written, "gone": c.gone}
            for t, c in churn.items()
        },
        "command": "python -m benchmarks.churn --scale small",
    }
    text = "\n".join(churn_section({"small": result}))
    assert "| `daily` | 3 | 3 | 2 | 66.7 % | 2 |" in text
    assert "| `same` | 2 | 1 | 0 | 0.0 % | 1 |" in text
    # Only `same` changes at most 5 % of its rows; 2 of the 4 rows after are new or changed.
    assert "1 of 2 marts change at most 5.0 % of their rows" in text
    assert "2 of 4 rows (50.0 %)" in text
