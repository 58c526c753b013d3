"""A Spark standalone cluster on this machine, started from the pyspark wheel: a Master,
N Workers and the Spark Thrift server (HiveThriftServer2) submitted to it, all on one
host address (loopback by default), with logs, pid files, the metastore and the warehouse
under one folder (`make spark-cluster`, README "A standalone cluster on this machine").

    python -m orchestration.lib.spark_cluster start|stop|status [--home DIR]
        [--host 127.0.0.1] [--master-port 7077] [--thrift-port 10000] [--ui-port 8080]
        [--workers 1] [--worker-cores 2] [--worker-memory 3g] [--executor-memory 2g]
        [--driver-memory 2g]

`start` returns once the Thrift server answers a query and prints its address;
`stop` stops the daemons it started (by their pid files), the Thrift server first.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.config import REPO_ROOT
from orchestration.lib.ports import free_port, port_free

THRIFT_SERVER = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"

# Server-wide defaults that change results, the same as the dbt profile's session
# settings, so any client of the Thrift server (beeline, a BI tool) reads alike.
SQL_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.hive.metastorePartitionPruning": "false",
    "spark.sql.shuffle.partitions": "8",
}


# The driver's and executors' collector, not G1: in a test build G1's threads took 28 s of
# the driver's CPU (the parallel collector's 8 s), and the build ran 16-24 % faster
# (docs/DECISIONS.md "The Spark tests").
PARALLEL_GC = "-XX:+UseParallelGC"


class ClusterError(RuntimeError):
    """The cluster did not start or stop; the message says why and where the logs are."""


@dataclass(frozen=True)
class Cluster:
    home: Path = field(default_factory=lambda: REPO_ROOT / "data" / "spark-cluster")
    host: str = "127.0.0.1"
    master_port: int = 7077
    thrift_port: int = 10000
    ui_port: int = 8080  # the Master's web UI; workers' UIs get free ports
    workers: int = 1
    worker_cores: int = 2
    worker_memory: str = "3g"
    executor_memory: str = "2g"
    driver_memory: str = "2g"  # the Thrift server: the driver of every query
    conf: Mapping[str, str] = field(default_factory=dict)  # more Thrift-server settings

    @classmethod
    def on_free_ports(cls, home: Path, host: str = "127.0.0.1", **settings) -> Cluster:
        """A cluster under `home` whose master, Thrift server and UI take free ports."""
        return cls(
            home=home,
            host=host,
            master_port=free_port(host),
            thrift_port=free_port(host),
            ui_port=free_port(host),
            **settings,
        )

    @property
    def master_url(self) -> str:
        return f"spark://{self.host}:{self.master_port}"

    @property
    def thrift_address(self) -> str:
        return f"{self.host}:{self.thrift_port}"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse"

    @property
    def metastore(self) -> Path:
        return self.home / "metastore_db"

    def client_env(self) -> dict[str, str]:
        """The settings that point `optout` at this cluster."""
        return {
            "OPTOUT_TARGET": "spark",
            "OPTOUT_SPARK_METHOD": "thrift",
            "OPTOUT_SPARK_HOST": self.host,
            "OPTOUT_SPARK_PORT": str(self.thrift_port),
        }


def spark_home() -> Path:
    try:
        import pyspark
    except ImportError:
        raise ClusterError(
            "the spark extra is not installed: `make install-spark` (or pip install -e .[spark])"
        ) from None
    return Path(pyspark.__file__).parent


def _daemon_env(cluster: Cluster) -> dict[str, str]:
    home = spark_home()
    return {
        **os.environ,
        "SPARK_HOME": os.fspath(home),
        "SPARK_LOG_DIR": os.fspath(cluster.logs),
        "SPARK_PID_DIR": os.fspath(cluster.home / "run"),
        "SPARK_IDENT_STRING": "optout",
        "SPARK_LOCAL_IP": cluster.host,
        "SPARK_LOCAL_DIRS": os.fspath(cluster.home / "tmp"),
        "SPARK_WORKER_DIR": os.fspath(cluster.home / "work"),
        # spark-daemon.sh would read conf/ under the wheel (there is none): ours is empty.
        "SPARK_CONF_DIR": os.fspath(cluster.home / "conf"),
    }


def _daemon(cluster: Cluster, *args: str) -> None:
    script = spark_home() / "sbin" / "spark-daemon.sh"
    done = subprocess.run(
        ["bash", os.fspath(script), *args],
        env=_daemon_env(cluster),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ClusterError(f"spark-daemon.sh {' '.join(args[:3])} failed: {done.stderr.strip()}")


def _listening(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def _pid(cluster: Cluster, command: str, instance: int) -> int | None:
    path = cluster.home / "run" / f"spark-optout-{command}-{instance}.pid"
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _log_tail(cluster: Cluster, command: str, lines: int = 15) -> str:
    logs = sorted(cluster.logs.glob(f"spark-optout-{command}-*.out"))
    if not logs:
        return "(no log)"
    text = logs[-1].read_text(errors="replace").splitlines()[-lines:]
    return f"{logs[-1]}:\n" + "\n".join(text)


def _wait(what: str, ready, alive, timeout_s: float, cluster: Cluster, command: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready():
            return
        if not alive():
            raise ClusterError(f"the {what} exited while starting; {_log_tail(cluster, command)}")
        time.sleep(1)
    raise ClusterError(
        f"the {what} did not answer within {timeout_s:.0f} s; {_log_tail(cluster, command)}"
    )


def _thrift_answers(cluster: Cluster) -> bool:
    from orchestration.marts import thrift_connect

    try:
        connection = thrift_connect(cluster.host, cluster.thrift_port)
    except Exception:  # noqa: BLE001 - not up yet, whatever the transport says
        return False
    try:
        cursor = connection.cursor()
        cursor.execute("select 1")
        return cursor.fetchall() == [(1,)]
    except Exception:  # noqa: BLE001
        return False
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def start(cluster: Cluster, timeout_s: float = 300) -> None:
    """Start the master, the workers and the Thrift server; return once it answers."""
    if _pid(cluster, THRIFT_SERVER, 1) and _thrift_answers(cluster):
        return  # already running
    for name, port in (("master", cluster.master_port), ("Thrift server", cluster.thrift_port)):
        if not port_free(cluster.host, port):
            raise ClusterError(
                f"port {port} ({name}) on {cluster.host} is taken; stop what uses it or pick "
                "another (SPARK_MASTER_PORT / SPARK_THRIFT_PORT of `make spark-cluster`)"
            )
    for folder in ("logs", "run", "tmp", "work", "conf", "warehouse"):
        (cluster.home / folder).mkdir(parents=True, exist_ok=True)
    _daemon(
        cluster, "start", MASTER, "1", "--host", cluster.host,
        "--port", str(cluster.master_port), "--webui-port", str(cluster.ui_port),
    )  # fmt: skip
    _wait(
        "master",
        lambda: _listening(cluster.host, cluster.master_port),
        lambda: _pid(cluster, MASTER, 1) is not None,
        60,
        cluster,
        MASTER,
    )
    for instance in range(1, cluster.workers + 1):
        _daemon(
            cluster, "start", WORKER, str(instance), "--host", cluster.host, "--webui-port", "0",
            "--cores", str(cluster.worker_cores), "--memory", cluster.worker_memory,
            cluster.master_url,
        )  # fmt: skip
    confs = {
        **SQL_DEFAULTS,
        "spark.ui.enabled": "false",
        "spark.executor.memory": cluster.executor_memory,
        "spark.cores.max": str(cluster.workers * cluster.worker_cores),
        "spark.sql.warehouse.dir": cluster.warehouse.as_uri(),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={cluster.metastore};create=true"
        ),
        "spark.local.dir": os.fspath(cluster.home / "tmp"),
        "spark.executor.extraJavaOptions": PARALLEL_GC,
        **cluster.conf,
    }
    args = ["submit", THRIFT_SERVER, "1", "--master", cluster.master_url]
    args += ["--name", "optout-thrift", "--driver-memory", cluster.driver_memory]
    # Hive's embedded metastore opens a DataNucleus factory per session and calls
    # System.gc() when it drops one: a full GC per connection (dbt opens one per model and
    # test) unless the JVM ignores the call.
    java_options = f"-Dderby.system.home={cluster.logs} -XX:+DisableExplicitGC {PARALLEL_GC}"
    args += ["--driver-java-options", java_options]
    for key, value in confs.items():
        args += ["--conf", f"{key}={value}"]
    args += ["--hiveconf", f"hive.server2.thrift.port={cluster.thrift_port}"]
    args += ["--hiveconf", f"hive.server2.thrift.bind.host={cluster.host}"]
    _daemon(cluster, *args)
    _wait(
        "Thrift server",
        lambda: _listening(cluster.host, cluster.thrift_port) and _thrift_answers(cluster),
        lambda: _pid(cluster, THRIFT_SERVER, 1) is not None,
        timeout_s,
        cluster,
        THRIFT_SERVER,
    )


def stop(cluster: Cluster, timeout_s: float = 60) -> None:
    """Stop the Thrift server, the workers and the master this folder's pid files name, and
    wait until they are gone (their ports free again)."""
    run = cluster.home / "run"
    workers = sorted(run.glob(f"spark-optout-{WORKER}-*.pid")) if run.is_dir() else []
    for command, instance in [
        (THRIFT_SERVER, "1"),
        *((WORKER, p.stem.rsplit("-", 1)[1]) for p in workers),
        (MASTER, "1"),
    ]:
        pid = _pid(cluster, command, int(instance))
        if pid is None:
            continue
        _daemon(cluster, "stop", command, instance)
        deadline = time.monotonic() + timeout_s
        while _alive(pid):
            if time.monotonic() >= deadline:
                raise ClusterError(f"{command} (pid {pid}) did not stop within {timeout_s:.0f} s")
            time.sleep(0.5)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # A stopped child of ours stays a zombie until reaped; it is gone all the same.
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def status(cluster: Cluster) -> dict[str, int | None]:
    run = cluster.home / "run"
    names = {"master": (MASTER, 1), "thrift server": (THRIFT_SERVER, 1)}
    for path in sorted(run.glob(f"spark-optout-{WORKER}-*.pid")) if run.is_dir() else []:
        instance = int(path.stem.rsplit("-", 1)[1])
        names[f"worker {instance}"] = (WORKER, instance)
    return {name: _pid(cluster, *spec) for name, spec in names.items()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("start", "stop", "status"))
    defaults = Cluster()
    parser.add_argument("--home", type=Path, default=defaults.home)
    parser.add_argument("--host", default=defaults.host)
    for name in ("master_port", "thrift_port", "ui_port", "workers", "worker_cores"):
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=int, default=getattr(defaults, name))
    for name in ("worker_memory", "executor_memory", "driver_memory"):
        parser.add_argument("--" + name.replace("_", "-"), default=getattr(defaults, name))
    parser.add_argument("--timeout", type=float, default=300)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cluster = Cluster(
        home=args.home.resolve(),
        **{
            name: getattr(args, name)
            for name in (
                "host", "master_port", "thrift_port", "ui_port", "workers", "worker_cores",
                "worker_memory", "executor_memory", "driver_memory",
            )
        },
    )  # fmt: skip
    try:
        if args.action == "start":
            start(cluster, timeout_s=args.timeout)
            env = " ".join(f"{k}={v}" for k, v in cluster.client_env().items())
            print(f"Spark Thrift server at {cluster.thrift_address} (master {cluster.master_url},")
            print(f"  {cluster.workers} worker(s); logs, metastore, warehouse in {cluster.home})")
            print(f"  build and export through it with: {env}")
        elif args.action == "stop":
            stop(cluster)
            print(f"stopped the Spark cluster of {cluster.home}")
        else:
            for name, pid in status(cluster).items():
                print(f"{name:<14} {'pid ' + str(pid) if pid else 'not running'}")
    except ClusterError as exc:
        print(f"spark-cluster: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
