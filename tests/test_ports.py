"""Ports of the servers we start: a port in use is a one-line error, and a port a stopped
server left in TIME_WAIT can be used again at once (`make spark-cluster-stop` followed by
`make spark-cluster`, or a dashboard restarted on its port)."""

from __future__ import annotations

import socket

import pytest

from orchestration.lib import spark_cluster
from orchestration.lib.ports import port_free

HOST = "127.0.0.1"


def _listener() -> socket.socket:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Java's servers do
    server.bind((HOST, 0))
    server.listen()
    return server


def test_a_port_left_in_time_wait_by_a_stopped_server_is_free():
    server = _listener()
    port = server.getsockname()[1]
    client = socket.create_connection((HOST, port))
    accepted, _ = server.accept()
    assert not port_free(HOST, port)  # listening
    accepted.close()  # the server closes first: its end of the connection waits
    assert client.recv(1) == b""
    client.close()
    server.close()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind((HOST, port))  # a bind without SO_REUSEADDR still refuses it
    assert port_free(HOST, port)


def test_a_cluster_port_in_use_is_a_one_line_error_before_anything_starts(tmp_path):
    server = _listener()
    port = server.getsockname()[1]
    cluster = spark_cluster.Cluster(home=tmp_path / "cluster", master_port=port)
    with server, pytest.raises(spark_cluster.ClusterError) as error:
        spark_cluster.start(cluster)
    assert str(error.value) == (
        f"port {port} (master) on {HOST} is taken; stop what uses it or pick another "
        "(SPARK_MASTER_PORT / SPARK_THRIFT_PORT of `make spark-cluster`)"
    )
    assert not (tmp_path / "cluster").exists()  # no daemon was started, no folder made
