"""Agent identities: enrollment codes, enrollment, tokens and revocation.

A token is stored only as its SHA-256 (``agents.token_hash``). Identities read are kept in a
process cache as a shortcut only: every write checks its token against the agents row in its
own transaction, so a revoked or replaced token writes nothing, whichever replica revoked it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, select, update

from checks.model import EnrollResponse
from collector.domain.errors import EnrollmentError
from collector.domain.units import Commune
from collector.service.base import Core, Service
from collector.storage import schema as db
from collector.storage.codecs import aware

if TYPE_CHECKING:
    from collector.service.audit import Audit
    from collector.service.evaluation import Evaluation

# Base32 without look-alike letters, for codes an installer types by hand.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#: Tokens remembered at most (a bound far above a nation's ~50,000 agents).
_MAX_IDENTITIES = 200_000
#: How often an agent reports, told to it when it enrolls.
REPORT_INTERVAL_S = 60


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy random token or code (no KDF needed: not a password)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token() -> str:
    """An agent's token: 256 random bits (stored only hashed, :func:`hash_secret`)."""
    return secrets.token_urlsafe(32)


def new_agent_id() -> str:
    return f"a-{secrets.token_hex(8)}"


def agent_row(
    agent_id: str, token: str, commune: Commune, host: str, agent_version: str, now: datetime
) -> dict[str, Any]:
    """A newly enrolled agent's row of ``agents``: its token stored hashed."""
    return {
        "agent_id": agent_id,
        "token_hash": hash_secret(token),
        "commune_code": commune.code,
        "province_code": commune.province_code,
        "host": host,
        "agent_version": agent_version,
        "enrolled_at": now,
        "last_seq": 0,
        "revoked": False,
    }


def enrolled(agent_id: str, token: str, commune: Commune) -> EnrollResponse:
    """What an agent is told when it has enrolled for ``commune``."""
    return EnrollResponse(
        agent_id=agent_id,
        token=token,
        commune_code=commune.code,
        province_code=commune.province_code,
        commune_name=commune.name,
        report_interval_s=REPORT_INTERVAL_S,
    )


def new_enrollment_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def code_id(code_hash: str) -> str:
    """How the audit log names an enrollment code: a prefix of its hash, enough to follow one
    code from issue to use, never the code itself."""
    return code_hash[:12]


@dataclass(frozen=True)
class AgentIdentity:
    agent_id: str
    commune_code: str
    province_code: str
    #: The hash of the token this identity was established with; a write checks it against
    #: the agents row in the same transaction ("" skips that check: in-process callers).
    token_hash: str = ""


class Identities(Service):
    def __init__(self, core: Core, audit: Audit, evaluation: Evaluation) -> None:
        super().__init__(core)
        self.audit = audit
        self.evaluation = evaluation
        #: token hash -> (identity, monotonic time it was read).
        self._cache: dict[str, tuple[AgentIdentity, float]] = {}
        self.cache_s = 3600.0

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
            with self.database.write() as conn:
                conn.execute(db.enrollment_codes.insert(), rows)
                self.audit.record_many(
                    conn,
                    (
                        self.audit.row(
                            now,
                            actor,
                            "enroll.code_issued",
                            str(r["commune_code"]),
                            code_id=code_id(str(r["code_hash"])),
                            expires_at=(now + ttl).isoformat(),
                        )
                        for r in rows
                    ),
                )
        return out

    def enroll(
        self, code: str, host: str, agent_version: str = "", *, client: str = ""
    ) -> EnrollResponse:
        """Trade a code for an agent identity and token. Success and every refusal are
        audited with the host and the client address (``enroll``, ``enroll.refused``)."""
        code_hash = hash_secret(code.strip().upper())
        try:
            return self._enroll(code_hash, host, agent_version, client)
        except EnrollmentError as exc:
            with self.database.write() as conn:
                self.audit.record(
                    conn,
                    client or "?",
                    "enroll.refused",
                    exc.commune,
                    reason=exc.reason,
                    code_id=code_id(code_hash),
                    host=host,
                    client=client,
                )
            raise

    def _claim(self, conn: Connection, code_hash: str, agent_id: str, now: datetime) -> Commune:
        """Use up the code (single use even under concurrent enrollments: only one UPDATE
        matches); its commune, or EnrollmentError saying why not."""
        ec = db.enrollment_codes.c
        row = conn.execute(select(db.enrollment_codes).where(ec.code_hash == code_hash)).first()
        if row is None:
            raise EnrollmentError("enrollment code not recognised", reason="unknown")
        used = EnrollmentError(
            "enrollment code already used: ask for a new one",
            reason="used",
            commune=row.commune_code,
        )
        if row.used_at is not None:
            raise used
        expires_at = aware(row.expires_at)
        if expires_at is None or expires_at <= now:
            day = expires_at.date().isoformat() if expires_at else "?"
            raise EnrollmentError(
                f"enrollment code expired on {day}: ask for a new one",
                reason="expired",
                commune=row.commune_code,
            )
        commune = self.units.commune(row.commune_code)
        claimed = conn.execute(
            update(db.enrollment_codes)
            .where(and_(ec.code_hash == code_hash, ec.used_at.is_(None)))
            .values(used_at=now, used_by=agent_id)
        ).rowcount
        if claimed != 1:
            raise used
        return commune

    def _enroll(self, code_hash: str, host: str, agent_version: str, client: str) -> EnrollResponse:
        now = self.clock()
        token, agent_id = new_token(), new_agent_id()
        a = db.agents.c
        with self.database.write() as conn:
            commune = self._claim(conn, code_hash, agent_id, now)
            # The same machine enrolling again (new install, lost state): say which
            # identities it replaces, so an administrator can revoke them.
            previous = sorted(
                conn.execute(
                    select(a.agent_id).where(
                        and_(a.commune_code == commune.code, a.host == host, a.revoked.is_(False))
                    )
                ).scalars()
            )
            conn.execute(
                db.agents.insert().values(
                    agent_row(agent_id, token, commune, host, agent_version, now)
                )
            )
            extra = {"replaces": previous} if previous else {}
            self.audit.record(
                conn,
                agent_id,
                "enroll.reenroll" if previous else "enroll",
                commune.code,
                code_id=code_id(code_hash),
                host=host,
                client=client,
                agent_version=agent_version,
                **extra,
            )
        return enrolled(agent_id, token, commune)

    def revoke_agent(self, agent_id: str, actor: str, reason: str = "") -> bool:
        """Revoke an agent's token (its reports stop counting at once); audited as
        ``agent.revoke``. False when there is no such agent or it was revoked already."""
        a = db.agents.c
        with self.database.write() as conn:
            row = conn.execute(
                select(a.commune_code, a.host, a.revoked).where(a.agent_id == agent_id)
            ).first()
            if row is None or row.revoked:
                return False
            conn.execute(update(db.agents).where(a.agent_id == agent_id).values(revoked=True))
            self.audit.record(
                conn,
                actor,
                "agent.revoke",
                row.commune_code,
                agent_id=agent_id,
                host=row.host,
                reason=reason,
            )
        self._cache = {h: hit for h, hit in self._cache.items() if hit[0].agent_id != agent_id}
        self.evaluation.reevaluate_reported({str(row.commune_code)})
        return True

    # ---------------------------------------------------------------------- tokens
    @staticmethod
    def _identity(row: Any) -> AgentIdentity:
        return AgentIdentity(row.agent_id, row.commune_code, row.province_code, row.token_hash)

    def load_identities(self) -> int:
        """Remember every agent's token (its hash) at once, as :meth:`authenticate` would
        one report at a time: after a restart, the agents' next reports need no database
        read before their write. Returns how many were loaded."""
        a = db.agents.c
        with self.database.read() as conn:
            rows = conn.execute(
                select(a.agent_id, a.commune_code, a.province_code, a.token_hash)
                .where(a.revoked.is_(False))
                .limit(_MAX_IDENTITIES)
            ).all()
        now = time.monotonic()
        loaded = {row.token_hash: (self._identity(row), now) for row in rows}
        self._cache = loaded | self._cache  # what requests found meanwhile wins
        return len(loaded)

    def cached_identity(self, token: str) -> AgentIdentity | None:
        """The identity of a token checked less than ``cache_s`` ago, without touching the
        database (None: ask :meth:`authenticate`)."""
        hit = self._cache.get(hash_secret(token))
        if hit is None or time.monotonic() - hit[1] > self.cache_s:
            return None
        return hit[0]

    def authenticate(self, token: str) -> AgentIdentity | None:
        token_hash = hash_secret(token)
        a = db.agents.c
        with self.database.read() as conn:
            row = conn.execute(
                select(a.agent_id, a.commune_code, a.province_code, a.token_hash, a.revoked).where(
                    a.token_hash == token_hash
                )
            ).first()
        if row is None or row.revoked or not hmac.compare_digest(row.token_hash, token_hash):
            self.forget(token_hash)
            return None
        identity = self._identity(row)
        if len(self._cache) > _MAX_IDENTITIES:
            self._cache.clear()
        self._cache[token_hash] = (identity, time.monotonic())
        return identity

    def forget(self, token_hash: str) -> None:
        """Drop a token from the cache (found revoked or replaced by a write)."""
        self._cache.pop(token_hash, None)
