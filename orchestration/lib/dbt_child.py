"""`optout-dbt`: dbt, bound to the process that started it.

Every build runs dbt through this wrapper (`orchestration.build.dbt_executable`), from
the CLI and from Dagster's dbt resource alike: it asks the kernel to kill it when its
parent dies (PR_SET_PDEATHSIG, which survives the exec), then becomes dbt. A build
process that is killed, however, takes its dbt with it, so no dbt keeps writing the
warehouse after its build's lock is gone.

It runs dbt in $OPTOUT_DBT_CWD when set: dagster-dbt starts dbt in the project folder,
and a build's dbt runs in the warehouse's (`orchestration.build.dbt_invocation`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def main() -> None:
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):  # Linux only; elsewhere plain dbt
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request took effect
        sys.exit(1)
    cwd = os.environ.pop("OPTOUT_DBT_CWD", None)
    if cwd:
        os.chdir(cwd)
    dbt = Path(sys.executable).parent / "dbt"
    executable = os.fspath(dbt) if dbt.exists() else "dbt"
    os.execvp(executable, [executable, *sys.argv[1:]])


if __name__ == "__main__":
    main()
