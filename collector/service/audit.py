"""The audit log: who did what, when, to which commune or user. The one writer of it.

Every audited change writes its line inside the change's own transaction, so a change is
never kept without its line (nor a line without its change).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from collector.service.base import Core, Service
from collector.storage import schema as db
from collector.storage.codecs import as_utc

#: Widths of the audit_log columns (longer values are cut, never refused).
_ACTOR_MAX = _TARGET_MAX = 64


class Audit(Service):
    def __init__(self, core: Core) -> None:
        super().__init__(core)

    @staticmethod
    def row(at: datetime, actor: str, action: str, target: str, **detail: Any) -> dict[str, Any]:
        return {
            "at": at,
            "actor": actor[:_ACTOR_MAX],
            "action": action,
            "target": target[:_TARGET_MAX],
            "detail": detail,
        }

    def record(self, conn: Connection, actor: str, action: str, target: str, **detail: Any) -> None:
        """One line, in the caller's transaction ``conn``."""
        conn.execute(
            db.audit_log.insert(), [self.row(self.clock(), actor, action, target, **detail)]
        )

    def record_many(self, conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
        """Lines made by :meth:`row`, in one statement."""
        rows = list(rows)
        if rows:
            conn.execute(db.audit_log.insert(), rows)

    def entries(
        self,
        limit: int = 200,
        target: str | None = None,
        action_prefix: str | None = None,
        where: ColumnElement[bool] | None = None,
    ) -> list[dict[str, Any]]:
        """The newest lines first (of one target, of actions starting with a prefix, that
        meet ``where``)."""
        a = db.audit_log
        q = select(a).order_by(a.c.id.desc()).limit(limit)
        if where is not None:
            q = q.where(where)
        if target is not None:
            q = q.where(a.c.target == target)
        if action_prefix:
            q = q.where(a.c.action.startswith(action_prefix, autoescape=True))
        with self.database.read() as conn:
            return [
                {
                    "at": as_utc(r.at).isoformat(),
                    "actor": r.actor,
                    "action": r.action,
                    "target": r.target,
                    "detail": r.detail,
                }
                for r in conn.execute(q)
            ]
