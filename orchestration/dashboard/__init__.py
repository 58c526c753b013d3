"""The Opt Out analytics dashboard: a Streamlit app over the marts.

`optout dashboard [--port 8501]` starts it on 127.0.0.1. The numbers come from
`orchestration.dashboard.queries`; the page is `app.py`, one module per section in
`sections/`, their shared helpers in `ui.py`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from orchestration.lib.ports import port_free

APP = Path(__file__).with_name("app.py")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501


class DashboardError(RuntimeError):
    """The dashboard cannot start; the message says what to fix."""


def streamlit_command(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> list[str]:
    """argv of `streamlit run app.py` for this interpreter."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        os.fspath(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # A served dashboard, not a development session: no file watching.
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        # Readers, not authors: no Deploy button or developer menu.
        "--client.toolbarMode",
        "viewer",
    ]


def run(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, warehouse: Path | None = None):
    """Replace this process with the Streamlit server (never returns).

    exec rather than a child process, so Ctrl-C, SIGTERM and a supervisor's
    process id all reach Streamlit directly and nothing is left orphaned.
    """
    if importlib.util.find_spec("streamlit") is None:
        raise DashboardError(
            "streamlit is not installed in this environment; run `make install` "
            "(or pip install -r requirements.lock)"
        )
    _check_port_free(host, port)
    env = dict(os.environ)
    if warehouse is not None:
        env["OPTOUT_WAREHOUSE"] = os.fspath(Path(warehouse).resolve())
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    print(f"dashboard: http://{host}:{port}  (warehouse {env.get('OPTOUT_WAREHOUSE')})")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, streamlit_command(host, port), env)


def _check_port_free(host: str, port: int) -> None:
    if not port_free(host, port):
        raise DashboardError(f"port {port} on {host} is in use; pick another with --port")
