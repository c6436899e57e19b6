"""Every commune's colour and criterion statuses, without the evidence (fast for the nation)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from collector import db
from collector.criteria.engine import Colour, colour_at
from collector.store import CommuneState, Store, as_utc


def light_states(store: Store, province_code: str | None = None) -> list[CommuneState]:
    """Like :meth:`Store.commune_states`, but reads only each criterion's status out of the
    stored JSON (``JSON_EXTRACT`` / ``#>>`` in the database), not its evidence: the evidence
    is ~15 kB a commune, and decoding it for the nation took most of a national report."""
    cs = db.commune_status
    cids = [c.id for c in store.catalogue.criteria]
    cols = [cs.c.criteria[(cid, "status")].as_string().label(f"s{i}") for i, cid in enumerate(cids)]
    q = select(cs.c.commune_code, cs.c.colour, cs.c.last_report_at, *cols)
    if province_code is not None:
        q = q.where(cs.c.province_code == province_code)
    now = store.clock()
    with store.engine.connect() as conn:
        stored = {row.commune_code: row for row in conn.execute(q)}
    units = store.units
    codes = units.communes if province_code is None else units.by_province[province_code]
    out = []
    for code in codes:
        row = stored.get(code)
        pcode = units.communes[code].province_code
        if row is None:
            out.append(CommuneState(code, pcode, Colour.GREY, {}, None))
            continue
        last = as_utc(row.last_report_at) if row.last_report_at is not None else None
        crit: dict[str, Any] = {}
        for i, cid in enumerate(cids):
            status = getattr(row, f"s{i}")
            if status is not None:
                crit[cid] = {"status": status}
        colour = colour_at(row.colour, last, now, store.stale_after_s)
        out.append(CommuneState(code, pcode, colour, crit, last))
    return out
