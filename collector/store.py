"""Storage operations: enrollment, ingest, evaluation and the read side.

One class, :class:`Store`, over a SQLAlchemy engine. Every write is one transaction that is
committed before the caller answers, so an acknowledged report survives a crash. Nothing that
matters is kept in memory: two collectors on one database give the same answers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from checks.model import EnrollResponse, IngestResponse, Report, utcnow
from collector import db
from collector.criteria.catalogue import Catalogue
from collector.criteria.engine import (
    COLOURS,
    Attestation,
    Colour,
    CommuneEvaluation,
    Observation,
    Waiver,
    colour_at,
    evaluate_commune,
)
from collector.units import Units, UnknownUnitError

# Base32 without look-alike letters, for codes an installer types by hand.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class StoreError(Exception):
    """An error with an HTTP status and a message meant for the caller."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EnrollmentError(StoreError):
    status = 403


class ForbiddenError(StoreError):
    status = 403


class UnknownCommuneError(StoreError):
    status = 422


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy random token or code (no KDF needed: not a password)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_enrollment_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _normalise_code(code: str) -> str:
    return code.strip().upper()


def as_utc(dt: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def _aware(dt: datetime | None) -> datetime | None:
    return None if dt is None else as_utc(dt)


@dataclass(frozen=True)
class AgentIdentity:
    agent_id: str
    commune_code: str
    province_code: str


@dataclass(frozen=True)
class CommuneState:
    code: str
    province_code: str
    colour: Colour  # as shown now (grey when stale)
    criteria: dict[str, Any]
    last_report_at: datetime | None


class Store:
    def __init__(
        self,
        engine: Engine,
        catalogue: Catalogue,
        units: Units,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.catalogue = catalogue
        self.units = units
        self.clock = clock
        self._sqlite = engine.dialect.name == "sqlite"
        # SQLite has one writer at a time; serialising writers in-process avoids
        # "database is locked" retries (other processes still wait on busy_timeout).
        self._write_lock = threading.Lock() if self._sqlite else None

    @property
    def stale_after_s(self) -> int:
        return self.catalogue.stale_after_s

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def _insert(self, table: Any) -> Any:
        return (sqlite_insert if self._sqlite else pg_insert)(table)

    # ------------------------------------------------------------------ enrollment
    def create_enrollment_codes(
        self, commune_codes: Iterable[str], ttl: timedelta = timedelta(days=7)
    ) -> list[tuple[str, str]]:
        """Issue one single-use code per commune; returns (commune_code, code) pairs."""
        now = self.clock()
        rows, out = [], []
        for commune in commune_codes:
            self.units.commune(commune)  # raises UnknownUnitError with a clear message
            code = new_enrollment_code()
            out.append((commune, code))
            rows.append(
                {
                    "code_hash": hash_secret(code),
                    "commune_code": commune,
                    "created_at": now,
                    "expires_at": now + ttl,
                }
            )
        if rows:
            with self._write() as conn:
                conn.execute(db.enrollment_codes.insert(), rows)
        return out

    def enroll(self, code: str, host: str, agent_version: str = "") -> EnrollResponse:
        now = self.clock()
        code_hash = hash_secret(_normalise_code(code))
        token = secrets.token_urlsafe(32)
        agent_id = f"a-{secrets.token_hex(8)}"
        with self._write() as conn:
            row = conn.execute(
                select(db.enrollment_codes).where(db.enrollment_codes.c.code_hash == code_hash)
            ).first()
            if row is None:
                raise EnrollmentError("enrollment code not recognised")
            if row.used_at is not None:
                raise EnrollmentError("enrollment code already used: ask for a new one")
            expires_at = _aware(row.expires_at)
            assert expires_at is not None
            if expires_at <= now:
                raise EnrollmentError(
                    f"enrollment code expired on {expires_at.date().isoformat()}: ask for a new one"
                )
            commune = self.units.commune(row.commune_code)
            # Single use even under concurrent enrollments: only one UPDATE matches.
            claimed = conn.execute(
                update(db.enrollment_codes)
                .where(
                    and_(
                        db.enrollment_codes.c.code_hash == code_hash,
                        db.enrollment_codes.c.used_at.is_(None),
                    )
                )
                .values(used_at=now, used_by=agent_id)
            ).rowcount
            if claimed != 1:
                raise EnrollmentError("enrollment code already used: ask for a new one")
            conn.execute(
                db.agents.insert().values(
                    agent_id=agent_id,
                    token_hash=hash_secret(token),
                    commune_code=commune.code,
                    province_code=commune.province_code,
                    host=host,
                    agent_version=agent_version,
                    enrolled_at=now,
                    last_seq=0,
                    revoked=False,
                )
            )
        return EnrollResponse(
            agent_id=agent_id,
            token=token,
            commune_code=commune.code,
            province_code=commune.province_code,
            commune_name=commune.name,
            report_interval_s=60,
        )

    def authenticate(self, token: str) -> AgentIdentity | None:
        token_hash = hash_secret(token)
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    db.agents.c.agent_id,
                    db.agents.c.commune_code,
                    db.agents.c.province_code,
                    db.agents.c.token_hash,
                    db.agents.c.revoked,
                ).where(db.agents.c.token_hash == token_hash)
            ).first()
        if row is None or row.revoked or not hmac.compare_digest(row.token_hash, token_hash):
            return None
        return AgentIdentity(row.agent_id, row.commune_code, row.province_code)

    # ---------------------------------------------------------------------- ingest
    def check_batch(self, agent: AgentIdentity, reports: list[Report]) -> None:
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

    def ingest(self, agent: AgentIdentity, reports: list[Report]) -> IngestResponse:
        """Store one agent's batch; see :meth:`ingest_many`."""
        [outcome] = self.ingest_many([(agent, reports)])
        if isinstance(outcome, StoreError):
            raise outcome
        return outcome

    def ingest_many(
        self, batches: list[tuple[AgentIdentity, list[Report]]]
    ) -> list[IngestResponse | StoreError]:
        """Group commit: store the batches of several agents in ONE transaction.

        Each batch is all-or-nothing and answered on its own (a refused batch does not
        affect the others); the accepted ones are committed, with their communes
        re-evaluated, before this returns. Reports already stored (same agent_id and seq)
        are acknowledged again and not stored twice.
        """
        outcomes: list[IngestResponse | StoreError | None] = [None] * len(batches)
        valid: list[int] = []
        for i, (agent, reports) in enumerate(batches):
            try:
                self.check_batch(agent, reports)
            except StoreError as exc:
                outcomes[i] = exc
            else:
                valid.append(i)
        if valid:
            now = self.clock()
            server_time = utcnow()
            with self._write() as conn:
                for code in sorted({batches[i][0].commune_code for i in valid}):
                    self._lock_commune(conn, code)  # sorted: no deadlock between replicas
                rep = db.reports.c
                existing: set[tuple[str, int]] = {
                    (row.agent_id, row.seq)
                    for row in conn.execute(
                        select(rep.agent_id, rep.seq).where(
                            and_(
                                rep.agent_id.in_({batches[i][0].agent_id for i in valid}),
                                rep.seq.in_({r.seq for i in valid for r in batches[i][1]}),
                            )
                        )
                    )
                }
                to_store: list[tuple[AgentIdentity, list[Report]]] = []
                for i in valid:
                    agent, reports = batches[i]
                    fresh: dict[int, Report] = {}
                    for r in reports:
                        if (agent.agent_id, r.seq) not in existing:
                            fresh.setdefault(r.seq, r)
                    # The same agent may appear twice in one group (a retry racing itself).
                    existing.update((agent.agent_id, s) for s in fresh)
                    new = [fresh[s] for s in sorted(fresh)]
                    if new:
                        to_store.append((agent, new))
                    outcomes[i] = IngestResponse(
                        accepted=len(new),
                        duplicates=len(reports) - len(new),
                        acked_seqs=sorted({r.seq for r in reports}),
                        server_time=server_time,
                    )
                if to_store:
                    self._store_reports(conn, to_store, now)
                    self._evaluate(conn, sorted({a.commune_code for a, _ in to_store}), now)
        return [o for o in outcomes if o is not None]

    def _lock_commune(self, conn: Connection, commune_code: str) -> None:
        """Serialise writers of one commune across collector replicas (PostgreSQL), so that
        an evaluation always sees every report committed before it. SQLite has one writer."""
        if not self._sqlite:
            conn.execute(select(func.pg_advisory_xact_lock(int(commune_code))))

    def _store_reports(
        self,
        conn: Connection,
        batches: list[tuple[AgentIdentity, list[Report]]],
        now: datetime,
    ) -> None:
        """Insert new reports, update the latest result per check and the agents' state:
        three bulk statements for the whole group."""
        report_rows: list[dict[str, Any]] = []
        latest: dict[tuple[str, str, str], dict[str, Any]] = {}
        agent_rows: list[dict[str, Any]] = []
        for agent, new in batches:
            for r in new:  # in seq order: a later report's result replaces an earlier one
                report_rows.append(
                    {
                        "agent_id": r.agent_id,
                        "seq": r.seq,
                        "commune_code": r.commune_code,
                        "host": r.host,
                        "observed_at": r.observed_at,
                        "received_at": now,
                        "results": [res.model_dump(mode="json") for res in r.results],
                    }
                )
                for res in r.results:
                    latest[(r.agent_id, res.check, res.target)] = {
                        "agent_id": r.agent_id,
                        "check_id": res.check,
                        "target": res.target,
                        "commune_code": r.commune_code,
                        "host": r.host,
                        "category": res.category.value,
                        "status": res.status.value,
                        "figures": {k: [v.value, v.unit] for k, v in res.values.items()},
                        "message": res.message,
                        # An agent's clock may run ahead: never look fresher than now.
                        "observed_at": min(res.observed_at, now),
                        "seq": r.seq,
                    }
            newest = new[-1]
            agent_rows.append(
                {
                    "b_agent_id": agent.agent_id,
                    "b_seq": newest.seq,
                    "b_observed": min(max(r.observed_at for r in new), now),
                    "b_host": newest.host,
                    "b_version": newest.agent_version,
                    "b_skew": (newest.observed_at - now).total_seconds(),
                }
            )
        # ON CONFLICT DO NOTHING: a replica racing us on the same (agent_id, seq) is a no-op.
        conn.execute(
            self._insert(db.reports).on_conflict_do_nothing(index_elements=["agent_id", "seq"]),
            report_rows,
        )
        if latest:
            stmt = self._insert(db.latest_results)
            excluded = stmt.excluded
            stmt = stmt.on_conflict_do_update(
                index_elements=["agent_id", "check_id", "target"],
                set_={
                    c: excluded[c]
                    for c in (
                        "commune_code",
                        "host",
                        "category",
                        "status",
                        "figures",
                        "message",
                        "observed_at",
                        "seq",
                    )
                },
                where=db.latest_results.c.seq <= excluded.seq,
            )
            conn.execute(stmt, list(latest.values()))
        a = db.agents.c
        greatest = func.max if self._sqlite else func.greatest
        conn.execute(
            update(db.agents)
            .where(a.agent_id == bindparam("b_agent_id"))
            .values(
                last_seen_at=now,
                last_seq=greatest(a.last_seq, bindparam("b_seq")),
                last_observed_at=bindparam("b_observed"),
                host=bindparam("b_host"),
                agent_version=bindparam("b_version"),
                clock_skew_s=bindparam("b_skew"),
            ),
            agent_rows,
        )

    # ------------------------------------------------------------------ evaluation
    def _evaluate(self, conn: Connection, communes: list[str], now: datetime) -> None:
        fresh_since = now - timedelta(seconds=self.stale_after_s)
        a, lr = db.agents, db.latest_results
        fresh_agents = select(a.c.agent_id).where(
            and_(
                a.c.commune_code.in_(communes),
                a.c.revoked.is_(False),
                a.c.last_observed_at >= fresh_since,
            )
        )
        obs: dict[str, list[Observation]] = {c: [] for c in communes}
        for row in conn.execute(select(lr).where(lr.c.agent_id.in_(fresh_agents))):
            obs[row.commune_code].append(
                Observation(
                    host=row.host,
                    check=row.check_id,
                    target=row.target,
                    status=row.status,
                    values={k: v[0] for k, v in row.figures.items()},
                    message=row.message,
                    observed_at=_aware(row.observed_at) or now,
                )
            )
        last_report: dict[str, datetime | None] = dict.fromkeys(communes)
        for row in conn.execute(
            select(a.c.commune_code, func.max(a.c.last_observed_at))
            .where(and_(a.c.commune_code.in_(communes), a.c.revoked.is_(False)))
            .group_by(a.c.commune_code)
        ):
            last_report[row[0]] = _aware(row[1])
        atts: dict[str, list[Attestation]] = {c: [] for c in communes}
        for row in conn.execute(
            select(db.attestations).where(db.attestations.c.commune_code.in_(communes))
        ):
            atts[row.commune_code].append(
                Attestation(
                    criterion_id=row.criterion_id,
                    status=row.status,
                    evidence=row.evidence,
                    entered_by=row.entered_by,
                    entered_at=_aware(row.entered_at) or now,
                    expires_at=_aware(row.expires_at) or now,
                )
            )
        wvs: dict[str, list[Waiver]] = {c: [] for c in communes}
        for row in conn.execute(select(db.waivers).where(db.waivers.c.commune_code.in_(communes))):
            wvs[row.commune_code].append(
                Waiver(
                    criterion_id=row.criterion_id,
                    reason=row.reason,
                    granted_by=row.granted_by,
                    expires_at=_aware(row.expires_at) or now,
                )
            )
        # Previous statuses (the compact column), to keep each criterion's "since".
        previous = {
            row.commune_code: row.statuses
            for row in conn.execute(
                select(db.commune_status.c.commune_code, db.commune_status.c.statuses).where(
                    db.commune_status.c.commune_code.in_(communes)
                )
            )
        }
        rows = []
        for code in communes:
            commune = self.units.commune(code)
            ev = evaluate_commune(
                self.catalogue, commune.kind, obs[code], atts[code], wvs[code], now
            )
            rows.append(
                {
                    "commune_code": code,
                    "province_code": commune.province_code,
                    "colour": ev.colour.value,
                    **_with_since(ev, previous.get(code), now),
                    "evaluated_at": now,
                    "last_report_at": last_report[code],
                }
            )
        stmt = self._insert(db.commune_status)
        stmt = stmt.on_conflict_do_update(
            index_elements=["commune_code"],
            set_={
                c: stmt.excluded[c]
                for c in (
                    "province_code",
                    "colour",
                    "criteria",
                    "statuses",
                    "evaluated_at",
                    "last_report_at",
                )
            },
        )
        conn.execute(stmt, rows)

    def reevaluate(self, communes: Iterable[str] | None = None, chunk: int = 500) -> int:
        """Re-evaluate communes (all that have reported by default), e.g. as time passes
        and attestations, waivers or results expire. Returns how many were evaluated."""
        now = self.clock()
        if communes is None:
            with self.engine.connect() as conn:
                codes = sorted(
                    set(conn.execute(select(db.agents.c.commune_code).distinct()).scalars())
                )
        else:
            codes = sorted(set(communes))
        for i in range(0, len(codes), chunk):
            with self._write() as conn:
                for code in codes[i : i + chunk]:  # sorted: no lock-order deadlock
                    self._lock_commune(conn, code)
                self._evaluate(conn, codes[i : i + chunk], now)
        return len(codes)

    # ------------------------------------------------------------ attestations, waivers
    def add_attestations(self, items: Iterable[tuple[str, str, str, str, str, int | None]]) -> None:
        now = self.clock()
        crit = self.catalogue.by_id()
        rows = []
        for commune_code, criterion_id, evidence, entered_by, status, valid_days in items:
            self.units.commune(commune_code)
            c = crit.get(criterion_id)
            if c is None or c.validity_days is None:
                raise StoreError(f"{criterion_id!r} is not an attested criterion of the catalogue")
            if status not in ("pass", "fail"):
                raise StoreError("attestation status must be 'pass' or 'fail'")
            days = valid_days if valid_days is not None else c.validity_days
            rows.append(
                {
                    "commune_code": commune_code,
                    "criterion_id": criterion_id,
                    "status": status,
                    "evidence": evidence,
                    "entered_by": entered_by,
                    "entered_at": now,
                    "expires_at": now + timedelta(days=days),
                }
            )
        if not rows:
            return
        with self._write() as conn:
            conn.execute(db.attestations.insert(), rows)
        touched: set[str] = {str(r["commune_code"]) for r in rows}
        self.reevaluate(touched & self._reported_communes(touched))

    def _reported_communes(self, communes: set[str]) -> set[str]:
        with self.engine.connect() as conn:
            return set(
                conn.execute(
                    select(db.commune_status.c.commune_code).where(
                        db.commune_status.c.commune_code.in_(communes)
                    )
                ).scalars()
            )

    # --------------------------------------------------------------------- reading
    def commune_states(
        self, province_code: str | None = None, detail: bool = True
    ) -> list[CommuneState]:
        """Every commune (3,321), with its colour as of now; never-reported ones are grey.

        With ``detail=False`` each criterion carries only ``status`` and ``severity`` (no
        reasons or evidence): what roll-ups and metrics need, far cheaper to read.
        """
        now = self.clock()
        cs = db.commune_status
        q = select(
            cs.c.commune_code,
            cs.c.colour,
            cs.c.criteria if detail else cs.c.statuses,
            cs.c.last_report_at,
        )
        if province_code is not None:
            q = q.where(cs.c.province_code == province_code)
        with self.engine.connect() as conn:
            stored = {row.commune_code: row for row in conn.execute(q)}
        out = []
        codes: Iterable[str]
        if province_code is None:
            codes = self.units.communes
        else:
            codes = self.units.by_province[self.units.province(province_code).code]
        for code in codes:
            row = stored.get(code)
            commune = self.units.communes[code]
            if row is None:
                out.append(CommuneState(code, commune.province_code, Colour.GREY, {}, None))
                continue
            last = _aware(row.last_report_at)
            criteria = (
                row.criteria
                if detail
                else {
                    c: {"status": st[0], "severity": st[1], "since": st[2] if len(st) > 2 else None}
                    for c, st in row.statuses.items()
                }
            )
            out.append(
                CommuneState(
                    code,
                    commune.province_code,
                    colour_at(row.colour, last, now, self.stale_after_s),
                    criteria,
                    last,
                )
            )
        return out

    def commune_state(self, code: str) -> CommuneState:
        commune = self.units.commune(code)
        for state in self.commune_states(commune.province_code):
            if state.code == code:
                return state
        raise UnknownUnitError(code)  # unreachable: units and states agree

    def summary(self) -> dict[str, Any]:
        """National summary in the shape of ``GET /api/v1/summary``."""
        states = self.commune_states(detail=False)
        by_prov: dict[str, Counter[str]] = {p: Counter() for p in self.units.provinces}
        for s in states:
            by_prov[s.province_code][s.colour.value] += 1
        total: Counter[str] = Counter()
        rows = []
        for pcode, counts in by_prov.items():
            total.update(counts)
            n = len(self.units.by_province[pcode])
            rows.append(
                {
                    "code": pcode,
                    "name": self.units.provinces[pcode].name,
                    "communes": n,
                    **{c.value: counts.get(c.value, 0) for c in COLOURS},
                    "green_ratio": round(counts.get("green", 0) / n, 4) if n else 0.0,
                }
            )
        n_all = len(self.units.communes)
        return {
            "provinces": len(self.units.provinces),
            "communes": n_all,
            **{c.value: total.get(c.value, 0) for c in COLOURS},
            "green_ratio": round(total.get("green", 0) / n_all, 4),
            "generated_at": self.clock().isoformat(),
            "by_province": rows,
        }

    def latest_values(self) -> Iterator[Any]:
        """Latest numeric results of fresh agents, for exposition."""
        now = self.clock()
        a, lr = db.agents, db.latest_results
        q = (
            select(
                lr.c.agent_id,
                lr.c.commune_code,
                a.c.province_code,
                lr.c.host,
                lr.c.check_id,
                lr.c.target,
                lr.c.status,
                lr.c.figures,
            )
            .join(a, a.c.agent_id == lr.c.agent_id)
            .where(
                and_(
                    a.c.revoked.is_(False),
                    a.c.last_observed_at >= now - timedelta(seconds=self.stale_after_s),
                )
            )
        )
        with self.engine.connect() as conn:
            yield from conn.execute(q)

    def agent_rows(self) -> list[Any]:
        a = db.agents
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(
                        a.c.agent_id,
                        a.c.commune_code,
                        a.c.province_code,
                        a.c.host,
                        a.c.agent_version,
                        a.c.last_observed_at,
                        a.c.last_seen_at,
                        a.c.last_seq,
                        a.c.clock_skew_s,
                    ).where(a.c.revoked.is_(False))
                )
            )


def _with_since(
    ev: CommuneEvaluation, previous: dict[str, list[str]] | None, now: datetime
) -> dict[str, Any]:
    """The ``criteria`` and ``statuses`` columns: every outcome, each with the time it
    entered its current status (kept from ``previous`` statuses while unchanged)."""
    criteria, statuses = {}, {}
    stamp = now.isoformat()
    for cid, outcome in ev.criteria.items():
        item = outcome.to_json()
        prev = (previous or {}).get(cid)
        # [status, severity, since]; rows written before "since" was kept here have two.
        if prev and len(prev) > 2 and prev[0] == item["status"]:
            item["since"] = prev[2]
        else:
            item["since"] = stamp
        criteria[cid] = item
        statuses[cid] = [item["status"], item["severity"], item["since"]]
    return {"criteria": criteria, "statuses": statuses}
