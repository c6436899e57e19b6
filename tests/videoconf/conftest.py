"""Fixtures for online-meeting tests: a loopback-only guard (as in tests/checks)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

_real_getaddrinfo = socket.getaddrinfo


def _loopback(host: object) -> bool:
    if host in (None, "localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests may only reach 127.0.0.1/::1: any other name fails to resolve."""

    def guarded(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _loopback(host):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (test guard)")
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
