"""Reloading the criteria catalogue while the collector serves.

A province edits its catalogue (or its overrides) and the collector picks the change up
without a restart: when the files change on disk (checked every ``poll_s`` seconds) or at
once on SIGHUP (``systemctl reload``). The new files are validated whole first; a broken
catalogue is refused with the file, line and field in the log, and the previous catalogue
stays in use, so a typo never turns every commune grey or green. A valid change is swapped
in and every commune that has reported is re-evaluated against it.

Replicas: each collector process reads its own files. Several collectors on one PostgreSQL
must be given the same files (the Ansible role deploys one file to all and reloads them);
until every replica has reloaded, a commune is evaluated by whichever replica stored its
latest report, under that replica's catalogue, and the next re-evaluation pass of each
replica settles it.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from collector.criteria.catalogue import Catalogue, CatalogueError, guidance_path
from collector.criteria.rules import Rules, RulesHolder

if TYPE_CHECKING:
    from collector.config import CollectorConfig
    from collector.service.evaluation import Evaluation


class ReloadMetrics(Protocol):
    """Where reload outcomes are counted (the app's catalogue metrics)."""

    def reloaded(self, result: str) -> None: ...


log = logging.getLogger("collector.catalogue")

_Signature = tuple[tuple[int, int] | None, ...]


class CatalogueReloader:
    """Watch ``paths`` and reload the rules through ``load`` when they change or when
    :meth:`request` is called (from the SIGHUP handler): the new snapshot replaces the old
    in ``rules``, and every commune is re-evaluated by ``evaluation``."""

    def __init__(
        self,
        rules: RulesHolder,
        evaluation: Evaluation,
        load: Callable[[], Catalogue],
        paths: Sequence[Path],
        poll_s: float = 5.0,
        metrics: ReloadMetrics | None = None,
    ) -> None:
        self.metrics = metrics  # the app's, so that /metrics says how reloads went
        self.rules = rules
        self.evaluation = evaluation
        self.load = load
        self.paths = list(paths)
        self.poll_s = poll_s
        self.last_error: str | None = None
        self._seen = self._signature()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _signature(self) -> _Signature:
        out: list[tuple[int, int] | None] = []
        for path in self.paths:
            try:
                st = path.stat()
            except OSError:
                out.append(None)  # missing now: the reload says why
            else:
                out.append((st.st_mtime_ns, st.st_size))
        return tuple(out)

    def reload(self, why: str = "requested") -> bool:
        """Load the files; swap the catalogue in and re-evaluate if valid and changed.
        Returns whether a new catalogue is now in use."""
        old = self.rules.current().catalogue
        self._seen = self._signature()
        try:
            new = self.load()
        except CatalogueError as exc:
            self._count("refused")
            self.last_error = str(exc)
            log.error(
                "criteria catalogue NOT reloaded (%s); the previous one (profile %s, %d "
                "criteria) stays in use: %s",
                why,
                old.profile,
                len(old.criteria),
                exc,
            )
            return False
        except Exception as exc:  # keep serving with the old rules whatever went wrong
            self._count("refused")
            self.last_error = f"cannot load the catalogue: {exc}"
            log.exception(
                "criteria catalogue NOT reloaded (%s); the previous one stays in use", why
            )
            return False
        self.last_error = None
        if new == old:
            self._count("unchanged")
            log.info("criteria catalogue unchanged (%s)", why)
            return False
        self._count("applied")
        self.rules.replace(Rules.of(new))
        try:
            communes = self.evaluation.reevaluate(full=True)  # every commune, against the new rules
        except Exception:  # the database may be down: the periodic pass re-evaluates later
            log.exception("criteria catalogue reloaded (%s) but re-evaluation failed", why)
            return True
        log.info(
            "criteria catalogue reloaded (%s): profile %s, %d criteria; %d communes re-evaluated",
            why,
            new.profile,
            len(new.criteria),
            communes,
        )
        return True

    def _count(self, result: str) -> None:
        if self.metrics is not None:
            self.metrics.reloaded(result)

    def request(self) -> None:
        """Reload as soon as possible (safe to call from a signal handler)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            requested = self._wake.wait(self.poll_s if self.poll_s > 0 else None)
            if self._stop.is_set():
                return
            self._wake.clear()
            if requested:
                self.reload("SIGHUP")
            elif self._signature() != self._seen:
                self.reload("file changed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="catalogue-reload", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)


def watch_catalogue(
    rules: RulesHolder,
    evaluation: Evaluation,
    config: CollectorConfig,
    metrics: ReloadMetrics | None = None,
) -> CatalogueReloader:
    """For ``serve``: reload on SIGHUP and, every ``catalogue_reload_s``, when the catalogue,
    its guidance or the overrides file changed. The built-in catalogue (no file) has
    nothing to watch but is still re-read on SIGHUP (after a package upgrade)."""
    paths = [p for p in (config.catalogue, config.catalogue_overrides) if p is not None]
    if config.catalogue is not None:  # its guidance file, when there is one
        paths.append(guidance_path(config.catalogue))
    reloader = CatalogueReloader(
        rules,
        evaluation,
        config.load_catalogue,
        paths,
        poll_s=config.catalogue_reload_s if paths else 0,
        metrics=metrics,
    )
    if hasattr(signal, "SIGHUP"):  # POSIX; a Windows service restarts instead
        signal.signal(signal.SIGHUP, lambda _sig, _frame: reloader.request())
    reloader.start()
    return reloader
