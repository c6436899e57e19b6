"""People who read the web pages and reports: users, roles, login sessions and the audit log.

* Passwords are hashed with scrypt (``hashlib.scrypt``, RFC 7914) with a random salt; the
  parameters are stored with each hash so they can be raised later.
* A login session is a random token in an HttpOnly, SameSite=Lax cookie; only its SHA-256 is
  stored, with an expiry, in the ``sessions`` table (several collectors share the database).
* Each session carries a CSRF token that every form posts back.
* Roles are ordered: viewer (officials read) < operator (IOC: attestations, waivers) < admin
  (users). Agents' bearer tokens are a different thing and open no page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, delete, select, update

from collector.domain.errors import BadRequestError
from collector.service.audit import Audit
from collector.service.base import Core, Service
from collector.service.identities import hash_secret
from collector.storage import schema as db
from collector.storage.codecs import as_utc


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}

#: scrypt cost: n=2**14, r=8, p=1 needs 16 MiB and ~50 ms — OWASP's minimum recommendation.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LEN = 8
SESSION_TTL = timedelta(hours=12)


class AuthError(BadRequestError):
    """A user-facing refusal (bad name, short password, unknown user)."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# A hash to verify against when the user does not exist, so timing does not tell which
# usernames exist.
_DUMMY_HASH = hash_password(secrets.token_hex(8))


@dataclass(frozen=True)
class User:
    username: str
    role: Role


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_at: datetime


class Accounts(Service):
    """Users and sessions over the collector's database."""

    def __init__(self, core: Core, audit: Audit) -> None:
        super().__init__(core)
        self.audit = audit

    # ------------------------------------------------------------------ users
    def add_user(self, username: str, password: str, role: str, actor: str = "cli") -> User:
        username = username.strip().lower()
        if not _USERNAME.match(username):
            raise AuthError(f"username {username!r}: use 2-64 characters a-z, 0-9, '.', '_' or '-'")
        try:
            r = Role(role)
        except ValueError:
            raise AuthError(f"role {role!r}: expected viewer, operator or admin") from None
        if len(password) < MIN_PASSWORD_LEN:
            raise AuthError(f"password too short: at least {MIN_PASSWORD_LEN} characters")
        with self.database.write() as conn:
            # On conflict, nothing: the same name added at the same time elsewhere is refused
            # like an existing one, never a database error.
            added = conn.execute(
                self.database.insert(db.users)
                .values(
                    username=username,
                    password_hash=hash_password(password),
                    role=r.value,
                    created_at=self.clock(),
                    disabled=False,
                )
                .on_conflict_do_nothing(index_elements=["username"])
                .returning(db.users.c.username)
            ).first()
            if added is None:
                raise AuthError(f"user {username!r} already exists")
            self.audit.record(conn, actor, "user.add", username, role=r.value)
        return User(username, r)

    def set_disabled(self, username: str, disabled: bool, actor: str) -> None:
        """Disable (or enable again) a user; disabling ends their sessions at once."""
        username = username.strip().lower()
        with self.database.write() as conn:
            n = conn.execute(
                update(db.users).where(db.users.c.username == username).values(disabled=disabled)
            ).rowcount
            if n != 1:
                raise AuthError(f"no user {username!r}")
            ended = 0
            if disabled:
                ended = self._end_sessions(conn, username)
            detail = {"sessions_ended": ended} if disabled else {}
            action = "user.disable" if disabled else "user.enable"
            self.audit.record(conn, actor, action, username, **detail)

    def reset_password(self, username: str, password: str | None, actor: str) -> str:
        """Set a new password (a random one when ``password`` is None) and end the user's
        sessions; returns the password, which is never stored nor logged in clear."""
        username = username.strip().lower()
        if password is None:
            password = secrets.token_urlsafe(12)
        if len(password) < MIN_PASSWORD_LEN:
            raise AuthError(f"password too short: at least {MIN_PASSWORD_LEN} characters")
        with self.database.write() as conn:
            n = conn.execute(
                update(db.users)
                .where(db.users.c.username == username)
                .values(password_hash=hash_password(password))
            ).rowcount
            if n != 1:
                raise AuthError(f"no user {username!r}")
            ended = self._end_sessions(conn, username)
            self.audit.record(conn, actor, "user.password_reset", username, sessions_ended=ended)
        return password

    def end_sessions(self, username: str, actor: str) -> int:
        """End every session of a user (they must log in again); returns how many."""
        username = username.strip().lower()
        with self.database.write() as conn:
            exists = conn.execute(
                select(db.users.c.username).where(db.users.c.username == username)
            ).first()
            if exists is None:
                raise AuthError(f"no user {username!r}")
            ended = self._end_sessions(conn, username)
            self.audit.record(conn, actor, "user.end_sessions", username, sessions_ended=ended)
        return ended

    @staticmethod
    def _end_sessions(conn: Connection, username: str) -> int:
        return int(
            conn.execute(delete(db.sessions).where(db.sessions.c.username == username)).rowcount
        )

    def list_users(self) -> list[dict[str, Any]]:
        u = db.users
        with self.database.read() as conn:
            rows = conn.execute(
                select(u.c.username, u.c.role, u.c.created_at, u.c.disabled).order_by(u.c.username)
            )
            return [
                {
                    "username": r.username,
                    "role": r.role,
                    "created_at": as_utc(r.created_at).isoformat(),
                    "disabled": bool(r.disabled),
                }
                for r in rows
            ]

    def user(self, username: str) -> User | None:
        """The enabled user of that name, or None."""
        u = db.users
        with self.database.read() as conn:
            row = conn.execute(
                select(u.c.username, u.c.role).where(
                    u.c.username == username.strip().lower(), u.c.disabled.is_(False)
                )
            ).first()
        return None if row is None else User(row.username, Role(row.role))

    def authenticate(self, username: str, password: str) -> User | None:
        username = username.strip().lower()
        with self.database.read() as conn:
            row = conn.execute(select(db.users).where(db.users.c.username == username)).first()
        if row is None or row.disabled:
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, row.password_hash):
            return None
        return User(row.username, Role(row.role))

    # --------------------------------------------------------------- sessions
    def login(self, username: str, password: str) -> tuple[str, Session] | None:
        """Check the password; on success open a session and return (cookie token, session)."""
        user = self.authenticate(username, password)
        now = self.clock()
        with self.database.write() as conn:
            if user is None:
                self.audit.record(conn, username.strip().lower()[:64] or "?", "login.failed", "")
                return None
            token = secrets.token_urlsafe(32)
            csrf = secrets.token_urlsafe(32)
            expires = now + SESSION_TTL
            conn.execute(delete(db.sessions).where(db.sessions.c.expires_at < now))
            conn.execute(
                db.sessions.insert().values(
                    token_hash=hash_secret(token),
                    username=user.username,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=expires,
                )
            )
            self.audit.record(conn, user.username, "login", "")
        return token, Session(user, csrf, expires)

    def session(self, token: str | None) -> Session | None:
        if not token:
            return None
        s, u = db.sessions, db.users
        with self.database.read() as conn:
            row = conn.execute(
                select(s.c.csrf_token, s.c.expires_at, u.c.username, u.c.role, u.c.disabled)
                .join(u, u.c.username == s.c.username)
                .where(s.c.token_hash == hash_secret(token))
            ).first()
        if row is None or row.disabled or as_utc(row.expires_at) <= self.clock():
            return None
        return Session(User(row.username, Role(row.role)), row.csrf_token, as_utc(row.expires_at))

    def logout(self, token: str | None) -> None:
        if not token:
            return
        with self.database.write() as conn:
            conn.execute(delete(db.sessions).where(db.sessions.c.token_hash == hash_secret(token)))

    # ------------------------------------------------------------------ audit
    def audit_entries(
        self, limit: int = 200, target: str | None = None, action_prefix: str | None = None
    ) -> list[dict[str, Any]]:
        """The audit log, newest first (see :meth:`Audit.entries`)."""
        return self.audit.entries(limit, target, action_prefix)


def demo_users(accounts: Accounts) -> dict[str, tuple[str, str]]:
    """For ``ioc-collector demo``: a viewer and an operator with fresh random passwords.

    Returns ``{role: (username, password)}``; never used outside the demo's own database.
    """
    out = {}
    for role in (Role.VIEWER, Role.OPERATOR):
        username, password = f"demo-{role.value}", secrets.token_urlsafe(9)
        accounts.add_user(username, password, role.value, actor="demo")
        out[role.value] = (username, password)
    return out
