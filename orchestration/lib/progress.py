"""What `optout build` prints while dbt builds: one line per layer once the layer is done,
and the counts that matter, instead of dbt's ~170 lines (one per node).

dbt runs with `--log-format json`: its structured events arrive on stdout, one JSON object
per line (`info.name` is the event, as in dbt-core 1.11's dbt/events/types.py:
LogStartLine, LogModelResult, LogTestResult, SkippingDetails, RunResultError, StatsLine,
JinjaLogInfo, ...), while `--log-format-file debug` keeps dbt's full log as text in
`<target>/dbt.log`. Warnings and messages the project's macros log are always shown; on
failure, so are the failing nodes' messages. `verbose` passes dbt's own output through
unchanged.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from orchestration.lib.layers import LAYER_ORDER, layer_of

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Messages the project's macros log (`log(..., info=true)`) and warnings: always shown.
_SHOWN = {"JinjaLogInfo", "JinjaLogWarning"}
_NODE_DONE = {"LogModelResult", "LogTestResult", "SkippingDetails", "LogSkipBecauseError"}


def _plain(text: str) -> str:
    return _ANSI.sub("", text or "")


@dataclass
class _Layer:
    models: int = 0
    tests: int = 0
    done: set[str] = field(default_factory=set)
    results: Counter = field(default_factory=Counter)
    printed: bool = False

    @property
    def total(self) -> int:
        return self.models + self.tests


class BuildProgress:
    """Feed it dbt's stdout lines (`feed`), then `finish(returncode)`."""

    def __init__(self, target_path: Path, verbose: bool = False, out: TextIO | None = None):
        self.target_path = Path(target_path)
        self.verbose = verbose
        self.out = out or sys.stdout
        self.started = time.monotonic()
        self.layers: dict[str, _Layer] = {}
        self.layer_of_node: dict[str, str] = {}
        self.results: Counter = Counter()
        self.errors: list[str] = []
        self.summary: list[str] = []  # dbt's own end-of-run summary (failures listed there)
        self.stats = ""
        self._in_summary = False
        self._live = False
        self._tty = hasattr(self.out, "isatty") and self.out.isatty()

    @property
    def dbt_args(self) -> list[str]:
        """Extra arguments of the dbt invocation."""
        return [] if self.verbose else ["--log-format", "json", "--log-format-file", "debug"]

    @property
    def log_file(self) -> Path:
        return self.target_path / "dbt.log"

    # -- input ---------------------------------------------------------------------------

    def feed(self, line: str) -> list[str]:
        """Handle one line of dbt's stdout; returns its text, one string per line (an
        event's message may span several)."""
        if self.verbose:
            self.out.write(line)
            return [line.rstrip("\n")]
        try:
            event = json.loads(line)
            info, data = event["info"], event.get("data", {})
        except (ValueError, KeyError, TypeError):
            self._print(line.rstrip("\n"))  # not one of dbt's events: never swallow it
            return [line.rstrip("\n")]
        name, level, msg = info.get("name", ""), info.get("level", ""), _plain(info.get("msg"))
        node = (data.get("node_info") or {}).get("unique_id", "")
        if name == "EndOfRunSummary":
            self._in_summary = True
        if self._in_summary and name != "StatsLine":
            if msg.strip():
                self.summary.append(msg)
        elif level == "error":
            self.errors.append(msg)
        elif level == "warn" or name in _SHOWN:
            self._print(f"  {msg}")
        if name == "StatsLine":
            self.stats = msg
        elif name == "FoundStats":
            self._print(f"dbt: {msg[0].lower()}{msg[1:]}")
        elif (
            name == "LogHookEndLine"
            and data.get("index") == data.get("total")
            and not self.results  # on-run-start's hooks, not on-run-end's
        ):
            self._print(
                f"  {'landing':<13} views over the files not loaded yet{'':<7} {self._elapsed()}"
            )
        elif name == "LogStartLine" and self._tty:
            done = sum(self.results.values())
            self._live_line(f"  {done}/{data.get('total', '?')} {data.get('description', '')}")
        elif name in _NODE_DONE and node:
            self._node_done(node, name, data)
        return msg.splitlines() or [msg]

    def _node_done(self, node: str, name: str, data: dict) -> None:
        if not self.layers:
            self._load_layers()
        status = str(data.get("status") or "skipped").lower()
        if name in ("SkippingDetails", "LogSkipBecauseError"):
            status = "skipped"
        elif name == "LogModelResult" and status not in ("error", "skipped"):
            status = "ok"
        self.results[status] += 1
        layer = self.layers.get(self.layer_of_node.get(node, ""))
        if layer is None:
            return
        layer.done.add(node)
        layer.results[status] += 1
        if len(layer.done) >= layer.total:
            self._print_layer(self.layer_of_node[node], layer)

    def _load_layers(self) -> None:
        """Models and tests per layer, from the manifest dbt wrote before it started."""
        try:
            manifest = json.loads((self.target_path / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError):
            return
        nodes = manifest.get("nodes", {})
        order = {name: i for i, name in enumerate(LAYER_ORDER)}
        for unique_id, node in nodes.items():
            if node.get("resource_type") == "model":
                self.layer_of_node[unique_id] = layer_of(node)
        for unique_id, node in nodes.items():
            if node.get("resource_type") != "test":
                continue
            # A test belongs to the latest layer it reads (singular tests read several).
            read = [
                d for d in node.get("depends_on", {}).get("nodes", []) if d.startswith("model.")
            ]
            layers = [self.layer_of_node[d] for d in read if d in self.layer_of_node] or ["tests"]
            self.layer_of_node[unique_id] = max(layers, key=lambda x: order.get(x, len(order)))
        for unique_id, layer_name in self.layer_of_node.items():
            layer = self.layers.setdefault(layer_name, _Layer())
            if unique_id.startswith("model."):
                layer.models += 1
            else:
                layer.tests += 1

    # -- output --------------------------------------------------------------------------

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:6.1f} s"

    def _print(self, text: str) -> None:
        if self._live:
            self.out.write("\r\x1b[K")
            self._live = False
        self.out.write(text + "\n")
        self.out.flush()

    def _live_line(self, text: str) -> None:
        self.out.write("\r\x1b[K" + text[:100])
        self.out.flush()
        self._live = True

    def _print_layer(self, name: str, layer: _Layer) -> None:
        layer.printed = True
        r = layer.results
        parts = [f"{layer.models:>3} models", f"{layer.tests:>3} tests"]
        problems = [
            f"{n} {label}"
            for n, label in (
                (r["error"], "errors"),
                (r["fail"], "tests failed"),
                (r["warn"], "tests warned"),
                (r["skipped"], "skipped"),
            )
            if n
        ]
        verdict = ", ".join(problems) if problems else "ok"
        self._print(f"  {name:<13} {', '.join(parts)}  {verdict:<22} {self._elapsed()}")

    def finish(self, returncode: int) -> None:
        """The closing lines: totals and the log's path; on failure the messages."""
        if self.verbose:
            return
        for name, layer in sorted(self.layers.items(), key=lambda kv: _order(kv[0])):
            if not layer.printed and layer.done:
                self._print_layer(name, layer)
        r = self.results
        counts = (
            f"{r['ok']} models built, {r['pass']} tests passed"
            + (f", {r['warn']} warned" if r["warn"] else "")
            + (f", {r['fail']} failed" if r["fail"] else "")
            + (f", {r['error']} errors" if r["error"] else "")
            + (f", {r['skipped']} skipped" if r["skipped"] else "")
        )
        seconds = time.monotonic() - self.started
        if returncode == 0:
            self._print(f"dbt build passed in {seconds:.1f} s: {counts}")
        else:
            self._print(f"dbt build FAILED after {seconds:.1f} s: {counts}")
            for message in _unique(self.summary or self.errors):
                self._print("\n".join(f"  {line}" for line in message.splitlines()))
        self._print(f"dbt's full log: {self.log_file}")


def _order(name: str) -> int:
    return LAYER_ORDER.index(name) if name in LAYER_ORDER else len(LAYER_ORDER)


def _unique(messages: list[str]) -> list[str]:
    seen, out = set(), []
    for message in messages:
        if message not in seen:
            seen.add(message)
            out.append(message)
    return out


def rows_summary(settings) -> str:
    """One line of the load reconciliation after a build: raw = clean + quarantined +
    duplicates over every source (`optout status` shows each source)."""
    from orchestration.status import reconciliation

    try:
        rows = reconciliation(settings)
    except Exception as exc:  # the build passed; only the summary is missing
        return f"rows: not available ({str(exc).strip().splitlines()[0]})"
    raw, clean, quarantined, duplicates = (sum(row[i] for row in rows) for i in range(1, 5))
    balanced = all(row[5] == "yes" for row in rows)
    return (
        f"rows: {raw:,} raw = {clean:,} clean + {quarantined:,} quarantined + "
        f"{duplicates:,} duplicates{'' if balanced else ' (NOT balanced)'}; "
        "`optout status` shows each source"
    )
