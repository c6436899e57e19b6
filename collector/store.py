"""TRANSITIONAL facade over collector.service (removed once every caller uses services)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from checks.model import utcnow
from collector.criteria.catalogue import Catalogue
from collector.criteria.rules import Rules
from collector.domain.errors import (  # noqa: F401
    BadRequestError,
    DomainError,
    EnrollmentError,
    ForbiddenError,
    TokenRefusedError,
    UnknownCommuneError,
)
from collector.service import services_for
from collector.service.identities import AgentIdentity, code_id, hash_secret  # noqa: F401
from collector.service.readiness import CommuneState, LatestValue  # noqa: F401
from collector.storage.codecs import as_utc  # noqa: F401
from collector.units import Units

StoreError = BadRequestError

_MAP = {
    "create_enrollment_codes": "identities", "enroll": "identities",
    "revoke_agent": "identities", "load_identities": "identities",
    "cached_identity": "identities", "authenticate": "identities",
    "check_batch": "ingest", "ingest_many": "ingest", "ingest": "ingest",
    "reevaluate": "evaluation", "due_communes": "evaluation", "pending_details": "evaluation",
    "fill_details": "evaluation",
    "summary": "readiness", "latest_values": "readiness", "agent_rows": "readiness",
}


class Store:
    def __init__(self, engine: Engine, catalogue: Catalogue, units: Units,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.services = services_for(engine, catalogue, units, clock)
        self.engine = engine
        self.units = units
        self.clock = clock

    def __getattr__(self, name: str) -> Any:
        svc = _MAP.get(name)
        if svc is None:
            raise AttributeError(name)
        return getattr(getattr(self.services, svc), name)

    @property
    def catalogue(self) -> Catalogue:
        return self.services.rules.current().catalogue

    @catalogue.setter
    def catalogue(self, new: Catalogue) -> None:
        self.services.rules.replace(Rules.of(new))

    @property
    def verdict_memo(self) -> Any:
        return self.services.evaluation.memo

    @property
    def stale_after_s(self) -> int:
        return self.services.rules.current().stale_after_s

    @property
    def identity_cache_s(self) -> float:
        return self.services.identities.cache_s

    @identity_cache_s.setter
    def identity_cache_s(self, v: float) -> None:
        self.services.identities.cache_s = v

    def commune_states(self, province_code: str | None = None,
                       detail: bool = True) -> list[CommuneState]:
        if detail:
            return self.services.readiness.settled_states(province_code)
        return self.services.readiness.commune_states(province_code)

    def commune_state(self, code: str) -> CommuneState:
        return self.services.readiness.settled_state(code)

    def add_attestations(self, items: Any) -> None:
        from collector.service.attestations import AttestationEntry

        self.services.attestations.record(
            [AttestationEntry(c, cid, st, ev, by, days) for c, cid, ev, by, st, days in items],
            only_reported=True,
        )
