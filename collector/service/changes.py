"""The change log of communes' states (``commune_changes``), the source of the daily roll-ups
(docs/ARCHITECTURE.md, "Retention and roll-ups").

The evaluation calls :func:`record_changes` with the state it is about to store, in the
same transaction: only a change writes a row. The last state logged is also kept with the
commune's status (``commune_status.logged``, :func:`signature`), read with it: a commune
whose colour and statuses hold costs no read of the log and no write. The colour logged is
the one shown in working time: grey from the moment the commune turned silent (no report
for ``stale_after_s`` seconds of its province's working time), its evaluated colour
otherwise.

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


def signature(state: CommuneState) -> str:
    """``colour|criterion:status,...|at``: what ``commune_status.logged`` keeps of the last
    state logged (criteria in id order; ids and statuses hold no "|" or ",")."""
    body = ",".join(f"{cid}:{st}" for cid, st in sorted(state.statuses.items()))
    return f"{state.colour}|{body}|{state.at.isoformat()}"


def record_changes(
    conn: Connection,
    database: Database,
    states: dict[str, CommuneState],
    logged: dict[str, str | None] | None = None,
) -> dict[str, str]:
    """Log the states of ``states`` (commune -> state about to be stored) that differ from
    each commune's last logged one, each stamped no earlier than that one. ``logged``: the
    communes' ``commune_status.logged`` as read (the log itself is read only for a commune
    without it). Returns every commune's ``logged`` to store with its status."""
    logged = logged or {}
    unknown = [code for code in states if not logged.get(code)]
    previous = {code: signature(st) for code, st in latest_states(conn, database, unknown).items()}
    out: dict[str, str] = {}
    rows = []
    for code, state in states.items():
        prev = logged.get(code) or previous.get(code)
        new = signature(state)
        key, _, prev_at = (prev or "").rpartition("|")
        if prev is not None and new.rpartition("|")[0] == key:
            out[code] = prev
            continue
        at = state.at
        if prev is not None and at < (last := as_utc(datetime.fromisoformat(prev_at))):
            at = last
        rows.append(
            {"commune_code": code, "at": at, "colour": state.colour, "statuses": state.statuses}
        )
        out[code] = signature(CommuneState(at, state.colour, state.statuses))
    if rows:
        conn.execute(db.commune_changes.insert(), rows)
    return out
