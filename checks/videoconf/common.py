"""Pieces shared by the online-meeting checks: datagram exchange with retransmission."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from checks.messages import msg, said
from checks.model import Category, CheckResult, Status, Value
from checks.resolve import Unresolved, reason_message, resolve_one


@dataclass(frozen=True)
class Exchange:
    """What one request/response exchange gave."""

    answer: bytes | None
    elapsed_s: float
    failure: str = ""  # "" | "timeout" | "refused" | "resolve" | "error"
    detail: str = ""
    local: tuple[str, int] | None = None


class _Waiter(asyncio.DatagramProtocol):
    def __init__(self, accept: Callable[[bytes], bool]) -> None:
        self.accept = accept
        self.future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not self.future.done() and self.accept(data):
            self.future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.future.done() and isinstance(exc, ConnectionRefusedError):
            self.future.set_exception(exc)


async def udp_exchange(
    host: str,
    port: int,
    make_request: Callable[[tuple[str, int]], bytes],
    accept: Callable[[bytes], bool],
    timeout_s: float,
    first_rto_s: float = 0.5,
) -> Exchange:
    """Send a request over UDP, retransmitting with doubling intervals (RFC 3261 Timer A,
    RFC 5389 RTO: both start at 500 ms), until an accepted answer or ``timeout_s``.

    ``make_request`` gets the local (address, port) so it can name it (SIP Via/Contact).
    """
    start = time.monotonic()
    try:
        family, addr = await resolve_one(host, port, timeout_s, socket.SOCK_DGRAM)
    except Unresolved as exc:
        return Exchange(None, time.monotonic() - start, "resolve", exc.reason)
    loop = asyncio.get_running_loop()
    waiter = _Waiter(accept)
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: waiter, remote_addr=addr, family=family
        )
    except OSError as exc:
        return Exchange(None, time.monotonic() - start, "error", str(exc))
    sockname = transport.get_extra_info("sockname")
    local = (str(sockname[0]), int(sockname[1]))
    request = make_request(local)
    sent_at = time.monotonic()
    try:
        rto = first_rto_s
        deadline = start + timeout_s
        while True:
            transport.sendto(request)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                answer = await asyncio.wait_for(asyncio.shield(waiter.future), min(rto, remaining))
            except TimeoutError:
                rto *= 2
                continue
            except ConnectionRefusedError:
                return Exchange(
                    None, time.monotonic() - start, "refused", "port unreachable", local
                )
            return Exchange(answer, time.monotonic() - sent_at, local=local)
    finally:
        transport.close()
        if waiter.future.done() and not waiter.future.cancelled():
            waiter.future.exception()  # mark it retrieved: no "never retrieved" warning
        else:
            waiter.future.cancel()
    return Exchange(
        None, time.monotonic() - start, "timeout", f"no answer within {timeout_s:g} s", local
    )


def no_answer(check_id: str, target: str, ex: Exchange, up_value: str, refused: str) -> CheckResult:
    """The result of an exchange that got no answer: ``unknown`` when it could not even be
    tried (a name that does not resolve, no route), else ``fail`` with ``up_value`` = 0 and
    why (``refused``, a message id, when the peer refused: port unreachable, connection refused)."""
    if ex.failure in ("resolve", "error"):
        why = (
            reason_message(ex.detail)
            if ex.failure == "resolve"
            else msg("vc.cannot_try", detail=ex.detail or "error")
        )
        return CheckResult(
            check=check_id,
            category=Category.VIDEOCONF,
            target=target,
            status=Status.UNKNOWN,
            duration_s=ex.elapsed_s,
            **said(why),
        )
    return CheckResult(
        check=check_id,
        category=Category.VIDEOCONF,
        target=target,
        duration_s=ex.elapsed_s,
        status=Status.FAIL,
        values={up_value: Value(value=0.0)},
        **said(
            msg(refused) if ex.failure == "refused" else msg("vc.no_answer", detail=ex.detail or "")
        ),
    )
