"""Period figures: how ready communes were over days and months, read from the daily
roll-ups (``commune_days``, ``criterion_days``; docs/ARCHITECTURE.md, "Period reports").

Read only: the roll-up job fills those tables; this service sums them. Its figures:

* **working day** of a commune: a day whose roll-up has working time (``working_s > 0``);
* **ready day**: a working day green for at least ``ready_share`` of its working time
  (default :data:`DEFAULT_READY_SHARE`);
* **availability**: green seconds over working seconds, summed over the period;
* **green coverage of a working day** (a province, the nation): the share of the communes
  with working time that day that were ready that day; over the period, ready commune-days
  over working commune-days;
* **criteria failed most**: the lowest pass share (passed over assessed seconds).

A day with no roll-up row for a commune (before it was monitored, or not rolled up yet)
counts nowhere: neither as a working day nor against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select

from collector.domain.periods import Period
from collector.domain.scope import Scope
from collector.service.base import Service
from collector.storage import schema as db

#: A ready day is green for at least 90 % of its working time: on a civil-service day of
#: 8 hours, at most 48 minutes yellow, red or grey (one failed probe's recovery, a short
#: outage) — a commune that lost a whole session (half a day) was not ready that day.
DEFAULT_READY_SHARE = 0.9
#: Criteria named per commune as "failed most".
WORST_PER_COMMUNE = 3

_d = db.commune_days
_c = db.criterion_days


@dataclass(frozen=True)
class Tally:
    """Working days and seconds of one commune, province or nation over a span."""

    #: commune-days with working time, and those ready
    working_days: int = 0
    ready_days: int = 0
    working_s: int = 0
    green_s: int = 0
    yellow_s: int = 0
    red_s: int = 0
    grey_s: int = 0

    @property
    def availability(self) -> float | None:
        """Green seconds over working seconds; None without working time."""
        return self.green_s / self.working_s if self.working_s else None

    @property
    def ready_ratio(self) -> float | None:
        """Ready commune-days over working commune-days; None without working days."""
        return self.ready_days / self.working_days if self.working_days else None


@dataclass(frozen=True)
class CriterionShare:
    id: str
    assessed_s: int
    passed_s: int

    @property
    def pass_share(self) -> float:
        return self.passed_s / self.assessed_s if self.assessed_s else 1.0


@dataclass(frozen=True)
class DayFigure:
    """One working day of a scope: its communes with working time, and those ready."""

    day: date
    tally: Tally


@dataclass
class PeriodFigures:
    period: Period
    ready_share: float
    #: per commune code (only communes with a roll-up row in the period)
    communes: dict[str, Tally] = field(default_factory=dict)
    #: per province code
    provinces: dict[str, Tally] = field(default_factory=dict)
    #: the whole scope
    total: Tally = field(default_factory=Tally)
    #: the scope's working days, oldest first (days without working time left out)
    days: list[DayFigure] = field(default_factory=list)
    #: per commune code, its criteria failed most (lowest pass share first)
    worst: dict[str, list[CriterionShare]] = field(default_factory=dict)
    #: every criterion over the scope, lowest pass share first
    criteria: list[CriterionShare] = field(default_factory=list)


def _sums(ready_permille: int) -> list[Any]:
    """Aggregates of commune_days rows: working days, ready days, the seconds."""
    working = _d.c.working_s > 0
    ready = and_(working, _d.c.green_s * 1000 >= _d.c.working_s * ready_permille)
    return [
        func.sum(case((working, 1), else_=0)).label("working_days"),
        func.sum(case((ready, 1), else_=0)).label("ready_days"),
        *(func.sum(getattr(_d.c, k)).label(k) for k in _SECONDS),
    ]


_SECONDS = ("working_s", "green_s", "yellow_s", "red_s", "grey_s")


def _tally(row: Any) -> Tally:
    return Tally(*(int(getattr(row, k) or 0) for k in ("working_days", "ready_days", *_SECONDS)))


def _add(a: Tally, b: Tally) -> Tally:
    return Tally(*(x + y for x, y in zip(_fields(a), _fields(b), strict=True)))


def _fields(t: Tally) -> tuple[int, ...]:
    return (t.working_days, t.ready_days, t.working_s, t.green_s, t.yellow_s, t.red_s, t.grey_s)


class Periods(Service):
    """Sums of the daily roll-ups over a period, within a person's scope."""

    def figures(
        self,
        period: Period,
        within: Scope,
        communes: Iterable[str] | None = None,
        ready_share: float = DEFAULT_READY_SHARE,
    ) -> PeriodFigures:
        """The figures of ``period`` over the provinces of ``within`` (every province for a
        national person), or over ``communes`` only (a province's, one commune)."""
        if not 0.0 < ready_share <= 1.0:
            raise ValueError("ready_share: a share of the working time, above 0 and at most 1")
        permille = round(ready_share * 1000)
        where: list[ColumnElement[bool]] = [_d.c.day >= period.start, _d.c.day <= period.end]
        if not within.national:
            where.append(_d.c.province_code.in_(sorted(within.provinces)))
        if communes is not None:
            where.append(_d.c.commune_code.in_(sorted(set(communes))))
        sums = _sums(permille)
        out = PeriodFigures(period, ready_share)
        with self.database.read() as conn:
            for row in conn.execute(
                select(_d.c.commune_code, *sums).where(*where).group_by(_d.c.commune_code)
            ):
                out.communes[row.commune_code] = _tally(row)
            for row in conn.execute(
                select(_d.c.province_code, *sums).where(*where).group_by(_d.c.province_code)
            ):
                out.provinces[row.province_code] = _tally(row)
            days = select(_d.c.day, *sums).where(*where, _d.c.working_s > 0).group_by(_d.c.day)
            out.days = [DayFigure(r.day, _tally(r)) for r in conn.execute(days.order_by(_d.c.day))]
            crit = conn.execute(
                select(
                    _c.c.commune_code,
                    _c.c.criterion_id,
                    func.sum(_c.c.assessed_s).label("assessed_s"),
                    func.sum(_c.c.passed_s).label("passed_s"),
                )
                .select_from(
                    _c.join(_d, and_(_c.c.commune_code == _d.c.commune_code, _c.c.day == _d.c.day))
                )
                .where(*where)
                .group_by(_c.c.commune_code, _c.c.criterion_id)
            ).all()
        for t in out.provinces.values():
            out.total = _add(out.total, t)
        out.worst, out.criteria = _criteria(crit)
        return out


def _criteria(rows: Sequence[Any]) -> tuple[dict[str, list[CriterionShare]], list[CriterionShare]]:
    """Per commune its criteria not always passed, lowest pass share first (at most
    :data:`WORST_PER_COMMUNE`); and every criterion of the scope, lowest pass share first."""
    per: dict[str, list[CriterionShare]] = {}
    scope: dict[str, tuple[int, int]] = {}
    for r in rows:
        share = CriterionShare(r.criterion_id, int(r.assessed_s or 0), int(r.passed_s or 0))
        a, p = scope.get(r.criterion_id, (0, 0))
        scope[r.criterion_id] = (a + share.assessed_s, p + share.passed_s)
        if share.assessed_s and share.passed_s < share.assessed_s:
            per.setdefault(r.commune_code, []).append(share)
    worst = {
        code: sorted(shares, key=lambda s: (s.pass_share, s.id))[:WORST_PER_COMMUNE]
        for code, shares in per.items()
    }
    every = sorted(
        (CriterionShare(cid, a, p) for cid, (a, p) in scope.items() if a),
        key=lambda s: (s.pass_share, s.id),
    )
    return worst, every
