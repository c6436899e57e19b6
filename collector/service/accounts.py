"""People who read the web pages and reports: users, roles, login sessions and the audit log.

* Passwords are hashed with scrypt (``hashlib.scrypt``, RFC 7914) with a random salt; the
  parameters are stored with each hash so they can be raised later.
* A login session is a random token in an HttpOnly, SameSite=Lax cookie; only its SHA-256 is
  stored, with an expiry, in the ``sessions`` table (several collectors share the database).
* Each session carries a CSRF token that every form posts back.
* Roles are ordered: viewer (officials read) < operator (IOC: attestations, waivers) < admin
  (users). Agents' bearer tokens are a different thing and open no page.
* Each user has a scope (collector/domain/scope.py): national, or the provinces in the
  ``user_provinces`` table. An admin manages only the users their scope covers (a provincial
  admin: users of their provinces, never a national one); the CLI acts nationally.
* A directory (LDAP, collector/service/directory.py) may vouch for people instead of a
  password kept here: such a user's row is made or updated at each login with the role and
  provinces their groups give (``password_hash`` ``ldap``: no local password opens it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Connection, delete, or_, select, update

from collector.domain.errors import BadRequestError, ForbiddenError
from collector.domain.scope import NATIONAL, Scope
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


class ScopeError(ForbiddenError):
    """An admin acting on a user outside their scope, or giving a scope wider than theirs."""


class LoginRefused(AuthError):
    """A login refused with a reason to show on the form (not a wrong password): a directory
    that gives the person no access, or cannot be asked. ``key``: the form's text of it
    (collector/reports/i18n.py)."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


#: The password hash of a user a directory vouches for: no password kept here opens it.
EXTERNAL_HASH = "ldap"


@dataclass(frozen=True)
class ExternalUser:
    """A person a directory vouched for, with the role and scope its groups give."""

    username: str
    role: Role
    scope: Scope
    groups: tuple[str, ...]


class ExternalLogin(Protocol):
    """A directory that checks passwords (collector/service/directory.py)."""

    @property
    def local_first(self) -> bool: ...

    def authenticate(self, username: str, password: str) -> ExternalUser | None: ...


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
    scope: Scope = NATIONAL


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
        #: the directory people may log in with (``ldap:`` in the configuration), if any
        self.external: ExternalLogin | None = None

    # ------------------------------------------------------------------ users
    def add_user(
        self,
        username: str,
        password: str,
        role: str,
        actor: str = "cli",
        provinces: Iterable[str] = (),
        by: Scope = NATIONAL,
    ) -> User:
        """A new user of ``role`` in ``provinces`` (none: national), added by an admin whose
        scope ``by`` must cover it."""
        username = username.strip().lower()
        if not _USERNAME.match(username):
            raise AuthError(f"username {username!r}: use 2-64 characters a-z, 0-9, '.', '_' or '-'")
        try:
            r = Role(role)
        except ValueError:
            raise AuthError(f"role {role!r}: expected viewer, operator or admin") from None
        if len(password) < MIN_PASSWORD_LEN:
            raise AuthError(f"password too short: at least {MIN_PASSWORD_LEN} characters")
        scope = self._scope_given(provinces, by)
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
            self._write_scope(conn, username, scope)
            self.audit.record(
                conn, actor, "user.add", username, role=r.value, provinces=sorted(scope.provinces)
            )
        return User(username, r, scope)

    def _scope_given(self, provinces: Iterable[str], by: Scope) -> Scope:
        """``provinces`` as a scope: each an official province code, all inside ``by``."""
        scope = Scope.of(p.strip() for p in provinces if p.strip())
        unknown = sorted(p for p in scope.provinces if p not in self.units.provinces)
        if unknown:
            raise AuthError(
                f"mã tỉnh không hợp lệ / not an official province code: {', '.join(unknown)} "
                "(two digits, e.g. 01 or 04)"
            )
        if not by.covers(scope):
            raise ScopeError(
                f"chỉ được cấp phạm vi nằm trong phạm vi của bạn ({by.label()}) / you may "
                f"give only a scope inside yours: not {scope.label()}"
            )
        return scope

    @staticmethod
    def _write_scope(conn: Connection, username: str, scope: Scope) -> None:
        up = db.user_provinces
        conn.execute(delete(up).where(up.c.username == username))
        if scope.provinces:
            conn.execute(
                up.insert(), [{"username": username, "province_code": p} for p in scope.provinces]
            )

    @staticmethod
    def _scope_of(conn: Connection, username: str) -> Scope:
        up = db.user_provinces
        return Scope.of(
            conn.execute(select(up.c.province_code).where(up.c.username == username)).scalars()
        )

    def check_manages(self, username: str, by: Scope) -> Scope:
        """The scope of an existing user (enabled or not) that ``by`` covers; AuthError for
        no such user, ScopeError for one outside ``by``."""
        with self.database.read() as conn:
            return self._managed(conn, username.strip().lower(), by)

    def _managed(self, conn: Connection, username: str, by: Scope) -> Scope:
        """The scope of an existing user that ``by`` covers, or a refusal."""
        exists = conn.execute(
            select(db.users.c.username).where(db.users.c.username == username)
        ).first()
        if exists is None:
            raise AuthError(f"no user {username!r}")
        scope = self._scope_of(conn, username)
        if not by.covers(scope):
            raise ScopeError(
                f"người dùng {username!r} ({scope.label()}) nằm ngoài phạm vi của bạn "
                f"({by.label()}) / user {username!r} is outside your scope"
            )
        return scope

    def set_scope(
        self, username: str, provinces: Iterable[str], actor: str, by: Scope = NATIONAL
    ) -> Scope:
        """Give a user the ``provinces`` (none: national); both the old scope and the new
        must lie inside ``by``. Their sessions end: the next login carries the new scope."""
        username = username.strip().lower()
        scope = self._scope_given(provinces, by)
        with self.database.write() as conn:
            before = self._managed(conn, username, by)
            self._write_scope(conn, username, scope)
            ended = self._end_sessions(conn, username)
            self.audit.record(
                conn,
                actor,
                "user.scope",
                username,
                before=sorted(before.provinces),
                provinces=sorted(scope.provinces),
                sessions_ended=ended,
            )
        return scope

    def set_disabled(self, username: str, disabled: bool, actor: str, by: Scope = NATIONAL) -> None:
        """Disable (or enable again) a user; disabling ends their sessions at once."""
        username = username.strip().lower()
        with self.database.write() as conn:
            self._managed(conn, username, by)
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

    def reset_password(
        self, username: str, password: str | None, actor: str, by: Scope = NATIONAL
    ) -> str:
        """Set a new password (a random one when ``password`` is None) and end the user's
        sessions; returns the password, which is never stored nor logged in clear."""
        username = username.strip().lower()
        if password is None:
            password = secrets.token_urlsafe(12)
        if len(password) < MIN_PASSWORD_LEN:
            raise AuthError(f"password too short: at least {MIN_PASSWORD_LEN} characters")
        with self.database.write() as conn:
            self._managed(conn, username, by)
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

    def end_sessions(self, username: str, actor: str, by: Scope = NATIONAL) -> int:
        """End every session of a user (they must log in again); returns how many."""
        username = username.strip().lower()
        with self.database.write() as conn:
            self._managed(conn, username, by)
            ended = self._end_sessions(conn, username)
            self.audit.record(conn, actor, "user.end_sessions", username, sessions_ended=ended)
        return ended

    @staticmethod
    def _end_sessions(conn: Connection, username: str) -> int:
        return int(
            conn.execute(delete(db.sessions).where(db.sessions.c.username == username)).rowcount
        )

    def list_users(self, by: Scope = NATIONAL) -> list[dict[str, Any]]:
        """The users ``by`` covers (a provincial admin: those of their provinces)."""
        u, up = db.users, db.user_provinces
        with self.database.read() as conn:
            scopes: dict[str, set[str]] = {}
            for username, province in conn.execute(select(up.c.username, up.c.province_code)):
                scopes.setdefault(username, set()).add(province)
            rows = conn.execute(
                select(u.c.username, u.c.role, u.c.created_at, u.c.disabled).order_by(u.c.username)
            ).all()
        out = []
        for r in rows:
            scope = Scope.of(scopes.get(r.username, ()))
            if by.covers(scope):
                out.append(
                    {
                        "username": r.username,
                        "role": r.role,
                        "provinces": sorted(scope.provinces),
                        "created_at": as_utc(r.created_at).isoformat(),
                        "disabled": bool(r.disabled),
                    }
                )
        return out

    def user(self, username: str) -> User | None:
        """The enabled user of that name, or None."""
        u = db.users
        with self.database.read() as conn:
            row = conn.execute(
                select(u.c.username, u.c.role).where(
                    u.c.username == username.strip().lower(), u.c.disabled.is_(False)
                )
            ).first()
            if row is None:
                return None
            return User(row.username, Role(row.role), self._scope_of(conn, row.username))

    def authenticate(self, username: str, password: str) -> User | None:
        """The user of that name and password: a local one (scrypt here), or one the
        directory vouches for (LoginRefused when it knows them but gives no access)."""
        username = username.strip().lower()
        with self.database.read() as conn:
            row = conn.execute(select(db.users).where(db.users.c.username == username)).first()
            scope = self._scope_of(conn, username)
        if row is not None and row.disabled:
            verify_password(password, _DUMMY_HASH)
            return None
        local = row is not None and row.password_hash != EXTERNAL_HASH
        directory = self.external
        if directory is not None and _USERNAME.match(username):
            if not (local and directory.local_first):
                found = directory.authenticate(username, password)
                if found is not None:
                    return self._vouched(found)
            if not local:
                return None
        if row is None or not local:
            verify_password(password, _DUMMY_HASH)
            return None
        if not verify_password(password, row.password_hash):
            return None
        return User(row.username, Role(row.role), scope)

    def _vouched(self, found: ExternalUser) -> User:
        """The row of a person the directory vouched for, made or brought to what their
        groups give now (audited when it changes)."""
        u = db.users
        with self.database.write() as conn:
            row = conn.execute(select(u.c.role).where(u.c.username == found.username)).first()
            before = None if row is None else (row.role, self._scope_of(conn, found.username))
            if row is None:
                conn.execute(
                    self.database.insert(u)
                    .values(
                        username=found.username,
                        password_hash=EXTERNAL_HASH,
                        role=found.role.value,
                        created_at=self.clock(),
                        disabled=False,
                    )
                    .on_conflict_do_nothing(index_elements=["username"])
                )
            elif before != (found.role.value, found.scope):
                conn.execute(
                    update(u).where(u.c.username == found.username).values(role=found.role.value)
                )
            if before != (found.role.value, found.scope):
                self._write_scope(conn, found.username, found.scope)
                self.audit.record(
                    conn,
                    "ldap",
                    "user.ldap",
                    found.username,
                    role=found.role.value,
                    provinces=sorted(found.scope.provinces),
                    groups=list(found.groups),
                )
        return User(found.username, found.role, found.scope)

    # --------------------------------------------------------------- sessions
    def login(self, username: str, password: str) -> tuple[str, Session] | None:
        """Check the password; on success open a session and return (cookie token, session).
        LoginRefused (audited) when a directory knows the person but gives no access."""
        try:
            user = self.authenticate(username, password)
        except LoginRefused as exc:
            with self.database.write() as conn:
                self.audit.record(
                    conn,
                    username.strip().lower()[:64] or "?",
                    "login.refused",
                    "",
                    reason=exc.message,
                )
            raise
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
            scope = self._scope_of(conn, row.username)
        user = User(row.username, Role(row.role), scope)
        return Session(user, row.csrf_token, as_utc(row.expires_at))

    def logout(self, token: str | None) -> None:
        if not token:
            return
        with self.database.write() as conn:
            conn.execute(delete(db.sessions).where(db.sessions.c.token_hash == hash_secret(token)))

    # ------------------------------------------------------------------ audit
    def audit_entries(
        self,
        limit: int = 200,
        target: str | None = None,
        action_prefix: str | None = None,
        scope: Scope = NATIONAL,
    ) -> list[dict[str, Any]]:
        """The audit log, newest first (see :meth:`Audit.entries`); for a provincial
        ``scope`` only the lines about its communes and its users, or done by its users."""
        if scope.national:
            return self.audit.entries(limit, target, action_prefix)
        communes = scope.communes(self.units) or frozenset()
        up = db.user_provinces
        # users all of whose provinces lie inside the scope (never a national one)
        outside = select(up.c.username).where(up.c.province_code.not_in(sorted(scope.provinces)))
        people = (
            select(up.c.username).where(up.c.username.not_in(outside)).distinct().scalar_subquery()
        )
        a = db.audit_log
        within = or_(
            a.c.target.in_(sorted(communes)), a.c.target.in_(people), a.c.actor.in_(people)
        )
        return self.audit.entries(limit, target, action_prefix, within)


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
