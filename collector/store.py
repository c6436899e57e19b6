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
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from pydantic import TypeAdapter
from sqlalchemy import (
    Connection,
    Engine,
    String,
    and_,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from checks.model import CheckResult, EnrollResponse, IngestResponse, Report, utcnow
from collector import db
from collector.criteria.catalogue import Catalogue
from collector.criteria.engine import (
    COLOURS,
    Attestation,
    Colour,
    CommuneEvaluation,
    HostFindings,
    Observation,
    Waiver,
    colour_at,
    compile_catalogue,
    evaluate_findings,
    evaluate_verdicts,
    host_findings,
    host_verdict,
)
from collector.domain.errors import (
    BadRequestError,
    DomainError,
    EnrollmentError,
    ForbiddenError,
    TokenRefusedError,
    UnknownCommuneError,
)
from collector.units import Units, UnknownUnitError

# Base32 without look-alike letters, for codes an installer types by hand.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


#: Kept as the name the web forms and attestation code use for "the input is refused".
StoreError = BadRequestError


#: Tokens remembered at most (a bound far above a nation's ~50,000 agents).
_MAX_IDENTITIES = 200_000


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy random token or code (no KDF needed: not a password)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_enrollment_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _normalise_code(code: str) -> str:
    return code.strip().upper()


def code_id(code_hash: str) -> str:
    """How the audit log names an enrollment code: a prefix of its hash, enough to follow one
    code from issue to use, never the code itself."""
    return code_hash[:12]


def _audit(conn: Connection, at: datetime, actor: str, action: str, target: str,
           **detail: Any) -> None:
    """An audit-log row (the table collector/auth.py reads), in the caller's transaction."""
    conn.execute(
        db.audit_log.insert().values(
            at=at, actor=actor[:64], action=action, target=target[:64], detail=detail
        )
    )


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
    #: The hash of the token this identity was established with; a write checks it against
    #: the agents row in the same transaction ("" skips that check: in-process callers).
    token_hash: str = ""


_RESULTS = TypeAdapter(list[CheckResult])
_LOCK_COMMUNES = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM "
    "(SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS wanted"
)


class LatestValue(NamedTuple):
    """One check's latest result on one host, as /metrics exposes it."""

    agent_id: str
    commune_code: str
    province_code: str
    host: str
    check_id: str
    target: str
    status: str
    figures: dict[str, list[Any]]  # value name -> [value, unit]


# An agent's latest results (``agents.latest``): "check<TAB>target" -> this list.
_L_CHECK, _L_TARGET, _L_CATEGORY, _L_STATUS, _L_MESSAGE, _L_OBSERVED, _L_SEQ, _L_FIGURES = range(8)


def _observations(host: str, latest: dict[str, list[Any]]) -> list[Observation]:
    return [
        Observation(
            host=host,
            check=e[_L_CHECK],
            target=e[_L_TARGET],
            status=e[_L_STATUS],
            values={k: v[0] for k, v in e[_L_FIGURES].items()},
            message=e[_L_MESSAGE],
            observed_at=as_utc(datetime.fromisoformat(e[_L_OBSERVED])),
        )
        for e in latest.values()
    ]


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
        #: token hash -> (identity, monotonic time it was read). Only a shortcut: every
        #: write checks the token against the agents row inside its own transaction, so a
        #: revoked or replaced token writes nothing, whichever replica revoked it.
        self._identities: dict[str, tuple[AgentIdentity, float]] = {}
        self.identity_cache_s = 3600.0

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
        self,
        commune_codes: Iterable[str],
        ttl: timedelta = timedelta(days=7),
        *,
        actor: str = "cli",
    ) -> list[tuple[str, str]]:
        """Issue one single-use code per commune; returns (commune_code, code) pairs.
        Each issue is audited (``enroll.code_issued``, the code named by :func:`code_id`)."""
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
                conn.execute(
                    db.audit_log.insert(),
                    [
                        {
                            "at": now,
                            "actor": actor[:64],
                            "action": "enroll.code_issued",
                            "target": r["commune_code"],
                            "detail": {
                                "code_id": code_id(str(r["code_hash"])),
                                "expires_at": (now + ttl).isoformat(),
                            },
                        }
                        for r in rows
                    ],
                )
        return out

    def enroll(
        self, code: str, host: str, agent_version: str = "", *, client: str = ""
    ) -> EnrollResponse:
        """Trade a code for an agent identity and token. Success and every refusal are
        audited with the host and the client address (``enroll``, ``enroll.refused``)."""
        now = self.clock()
        code_hash = hash_secret(_normalise_code(code))
        try:
            return self._enroll(code_hash, host, agent_version, client, now)
        except EnrollmentError as exc:
            with self._write() as conn:
                _audit(conn, now, client or "?", "enroll.refused", exc.commune,
                       reason=exc.reason, code_id=code_id(code_hash), host=host, client=client)
            raise

    def _enroll(
        self, code_hash: str, host: str, agent_version: str, client: str, now: datetime
    ) -> EnrollResponse:
        token = secrets.token_urlsafe(32)
        agent_id = f"a-{secrets.token_hex(8)}"
        with self._write() as conn:
            row = conn.execute(
                select(db.enrollment_codes).where(db.enrollment_codes.c.code_hash == code_hash)
            ).first()
            if row is None:
                raise EnrollmentError("enrollment code not recognised", reason="unknown")
            if row.used_at is not None:
                raise EnrollmentError(
                    "enrollment code already used: ask for a new one",
                    reason="used", commune=row.commune_code,
                )
            expires_at = _aware(row.expires_at)
            assert expires_at is not None
            if expires_at <= now:
                raise EnrollmentError(
                    f"enrollment code expired on {expires_at.date().isoformat()}: "
                    "ask for a new one",
                    reason="expired", commune=row.commune_code,
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
                raise EnrollmentError(
                    "enrollment code already used: ask for a new one",
                    reason="used", commune=row.commune_code,
                )
            a = db.agents.c
            # The same machine enrolling again (new install, lost state): say which
            # identities it replaces, so an administrator can revoke them.
            previous = sorted(
                conn.execute(
                    select(a.agent_id).where(
                        and_(a.commune_code == commune.code, a.host == host,
                             a.revoked.is_(False))
                    )
                ).scalars()
            )
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
            extra = {"replaces": previous} if previous else {}
            _audit(conn, now, agent_id, "enroll.reenroll" if previous else "enroll",
                   commune.code, code_id=code_id(code_hash), host=host, client=client,
                   agent_version=agent_version, **extra)
        return EnrollResponse(
            agent_id=agent_id,
            token=token,
            commune_code=commune.code,
            province_code=commune.province_code,
            commune_name=commune.name,
            report_interval_s=60,
        )

    def revoke_agent(self, agent_id: str, actor: str, reason: str = "") -> bool:
        """Revoke an agent's token (its reports stop counting at once); audited as
        ``agent.revoke``. False when there is no such agent or it was revoked already."""
        now = self.clock()
        a = db.agents.c
        with self._write() as conn:
            row = conn.execute(
                select(a.commune_code, a.host, a.revoked).where(a.agent_id == agent_id)
            ).first()
            if row is None or row.revoked:
                return False
            conn.execute(update(db.agents).where(a.agent_id == agent_id).values(revoked=True))
            _audit(conn, now, actor, "agent.revoke", row.commune_code, agent_id=agent_id,
                   host=row.host, reason=reason)
        self._identities = {
            h: hit for h, hit in self._identities.items() if hit[0].agent_id != agent_id
        }
        touched = {str(row.commune_code)}
        self.reevaluate(touched & self._reported_communes(touched))
        return True

    def load_identities(self) -> int:
        """Remember every agent's token (its hash) at once, as :meth:`authenticate` would
        one report at a time: after a restart, the agents' next reports need no database
        read before their write (each write still checks its token in its transaction).
        Returns how many were loaded."""
        a = db.agents.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(a.agent_id, a.commune_code, a.province_code, a.token_hash)
                .where(a.revoked.is_(False))
                .limit(_MAX_IDENTITIES)
            ).all()
        now = time.monotonic()
        loaded = {
            row.token_hash: (
                AgentIdentity(row.agent_id, row.commune_code, row.province_code, row.token_hash),
                now,
            )
            for row in rows
        }
        self._identities = loaded | self._identities  # what requests found meanwhile wins
        return len(loaded)

    def cached_identity(self, token: str) -> AgentIdentity | None:
        """The identity of a token checked less than ``identity_cache_s`` ago, without
        touching the database (None: ask :meth:`authenticate`)."""
        hit = self._identities.get(hash_secret(token))
        if hit is None or time.monotonic() - hit[1] > self.identity_cache_s:
            return None
        return hit[0]

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
            self._identities.pop(token_hash, None)
            return None
        identity = AgentIdentity(row.agent_id, row.commune_code, row.province_code, token_hash)
        if len(self._identities) > _MAX_IDENTITIES:
            self._identities.clear()
        self._identities[token_hash] = (identity, time.monotonic())
        return identity

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
        if isinstance(outcome, DomainError):
            raise outcome
        return outcome

    def ingest_many(
        self, batches: list[tuple[AgentIdentity, list[Report]]]
    ) -> list[IngestResponse | DomainError]:
        """Group commit: store the batches of several agents in ONE transaction.

        Each batch is all-or-nothing and answered on its own (a refused batch does not
        affect the others); the accepted ones are committed, with their communes
        re-evaluated, before this returns. Reports already stored (same agent_id and seq)
        are acknowledged again and not stored twice.
        """
        outcomes: list[IngestResponse | DomainError | None] = [None] * len(batches)
        valid: list[int] = []
        for i, (agent, reports) in enumerate(batches):
            try:
                self.check_batch(agent, reports)
            except DomainError as exc:
                outcomes[i] = exc
            else:
                valid.append(i)
        if valid:
            now = self.clock()
            server_time = utcnow()
            with self._write() as conn:
                self._lock_communes(conn, {batches[i][0].commune_code for i in valid})
                a = db.agents.c
                rows = {
                    row.agent_id: row
                    for row in conn.execute(
                        select(a.agent_id, a.token_hash, a.revoked, a.latest, a.last_seq).where(
                            a.agent_id.in_({batches[i][0].agent_id for i in valid})
                        )
                    )
                }
                for i in list(valid):
                    agent = batches[i][0]
                    row = rows.get(agent.agent_id)
                    if agent.token_hash and (
                        row is None or row.revoked or row.token_hash != agent.token_hash
                    ):
                        self._identities.pop(agent.token_hash, None)
                        outcomes[i] = TokenRefusedError("unknown or revoked token")
                        valid.remove(i)
                if not valid:
                    return [o for o in outcomes if o is not None]
                # A report can be stored already only if its seq is not above its agent's
                # last stored seq (kept in the same transactions as the reports): in the
                # steady state, every seq is new and the reports table is not read at all.
                # (An in-process caller's identity, without a token, may have no row.)
                last_seq = {aid: row.last_seq for aid, row in rows.items()}
                maybe_stored = [
                    (batches[i][0].agent_id, r.seq)
                    for i in valid
                    for r in batches[i][1]
                    if r.seq <= last_seq.get(batches[i][0].agent_id, 0)
                ]
                existing: set[tuple[str, int]] = set()
                if maybe_stored:
                    rep = db.reports.c
                    existing = {
                        (row.agent_id, row.seq)
                        for row in conn.execute(
                            select(rep.agent_id, rep.seq).where(
                                and_(
                                    rep.agent_id.in_({aid for aid, _ in maybe_stored}),
                                    rep.seq.in_({seq for _, seq in maybe_stored}),
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
                    previous = {aid: row.latest for aid, row in rows.items()}
                    known = self._store_reports(conn, to_store, now, previous)
                    # Colours and statuses now; reasons and evidence when first asked for.
                    self._evaluate(
                        conn, sorted({a.commune_code for a, _ in to_store}), now, known,
                        detail=False,
                    )
        return [o for o in outcomes if o is not None]

    def _among(self, column: Any, codes: list[str]) -> Any:
        """``column IN codes``; on PostgreSQL as ``= ANY(array)``, one parameter however
        many codes (an IN list of hundreds of parameters cost more to plan than to run)."""
        if self._sqlite:
            return column.in_(codes)
        return column == func.any(bindparam(None, list(codes), type_=ARRAY(String)))

    def _lock_communes(self, conn: Connection, commune_codes: Iterable[str]) -> None:
        """Serialise writers of the same communes across collector replicas (PostgreSQL), so
        that an evaluation always sees every report committed before it: one statement
        taking the locks in ascending order (no deadlock between replicas). SQLite has one
        writer."""
        if self._sqlite:
            return
        keys = sorted({int(c) for c in commune_codes})
        if keys:
            conn.execute(_LOCK_COMMUNES, {"keys": keys})

    def _store_reports(
        self,
        conn: Connection,
        batches: list[tuple[AgentIdentity, list[Report]]],
        now: datetime,
        previous: dict[str, dict[str, list[Any]] | None],
    ) -> dict[str, HostFindings]:
        """Insert the new reports, merge their results into each agent's latest results
        (``previous``: as stored) and judge those against the catalogue: two bulk statements
        for the whole group. Returns each agent's fresh findings for the evaluation that
        follows."""
        a = db.agents.c
        report_rows: list[dict[str, Any]] = []
        agent_rows: list[dict[str, Any]] = []
        found: dict[str, HostFindings] = {}
        for agent, new in batches:
            latest: dict[str, list[Any]] = dict(previous.get(agent.agent_id) or {})
            for r in new:  # in seq order: a later report's result replaces an earlier one
                report_rows.append(
                    {
                        "agent_id": r.agent_id,
                        "seq": r.seq,
                        "commune_code": r.commune_code,
                        "host": r.host,
                        "observed_at": r.observed_at,
                        "received_at": now,
                        "results": _RESULTS.dump_json(r.results).decode(),
                    }
                )
                for res in r.results:
                    key = f"{res.check}\t{res.target}"
                    prior = latest.get(key)
                    if prior is not None and prior[_L_SEQ] > r.seq:
                        continue  # a late retry of an older report: keep the newer result
                    latest[key] = [
                        res.check,
                        res.target,
                        res.category.value,
                        res.status.value,
                        res.message,
                        # An agent's clock may run ahead: never look fresher than now.
                        min(res.observed_at, now).isoformat(),
                        r.seq,
                        {k: [v.value, v.unit] for k, v in res.values.items()},
                    ]
            newest = new[-1]
            findings = found[agent.agent_id] = host_findings(
                self.catalogue, _observations(newest.host, latest)
            )
            agent_rows.append(
                {
                    "b_agent_id": agent.agent_id,
                    "b_seq": newest.seq,
                    "b_observed": min(max(r.observed_at for r in new), now),
                    "b_host": newest.host,
                    "b_version": newest.agent_version,
                    "b_skew": (newest.observed_at - now).total_seconds(),
                    "b_latest": latest,
                    "b_findings": findings.to_json(),
                    "b_verdict": host_verdict(self.catalogue, findings),
                }
            )
        # ON CONFLICT DO NOTHING: a replica racing us on the same (agent_id, seq) is a no-op.
        conn.execute(
            self._insert(db.reports).on_conflict_do_nothing(index_elements=["agent_id", "seq"]),
            report_rows,
        )
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
                latest=bindparam("b_latest"),
                findings=bindparam("b_findings"),
                verdict=bindparam("b_verdict"),
            ),
            agent_rows,
        )
        return found

    # ------------------------------------------------------------------ evaluation
    def _refresh_findings(
        self, conn: Connection, agent_ids: Iterable[str]
    ) -> dict[str, HostFindings]:
        """Judge agents' stored latest results again (after a catalogue change) and keep the
        outcome in ``agents.findings`` and ``agents.verdict``."""
        ids = sorted(set(agent_ids))
        if not ids:
            return {}
        a = db.agents.c
        found = {
            row.agent_id: host_findings(self.catalogue, _observations(row.host, row.latest or {}))
            for row in conn.execute(
                select(a.agent_id, a.host, a.latest).where(a.agent_id.in_(ids))
            )
        }
        if found:
            conn.execute(
                update(db.agents)
                .where(a.agent_id == bindparam("b_agent_id"))
                .values(findings=bindparam("b_findings"), verdict=bindparam("b_verdict")),
                [
                    {
                        "b_agent_id": i,
                        "b_findings": f.to_json(),
                        "b_verdict": host_verdict(self.catalogue, f),
                    }
                    for i, f in found.items()
                ],
            )
        return found

    def _evaluate(
        self,
        conn: Connection,
        communes: list[str],
        now: datetime,
        known: dict[str, HostFindings] | None = None,
        *,
        detail: bool = True,
    ) -> None:
        """Evaluate ``communes`` from their fresh hosts' stored findings (``known``: ones
        just computed) and record when each may next change without a new report.

        With ``detail=False``, only the colour and each criterion's status, from the hosts'
        verdicts (a few bytes each instead of their findings' reasons and evidence); the
        commune's ``criteria`` are then marked ``detail_pending`` for :meth:`fill_details`.
        """
        stale = timedelta(seconds=self.stale_after_s)
        fresh_since = now - stale
        fingerprint = compile_catalogue(self.catalogue).fingerprint
        fingerprint_prefix = fingerprint + ":"
        known = known or {}
        a = db.agents.c
        hosts: dict[str, list[tuple[str, str, HostFindings | None]]] = {c: [] for c in communes}
        verdicts: dict[str, list[str]] = {c: [] for c in communes}
        stale_verdicts: list[tuple[str, str]] = []
        last_report: dict[str, datetime | None] = dict.fromkeys(communes)
        due: dict[str, datetime | None] = dict.fromkeys(communes)
        oldest_fresh: dict[str, datetime | None] = dict.fromkeys(communes)
        redo: list[str] = []
        # Due again when a host turns stale (just after, so that it then counts as stale).
        stale_after = stale + timedelta(seconds=1)
        # Every host of the communes that has reported (the stale ones count only for the
        # last report), in one statement: every column read is in ix_agents_commune_verdict.
        for agent_id, code, host, verdict, observed in conn.execute(
            select(a.agent_id, a.commune_code, a.host, a.verdict, a.last_observed_at).where(
                and_(
                    self._among(a.commune_code, communes),
                    a.revoked.is_(False),
                    a.last_observed_at.is_not(None),
                )
            )
        ):
            seen = as_utc(observed)
            previous_seen = last_report[code]
            if previous_seen is None or seen > previous_seen:
                last_report[code] = seen
            if seen < fresh_since:
                continue
            oldest = oldest_fresh[code]
            if oldest is None or seen < oldest:
                oldest_fresh[code] = seen
            if detail:
                hosts[code].append((host, agent_id, known.get(agent_id)))
            elif verdict and verdict.startswith(fingerprint_prefix):
                verdicts[code].append(verdict)
            else:  # never judged, or judged under another catalogue
                stale_verdicts.append((code, agent_id))
        for code in communes:
            oldest = oldest_fresh[code]
            if oldest is not None:
                due[code] = oldest + stale_after
        if stale_verdicts:
            judged = self._refresh_findings(conn, [aid for _, aid in stale_verdicts])
            for code, aid in stale_verdicts:
                verdicts[code].append(host_verdict(self.catalogue, judged[aid]))
        wanted = [aid for hs in hosts.values() for _, aid, f in hs if f is None]
        stored: dict[str, HostFindings] = {}
        if wanted:
            for frow in conn.execute(
                select(a.agent_id, a.findings).where(a.agent_id.in_(wanted))
            ):
                if frow.findings and frow.findings.get("v") == fingerprint:
                    stored[frow.agent_id] = HostFindings.from_json(frow.findings)
                else:  # never judged, or judged under another catalogue
                    redo.append(frow.agent_id)
            stored.update(self._refresh_findings(conn, redo))
        atts: dict[str, list[Attestation]] = {c: [] for c in communes}
        for row in conn.execute(
            select(db.attestations).where(self._among(db.attestations.c.commune_code, communes))
        ):
            att = Attestation(
                criterion_id=row.criterion_id,
                status=row.status,
                evidence=row.evidence,
                entered_by=row.entered_by,
                entered_at=_aware(row.entered_at) or now,
                expires_at=_aware(row.expires_at) or now,
            )
            atts[row.commune_code].append(att)
            if att.expires_at > now:
                due[row.commune_code] = min(filter(None, (due[row.commune_code], att.expires_at)))
        wvs: dict[str, list[Waiver]] = {c: [] for c in communes}
        for row in conn.execute(
            select(db.waivers).where(self._among(db.waivers.c.commune_code, communes))
        ):
            wv = Waiver(
                criterion_id=row.criterion_id,
                reason=row.reason,
                granted_by=row.granted_by,
                expires_at=_aware(row.expires_at) or now,
            )
            wvs[row.commune_code].append(wv)
            if wv.expires_at > now:
                due[row.commune_code] = min(filter(None, (due[row.commune_code], wv.expires_at)))
        # Previous statuses (the compact column), to keep each criterion's "since".
        previous = {
            row.commune_code: row.statuses
            for row in conn.execute(
                select(db.commune_status.c.commune_code, db.commune_status.c.statuses).where(
                    self._among(db.commune_status.c.commune_code, communes)
                )
            )
        }
        rows: list[dict[str, Any]] = []
        details: list[dict[str, Any]] = []
        if not detail:
            stamp = now.isoformat()
            for code in communes:
                commune = self.units.commune(code)
                colour, statuses = evaluate_verdicts(
                    self.catalogue, commune.kind, verdicts[code], atts[code], wvs[code], now
                )
                rows.append(
                    {
                        "commune_code": code,
                        "province_code": commune.province_code,
                        "colour": colour.value,
                        "statuses": _statuses_since(statuses, previous.get(code), stamp),
                        "evaluated_at": now,
                        "last_report_at": last_report[code],
                        "next_eval_at": due[code],
                        "detail_pending": True,
                    }
                )
            self._upsert_status(conn, rows)
            return
        for code in communes:
            commune = self.units.commune(code)
            found = [f or stored[aid] for _, aid, f in sorted(hosts[code])]
            ev = evaluate_findings(
                self.catalogue, commune.kind, found, atts[code], wvs[code], now
            )
            criteria, with_since = _with_since(ev, previous.get(code), now)
            rows.append(
                {
                    "commune_code": code,
                    "province_code": commune.province_code,
                    "colour": ev.colour.value,
                    "statuses": with_since,
                    "evaluated_at": now,
                    "last_report_at": last_report[code],
                    "next_eval_at": due[code],
                    "detail_pending": False,
                }
            )
            details.append({"commune_code": code, "criteria": criteria})
        self._upsert_status(conn, rows, details)

    def _upsert_status(
        self,
        conn: Connection,
        rows: list[dict[str, Any]],
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        stmt = self._insert(db.commune_status)
        stmt = stmt.on_conflict_do_update(
            index_elements=["commune_code"],
            set_={c: stmt.excluded[c] for c in rows[0] if c != "commune_code"},
        )
        conn.execute(stmt, rows)
        if details:
            dstmt = self._insert(db.commune_details)
            dstmt = dstmt.on_conflict_do_update(
                index_elements=["commune_code"], set_={"criteria": dstmt.excluded.criteria}
            )
            conn.execute(dstmt, details)

    def due_communes(self, now: datetime | None = None) -> list[str]:
        """Communes whose evaluation may have changed with no new report: one of their
        hosts turned stale, or an attestation or waiver expired (``next_eval_at``
        passed), plus communes with agents but no evaluation yet."""
        now = now or self.clock()
        cs, a = db.commune_status.c, db.agents.c
        with self.engine.connect() as conn:
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
        Works in transactions of ``chunk`` communes (100, or 1,000 without details), so
        that ingest (which needs the write lock on SQLite) never waits long behind a big
        pass. Returns how many were evaluated.

        ``detail``: whether to evaluate reasons and evidence too, or only colours and
        statuses (from the hosts' verdicts, several times faster; the details are then
        pending, see :meth:`fill_details`). By default the minute-by-minute pass does not,
        and an evaluation of named communes or a full one does."""
        if detail is None:
            detail = communes is not None or full
        if chunk is None:  # each transaction holds SQLite's write lock ~0.1-0.3 s at most
            chunk = 100 if detail else 1000
        now = self.clock()
        if communes is not None:
            codes = sorted(set(communes))
        elif full:
            with self.engine.connect() as conn:
                codes = sorted(
                    set(conn.execute(select(db.agents.c.commune_code).distinct()).scalars())
                )
        else:
            codes = self.due_communes(now)
        for i in range(0, len(codes), chunk):
            part = codes[i : i + chunk]
            with self._write() as conn:
                self._lock_communes(conn, part)
                known = None
                if full:
                    a = db.agents.c
                    known = self._refresh_findings(
                        conn,
                        conn.execute(
                            select(a.agent_id).where(
                                and_(self._among(a.commune_code, part), a.revoked.is_(False))
                            )
                        ).scalars(),
                    )
                self._evaluate(conn, part, now, known, detail=detail)
        return len(codes)

    def pending_details(self, province_code: str | None = None) -> list[str]:
        """Communes whose colour and statuses are newer than their reasons and evidence."""
        cs = db.commune_status.c
        q = select(cs.commune_code).where(cs.detail_pending.is_(True))
        if province_code is not None:
            q = q.where(cs.province_code == province_code)
        with self.engine.connect() as conn:
            return sorted(conn.execute(q).scalars())

    def fill_details(self, province_code: str | None = None, chunk: int | None = None) -> int:
        """Evaluate, reasons and evidence included, the communes whose details are pending
        (of one province); returns how many. Ingest and the periodic pass decide colours
        and statuses only; the details are evaluated when first asked for (a commune's page,
        report or API answer: :meth:`commune_state`), or by this. The statuses it writes are
        those already stored, unless a report or time changed them since."""
        codes = self.pending_details(province_code)
        if codes:
            self.reevaluate(codes, chunk, detail=True)
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
        if detail:
            # Reasons and evidence as of the latest statuses: what ingest and the pass left
            # pending here is evaluated now.
            self.fill_details(province_code)
        return self._read_states(province_code, detail)

    def _read_states(
        self,
        province_code: str | None,
        detail: bool,
        only: str | None = None,
        conn: Connection | None = None,
    ) -> list[CommuneState]:
        """Every commune of ``province_code`` (or of the nation), or just commune ``only``;
        read through ``conn`` when given."""
        now = self.clock()
        cs, cd = db.commune_status, db.commune_details
        if detail:
            q = select(
                cs.c.commune_code, cs.c.colour, cd.c.criteria, cs.c.last_report_at
            ).select_from(cs.outerjoin(cd, cd.c.commune_code == cs.c.commune_code))
        else:
            q = select(cs.c.commune_code, cs.c.colour, cs.c.statuses, cs.c.last_report_at)
        if only is not None:
            q = q.where(cs.c.commune_code == only)
        elif province_code is not None:
            q = q.where(cs.c.province_code == province_code)
        with nullcontext(conn) if conn is not None else self.engine.connect() as reading:
            stored = {row.commune_code: row for row in reading.execute(q)}
        out = []
        codes: Iterable[str]
        if only is not None:
            codes = [only]
        elif province_code is None:
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
                (row.criteria or {})
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
        """One commune, reasons and evidence included (evaluated first if still pending)."""
        self.units.commune(code)  # an unknown code is refused
        cs, a = db.commune_status.c, db.agents.c
        ours = compile_catalogue(self.catalogue).fingerprint + ":"
        with self.engine.connect() as conn:
            pending = conn.execute(
                select(cs.detail_pending).where(cs.commune_code == code)
            ).scalar_one_or_none()
            # Hosts judged under other rules than this store's: another collector's
            # catalogue (a command run without the collector's --config, a replica that has
            # not reloaded yet), or a newer one.
            foreign = pending and conn.execute(
                select(func.count()).where(
                    a.commune_code == code,
                    a.revoked.is_(False),
                    a.verdict.is_not(None),
                    a.verdict.not_like(ours + "%"),
                )
            ).scalar_one()
        if foreign:
            # Evaluated under this store's rules for this reader only, and rolled back: what
            # the collector stored under its own rules stays as it is.
            with self._write_lock or nullcontext(), self.engine.connect() as conn:
                tx = conn.begin()
                try:
                    self._evaluate(conn, [code], self.clock(), detail=True)
                    [state] = self._read_states(None, detail=True, only=code, conn=conn)
                finally:
                    tx.rollback()
            return state
        if pending:
            self.reevaluate([code], detail=True)
        [state] = self._read_states(None, detail=True, only=code)
        return state

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

    def latest_values(self, province: str | None = None) -> Iterator[LatestValue]:
        """Latest results of fresh agents (of one ``province``), for exposition."""
        now = self.clock()
        a = db.agents.c
        q = select(a.agent_id, a.commune_code, a.province_code, a.host, a.latest).where(
            and_(
                a.revoked.is_(False),
                a.last_observed_at >= now - timedelta(seconds=self.stale_after_s),
            )
        )
        if province is not None:
            q = q.where(a.province_code == province)
        with self.engine.connect() as conn:
            for row in conn.execute(q):
                for e in (row.latest or {}).values():
                    yield LatestValue(
                        row.agent_id, row.commune_code, row.province_code, row.host,
                        e[_L_CHECK], e[_L_TARGET], e[_L_STATUS], e[_L_FIGURES],
                    )

    def agent_rows(self, province: str | None = None) -> list[Any]:
        a = db.agents
        q = select(
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
        if province is not None:
            q = q.where(a.c.province_code == province)
        with self.engine.connect() as conn:
            return list(conn.execute(q))


def _statuses_since(
    statuses: dict[str, tuple[str, str]],
    previous: dict[str, list[str]] | None,
    stamp: str,
) -> dict[str, list[str]]:
    """The ``statuses`` column from a verdict evaluation, keeping each criterion's "since"
    from ``previous`` while its status is unchanged (as :func:`_with_since`); ``stamp``:
    now, in ISO format."""
    previous = previous or {}
    out = {}
    for cid, (status, severity) in statuses.items():
        prev = previous.get(cid)
        since = prev[2] if prev and len(prev) > 2 and prev[0] == status else stamp
        out[cid] = [status, severity, since]
    return out


def _with_since(
    ev: CommuneEvaluation, previous: dict[str, list[str]] | None, now: datetime
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The ``criteria`` (commune_details) and ``statuses`` (commune_status) columns: every
    outcome, each with the time it entered its current status (kept from ``previous``
    statuses while unchanged)."""
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
    return criteria, statuses
