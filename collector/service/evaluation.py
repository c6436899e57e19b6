"""The incremental evaluation pipeline: from hosts' stored judgements to communes' colours.

When an agent reports, ingest judges its latest results against the rules (per-host
findings and their short verdict) and asks :meth:`Evaluation.evaluate` for its commune.
A commune's colour and statuses come from its active hosts' verdicts (a few bytes each: a
stale host's last ones keep counting until it is retired, docs/CRITERIA.md "Silent hosts");
its reasons and evidence (the details) from their findings, evaluated when first asked for
(:meth:`Evaluation.fill_details`) and stored. Each evaluation takes one rules snapshot and
uses it throughout: a catalogue reload never mixes two rule sets in one answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select, update

from collector.criteria.engine import (
    Attestation,
    CommuneEvaluation,
    Conditions,
    HostFindings,
    Observation,
    VerdictMemo,
    Waiver,
    apply_durations,
    evaluate_findings,
    evaluate_verdicts,
    host_findings,
    host_statuses,
    host_verdict,
)
from collector.criteria.rules import Rules
from collector.service.audit import Audit
from collector.service.base import Core, Service
from collector.service.changes import CommuneState, record_changes
from collector.storage import schema as db
from collector.storage.bulk import BulkStatement
from collector.storage.codecs import (
    CriterionState,
    LatestResult,
    as_utc,
    aware,
    decode_latest,
    decode_statuses,
    encode_latest,
    encode_statuses,
    since,
)
from collector.storage.database import Database

log = logging.getLogger(__name__)

#: Communes a transaction evaluates at most: each holds SQLite's write lock ~0.1-0.3 s.
CHUNK_DETAILED = 100
CHUNK_STATUSES = 1000
#: The audit log's actor for what the collector does by itself (retiring a silent host).
SYSTEM_ACTOR = "system"
#: The time officials read in reasons (UTC+7, no daylight saving).
_ICT = timezone(timedelta(hours=7), "ICT")


def observations(host: str, latest: dict[str, LatestResult]) -> list[Observation]:
    """A host's latest results as the rule interpreter reads them."""
    # Inlined (once per result of every host whose details are judged): e.values(),
    # e.units(), as_utc().
    parse = datetime.fromisoformat
    out = []
    for e in latest.values():
        at = parse(e.observed_at)
        figures = e.figures
        out.append(
            Observation(
                host=host,
                check=e.check,
                target=e.target,
                status=e.status,
                values={k: v[0] for k, v in figures.items()},
                message=e.message,
                observed_at=at if at.tzinfo is not None else at.replace(tzinfo=UTC),
                msg=e.msg,
                units={k: v[1] for k, v in figures.items() if len(v) > 1 and v[1]},
            )
        )
    return out


@dataclass(frozen=True)
class Judged:
    """A host's findings under some rules, their verdict, and the conditions of its timed
    rules to keep (agents.conditions)."""

    findings: HostFindings
    verdict: str
    conditions: Conditions


def judge(
    rules: Rules,
    host: str,
    latest: dict[str, LatestResult],
    conditions: Conditions | None = None,
    *,
    detail: bool = True,
) -> Judged:
    """A host's findings under ``rules`` and their verdict, each timed rule (``for:``,
    ``recover:``) counted from ``conditions``, the host's as stored, as of its newest
    measurement. With ``detail=False`` the findings are statuses alone (no reasons, no
    evidence): the verdict and the conditions are the same.

    Judging the same latest results again with the conditions this returned gives the same
    findings, verdict and conditions (a timed rule's condition advanced twice at the same
    time does not move), so a host judged at ingest with ``detail=False`` is judged in full,
    identically, when its commune's details are first asked for."""
    if detail:
        obs = observations(host, latest)
        found = host_findings(rules, obs, detail)
        at = max((o.observed_at for o in obs), default=None)
    else:  # the same statuses, from the figures as kept (no Observation per result)
        return judge_stored(rules, encode_latest(latest), conditions)
    kept: Conditions = {}
    if at is not None and rules.compiled.timed:
        found, kept = apply_durations(rules, found, conditions, at, detail)
    return Judged(found, host_verdict(rules, found), kept)


def judge_stored(
    rules: Rules, latest: dict[str, list[Any]], conditions: Conditions | None = None
) -> Judged:
    """:func:`judge` with ``detail=False`` of a host's latest results in their stored form
    (``agents.latest``, as ingest merges a report into them): the same verdict and
    conditions, with no LatestResult nor Observation per result."""
    found = host_statuses(rules, [(e[0], e[1], e[3], e[7]) for e in latest.values()])
    kept: Conditions = {}
    if latest and rules.compiled.timed:
        # The newest measurement times the durations (each distinct stamp parsed once).
        parse = datetime.fromisoformat
        at = max(as_utc(parse(s)) for s in {e[5] for e in latest.values()})
        found, kept = apply_durations(rules, found, conditions, at, False)
    return Judged(found, host_verdict(rules, found), kept)


def _states(
    statuses: dict[str, tuple[str, str]], previous: dict[str, CriterionState], stamp: str
) -> dict[str, CriterionState]:
    """Each criterion's status, severity and since when (:func:`codecs.since` inlined, and
    tuple.__new__: once per criterion of every commune a group commit evaluates)."""
    new = tuple.__new__
    out = {}
    for cid, (st, sev) in statuses.items():
        prev = previous.get(cid)
        at = stamp
        if prev is not None and prev[2] is not None and prev[0] == st:
            at = prev[2]
        out[cid] = new(CriterionState, (st, sev, at))
    return out


@dataclass
class _Gathered:
    """What one evaluation read of its communes' hosts."""

    communes: list[str]
    hosts: dict[str, list[tuple[str, str]]]  # commune -> (host, agent_id), active ones
    verdicts: dict[str, list[str]]  # commune -> verdicts under the current rules
    unjudged: list[tuple[str, str]] = field(default_factory=list)  # (commune, agent_id)
    last_report: dict[str, datetime | None] = field(default_factory=dict)
    due: dict[str, datetime | None] = field(default_factory=dict)
    attestations: dict[str, list[Attestation]] = field(default_factory=dict)
    waivers: dict[str, list[Waiver]] = field(default_factory=dict)
    previous: dict[str, dict[str, CriterionState]] = field(default_factory=dict)
    logged: dict[str, str | None] = field(default_factory=dict)  # commune_status.logged
    stale: dict[str, dict[str, datetime]] = field(default_factory=dict)  # commune -> host -> last
    retire: list[tuple[str, str, str, datetime]] = field(default_factory=list)  # (commune,
    # agent_id, host, last report) of hosts silent past the retirement period

    def due_at(self, code: str, when: datetime) -> None:
        current = self.due[code]
        self.due[code] = when if current is None else min(current, when)


class _Reads:
    """The statements an evaluation reads its communes with, built once (building one
    cost more than running it for a group's few communes): each takes the communes' codes
    as the parameter ``codes``."""

    def __init__(self, database: Database) -> None:
        a, cs = db.agents.c, db.commune_status.c
        self.hosts = select(
            a.agent_id, a.commune_code, a.host, a.verdict, a.last_observed_at, a.retired_at
        ).where(
            and_(
                database.among_param(a.commune_code, "codes"),
                a.revoked.is_(False),
                a.last_observed_at.is_not(None),
            )
        )
        self.attestations = select(db.attestations).where(
            database.among_param(db.attestations.c.commune_code, "codes")
        )
        self.waivers = select(db.waivers).where(
            database.among_param(db.waivers.c.commune_code, "codes")
        )
        self.previous = select(cs.commune_code, cs.statuses, cs.logged).where(
            database.among_param(cs.commune_code, "codes")
        )


class Evaluation(Service):
    def __init__(self, core: Core, audit: Audit) -> None:
        super().__init__(core)
        self.audit = audit
        self.memo = VerdictMemo()
        self._reads = _Reads(self.database)
        #: The upsert of commune_status rows, by their columns.
        self._upserts: dict[tuple[str, ...], BulkStatement] = {}

    # ----------------------------------------------------------------- host judgements
    def refresh_findings(
        self, conn: Connection, rules: Rules, agent_ids: Iterable[str]
    ) -> dict[str, HostFindings]:
        """Judge agents' stored latest results again (after a catalogue change) and keep the
        outcome in ``agents.findings`` and ``agents.verdict``."""
        ids = sorted(set(agent_ids))
        if not ids:
            return {}
        a = db.agents.c
        judged = {
            row.agent_id: judge(rules, row.host, decode_latest(row.latest), row.conditions)
            for row in conn.execute(
                select(a.agent_id, a.host, a.latest, a.conditions).where(a.agent_id.in_(ids))
            )
        }
        if judged:
            conn.execute(
                update(db.agents)
                .where(a.agent_id == bindparam("b_agent_id"))
                .values(
                    findings=bindparam("b_findings"),
                    verdict=bindparam("b_verdict"),
                    conditions=bindparam("b_conditions"),
                ),
                [
                    {
                        "b_agent_id": i,
                        "b_findings": j.findings.to_json(),
                        "b_verdict": j.verdict,
                        "b_conditions": j.conditions or None,
                    }
                    for i, j in judged.items()
                ],
            )
        return {i: j.findings for i, j in judged.items()}

    # ------------------------------------------------------------------- evaluating
    def evaluate(
        self,
        conn: Connection,
        communes: list[str],
        now: datetime,
        rules: Rules,
        known: dict[str, HostFindings] | None = None,
        *,
        detail: bool = True,
    ) -> None:
        """Evaluate ``communes`` from their fresh hosts' stored judgements (``known``: ones
        just made) and record when each may next change without a new report.

        With ``detail=False``, only the colour and each criterion's status, from the hosts'
        verdicts; the commune's details are then marked pending for :meth:`fill_details`."""
        g = self._gather(conn, communes, now, rules, detail)
        self._retire_silent(conn, g, now)
        if detail:
            self._write_detailed(conn, g, now, rules, known or {})
        else:
            self._write_statuses(conn, g, now, rules)

    def _gather(
        self, conn: Connection, communes: list[str], now: datetime, rules: Rules, detail: bool
    ) -> _Gathered:
        g = _Gathered(communes, {c: [] for c in communes}, {c: [] for c in communes})
        g.stale = {c: {} for c in communes}
        g.last_report = dict.fromkeys(communes)
        g.due = dict.fromkeys(communes)
        self._gather_hosts(conn, g, now, rules, detail)
        self._gather_people(conn, g, now)
        for row in conn.execute(self._reads.previous, {"codes": communes}):
            g.previous[row.commune_code] = decode_statuses(row.statuses)
            g.logged[row.commune_code] = row.logged
        return g

    def _gather_hosts(
        self, conn: Connection, g: _Gathered, now: datetime, rules: Rules, detail: bool
    ) -> None:
        """Every host of the communes that has reported, in one statement: every column
        read is in ix_agents_commune_verdict. An active host counts, a stale one (silent for
        longer than stale_after_s of its province's working time) as of its last report,
        marked stale, until it is retired (docs/CRITERIA.md, "Silent hosts"): a failing
        host that falls silent never makes its commune greener. A commune none of whose
        hosts is fresh is shown grey in working time, its colour kept outside it."""
        stale_s = rules.stale_after_s
        fresh_since = now - timedelta(seconds=stale_s)
        oldest_fresh: dict[str, datetime] = {}
        for agent_id, code, host, verdict, observed, retired in conn.execute(
            self._reads.hosts, {"codes": g.communes}
        ):
            seen = as_utc(observed)
            last = g.last_report[code]
            if last is None or seen > last:
                g.last_report[code] = seen
            if retired is not None:
                continue
            # Silent for longer than stale_after_s of its province's working time (the
            # wall clock first: a recent report is fresh whatever the calendar says).
            if seen < fresh_since and self._silent(code, seen, now, stale_s):
                if not self._keep_stale(g, code, (agent_id, host, seen), now):
                    continue
            elif code not in oldest_fresh or seen < oldest_fresh[code]:
                oldest_fresh[code] = seen
            self._count_host(g, rules, code, (agent_id, host, verdict), detail)
        # Due again when a host turns stale (just after, so that it then counts as stale):
        # after stale_after_s of working time, so never at night.
        for code, oldest in oldest_fresh.items():
            province = self.units.commune(code).province_code
            at = self.calendar.silent_from(province, oldest, stale_s)
            if at is not None:
                g.due_at(code, at + timedelta(seconds=1))

    def _keep_stale(
        self, g: _Gathered, code: str, host: tuple[str, str, datetime], now: datetime
    ) -> bool:
        """Whether a stale host still counts: not once it has missed the retirement period
        (it is then retired, :meth:`_retire_silent`); its commune is due again then."""
        agent_id, name, seen = host
        province = self.units.commune(code).province_code
        at = self.calendar.retire_at(province, seen, self.core.retire_after_days)
        if at is not None and at <= now:
            g.retire.append((code, agent_id, name, seen))
            return False
        if at is not None:
            g.due_at(code, at)
        g.stale[code][name] = seen
        return True

    def _retire_silent(self, conn: Connection, g: _Gathered, now: datetime) -> None:
        """Retire the hosts silent past the retirement period, each audited
        (``host.retire``, by ``system``); they no longer count (already left out)."""
        if not g.retire:
            return
        a = db.agents.c
        conn.execute(
            update(db.agents)
            .where(a.agent_id.in_([aid for _, aid, _, _ in g.retire]))
            .values(retired_at=now)
        )
        self.audit.record_many(
            conn,
            (
                self.audit.row(
                    now,
                    SYSTEM_ACTOR,
                    "host.retire",
                    code,
                    agent_id=aid,
                    host=name,
                    silent_since=seen.isoformat(),
                    reason="retirement period",
                    days=self.core.retire_after_days,
                )
                for code, aid, name, seen in g.retire
            ),
        )
        for code, aid, name, seen in g.retire:
            log.info(
                "host %s (%s) of commune %s retired: silent since %s, %d working days",
                name,
                aid,
                code,
                seen.isoformat(),
                self.core.retire_after_days,
            )

    @staticmethod
    def _count_host(
        g: _Gathered, rules: Rules, code: str, host: tuple[str, str, str | None], detail: bool
    ) -> None:
        agent_id, name, verdict = host
        if detail:
            g.hosts[code].append((name, agent_id))
        elif verdict and verdict.startswith(rules.fingerprint + ":"):
            g.verdicts[code].append(verdict)
        else:  # never judged, or judged under other rules
            g.unjudged.append((code, agent_id))

    def _silent(self, code: str, seen: datetime, now: datetime, stale_s: float) -> bool:
        province = self.units.commune(code).province_code
        return self.calendar.is_silent(province, seen, now, stale_s)

    def _gather_people(self, conn: Connection, g: _Gathered, now: datetime) -> None:
        """Attestations and waivers in force, each also making its commune due on expiry."""
        g.attestations = {c: [] for c in g.communes}
        for row in conn.execute(self._reads.attestations, {"codes": g.communes}):
            att = Attestation(
                criterion_id=row.criterion_id,
                status=row.status,
                evidence=row.evidence,
                entered_by=row.entered_by,
                entered_at=aware(row.entered_at) or now,
                expires_at=aware(row.expires_at) or now,
            )
            g.attestations[row.commune_code].append(att)
            if att.expires_at > now:
                g.due_at(row.commune_code, att.expires_at)
        g.waivers = {c: [] for c in g.communes}
        for row in conn.execute(self._reads.waivers, {"codes": g.communes}):
            wv = Waiver(
                criterion_id=row.criterion_id,
                reason=row.reason,
                granted_by=row.granted_by,
                expires_at=aware(row.expires_at) or now,
            )
            g.waivers[row.commune_code].append(wv)
            if wv.expires_at > now:
                g.due_at(row.commune_code, wv.expires_at)

    def _status_row(
        self,
        g: _Gathered,
        code: str,
        now: datetime,
        colour: str,
        statuses: dict[str, CriterionState],
        pending: bool,
    ) -> dict[str, Any]:
        return {
            "commune_code": code,
            "province_code": self.units.commune(code).province_code,
            "colour": colour,
            "statuses": encode_statuses(statuses),
            "evaluated_at": now,
            "last_report_at": g.last_report[code],
            "next_eval_at": g.due[code],
            "detail_pending": pending,
        }

    def _write_statuses(self, conn: Connection, g: _Gathered, now: datetime, rules: Rules) -> None:
        if g.unjudged:
            judged = self.refresh_findings(conn, rules, [aid for _, aid in g.unjudged])
            for code, aid in g.unjudged:
                g.verdicts[code].append(host_verdict(rules, judged[aid]))
        stamp = now.isoformat()
        rows = []
        for code in g.communes:
            colour, statuses = evaluate_verdicts(
                rules,
                self.units.commune(code).kind,
                g.verdicts[code],
                g.attestations[code],
                g.waivers[code],
                now,
                memo=self.memo,
            )
            states = _states(statuses, g.previous.get(code, {}), stamp)
            rows.append(self._status_row(g, code, now, colour.value, states, pending=True))
        self._log_changes(conn, g, rows, now, rules.stale_after_s)
        self._upsert(conn, rows)

    def _findings(
        self, conn: Connection, g: _Gathered, rules: Rules, known: dict[str, HostFindings]
    ) -> dict[str, HostFindings]:
        """The findings of every fresh host: ``known``, stored under these rules, or judged
        again now."""
        wanted = [aid for hs in g.hosts.values() for _, aid in hs if aid not in known]
        found = dict(known)
        redo = []
        a = db.agents.c
        if wanted:
            for row in conn.execute(select(a.agent_id, a.findings).where(a.agent_id.in_(wanted))):
                if row.findings and row.findings.get("v") == rules.fingerprint:
                    found[row.agent_id] = HostFindings.from_json(row.findings)
                else:  # never judged, or judged under other rules
                    redo.append(row.agent_id)
            found.update(self.refresh_findings(conn, rules, redo))
        return found

    def _write_detailed(
        self,
        conn: Connection,
        g: _Gathered,
        now: datetime,
        rules: Rules,
        known: dict[str, HostFindings],
    ) -> None:
        found = self._findings(conn, g, rules, known)
        stamp = now.isoformat()
        rows, details = [], []
        for code in g.communes:
            ev = evaluate_findings(
                rules,
                self.units.commune(code).kind,
                [found[aid] for _, aid in sorted(g.hosts[code])],
                g.attestations[code],
                g.waivers[code],
                now,
            )
            criteria, states = _with_since(ev, g.previous.get(code, {}), stamp, g.stale[code])
            rows.append(self._status_row(g, code, now, ev.colour.value, states, pending=False))
            details.append({"commune_code": code, "criteria": criteria})
        self._log_changes(conn, g, rows, now, rules.stale_after_s)
        self._upsert(conn, rows, details)

    def _log_changes(
        self,
        conn: Connection,
        g: _Gathered,
        rows: list[dict[str, Any]],
        now: datetime,
        stale_s: float,
    ) -> None:
        """Log, for the roll-ups, the communes whose shown colour in working time or whose
        statuses change with these rows (collector/service/changes.py): grey from the moment
        a commune turned silent (as :func:`colour_at` shows it), its colour otherwise. Each
        row gets the ``logged`` state to store with it."""
        states = {}
        for row in rows:
            code, province = row["commune_code"], row["province_code"]
            last, colour, at = g.last_report[code], row["colour"], now
            if last is None:
                colour = "grey"
            elif self.calendar.is_silent(province, last, now, stale_s):
                colour = "grey"
                at = min(now, self.calendar.silent_from(province, last, stale_s) or now)
            statuses = {cid: st[0] for cid, st in row["statuses"].items()}
            states[code] = CommuneState(at, colour, statuses)
        logged = record_changes(conn, self.database, states, g.logged)
        for row in rows:
            row["logged"] = logged[row["commune_code"]]

    def _upsert(
        self,
        conn: Connection,
        rows: list[dict[str, Any]],
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        if not rows:
            return
        keys = tuple(rows[0])
        upsert = self._upserts.get(keys)
        if upsert is None:  # compiled once per set of columns (collector/storage/bulk.py)
            stmt = self.database.insert(db.commune_status)
            stmt = stmt.on_conflict_do_update(
                index_elements=["commune_code"],
                set_={c: stmt.excluded[c] for c in keys if c != "commune_code"},
            )
            upsert = self._upserts[keys] = BulkStatement(stmt, self.database.engine.dialect, keys)
        upsert.run(conn, rows)
        if details:
            dstmt = self.database.insert(db.commune_details)
            dstmt = dstmt.on_conflict_do_update(
                index_elements=["commune_code"], set_={"criteria": dstmt.excluded.criteria}
            )
            conn.execute(dstmt, details)

    # ------------------------------------------------------------------ passes
    def due_communes(self, now: datetime | None = None) -> list[str]:
        """Communes whose evaluation may have changed with no new report: one of their
        hosts turned stale, or an attestation or waiver expired (``next_eval_at``
        passed), plus communes with agents but no evaluation yet."""
        now = now or self.clock()
        cs, a = db.commune_status.c, db.agents.c
        with self.database.read() as conn:
            due = set(conn.execute(select(cs.commune_code).where(cs.next_eval_at <= now)).scalars())
            due.update(
                conn.execute(
                    select(a.commune_code)
                    .distinct()
                    .where(a.commune_code.not_in(select(cs.commune_code)))
                ).scalars()
            )
        return sorted(due)

    def reevaluate(
        self,
        communes: Iterable[str] | None = None,
        chunk: int | None = None,
        *,
        full: bool = False,
        detail: bool | None = None,
    ) -> int:
        """Bring stored colours up to date as time passes. By default only the communes
        :meth:`due_communes` names (the minute-by-minute pass: new reports are evaluated
        as they arrive); ``full=True`` re-judges every commune that has agents from its
        hosts' latest results (after a catalogue change); or exactly ``communes``.
        Works in transactions of ``chunk`` communes, so that ingest (which needs the write
        lock on SQLite) never waits long behind a big pass. Returns how many were evaluated.

        ``detail``: whether to evaluate reasons and evidence too, or only colours and
        statuses (the details are then pending, see :meth:`fill_details`). By default the
        minute-by-minute pass does not, and an evaluation of named communes or a full one
        does."""
        if detail is None:
            detail = communes is not None or full
        chunk = chunk or (CHUNK_DETAILED if detail else CHUNK_STATUSES)
        now = self.clock()
        rules = self.rules.current()
        codes = self._codes(communes, full, now)
        for i in range(0, len(codes), chunk):
            part = codes[i : i + chunk]
            with self.database.write() as conn:
                self.database.lock_communes(conn, part)
                known = self._rejudge(conn, rules, part) if full else None
                self.evaluate(conn, part, now, rules, known, detail=detail)
        return len(codes)

    def _codes(self, communes: Iterable[str] | None, full: bool, now: datetime) -> list[str]:
        if communes is not None:
            return sorted(set(communes))
        if full:
            with self.database.read() as conn:
                return sorted(
                    set(conn.execute(select(db.agents.c.commune_code).distinct()).scalars())
                )
        return self.due_communes(now)

    def _rejudge(self, conn: Connection, rules: Rules, part: list[str]) -> dict[str, HostFindings]:
        a = db.agents.c
        ids = conn.execute(
            select(a.agent_id).where(
                and_(self.database.among(a.commune_code, part), a.revoked.is_(False))
            )
        ).scalars()
        return self.refresh_findings(conn, rules, ids)

    def reevaluate_reported(self, communes: set[str]) -> int:
        """Re-evaluate those of ``communes`` that have an evaluation already (a commune
        that never reported stays without one)."""
        with self.database.read() as conn:
            reported = set(
                conn.execute(
                    select(db.commune_status.c.commune_code).where(
                        db.commune_status.c.commune_code.in_(communes)
                    )
                ).scalars()
            )
        return self.reevaluate(reported) if reported else 0

    # ------------------------------------------------------------------ details
    def pending_details(self, province_code: str | None = None) -> list[str]:
        """Communes whose colour and statuses are newer than their reasons and evidence."""
        cs = db.commune_status.c
        q = select(cs.commune_code).where(cs.detail_pending.is_(True))
        if province_code is not None:
            q = q.where(cs.province_code == province_code)
        with self.database.read() as conn:
            return sorted(conn.execute(q).scalars())

    def fill_details(self, province_code: str | None = None, chunk: int | None = None) -> int:
        """Evaluate, reasons and evidence included, the communes whose details are pending
        (of one province); returns how many. Ingest and the periodic pass decide colours and
        statuses only: pages, reports and API answers call this (or :meth:`settle`) before
        they read details."""
        codes = self.pending_details(province_code)
        if codes:
            self.reevaluate(codes, chunk, detail=True)
        return len(codes)

    def settle(self, code: str) -> bool:
        """Bring commune ``code``'s details up to its statuses: evaluated and stored if
        pending. False when its hosts were judged under other rules than this process's
        (another collector's catalogue, or a newer one): its details can then only be
        evaluated for a reader (:meth:`evaluate_unsaved`), and nothing is written."""
        cs, a = db.commune_status.c, db.agents.c
        ours = self.rules.current().fingerprint + ":"
        with self.database.read() as conn:
            pending = conn.execute(
                select(cs.detail_pending).where(cs.commune_code == code)
            ).scalar_one_or_none()
            foreign = (
                pending
                and conn.execute(
                    select(func.count()).where(
                        a.commune_code == code,
                        a.revoked.is_(False),
                        a.verdict.is_not(None),
                        a.verdict.not_like(ours + "%"),
                    )
                ).scalar_one()
            )
        if foreign:
            return False
        if pending:
            self.reevaluate([code], detail=True)
        return True

    def evaluate_unsaved(self, code: str, read: Callable[[Connection], Any]) -> Any:
        """Evaluate commune ``code`` with details under this process's rules and give
        ``read`` the outcome, in a transaction that is then rolled back: what the database
        holds under other rules stays as it is."""
        with self.database.scratch() as conn:
            self.evaluate(conn, [code], self.clock(), self.rules.current(), detail=True)
            return read(conn)


def _with_since(
    ev: CommuneEvaluation,
    previous: dict[str, CriterionState],
    stamp: str,
    stale: dict[str, datetime] | None = None,
) -> tuple[dict[str, Any], dict[str, CriterionState]]:
    """The ``criteria`` (commune_details) and statuses (commune_status) of an evaluation:
    every outcome, each with the time it entered its current status, the evidence of a
    ``stale`` host (name -> last report) marked with since when, and said in the reason."""
    criteria, states = {}, {}
    for cid, outcome in ev.criteria.items():
        item = outcome.to_json()
        if stale:
            _mark_stale(item, stale)
        item["since"] = since(previous.get(cid), item["status"], stamp)
        criteria[cid] = item
        states[cid] = CriterionState(item["status"], item["severity"], item["since"])
    return criteria, states


def _mark_stale(item: dict[str, Any], stale: dict[str, datetime]) -> None:
    """An outcome's evidence from a stale host marked ``stale_since`` (its last report),
    and the reason saying which of its hosts are stale since when, in both languages."""
    named: dict[str, datetime] = {}
    evidence = []
    for e in item["evidence"]:
        seen = stale.get(e.get("host", ""))
        if seen is not None:
            e = {**e, "stale_since": seen.isoformat()}
            named[e["host"]] = seen
        evidence.append(e)
    item["evidence"] = evidence
    if named:
        when = {h: named[h].astimezone(_ICT).strftime("%d/%m/%Y %H:%M") for h in sorted(named)}
        item["reason_en"] += "; " + "; ".join(
            f"{h}: stale, no report since {w} (UTC+7)" for h, w in when.items()
        )
        item["reason_vi"] += "; " + "; ".join(
            f"{h}: số liệu cũ, không báo cáo từ {w} (UTC+7)" for h, w in when.items()
        )
