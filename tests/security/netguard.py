"""No test may reach beyond this machine: name lookups and connects to non-loopback addresses fail at once."""
from __future__ import annotations

import ipaddress
import socket

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
LOCAL_NAMES = {"localhost", "testserver", "ip6-localhost"}


def _is_local(host) -> bool:
    if host is None:
        return True
    text = host.decode() if isinstance(host, bytes) else str(host)
    if text.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_getaddrinfo(host, *args, **kwargs):
    if not _is_local(host):
        raise socket.gaierror(socket.EAI_NONAME, f"test network guard: lookup of {host!r} refused")
    return _real_getaddrinfo(host, *args, **kwargs)


def _address_ok(address) -> bool:
    return not isinstance(address, tuple) or _is_local(address[0])


def _guarded_connect(self, address):
    if not _address_ok(address):
        raise ConnectionRefusedError(f"test network guard: connect to {address!r} refused")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _address_ok(address):
        return 111  # ECONNREFUSED
    return _real_connect_ex(self, address)


def install(monkeypatch) -> None:
    """Patch the socket module for the current test (Python-level clients: requests, pymysql, google-*)."""
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
