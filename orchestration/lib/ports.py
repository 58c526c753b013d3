"""Loopback ports for the servers we start (the Spark cluster's daemons, the dashboard)."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the kernel's pick), for a server started next."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on `port` now. The probe binds as our servers do
    (Java's and Streamlit's sockets set SO_REUSEADDR), so a port a stopped server left
    in TIME_WAIT counts as free: a restart on the same port right after a stop works."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
