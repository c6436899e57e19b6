"""Group commit of agent reports.

Every request's batch goes to one writer thread, which takes everything that has queued up
meanwhile and stores it in a single transaction (:meth:`Ingest.ingest_many`). Under load the
groups grow by themselves, so one commit (one fsync, one evaluation pass per commune) serves
many agents; with one request in flight a group is just that request. Each request is still
answered only after its reports are committed.

The writer also measures how fast it commits (seconds per byte of request body), so that the
API can tell how long a new request would wait behind the ones in progress and refuse it
with a prompt 503 rather than let the agent time out in the queue
(:meth:`GroupCommitter.expected_wait_s`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError

from checks.model import IngestResponse
from collector.domain.wire import AnyReport
from collector.service import Services
from collector.service.identities import AgentIdentity

log = logging.getLogger(__name__)


#: Weight of the previous groups in the measured commit rate, each new group (about the
#: last ten groups count).
_DECAY = 0.9
#: Bytes the measured rate must cover before it is trusted. Over less, it mostly measures
#: the fixed cost of a commit (and a first commit's warm-up: one slow small group once made
#: 128 KiB look like 5 s of work); and a writer whose last groups committed less than this
#: is lightly loaded anyway.
MIN_MEASURED_BYTES = 1 << 20


@dataclass
class _Item:
    agent: AgentIdentity
    reports: Sequence[AnyReport]
    #: Bytes of the request body, for the writer's rate.
    size: int = 0
    #: Either a thread's future (:meth:`GroupCommitter.submit`), or None with ``waiter``
    #: the event loop's (:meth:`GroupCommitter.submit_async`).
    future: Future[IngestResponse] | None = field(default_factory=Future)
    waiter: asyncio.Future[IngestResponse] | None = None


#: A group's answers to the requests waiting in one event loop.
_Done = list[tuple["asyncio.Future[IngestResponse]", "IngestResponse | BaseException"]]


def _settle(done: _Done) -> None:
    """In the event loop: answer a group's waiting requests (one call for the group)."""
    for waiter, outcome in done:
        if waiter.done():  # the request was cancelled meanwhile (client gone)
            continue
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


class GroupCommitter:
    def __init__(
        self, services: Services, max_group: int = 128, min_measured_bytes: int = MIN_MEASURED_BYTES
    ) -> None:
        self.services = services
        self.max_group = max_group
        self.min_measured_bytes = min_measured_bytes
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.groups = 0  # for tests and benchmarks: how many transactions served the load
        # (bytes committed, writer seconds they took), both decayed by _DECAY a group: a
        # rate weighted by size, so big groups (a drain) count more than single requests
        # (whose fixed cost per commit would overstate the time a byte takes). One tuple,
        # replaced whole by the writer thread: the event loop never reads half an update.
        self._rate = (0.0, 0.0)

    def submit(
        self, agent: AgentIdentity, reports: Sequence[AnyReport], size: int = 0
    ) -> Future[IngestResponse]:
        """Queue a batch (``size``: its body's bytes) for the next group commit."""
        self._ensure_started()
        item = _Item(agent, reports, size)
        self._queue.put(item)
        assert item.future is not None
        return item.future

    def submit_async(
        self, agent: AgentIdentity, reports: Sequence[AnyReport], size: int = 0
    ) -> asyncio.Future[IngestResponse]:
        """:meth:`submit` for a caller in the running event loop: its answer is an
        asyncio future, and the writer answers all of a group's such requests with one
        call into the loop (not one thread-safe hop and chained future per request)."""
        self._ensure_started()
        waiter = asyncio.get_running_loop().create_future()
        self._queue.put(_Item(agent, reports, size, None, waiter))
        return waiter

    def expected_wait_s(self, nbytes: int) -> float:
        """How long committing ``nbytes`` of request bodies would take at the rate measured
        over the last groups (0 until they cover ``min_measured_bytes``)."""
        b, sec = self._rate
        return nbytes * sec / b if b > 0 and b >= self.min_measured_bytes else 0.0

    def _measure(self, nbytes: int, seconds: float) -> None:
        b, sec = self._rate
        self._rate = (b * _DECAY + nbytes, sec * _DECAY + seconds)

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
                self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                group.append(item)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[_Item]) -> None:
        started = time.perf_counter()
        try:
            outcomes = self.services.ingest.ingest_many([(i.agent, i.reports) for i in group])
        except Exception as exc:  # database down or locked: every request of the group fails
            if len(group) > 1 and not isinstance(exc, OperationalError):
                # Not the database but something in one batch that it refused: commit each
                # batch on its own, so that one bad batch fails alone, not its whole group.
                for i in group:
                    self._commit([i])
                return
            log.warning("ingest of %d batches failed: %s", len(group), exc)
            _answer(group, [exc] * len(group))
            return
        self.groups += 1
        self._measure(sum(i.size for i in group), time.perf_counter() - started)
        _answer(group, outcomes)


def _answer(group: list[_Item], outcomes: Sequence[IngestResponse | BaseException]) -> None:
    """Each batch's outcome to its caller: a thread's future at once; the event loop's
    waiters in one call per loop."""
    loops: dict[asyncio.AbstractEventLoop, _Done] = {}
    for i, outcome in zip(group, outcomes, strict=True):
        if i.waiter is not None:
            loops.setdefault(i.waiter.get_loop(), []).append((i.waiter, outcome))
        elif i.future is not None:
            if isinstance(outcome, BaseException):
                i.future.set_exception(outcome)
            else:
                i.future.set_result(outcome)
    for loop, done in loops.items():
        try:
            loop.call_soon_threadsafe(_settle, done)
        except RuntimeError:  # the loop closed (shutting down): nobody waits any more
            log.debug("event loop closed: %d answers dropped", len(done))
