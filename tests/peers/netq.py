"""Test peers for network-quality tests, all on 127.0.0.1: a reflector that injects known
delay, jitter and loss (no tc netem here), silent UDP/TCP peers, a reflector in a thread
or in a process of its own, and a prober in a process of its own."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

from checks.network.quality import UdpOutcome, decode, probe_udp
from collector.api.reflector import RateLimiter, Reflector, start_reflector


class ImpairedReflector(Reflector):
    """Delays each reply by ``base_s`` + uniform(-spread_s, +spread_s) and drops the
    sequence numbers in ``drop``; seeded, so a run is reproducible."""

    def __init__(
        self,
        base_s: float = 0.0,
        spread_s: float = 0.0,
        drop: set[int] | None = None,
        seed: int = 1,
    ) -> None:
        super().__init__(RateLimiter(rate_pps=1e6, burst=1e6))
        self.base_s, self.spread_s = base_s, spread_s
        self.drop = drop or set()
        self.rng = random.Random(seed)
        self.delays: list[float] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.reply_for(data, addr)
        parsed = decode(data)
        if reply is None or parsed is None or parsed[1] in self.drop:
            return
        delay = self.base_s + self.rng.uniform(-self.spread_s, self.spread_s)
        self.delays.append(delay)
        if delay <= 0:
            self.send(reply, addr)
        else:
            asyncio.get_running_loop().call_later(delay, self.send, reply, addr)


@contextlib.contextmanager
def reflector_thread(protocol: Reflector | None = None) -> Iterator[int]:
    """Run a reflector in its own thread and event loop; yield its UDP port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, object] = {}

    async def start() -> None:
        transport, _ = await start_reflector("127.0.0.1", 0, protocol)
        box["transport"] = transport
        box["port"] = transport.get_extra_info("sockname")[1]
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(5), "reflector did not start"
    try:
        yield int(box["port"])  # type: ignore[call-overload]
    finally:
        loop.call_soon_threadsafe(box["transport"].close)  # type: ignore[attr-defined]
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


_REFLECTOR_MAIN = """
import asyncio, sys
from collector.api.reflector import start_reflector

async def main():
    transport, _ = await start_reflector("127.0.0.1", 0)
    print(transport.get_extra_info("sockname")[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed

asyncio.run(main())
"""


@contextlib.contextmanager
def reflector_process() -> Iterator[int]:
    """The collector's reflector in a process of its own (no shared GIL or event loop with
    the prober); yield its UDP port. It ends when its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _REFLECTOR_MAIN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), f"reflector did not start: {line!r}"
        yield int(line)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class _LoopWatch:
    """How late an event loop runs: the longest lateness of a 10 ms timer, in seconds."""

    def __init__(self) -> None:
        self.stall = 0.0

    async def run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.010)
            self.stall = max(self.stall, time.perf_counter() - t - 0.010)


def _impaired_reflector_main(
    conn, base_s: float, spread_s: float, drop: set[int], seed: int
) -> None:
    async def main() -> None:
        reflector = ImpairedReflector(base_s=base_s, spread_s=spread_s, drop=drop, seed=seed)
        transport, _ = await start_reflector("127.0.0.1", 0, reflector)
        watch = _LoopWatch()
        watcher = asyncio.ensure_future(watch.run())
        conn.send(transport.get_extra_info("sockname")[1])
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # until the parent asks for the results
        watcher.cancel()
        transport.close()
        conn.send({"delays": reflector.delays, "stall": watch.stall})

    asyncio.run(main())


class ImpairedRun:
    """What an impaired reflector in its own process did: the delays it injected, in order,
    and how late its event loop ran at worst (seconds)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.stall = 0.0


@contextlib.contextmanager
def impaired_reflector_process(
    base_s: float, spread_s: float, drop: set[int], seed: int = 1
) -> Iterator[tuple[int, ImpairedRun]]:
    """An :class:`ImpairedReflector` in a fresh interpreter of its own, so that nothing else
    of the test run (its threads, a long garbage collection of its heap) can hold its replies
    back. Yield its UDP port and an :class:`ImpairedRun`, filled in when the block ends."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(
        target=_impaired_reflector_main, args=(child, base_s, spread_s, drop, seed), daemon=True
    )
    proc.start()
    run = ImpairedRun()
    try:
        assert parent.poll(20), "impaired reflector did not start"
        port = int(parent.recv())
        yield port, run
        parent.send("stop")
        assert parent.poll(10), "impaired reflector did not report"
        result = parent.recv()
        run.delays, run.stall = list(result["delays"]), float(result["stall"])
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        parent.close()


def _probe_main(
    host: str, port: int, count: int, interval_s: float, wait_s: float
) -> tuple[UdpOutcome, float]:
    async def main() -> tuple[UdpOutcome, float]:
        watch = _LoopWatch()
        watcher = asyncio.ensure_future(watch.run())
        try:
            outcome = await probe_udp(host, port, count=count, interval_s=interval_s, wait_s=wait_s)
        finally:
            watcher.cancel()
        return outcome, watch.stall

    return asyncio.run(main())


def probe_in_process(
    host: str, port: int, *, count: int, interval_s: float, wait_s: float
) -> tuple[UdpOutcome, float]:
    """:func:`probe_udp` run by a fresh interpreter of its own, as on an agent that does
    nothing else; return its outcome and how late that interpreter's event loop ran."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_probe_main, host, port, count, interval_s, wait_s).result(60)


@contextlib.contextmanager
def silent_udp() -> Iterator[int]:
    """A bound UDP socket that reads and drops everything: no reply, no ICMP error."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                sock.recv(65536)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        sock.close()


@contextlib.contextmanager
def silent_tcp() -> Iterator[int]:
    """A TCP listener that accepts (kernel backlog) but never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextlib.contextmanager
def blackhole_tcp() -> Iterator[int]:
    """A TCP port whose handshake never completes: a listener with backlog 0, its accept
    queue filled by one connection, so the kernel drops further SYNs (a dead MCU)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    port = sock.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    try:
        yield port
    finally:
        filler.close()
        sock.close()
