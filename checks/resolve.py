"""Name resolution under a deadline, the one way every check that resolves a name does it.

``getaddrinfo`` blocks and cannot be interrupted. Run in the event loop's default executor,
a lookup the resolver never answers keeps the process alive after the check gave up
(``asyncio.run`` waits for that executor's threads: 10.5 s with glibc's defaults). Here each
lookup runs in its own daemon thread: the caller stops waiting at its deadline and the
process may exit at once; the thread ends when the resolver gives up, touching nothing.

An address written as such (``192.0.2.1``, ``::1``) is never sent to a resolver.

A name that does not resolve, or whose resolver does not answer in time, raises
:class:`Unresolved` with a reason that names it: ``cannot resolve <name>: no answer within
N s`` or ``cannot resolve <name>: <resolver's reason>``. Checks report it ``unknown``
(docs/ARCHITECTURE.md, "Unknown means could not measure"), never as a connection timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
from typing import Any

from checks.messages import msg
from checks.model import MessageRef

#: getaddrinfo's answer: (family, type, proto, canonname, sockaddr) tuples.
AddrInfo = list[tuple[Any, ...]]

#: getaddrinfo's "the resolver did not answer" rather than "no such name".
_EAI_AGAIN = getattr(socket, "EAI_AGAIN", -3)


class Unresolved(OSError):
    """A name that did not resolve in time; ``reason`` names it."""

    def __init__(self, name: str, why: str, *, unanswered: bool = False) -> None:
        self.name = name
        self.why = why
        #: The resolver did not answer (deadline, EAI_AGAIN), as opposed to "no such name".
        self.unanswered = unanswered
        self.reason = f"cannot resolve {name}: {why}"
        super().__init__(self.reason)


_REASON_RE = re.compile(r"^cannot resolve (?P<name>\S*): (?P<why>.*)$", re.S)


def reason_message(reason: str) -> MessageRef:
    """The message of a failure to try a target: "cannot resolve <name>: <why>" (an
    :class:`Unresolved`'s reason, as outcomes keep it) in the catalogue's words, any other
    reason as the detail of "could not try"."""
    found = _REASON_RE.match(reason)
    if found is None:
        return msg("net.cannot_try", detail=reason)
    return msg("net.dns.cannot_resolve", name=found["name"], detail=found["why"])


def _numeric(host: str, port: int | None, kind: int) -> AddrInfo | None:
    try:
        return socket.getaddrinfo(host, port, type=kind, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        return None


def _lookup(
    host: str,
    port: int | None,
    kind: int,
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[AddrInfo],
) -> None:
    """In a daemon thread: ask the resolver, hand the answer to ``future`` if still awaited."""
    try:
        answer: AddrInfo | BaseException = socket.getaddrinfo(host, port, type=kind)
    except (OSError, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc) or "no address"
        again = isinstance(exc, socket.gaierror) and exc.errno == _EAI_AGAIN
        answer = Unresolved(host, why, unanswered=again)

    def settle() -> None:
        if future.done():
            return
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)

    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(settle)


async def resolve(
    host: str, port: int | None, timeout_s: float, kind: int = socket.SOCK_STREAM
) -> AddrInfo:
    """``getaddrinfo(host, port, type=kind)`` within ``timeout_s``; raise :class:`Unresolved`."""
    numeric = _numeric(host, port, kind)
    if numeric:
        return numeric
    loop = asyncio.get_running_loop()
    future: asyncio.Future[AddrInfo] = loop.create_future()
    args = (host, port, kind, loop, future)
    threading.Thread(target=_lookup, args=args, name=f"resolve {host}", daemon=True).start()
    try:
        infos = await asyncio.wait_for(future, timeout_s)
    except TimeoutError:
        raise Unresolved(host, f"no answer within {timeout_s:g} s", unanswered=True) from None
    if not infos:
        raise Unresolved(host, "no address")
    return infos


async def resolve_one(
    host: str, port: int, timeout_s: float, kind: int = socket.SOCK_STREAM
) -> tuple[int, tuple[str, int]]:
    """The first address of ``host``: (family, (address, port))."""
    infos = await resolve(host, port, timeout_s, kind)
    family, _, _, _, addr = infos[0]
    return int(family), (str(addr[0]), int(addr[1]))
