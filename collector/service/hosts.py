"""A commune's hosts as its evaluation counts them, and retiring a silent one.

A host is *fresh* while it reports, *stale* once silent for longer than the catalogue's
``stale_after_s`` of its province's working time (its last findings keep counting, marked
stale), and *retired* when an operator retires it or it has missed the retirement period
(``host_retire_after_days`` working days): it no longer counts until it reports again
(docs/CRITERIA.md, "Silent hosts").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update

from collector.domain.errors import ConflictError, NotFoundError
from collector.service.audit import Audit
from collector.service.base import Core, Service
from collector.service.evaluation import Evaluation
from collector.storage import schema as db
from collector.storage.codecs import aware

FRESH, STALE, RETIRED = "fresh", "stale", "retired"


@dataclass(frozen=True)
class HostState:
    agent_id: str
    host: str
    state: str  # fresh | stale | retired (never reported: stale from its enrolment)
    #: Fresh or stale: its last report (stale: silent since then); retired: when retired.
    since: datetime | None
    last_report_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "agent_id": self.agent_id,
            "host": self.host,
            "state": self.state,
            "since": self.since.isoformat() if self.since else None,
            "last_report_at": self.last_report_at.isoformat() if self.last_report_at else None,
        }


class Hosts(Service):
    def __init__(self, core: Core, audit: Audit, evaluation: Evaluation) -> None:
        super().__init__(core)
        self.audit = audit
        self.evaluation = evaluation

    def of_commune(self, code: str) -> list[HostState]:
        """The commune's hosts (revoked ones left out), by name, each fresh, stale or
        retired as of now."""
        self.units.commune(code)  # an unknown code is refused
        a = db.agents.c
        with self.database.read() as conn:
            rows = list(
                conn.execute(
                    select(a.agent_id, a.host, a.last_observed_at, a.retired_at)
                    .where(and_(a.commune_code == code, a.revoked.is_(False)))
                    .order_by(a.host, a.agent_id)
                )
            )
        return [
            self._state(code, r.agent_id, r.host, r.last_observed_at, r.retired_at) for r in rows
        ]

    def _state(self, code: str, agent_id: str, host: str, observed: Any, retired: Any) -> HostState:
        last = aware(observed)
        if retired is not None:
            return HostState(agent_id, host, RETIRED, aware(retired), last)
        province = self.units.commune(code).province_code
        stale_s = self.rules.current().stale_after_s
        silent = last is None or self.calendar.is_silent(province, last, self.clock(), stale_s)
        return HostState(agent_id, host, STALE if silent else FRESH, last, last)

    def retire(self, code: str, host: str, actor: str) -> HostState:
        """Retire a stale host of commune ``code``, named by its host name or agent id: it
        no longer counts, and the commune is evaluated again at once. Audited as
        ``host.retire``. Refused (:class:`NotFoundError`) for no such host, and
        (:class:`ConflictError`) for a name two hosts share, a host retired already or a
        fresh one (it would count again at its next report: revoke its token instead)."""
        found = [h for h in self.of_commune(code) if host in (h.host, h.agent_id)]
        if not found:
            raise NotFoundError(f"commune {code} has no host or agent {host!r}")
        if len(found) > 1:
            ids = ", ".join(h.agent_id for h in found)
            raise ConflictError(
                f"{len(found)} hosts of commune {code} are named {host!r}: "
                f"name one by its agent id ({ids})"
            )
        [h] = found
        if h.state == RETIRED:
            raise ConflictError(f"host {h.host} ({h.agent_id}) was retired already")
        if h.state == FRESH:
            raise ConflictError(
                f"host {h.host} ({h.agent_id}) is reporting; only a silent host can be retired "
                "(revoke its token to stop it counting)"
            )
        now = self.clock()
        a = db.agents.c
        with self.database.write() as conn:
            changed = conn.execute(
                update(db.agents)
                .where(and_(a.agent_id == h.agent_id, a.retired_at.is_(None)))
                .values(retired_at=now)
            ).rowcount
            if not changed:
                raise ConflictError(f"host {h.host} ({h.agent_id}) was retired already")
            self.audit.record(
                conn,
                actor,
                "host.retire",
                code,
                agent_id=h.agent_id,
                host=h.host,
                silent_since=h.since.isoformat() if h.since else None,
                reason="operator",
            )
        self.evaluation.reevaluate_reported({code})
        return HostState(h.agent_id, h.host, RETIRED, now, h.last_report_at)
