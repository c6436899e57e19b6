"""The change log of communes' states (``commune_changes``), the source of the daily roll-ups
(docs/ARCHITECTURE.md, "Retention and roll-ups").

The evaluation calls :func:`record_changes` with the state it is about to store, in the
same transaction: only a change writes a row, so a commune whose colour and statuses hold
costs one indexed read per evaluation and no write. The colour logged is the one shown in
working time: grey from the moment the commune turned silent (no report for
``stale_after_s`` seconds of its province's working time), its evaluated colour otherwise.

Time only goes forward per commune: a change stamped before the commune's last row (a
clock stepped backwards, or a silence that began before a change already logged) is
stamped at that row's time instead, so that the roll-ups never count a second twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from collector.storage import schema as db
from collector.storage.codecs import as_utc
from collector.storage.database import Database


@dataclass(frozen=True)
class CommuneState:
    """A commune's state from ``at`` on: the colour shown in working time and each
    criterion's status."""

    at: datetime
    colour: str
    statuses: dict[str, str]

    def same_as(self, other: CommuneState | None) -> bool:
        return other is not None and self.colour == other.colour and self.statuses == other.statuses


def latest_states(
    conn: Connection, database: Database, communes: Iterable[str]
) -> dict[str, CommuneState]:
    """Each commune's last logged state (communes never logged are left out)."""
    codes = list(communes)
    if not codes:
        return {}
    c = db.commune_changes.c
    last = (
        select(func.max(c.id).label("id"))
        .where(database.among(c.commune_code, codes))
        .group_by(c.commune_code)
        .subquery()
    )
    rows = conn.execute(
        select(c.commune_code, c.at, c.colour, c.statuses).join(last, c.id == last.c.id)
    )
    return {r.commune_code: CommuneState(as_utc(r.at), r.colour, r.statuses) for r in rows}


def record_changes(conn: Connection, database: Database, states: dict[str, CommuneState]) -> int:
    """Log the states of ``states`` (commune -> state about to be stored) that differ from
    each commune's last logged one, each stamped no earlier than that one; returns how many
    rows were written."""
    previous = latest_states(conn, database, states)
    rows = []
    for code, state in states.items():
        prev = previous.get(code)
        if state.same_as(prev):
            continue
        at = state.at if prev is None or state.at >= prev.at else prev.at
        rows.append(
            {"commune_code": code, "at": at, "colour": state.colour, "statuses": state.statuses}
        )
    if rows:
        conn.execute(db.commune_changes.insert(), rows)
    return len(rows)
