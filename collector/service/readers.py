"""Reader tokens: read-only bearer tokens of a user, for scripts and the national system.

* A token is made for a user and reads what that user reads: the user's role gives the read
  rights, the user's scope the provinces (collector/domain/scope.py); it never changes
  anything (collector/api/deps.py lets it in only on the JSON API and the report downloads).
* It is shown once, when made; only its SHA-256 is stored (``hash_secret``, as the agents'
  tokens), with a name and an expiry (``reader_token_days`` by default, at most
  ``reader_token_max_days``).
* It stops working when revoked, when it expires, and while its user is disabled.
* Making one, revoking one and every refused use of one are audited (``token.create``,
  ``token.revoke``, ``token.refused``); the token itself never is.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from collector.domain.scope import NATIONAL, Scope
from collector.service.accounts import Accounts, AuthError, User
from collector.service.audit import Audit
from collector.service.base import Core, Service
from collector.service.identities import hash_secret
from collector.storage import schema as db
from collector.storage.codecs import as_utc

#: Every reader token starts so: a leaked one is recognised (secret scanners, logs).
PREFIX = "iocr_"
_NAME = re.compile(r"^[\w .:@/-]{0,64}$")


@dataclass(frozen=True)
class Reader:
    """A valid reader token: whose it is and which one (for the audit)."""

    user: User
    token_id: int


class ReaderTokens(Service):
    def __init__(self, core: Core, audit: Audit, accounts: Accounts) -> None:
        super().__init__(core)
        self.audit = audit
        self.accounts = accounts

    def create(
        self, username: str, days: int, name: str, actor: str, max_days: int, by: Scope = NATIONAL
    ) -> tuple[int, str]:
        """A new token of ``username`` valid ``days`` (1 .. ``max_days``): (id, token), made
        by an admin whose scope ``by`` covers the user's. The token is returned this once
        and never stored."""
        username = username.strip().lower()
        self.accounts.check_manages(username, by)
        if not 1 <= days <= max_days:
            raise AuthError(
                f"thời hạn {days} ngày: từ 1 đến {max_days} / validity {days} days: "
                f"1 to {max_days} (reader_token_max_days)"
            )
        if not _NAME.match(name):
            raise AuthError(f"token name {name[:70]!r}: at most 64 letters, digits, ' .:@/_-'")
        if self.accounts.user(username) is None:
            raise AuthError(f"no enabled user {username!r}")
        token = PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        with self.database.write() as conn:
            token_id = conn.execute(
                db.reader_tokens.insert()
                .values(
                    token_hash=hash_secret(token),
                    username=username,
                    name=name,
                    created_at=now,
                    expires_at=now + timedelta(days=days),
                )
                .returning(db.reader_tokens.c.id)
            ).scalar_one()
            self.audit.record(
                conn, actor, "token.create", username, token_id=token_id, name=name, days=days
            )
        return int(token_id), token

    def revoke(self, token_id: int, actor: str, by: Scope = NATIONAL) -> str:
        """Revoke a token by its id (as ``token list`` shows it), by an admin whose scope
        ``by`` covers its user's; returns its user."""
        t = db.reader_tokens
        with self.database.write() as conn:
            row = conn.execute(select(t.c.username).where(t.c.id == token_id)).first()
            if row is None:
                raise AuthError(f"no reader token {token_id}")
            self.accounts.check_manages(row.username, by)
            conn.execute(
                update(t)
                .where(t.c.id == token_id, t.c.revoked_at.is_(None))
                .values(revoked_at=self.clock())
            )
            self.audit.record(conn, actor, "token.revoke", row.username, token_id=token_id)
        return str(row.username)

    def tokens(self, username: str | None = None, by: Scope = NATIONAL) -> list[dict[str, Any]]:
        """Every token (of one user; of the users ``by`` covers), newest first, with whether
        it still works."""
        t = db.reader_tokens
        q = select(t).order_by(t.c.id.desc())
        if username:
            q = q.where(t.c.username == username.strip().lower())
        now = self.clock()
        with self.database.read() as conn:
            rows = conn.execute(q).all()
        if not by.national:
            covered = {u["username"] for u in self.accounts.list_users(by=by)}
            rows = [r for r in rows if r.username in covered]
        return [
            {
                "id": r.id,
                "username": r.username,
                "name": r.name,
                "created_at": as_utc(r.created_at).isoformat(),
                "expires_at": as_utc(r.expires_at).isoformat(),
                "revoked": r.revoked_at is not None,
                "active": r.revoked_at is None and as_utc(r.expires_at) > now,
            }
            for r in rows
        ]

    def reader(self, token: str, client: str = "") -> Reader | None:
        """The reader of a valid token, or None (audited with why: unknown, expired,
        revoked, its user disabled or gone)."""
        t = db.reader_tokens
        with self.database.read() as conn:
            row = conn.execute(
                select(t.c.id, t.c.username, t.c.expires_at, t.c.revoked_at).where(
                    t.c.token_hash == hash_secret(token)
                )
            ).first()
        user = None if row is None else self.accounts.user(row.username)
        why = _refusal(row, user, self.clock)
        if why is None and row is not None and user is not None:
            return Reader(user, int(row.id))
        with self.database.write() as conn:
            self.audit.record(
                conn,
                row.username if row is not None else "?",
                "token.refused",
                row.username if row is not None else "",
                reason=why,
                token_id=row.id if row is not None else None,
                client=client[:64],
            )
        return None


def _refusal(row: Any, user: User | None, clock: Any) -> str | None:
    if row is None:
        return "unknown"
    if row.revoked_at is not None:
        return "revoked"
    if as_utc(row.expires_at) <= clock():
        return "expired"
    if user is None:
        return "user disabled"
    return None
