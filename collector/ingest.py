"""Group commit of agent reports.

Every request's batch goes to one writer thread, which takes everything that has queued up
meanwhile and stores it in a single transaction (:meth:`Store.ingest_many`). Under load the
groups grow by themselves, so one commit (one fsync, one evaluation pass per commune) serves
many agents; with one request in flight a group is just that request. Each request is still
answered only after its reports are committed.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError

from checks.model import IngestResponse, Report
from collector.store import AgentIdentity, Store

log = logging.getLogger(__name__)


@dataclass
class _Item:
    agent: AgentIdentity
    reports: list[Report]
    future: Future[IngestResponse] = field(default_factory=Future)


class GroupCommitter:
    def __init__(self, store: Store, max_group: int = 128) -> None:
        self.store = store
        self.max_group = max_group
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.groups = 0  # for tests and benchmarks: how many transactions served the load

    def submit(self, agent: AgentIdentity, reports: list[Report]) -> Future[IngestResponse]:
        self._ensure_started()
        item = _Item(agent, reports)
        self._queue.put(item)
        return item.future

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
        try:
            outcomes = self.store.ingest_many([(i.agent, i.reports) for i in group])
        except Exception as exc:  # database down or locked: every request of the group fails
            if len(group) > 1 and not isinstance(exc, OperationalError):
                # Not the database but something in one batch that it refused: commit each
                # batch on its own, so that one bad batch fails alone, not its whole group.
                for i in group:
                    self._commit([i])
                return
            log.warning("ingest of %d batches failed: %s", len(group), exc)
            for i in group:
                i.future.set_exception(exc)
            return
        self.groups += 1
        for i, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, Exception):
                i.future.set_exception(outcome)
            else:
                i.future.set_result(outcome)
