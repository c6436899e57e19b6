"""Login against a directory (LDAP, with ldap3): who a person is, and what their groups give.

The collector's configuration names the directory (``ldap:`` in the YAML, collector/config.py
LdapConfig). A login:

1. binds as the service account (anonymously when ``bind_dn`` is empty) and finds the one
   entry under ``user_base`` that ``user_filter`` matches (the login name escaped);
2. binds as that entry with the password given: the directory checks the password (an
   empty password is refused here, never sent: LDAP would take it as an anonymous bind);
3. asks, of each group of the mapping, whether the entry is a member (``member`` or
   ``uniqueMember`` holding its DN, or ``memberUid`` its login name);
4. gives the highest role of the groups it is in, and the union of their provinces (a
   group without provinces makes it national). In no mapped group: refused, with a reason
   the login form shows.

The service account's password is never logged nor shown (a SecretStr, or a file).
"""

from __future__ import annotations

import logging
import math

from ldap3 import BASE, SUBTREE, Connection, Server
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from collector.config import LdapConfig
from collector.domain.scope import Scope
from collector.service.accounts import ExternalUser, LoginRefused, Role

log = logging.getLogger("collector")


class DirectoryRefused(LoginRefused):
    """The directory knows the person but gives them no access, or cannot be asked; the
    message (Vietnamese / English) is shown on the login form."""


NO_GROUP = (
    "Tài khoản thư mục của bạn không thuộc nhóm nào được cấp quyền vào hệ thống này; hãy nhờ "
    "quản trị viên thêm bạn vào một nhóm. / Your directory account is in no group given "
    "access to this system; ask an administrator to add you to one."
)
UNAVAILABLE = (
    "Không kết nối được máy chủ thư mục (LDAP); thử lại sau hoặc dùng tài khoản cục bộ. / "
    "The directory (LDAP) server cannot be reached; try again later or use a local account."
)


class Directory:
    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        self._bind_password = config.password()
        self.server = Server(config.url, connect_timeout=config.timeout_s)

    @property
    def local_first(self) -> bool:
        return self.config.local_first

    def _connection(self, dn: str | None, password: str | None) -> Connection:
        return Connection(
            self.server,
            user=dn,
            password=password,
            auto_bind=True,
            receive_timeout=math.ceil(self.config.timeout_s),  # whole seconds (SO_RCVTIMEO)
            raise_exceptions=False,
        )

    def authenticate(self, username: str, password: str) -> ExternalUser | None:
        """The person with that password and what their groups give; None for an unknown
        name or a wrong password; DirectoryRefused when known but given nothing, or when
        the directory cannot be asked."""
        if not password:
            return None
        try:
            service = self._connection(self.config.bind_dn or None, self._bind_password or None)
        except LDAPException as exc:
            log.warning("LDAP service bind to %s failed: %s", self.config.url, type(exc).__name__)
            raise DirectoryRefused(UNAVAILABLE, "ldap_unavailable") from None
        try:
            dn = self._find(service, username)
            if dn is None or not self._password_ok(dn, password):
                return None
            groups = tuple(
                g.dn for g in self.config.groups if self._member(service, g.dn, dn, username)
            )
        finally:
            service.unbind()
        return self._mapped(username, groups)

    def _find(self, conn: Connection, username: str) -> str | None:
        query = self.config.user_filter.replace("{username}", escape_filter_chars(username))
        conn.search(self.config.user_base, query, SUBTREE, attributes=[], size_limit=2)
        entries = [e for e in conn.response or () if e.get("type") == "searchResEntry"]
        return str(entries[0]["dn"]) if len(entries) == 1 else None

    def _password_ok(self, dn: str, password: str) -> bool:
        try:
            conn = self._connection(dn, password)
        except LDAPException:  # invalidCredentials and the like: a wrong password
            return False
        ok = bool(conn.bound)
        conn.unbind()
        return ok

    @staticmethod
    def _member(conn: Connection, group: str, dn: str, username: str) -> bool:
        query = (
            f"(|(member={escape_filter_chars(dn)})(uniqueMember={escape_filter_chars(dn)})"
            f"(memberUid={escape_filter_chars(username)}))"
        )
        conn.search(group, query, BASE, attributes=[])
        return any(e.get("type") == "searchResEntry" for e in conn.response or ())

    def _mapped(self, username: str, groups: tuple[str, ...]) -> ExternalUser:
        mapped = [g for g in self.config.groups if g.dn in groups]
        if not mapped:
            raise DirectoryRefused(NO_GROUP, "ldap_no_group")
        role = max((Role(g.role) for g in mapped), key=lambda r: r.rank)
        national = any(not g.provinces for g in mapped)
        provinces = () if national else (p for g in mapped for p in g.provinces)
        return ExternalUser(username, role, Scope.of(provinces), groups)
