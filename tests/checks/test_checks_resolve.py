"""The one name-resolution helper: its deadline, its reasons, and that a lookup the resolver
never answers does not hold up the end of ``asyncio.run`` (the agent's exit)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from checks.resolve import Unresolved, resolve, resolve_one


def test_address_written_as_such_is_not_sent_to_the_resolver(monkeypatch):
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]
        raise AssertionError("a literal address was sent to the resolver")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    family, addr = asyncio.run(resolve_one("127.0.0.1", 80, 0.5))
    assert family == socket.AF_INET and addr == ("127.0.0.1", 80)


def test_unanswered_lookup_is_unresolved_at_the_deadline_and_does_not_hold_the_exit(monkeypatch):
    release = threading.Event()

    def hang(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
            raise socket.gaierror(socket.EAI_NONAME, "not numeric")
        release.wait(10)  # bounded: the test releases it
        raise socket.gaierror(socket.EAI_AGAIN, "late")

    monkeypatch.setattr(socket, "getaddrinfo", hang)
    start = time.monotonic()
    with pytest.raises(Unresolved) as caught:
        asyncio.run(resolve("portal.example", 443, 0.3))
    elapsed = time.monotonic() - start  # asyncio.run included: nothing waits for the lookup
    release.set()
    assert elapsed < 1.0, elapsed
    assert caught.value.reason == "cannot resolve portal.example: no answer within 0.3 s"
    assert caught.value.unanswered


def test_no_such_name_names_it_with_the_resolvers_reason(monkeypatch):
    def nx(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nx)
    with pytest.raises(Unresolved) as caught:
        asyncio.run(resolve("nx.example", None, 1.0))
    assert caught.value.reason == "cannot resolve nx.example: Name or service not known"
    assert not caught.value.unanswered
