"""The period report: how ready the communes of a scope were over days and months, one model
for the CLI, the pages and the downloads (PDF, XLSX, CSV, JSON).

:func:`build_period_report` reads the sums of the daily roll-ups once
(``services.periods``, docs/ARCHITECTURE.md "Period reports") and names every commune of the
scope, with "no data" for one without a roll-up row in the period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from collector.domain.periods import Period
from collector.domain.scope import NATIONAL
from collector.domain.scope import Scope as Within
from collector.reports import fmt
from collector.reports.i18n import Lang, t, unit_kind_label
from collector.reports.model import Scope, _check_scope
from collector.service import Services
from collector.service.periods import DEFAULT_READY_SHARE, PeriodFigures, Tally


@dataclass(frozen=True)
class FailedCriterion:
    id: str
    title: str
    pass_share: float
    assessed_s: int


@dataclass(frozen=True)
class PeriodCommune:
    code: str
    name: str
    kind: str
    province_code: str
    province_name: str
    tally: Tally
    failed: list[FailedCriterion]

    def failed_text(self, lang: str) -> str:
        """``NET-01 Mạng chuyên dùng (62,5 %); ...``: id, name and pass share."""
        return "; ".join(
            f"{c.id} {c.title} ({fmt.percent(c.pass_share, lang)})" for c in self.failed
        )

    def cells(self, lang: str) -> list[Any]:
        """A row of the per-commune table (CSV, XLSX) under :func:`commune_columns`: counts
        and hours as numbers, availability in % with one decimal (empty without data)."""
        a = self.tally.availability
        return [
            self.code,
            self.name,
            unit_kind_label(lang, self.kind),
            self.province_code,
            self.province_name,
            self.tally.working_days,
            self.tally.ready_days,
            round(self.tally.working_s / 3600, 2),
            "" if a is None else round(a * 100, 1),
            self.failed_text(lang),
        ]


def commune_columns(lang: str) -> list[str]:
    return [
        t(lang, "commune_code"),
        t(lang, "commune"),
        t(lang, "kind"),
        t(lang, "province_code"),
        t(lang, "province"),
        t(lang, "working_days"),
        t(lang, "ready_days"),
        t(lang, "working_hours"),
        f"{t(lang, 'availability')} (%)",
        t(lang, "failed_most"),
    ]


@dataclass(frozen=True)
class PeriodProvince:
    code: str
    name: str
    communes: int
    tally: Tally


@dataclass(frozen=True)
class PeriodDay:
    day: date
    tally: Tally

    @property
    def coverage(self) -> float:
        """The share of the communes with working time that day that were ready."""
        return self.tally.ready_ratio or 0.0


@dataclass
class PeriodReport:
    scope: Scope
    code: str | None
    lang: Lang
    scope_label: str
    generated_at: datetime
    period: Period
    ready_share: float
    total: Tally
    communes: list[PeriodCommune]
    provinces: list[PeriodProvince]
    days: list[PeriodDay]
    criteria: list[FailedCriterion] = field(default_factory=list)

    @property
    def title(self) -> str:
        return t(self.lang, "period_title")

    @property
    def reporting(self) -> int:
        """Communes of the scope with a roll-up row in the period."""
        return sum(1 for c in self.communes if c.tally.working_days)

    def summary_text(self) -> str:
        lang = self.lang
        cov, avail = self.total.ready_ratio, self.total.availability
        return t(lang, "period_summary_text").format(
            start=fmt_day(self.period.start),
            end=fmt_day(self.period.end),
            scope=self.scope_label,
            days=len(self.days),
            n=fmt.number(len(self.communes), lang, 0),
            rep=fmt.number(self.reporting, lang, 0),
            coverage=t(lang, "no_data") if cov is None else fmt.percent(cov, lang),
            ready=fmt.number(self.total.ready_days, lang, 0),
            cdays=fmt.number(self.total.working_days, lang, 0),
            availability=t(lang, "no_data") if avail is None else fmt.percent(avail, lang),
        )

    def rule_text(self) -> str:
        return t(self.lang, "ready_rule").format(share=fmt.ratio(self.ready_share, self.lang))

    def to_json(self) -> dict[str, Any]:
        def tally(x: Tally) -> dict[str, Any]:
            ready, avail = x.ready_ratio, x.availability
            return {
                "working_days": x.working_days,
                "ready_days": x.ready_days,
                "working_s": x.working_s,
                "green_s": x.green_s,
                "yellow_s": x.yellow_s,
                "red_s": x.red_s,
                "grey_s": x.grey_s,
                "ready_ratio": None if ready is None else round(ready, 4),
                "availability": None if avail is None else round(avail, 4),
            }

        return {
            "title": self.title,
            "scope": self.scope,
            "code": self.code,
            "lang": self.lang,
            "scope_label": self.scope_label,
            "generated_at": self.generated_at.isoformat(),
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "ready_share": self.ready_share,
            "total": tally(self.total),
            "days": [
                {"day": d.day.isoformat(), "communes": d.tally.working_days, **tally(d.tally)}
                for d in self.days
            ],
            "provinces": [
                {"code": p.code, "name": p.name, "communes": p.communes, **tally(p.tally)}
                for p in self.provinces
            ],
            "communes": [
                {
                    "code": c.code,
                    "name": c.name,
                    "province_code": c.province_code,
                    **tally(c.tally),
                    "failed_most": [_failed_json(f) for f in c.failed],
                }
                for c in self.communes
            ],
            "criteria": [_failed_json(f) for f in self.criteria],
        }


def _failed_json(f: FailedCriterion) -> dict[str, Any]:
    return {
        "id": f.id,
        "title": f.title,
        "pass_share": round(f.pass_share, 4),
        "assessed_s": f.assessed_s,
    }


def fmt_day(day: date) -> str:
    """A day as officials write it: 01/11/2026 (the same in both languages; Babel)."""
    return fmt.day(day, "vi")


def _scope_communes(
    services: Services, scope: str, code: str | None, lang: Lang, within: Within
) -> tuple[list[str], str]:
    """The commune codes of the scope and its label (see model._scope_states)."""
    units = services.units
    if scope == "national":
        provinces = sorted(units.provinces) if within.national else sorted(within.provinces)
        label = (
            t(lang, "nation")
            if within.national
            else ", ".join(units.provinces[p].name for p in provinces)
        )
        return [c for p in provinces for c in sorted(units.by_province.get(p, ()))], label
    assert code is not None
    if scope == "province":
        p = units.province(code)
        return sorted(units.by_province.get(p.code, ())), p.name
    c = units.commune(code)
    return [c.code], f"{c.name}, {units.provinces[c.province_code].name}"


def build_period_report(
    services: Services,
    scope: str,
    code: str | None,
    period: Period,
    lang: Lang = "vi",
    within: Within = NATIONAL,
    ready_share: float = DEFAULT_READY_SHARE,
) -> PeriodReport:
    """The period report of the nation (a person's provinces), a province or a commune.

    Raises ReportError for a bad scope, UnknownUnitError for a code that is no unit."""
    checked = _check_scope(scope, code)
    codes, label = _scope_communes(services, scope, code, lang, within)
    figures = services.periods.figures(
        period, within, None if scope == "national" else codes, ready_share
    )
    return _assemble(services, checked, code, lang, label, codes, figures)


def _assemble(
    services: Services,
    scope: Scope,
    code: str | None,
    lang: Lang,
    label: str,
    codes: list[str],
    figures: PeriodFigures,
) -> PeriodReport:
    units = services.units
    titles = {
        c.id: (c.title.en if lang == "en" else c.title.vi)
        for c in services.rules.current().catalogue.criteria
    }

    def failed(shares: list[Any]) -> list[FailedCriterion]:
        return [
            FailedCriterion(s.id, titles.get(s.id, s.id), s.pass_share, s.assessed_s)
            for s in shares
        ]

    communes = []
    size: dict[str, int] = {}
    for cc in codes:
        c = units.communes[cc]
        size[c.province_code] = size.get(c.province_code, 0) + 1
        communes.append(
            PeriodCommune(
                code=c.code,
                name=c.name,
                kind=c.kind,
                province_code=c.province_code,
                province_name=units.provinces[c.province_code].name,
                tally=figures.communes.get(cc, Tally()),
                failed=failed(figures.worst.get(cc, [])),
            )
        )
    provinces = [
        PeriodProvince(p, units.provinces[p].name, n, figures.provinces.get(p, Tally()))
        for p, n in sorted(size.items())
    ]
    return PeriodReport(
        scope=scope,
        code=code,
        lang=lang,
        scope_label=label,
        generated_at=services.clock(),
        period=figures.period,
        ready_share=figures.ready_share,
        total=figures.total,
        communes=communes,
        provinces=provinces,
        days=[PeriodDay(d.day, d.tally) for d in figures.days],
        criteria=failed(figures.criteria),
    )
