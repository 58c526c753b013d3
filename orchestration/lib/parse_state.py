"""One dbt parse for the builds (CLI and Dagster) of every DuckDB warehouse.

dbt parses the whole project again (about 9 s of CPU, a third of a small build) when
the build's target folder holds no parse state (`partial_parse.msgpack`) or when anything
the parse depends on differs from it: the profile as rendered, the env vars
dbt_project.yml reads, the --vars. The warehouse's paths were in the first two, so each
new warehouse (each test's, each tenant's) paid a full parse. Now:

- `optout build` runs dbt in the warehouse's folder and names the files there by their
  names alone (`relative_paths`), and the landing zone is read when the build runs
  (macros/landing/landing_raw_dir.sql), so the parse does not depend on where they are;
- a target folder without parse state starts from the one last saved for the same
  profile settings (`shared_parse_state`; builds given --vars, `--as-of` or
  `--allow-empty`, neither take nor leave one, and the load window is not a var:
  orchestration/build.py `load_window_env`), so there is one file per combination of
  settings.

dbt still checks all of it (its inputs, every file's checksum) and re-parses what
differs, so a copied state can save a parse and never make a build use a stale one
(docs/DECISIONS.md "One parse for every warehouse").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

from orchestration.config import DBT_PROJECT_DIR

STATE_FILE = "partial_parse.msgpack"
# Under the repository's dbt target folder (git ignores it), one file per profile settings.
SHARED = DBT_PROJECT_DIR / "target" / "parse_state"
# The paths the profile renders (profiles.yml) when a build sets both: OPTOUT_WAREHOUSE
# is then only a default, and stays absolute (it names the build's processes);
# OPTOUT_RAW_DIR is read at run time.
PROFILE_PATHS = ("OPTOUT_STATE", "OPTOUT_PUBLISH")
# What the duckdb output of profiles.yml renders: the shared state's key (dbt checks the
# rendered profile itself; a name missing here costs a parse, never a stale one).
PARSED_ENV = ("OPTOUT_TARGET", *PROFILE_PATHS, "OPTOUT_THREADS", "OPTOUT_MEMORY_LIMIT",
              "OPTOUT_DUCKDB_THREADS")  # fmt: skip


def relative_paths(env: Mapping[str, str], folder: Path) -> dict[str, str]:
    """The profile's paths that lie in `folder` by their names alone, for a dbt running
    there. Others stay absolute (a `..` would not survive a symlinked folder)."""
    relative = {}
    for name in PROFILE_PATHS:
        path = Path(env[name])
        if path.parent == folder:
            relative[name] = path.name
    return relative


@contextlib.contextmanager
def shared_parse_state(target: Path, inputs: Mapping[str, str | None] | None) -> Iterator[None]:
    """Around a dbt invocation with its target folder `target`: start from the shared
    parse state of these `inputs` (what the parse depends on) when the folder has none,
    and share the folder's state afterwards; none: nothing shared. Best effort: failing to
    copy costs a parse."""
    if inputs is None:
        yield
        return
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
    shared = SHARED / f"{key[:16]}.msgpack"
    own = target / STATE_FILE
    if not own.exists():
        with contextlib.suppress(OSError):
            _copy(shared, own)
    yield
    if own.exists():
        with contextlib.suppress(OSError):
            SHARED.mkdir(parents=True, exist_ok=True)
            _copy(own, shared)


def _copy(source: Path, target: Path) -> None:
    """Whole or not at all: concurrent builds read and replace the shared files."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
