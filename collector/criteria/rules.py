"""Temporary stand-in for the rules snapshot (replaced by the engine's own module)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from collector.criteria.catalogue import Catalogue


@dataclass(frozen=True)
class Rules:
    catalogue: Catalogue
    fingerprint: str
    compiled: Any

    @classmethod
    def of(cls, catalogue: Catalogue) -> Rules:
        from collector.criteria.engine import compile_catalogue

        c = compile_catalogue(catalogue)
        return cls(catalogue, c.fingerprint, c)

    @property
    def stale_after_s(self) -> int:
        return self.catalogue.stale_after_s


class RulesHolder:
    def __init__(self, rules: Rules) -> None:
        self._rules = rules
        self._lock = threading.Lock()

    def current(self) -> Rules:
        return self._rules

    def replace(self, rules: Rules) -> None:
        with self._lock:
            self._rules = rules
