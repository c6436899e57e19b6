"""The read side: every commune's readiness as stored, the national summary, the latest
values for exposition. Reads here never write.

Ingest and the periodic pass store colours and statuses; reasons and evidence (details) are
evaluated when first needed. A caller that shows details asks for them *settled*
(:meth:`Readiness.settled_state`, :meth:`Readiness.settled_states`): the pending ones are
evaluated first, explicitly, through :class:`~collector.service.evaluation.Evaluation`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, select

from checks.levels import Bounds, judged_status
from collector.criteria.engine import COLOURS, Colour, colour_at
from collector.domain.scope import NATIONAL, Scope
from collector.service.base import Core, Service
from collector.service.evaluation import Evaluation
from collector.storage import schema as db
from collector.storage.codecs import LatestResult, aware, decode_latest, decode_statuses


@dataclass(frozen=True)
class CommuneState:
    code: str
    province_code: str
    colour: Colour  # as shown now (grey when silent in working time)
    criteria: dict[str, Any]
    last_report_at: datetime | None
    #: Outside its province's working time: the colour is the one it kept, never grey
    #: for silence ("ngoài giờ làm việc / outside working hours").
    off_hours: bool = False


def _judged(entry: LatestResult, bounds: Mapping[str, Bounds] | None) -> str:
    """The entry's status judged by the catalogue's levels of its check; its figures are
    read only for a check that has levels (exposition reads every result of the nation)."""
    return entry.status if not bounds else judged_status(entry.status, bounds, entry.values())


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


class Readiness(Service):
    def __init__(self, core: Core, evaluation: Evaluation) -> None:
        super().__init__(core)
        self.evaluation = evaluation

    # ------------------------------------------------------------------ communes
    def commune_states(
        self, province_code: str | None = None, detail: bool = False
    ) -> list[CommuneState]:
        """Every commune (3,321) of the nation or a province, with its colour as of now;
        never-reported ones are grey. Without ``detail`` each criterion carries only
        ``status``, ``severity`` and ``since``; with it, the details as stored."""
        return self._read(province_code, detail)

    def commune_state(self, code: str) -> CommuneState:
        """One commune, details as stored."""
        self.units.commune(code)  # an unknown code is refused
        [state] = self._read(None, True, only=code)
        return state

    def settled_states(self, province_code: str | None = None) -> list[CommuneState]:
        """:meth:`commune_states` with details, the pending ones evaluated first."""
        self.evaluation.fill_details(province_code)
        return self._read(province_code, True)

    def settled_state(self, code: str) -> CommuneState:
        """One commune with its details evaluated first if pending. A commune whose hosts
        were judged under other rules than this process's is evaluated for this reader
        only: nothing is written."""
        self.units.commune(code)  # an unknown code is refused
        if self.evaluation.settle(code):
            return self._read(None, True, only=code)[0]
        states = self.evaluation.evaluate_unsaved(
            code, lambda conn: self._read(None, True, only=code, conn=conn)
        )
        return states[0]

    def _rows(
        self, province_code: str | None, detail: bool, only: str | None, conn: Connection
    ) -> dict[str, Any]:
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
        return {row.commune_code: row for row in conn.execute(q)}

    def _codes(self, province_code: str | None, only: str | None) -> Iterable[str]:
        if only is not None:
            return [only]
        if province_code is None:
            return self.units.communes
        return self.units.by_province[self.units.province(province_code).code]

    def _read(
        self,
        province_code: str | None,
        detail: bool,
        only: str | None = None,
        conn: Connection | None = None,
    ) -> list[CommuneState]:
        now = self.clock()
        stale_after_s = self.rules.current().stale_after_s
        if conn is None:
            with self.database.read() as reading:
                stored = self._rows(province_code, detail, only, reading)
        else:
            stored = self._rows(province_code, detail, only, conn)
        out = []
        working: dict[str, bool] = {}
        for code in self._codes(province_code, only):
            row = stored.get(code)
            province = self.units.communes[code].province_code
            if province not in working:
                working[province] = self.calendar.is_working_time(province, now)
            off = not working[province]
            if row is None:
                out.append(CommuneState(code, province, Colour.GREY, {}, None, off))
                continue
            last = aware(row.last_report_at)
            if detail:
                criteria = row.criteria or {}
            else:
                criteria = {cid: st._asdict() for cid, st in decode_statuses(row.statuses).items()}
            shown = colour_at(
                row.colour, last, now, stale_after_s, self.calendar.of(province), not off
            )
            out.append(CommuneState(code, province, shown, criteria, last, off))
        return out

    # ------------------------------------------------------------------ summaries
    def summary(self, scope: Scope = NATIONAL) -> dict[str, Any]:
        """National summary in the shape of ``GET /api/v1/summary`` (of the provinces of
        ``scope`` only, totals included)."""
        by_prov: dict[str, Counter[str]] = {
            p: Counter() for p in self.units.provinces if scope.has_province(p)
        }
        off: dict[str, bool] = {}
        for s in self.commune_states():
            if s.province_code in by_prov:
                by_prov[s.province_code][s.colour.value] += 1
                off[s.province_code] = s.off_hours
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
                    # outside working time: colours kept, silence not grey
                    "off_hours": off.get(pcode, False),
                }
            )
        n_all = sum(len(self.units.by_province[p]) for p in by_prov)
        return {
            "provinces": len(by_prov),
            "communes": n_all,
            **{c.value: total.get(c.value, 0) for c in COLOURS},
            "green_ratio": round(total.get("green", 0) / n_all, 4) if n_all else 0.0,
            "off_hours": bool(off) and all(off.values()),
            "generated_at": self.clock().isoformat(),
            "by_province": rows,
        }

    def latest_values(self, province: str | None = None) -> Iterator[LatestValue]:
        """Latest results of fresh agents (of one ``province``), for exposition. Each status
        is the agent's (what it saw) made worse by any of the catalogue's levels its values
        cross, so that a check's status agrees with the criteria that read it."""
        now = self.clock()
        rules = self.rules.current()
        levels = rules.compiled.levels
        stale = timedelta(seconds=rules.stale_after_s)
        a = db.agents.c
        q = select(a.agent_id, a.commune_code, a.province_code, a.host, a.latest).where(
            and_(a.revoked.is_(False), a.last_observed_at >= now - stale)
        )
        if province is not None:
            q = q.where(a.province_code == province)
        with self.database.read() as conn:
            for row in conn.execute(q):
                for e in decode_latest(row.latest).values():
                    yield LatestValue(
                        row.agent_id,
                        row.commune_code,
                        row.province_code,
                        row.host,
                        e.check,
                        e.target,
                        _judged(e, levels.get(e.check)),
                        e.figures,
                    )

    def agent_rows(self, province: str | None = None) -> list[Any]:
        a = db.agents.c
        q = select(
            a.agent_id,
            a.commune_code,
            a.province_code,
            a.host,
            a.agent_version,
            a.last_observed_at,
            a.last_seen_at,
            a.last_seq,
            a.clock_skew_s,
        ).where(a.revoked.is_(False))
        if province is not None:
            q = q.where(a.province_code == province)
        with self.database.read() as conn:
            return list(conn.execute(q))
