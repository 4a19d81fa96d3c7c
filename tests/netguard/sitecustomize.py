"""Loaded at interpreter start (PYTHONPATH) by the no-network test: refuse and record any
connection or name lookup that is not to this machine's loopback."""
import os
import socket

LOG = os.environ["NETGUARD_LOG"]
_LOCAL = ("127.", "::1", "localhost", "0.0.0.0")


def _record(what):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(what + "\n")
    raise OSError(f"network blocked by test guard: {what}")


def _local(host) -> bool:
    return host is None or str(host).startswith(_LOCAL) or str(host) == ""


_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _record(f"connect {address}")
    return _connect(self, address)


def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        _record(f"connect_ex {address}")
    return _connect_ex(self, address)


def getaddrinfo(host, *args, **kw):
    if not _local(host):
        _record(f"getaddrinfo {host}")
    return _getaddrinfo(host, *args, **kw)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
