"""Ingest: storing agents' reports and judging what they say, one group commit at a time.

Each batch is all-or-nothing and answered on its own (a refused batch does not affect the
others); the accepted ones are committed, with their communes' colours and statuses
decided, before the caller answers. Reports already stored (same agent_id and seq) are
acknowledged again and not stored twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Connection, and_, bindparam, select, update

from checks.messages import stored as stored_msg
from checks.model import CheckResult, IngestResponse, utcnow
from collector.criteria.engine import Observation, advance_conditions
from collector.criteria.rules import Rules
from collector.domain.errors import (
    DomainError,
    ForbiddenError,
    TokenRefusedError,
    UnknownCommuneError,
)
from collector.domain.units import UnknownUnitError
from collector.domain.wire import AnyReport, Report, results_json
from collector.service.base import Core, Service
from collector.service.evaluation import Evaluation, judge_stored
from collector.service.identities import AgentIdentity, Identities
from collector.storage import schema as db
from collector.storage.bulk import BulkStatement
from collector.storage.codecs import (
    LatestResult,
    as_utc,
    latest_key,
)

log = logging.getLogger(__name__)
_RESULTS = TypeAdapter(list[CheckResult])

Batch = tuple[AgentIdentity, Sequence[AnyReport]]
#: The parameters of a stored report's row, and of an agent's row updated by its reports.
REPORT_KEYS = ("agent_id", "seq", "commune_code", "host", "observed_at", "received_at", "results")
AGENT_KEYS = (
    "b_agent_id",
    "b_now",
    "b_seq",
    "b_observed",
    "b_host",
    "b_version",
    "b_skew",
    "b_latest",
    "b_findings",
    "b_verdict",
    "b_conditions",
)


@dataclass
class _Group:
    """One group commit under way: the batches, their answers, and what was read."""

    batches: Sequence[Batch]
    outcomes: list[IngestResponse | DomainError | None]
    valid: list[int]
    rows: dict[str, Any]


class Ingest(Service):
    def __init__(self, core: Core, identities: Identities, evaluation: Evaluation) -> None:
        super().__init__(core)
        self.identities = identities
        self.evaluation = evaluation
        # The two bulk statements of every group, compiled once and run straight to the
        # driver (collector/storage/bulk.py): SQLAlchemy's per-row work was a quarter of it.
        dialect = self.database.engine.dialect
        self._insert_reports = BulkStatement(
            self.database.insert(db.reports).on_conflict_do_nothing(
                index_elements=["agent_id", "seq"]
            ),
            dialect,
            REPORT_KEYS,
        )
        a = db.agents.c
        # The group's agents' rows, read first (a statement built once, as these two).
        self._read_agents = select(
            a.agent_id, a.token_hash, a.revoked, a.latest, a.last_seq, a.conditions, a.retired_at
        ).where(self.database.among_param(a.agent_id, "ids"))
        update_agents = (
            update(db.agents)
            .where(a.agent_id == bindparam("b_agent_id"))
            .values(
                last_seen_at=bindparam("b_now"),
                last_seq=self.database.greatest(a.last_seq, bindparam("b_seq")),
                last_observed_at=bindparam("b_observed"),
                host=bindparam("b_host"),
                agent_version=bindparam("b_version"),
                clock_skew_s=bindparam("b_skew"),
                latest=bindparam("b_latest"),
                findings=bindparam("b_findings"),
                verdict=bindparam("b_verdict"),
                conditions=bindparam("b_conditions"),
            )
        )
        self._update_agents = BulkStatement(update_agents, dialect, AGENT_KEYS)

    def check_batch(self, agent: AgentIdentity, reports: Sequence[AnyReport]) -> None:
        """Refuse the whole batch if any report is not this agent's to write."""
        for r in reports:
            try:
                self.units.commune(r.commune_code)
            except UnknownUnitError as exc:
                raise UnknownCommuneError(str(exc)) from None
            if r.agent_id != agent.agent_id:
                raise ForbiddenError(
                    f"report names agent {r.agent_id!r} but the token belongs to "
                    f"agent {agent.agent_id!r}"
                )
            if r.commune_code != agent.commune_code:
                mine = self.units.commune(agent.commune_code)
                raise ForbiddenError(
                    f"agent {agent.agent_id} is enrolled for commune {mine.code} ({mine.name}) "
                    f"and may not write commune {r.commune_code}"
                )

    def ingest(self, agent: AgentIdentity, reports: Sequence[AnyReport]) -> IngestResponse:
        """Store one agent's batch; see :meth:`ingest_many`."""
        [outcome] = self.ingest_many([(agent, reports)])
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    def ingest_many(self, batches: Sequence[Batch]) -> list[IngestResponse | DomainError]:
        """Group commit: store the batches of several agents in ONE transaction."""
        g = _Group(batches, [None] * len(batches), [], {})
        for i, (agent, reports) in enumerate(batches):
            try:
                self.check_batch(agent, reports)
            except DomainError as exc:
                g.outcomes[i] = exc
            else:
                g.valid.append(i)
        if g.valid:
            now = self.clock()
            rules = self.rules.current()
            with self.database.write() as conn:
                self._store_group(conn, g, now, rules)
        return [o for o in g.outcomes if o is not None]

    def _store_group(self, conn: Connection, g: _Group, now: datetime, rules: Rules) -> None:
        self.database.lock_communes(conn, {g.batches[i][0].commune_code for i in g.valid})
        self._refuse_stale_tokens(conn, g)
        if not g.valid:
            return
        existing = self._stored_already(conn, g)
        server_time = utcnow()
        to_store: list[Batch] = []
        for i in g.valid:
            agent, reports = g.batches[i]
            fresh: dict[int, AnyReport] = {}
            for r in reports:
                if (agent.agent_id, r.seq) not in existing:
                    fresh.setdefault(r.seq, r)
            # The same agent may appear twice in one group (a retry racing itself).
            existing.update((agent.agent_id, s) for s in fresh)
            new = [fresh[s] for s in sorted(fresh)]
            if new:
                to_store.append((agent, new))
            g.outcomes[i] = IngestResponse(
                accepted=len(new),
                duplicates=len(reports) - len(new),
                acked_seqs=sorted({r.seq for r in reports}),
                server_time=server_time,
                levels_version=rules.fingerprint,
            )
        if to_store:
            self._store_reports(conn, to_store, now, g.rows, rules)
            self._reactivate(conn, to_store, g.rows, now)
            # Colours and statuses now; reasons and evidence when first asked for.
            self.evaluation.evaluate(
                conn, sorted({a.commune_code for a, _ in to_store}), now, rules, detail=False
            )

    def _refuse_stale_tokens(self, conn: Connection, g: _Group) -> None:
        """Read the agents' rows; a batch whose token was revoked or replaced since this
        process checked it is refused (whichever replica revoked it)."""
        ids = sorted({g.batches[i][0].agent_id for i in g.valid})
        g.rows = {row.agent_id: row for row in conn.execute(self._read_agents, {"ids": ids})}
        for i in list(g.valid):
            agent = g.batches[i][0]
            row = g.rows.get(agent.agent_id)
            if agent.token_hash and (
                row is None or row.revoked or row.token_hash != agent.token_hash
            ):
                self.identities.forget(agent.token_hash)
                g.outcomes[i] = TokenRefusedError("unknown or revoked token")
                g.valid.remove(i)

    def _stored_already(self, conn: Connection, g: _Group) -> set[tuple[str, int]]:
        """(agent_id, seq) of the group's reports stored before. A report can be stored
        already only if its seq is not above its agent's last stored seq: in the steady
        state every seq is new and the reports table is not read at all. (An in-process
        caller's identity, without a token, may have no row.)"""
        last_seq = {aid: row.last_seq for aid, row in g.rows.items()}
        maybe = [
            (g.batches[i][0].agent_id, r.seq)
            for i in g.valid
            for r in g.batches[i][1]
            if r.seq <= last_seq.get(g.batches[i][0].agent_id, 0)
        ]
        if not maybe:
            return set()
        rep = db.reports.c
        return {
            (row.agent_id, row.seq)
            for row in conn.execute(
                select(rep.agent_id, rep.seq).where(
                    and_(
                        rep.agent_id.in_({aid for aid, _ in maybe}),
                        rep.seq.in_({seq for _, seq in maybe}),
                    )
                )
            )
        }

    def _store_reports(
        self,
        conn: Connection,
        batches: list[Batch],
        now: datetime,
        stored: dict[str, Any],
        rules: Rules,
    ) -> None:
        """Insert the new reports, merge their results into each agent's latest results
        (``stored``: the agents' rows as read) and judge those into the host's verdict,
        timed rules from their stored conditions: two bulk statements for the whole group.
        The host's findings (reasons, evidence) are judged from the same latest results
        and conditions when its commune's details are first asked for
        (:meth:`Evaluation.fill_details`): a report is judged every minute, its reasons
        read seldom."""
        report_rows: list[dict[str, Any]] = []
        agent_rows: list[dict[str, Any]] = []
        for agent, new in batches:
            row = stored.get(agent.agent_id)
            # In its stored form (agents.latest): merged and judged as it is read and
            # written, without a LatestResult per entry (a report replaces most of them).
            latest: dict[str, list[Any]] = (row.latest if row is not None else None) or {}
            conditions = row.conditions if row is not None else None
            for r in new:  # in seq order: a later report's result replaces an earlier one
                report_rows.append(
                    {
                        "agent_id": r.agent_id,
                        "seq": r.seq,
                        "commune_code": r.commune_code,
                        "host": r.host,
                        "observed_at": r.observed_at,
                        "received_at": now,
                        "results": _results_json(r),
                    }
                )
                _merge(latest, r, now)
                if r is not new[-1] and rules.compiled.timed:  # a drained backlog is timed too
                    at = min(r.observed_at, now)  # as the latest results keep it
                    conditions = advance_conditions(
                        rules, _timed_observations(rules, r, at), conditions, at
                    )
            newest = new[-1]
            judged = judge_stored(rules, latest, conditions)
            agent_rows.append(
                {
                    "b_agent_id": agent.agent_id,
                    "b_now": now,
                    "b_seq": newest.seq,
                    "b_observed": min(max(r.observed_at for r in new), now),
                    "b_host": newest.host,
                    "b_version": newest.agent_version,
                    "b_skew": (newest.observed_at - now).total_seconds(),
                    "b_latest": latest,
                    "b_findings": None,  # judged in full when first asked for
                    "b_verdict": judged.verdict,
                    "b_conditions": judged.conditions or None,
                }
            )
        # ON CONFLICT DO NOTHING: a replica racing us on the same (agent_id, seq) is a no-op.
        self._insert_reports.run(conn, report_rows)
        self._update_agents.run(conn, agent_rows)

    def _reactivate(
        self, conn: Connection, batches: list[Batch], stored: dict[str, Any], now: datetime
    ) -> None:
        """A retired host that reports again is active again (docs/CRITERIA.md, "Silent
        hosts"): audited as ``host.reactivate``, by the agent."""
        back = [
            (agent, new[-1].host, stored[agent.agent_id].retired_at)
            for agent, new in batches
            if agent.agent_id in stored and stored[agent.agent_id].retired_at is not None
        ]
        if not back:
            return
        a = db.agents.c
        conn.execute(
            update(db.agents)
            .where(a.agent_id.in_([agent.agent_id for agent, _, _ in back]))
            .values(retired_at=None)
        )
        for agent, host, _ in back:
            log.info(
                "host %s (%s) of commune %s reported again: active again",
                host,
                agent.agent_id,
                agent.commune_code,
            )
        audit = self.identities.audit
        audit.record_many(
            conn,
            (
                audit.row(
                    now,
                    agent.agent_id,
                    "host.reactivate",
                    agent.commune_code,
                    agent_id=agent.agent_id,
                    host=host,
                    retired_at=as_utc(retired).isoformat(),
                )
                for agent, host, retired in back
            ),
        )


def _results_json(report: AnyReport) -> str:
    """The report's results as ``reports.results`` keeps them (the same JSON either way)."""
    if isinstance(report, Report):
        return results_json(report.results)
    return _RESULTS.dump_json(report.results).decode()


def _merge(latest: dict[str, list[Any]], report: AnyReport, now: datetime) -> None:
    """A report's results into a host's latest ones, as stored (a late retry of an older
    report does not replace a newer result)."""
    seq = report.seq
    entry = LatestResult.entry
    for res in report.results:
        key = latest_key(res.check, res.target)
        prior = latest.get(key)
        if prior is None or prior[6] <= seq:  # [6]: the seq (LatestResult.seq)
            latest[key] = entry(res, seq, now)


def _timed_observations(rules: Rules, report: AnyReport, at: datetime) -> list[Observation]:
    """A report's results of the checks some timed rule reads, as the engine reads them,
    measured at ``at``."""
    checks = {s.rule.check for s in rules.compiled.timed}
    return [
        Observation(
            host=report.host,
            check=res.check,
            target=res.target,
            status=res.status.value,
            values={k: v.value for k, v in res.values.items()},
            message=res.message,
            observed_at=at,
            msg=stored_msg(res.msg),
            units={k: v.unit for k, v in res.values.items() if v.unit},
        )
        for res in report.results
        if res.check in checks
    ]
