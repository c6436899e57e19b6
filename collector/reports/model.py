"""One data model for every way officials read readiness: web pages, PDF, XLSX, CSV, JSON.

:func:`build_report` reads the current state once (``services.readiness``) and returns a
:class:`ReadinessReport` for the nation, a province or a commune, in one language. The
renderers only lay it out, so a page and a report of the same scope show the same figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import zip_longest
from typing import Any, Literal

from collector.criteria.catalogue import level_table
from collector.criteria.engine import COLOURS
from collector.criteria.rules import Rules
from collector.domain.scope import NATIONAL
from collector.domain.scope import Scope as Within
from collector.reports.evidence import raw_line, raw_lines, sentences, stale_note
from collector.reports.i18n import Lang, colour_label, status_label, t, unit_kind_label
from collector.service import Services
from collector.service.history import NATION
from collector.service.readiness import CommuneState

Scope = Literal["national", "province", "commune"]
SCOPES: tuple[Scope, ...] = ("national", "province", "commune")
#: Statuses that count as "not met" (filters, counts, the failing-criteria column).
NOT_MET = ("fail", "warn", "unknown")


class ReportError(ValueError):
    """A bad scope, code or format, said in words the user can act on."""


@dataclass(frozen=True)
class CriterionInfo:
    id: str
    title: str
    kind: str
    severity: str
    basis: str
    proposal: bool
    validity_days: int | None
    #: what it checks and why it matters, in plain words (the catalogue's guidance)
    explanation: str = ""


@dataclass(frozen=True)
class CriterionResult:
    id: str
    title: str
    kind: str
    severity: str
    status: str
    reason: str
    evidence: list[dict[str, Any]]
    since: str | None
    #: what it checks and why it matters; what commune IT staff do when it is not met
    explanation: str = ""
    remediation: list[str] = field(default_factory=list)
    #: the evidence in words, one sentence per host, in the report's language
    sentences: list[str] = field(default_factory=list)
    #: the evidence as engineering text (values as measured, messages), each line once
    raw: list[str] = field(default_factory=list)

    def evidence_rows(self, lang: Lang) -> list[tuple[str, str]]:
        """The evidence in words beside the raw lines, row by row (a report's appendix);
        from the items themselves when the sentences were not made with the report."""
        said = self.sentences or sentences(self.evidence, lang)
        raw = self.raw or raw_lines(self.evidence, lang)
        return list(zip_longest(said, raw, fillvalue=""))


@dataclass(frozen=True)
class CommuneRow:
    code: str
    name: str
    kind: str
    province_code: str
    province_name: str
    colour: str
    last_report_at: datetime | None
    statuses: dict[str, str]  # criterion id -> status
    not_met: list[str]
    #: Outside its province's working time: the colour is the one it kept.
    off_hours: bool = False

    def colour_text(self, lang: str) -> str:
        """The colour's name, with "outside working hours" when it is."""
        name = colour_label(lang, self.colour)
        return f"{name} ({t(lang, 'off_hours')})" if self.off_hours else name

    def cells(
        self, cids: list[str], lang: str, when: Callable[[datetime | None], Any]
    ) -> list[Any]:
        """The row of a table of communes (CSV, XLSX), under :func:`commune_columns`, in
        ``lang``: ``when`` writes the last report time; then the status of each criterion
        of ``cids``."""
        return [
            self.code,
            self.name,
            unit_kind_label(lang, self.kind),
            self.province_code,
            self.province_name,
            self.colour_text(lang),
            when(self.last_report_at),
            " ".join(self.not_met),
            *(status_label(lang, self.statuses[c]) for c in cids),
        ]


#: The column of :meth:`CommuneRow.cells` that holds the colour (0-based).
COLOUR_COLUMN = 5


def commune_columns(lang: str, cids: list[str]) -> list[str]:
    """Headings of a table of communes (CSV, XLSX): times are in UTC+7."""
    return [
        t(lang, "commune_code"),
        t(lang, "commune"),
        t(lang, "kind"),
        t(lang, "province_code"),
        t(lang, "province"),
        t(lang, "colour"),
        f"{t(lang, 'last_report')} (UTC+7)",
        t(lang, "not_met"),
        *cids,
    ]


@dataclass(frozen=True)
class ProvinceRow:
    code: str
    name: str
    communes: int
    green: int
    yellow: int
    red: int
    grey: int

    @property
    def green_ratio(self) -> float:
        return self.green / self.communes if self.communes else 0.0


@dataclass(frozen=True)
class CriterionCount:
    id: str
    title: str
    severity: str
    fail: int
    warn: int
    unknown: int
    waived: int

    @property
    def not_met(self) -> int:
        return self.fail + self.warn + self.unknown


@dataclass
class ReadinessReport:
    scope: Scope
    code: str | None
    lang: Lang
    scope_label: str
    generated_at: datetime
    totals: ProvinceRow
    provinces: list[ProvinceRow]
    communes: list[CommuneRow]
    catalogue: list[CriterionInfo]
    criterion_counts: list[CriterionCount]
    detail: list[CriterionResult] = field(default_factory=list)  # commune scope only
    attestations: list[dict[str, Any]] = field(default_factory=list)
    waivers: list[dict[str, Any]] = field(default_factory=list)
    #: Commune scope only: its hosts, fresh, stale or retired, since when (Hosts.of_commune).
    hosts: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    #: Every commune of the scope is outside its province's working time.
    off_hours: bool = False

    @property
    def title(self) -> str:
        return t(self.lang, "report_title")

    def to_json(self) -> dict[str, Any]:
        def enc(v: Any) -> Any:
            if isinstance(v, datetime):
                return v.isoformat()
            if isinstance(v, dict):
                return {k: enc(x) for k, x in v.items()}
            if isinstance(v, list):
                return [enc(x) for x in v]
            return v

        out = enc(asdict(self))
        out["title"] = self.title
        out["totals"]["green_ratio"] = round(self.totals.green_ratio, 4)
        for row, p in zip(out["provinces"], self.provinces, strict=True):
            row["green_ratio"] = round(p.green_ratio, 4)
        for row, c in zip(out["criterion_counts"], self.criterion_counts, strict=True):
            row["not_met"] = c.not_met
        return out


def guidance(rules: Rules, cid: str, lang: Lang) -> tuple[str, list[str]]:
    """A criterion's explanation and remediation steps in ``lang`` (empty for a catalogue
    that has no guidance)."""
    g = rules.catalogue.guidance.get(cid)
    if g is None:
        return "", []
    if lang == "en":
        return g.explanation.en, list(g.remediation.en)
    return g.explanation.vi, list(g.remediation.vi)


def _catalogue(rules: Rules, lang: Lang) -> list[CriterionInfo]:
    return [
        CriterionInfo(
            id=c.id,
            title=c.title.en if lang == "en" else c.title.vi,
            kind=c.kind.value,
            severity=c.severity.value,
            basis=c.basis,
            proposal=c.proposal,
            validity_days=c.validity_days,
            explanation=guidance(rules, c.id, lang)[0],
        )
        for c in rules.catalogue.criteria
    ]


def _commune_row(services: Services, s: CommuneState, cids: list[str]) -> CommuneRow:
    c = services.units.communes[s.code]
    statuses = {cid: (s.criteria.get(cid) or {}).get("status", "unknown") for cid in cids}
    if s.last_report_at is None:
        statuses = dict.fromkeys(cids, "unknown")
    return CommuneRow(
        code=s.code,
        name=c.name,
        kind=c.kind,
        province_code=c.province_code,
        province_name=services.units.provinces[c.province_code].name,
        colour=s.colour.value,
        last_report_at=s.last_report_at,
        statuses=statuses,
        not_met=[cid for cid, st in statuses.items() if st in NOT_MET],
        off_hours=s.off_hours,
    )


def _roll_up(code: str, name: str, rows: list[CommuneRow]) -> ProvinceRow:
    n = Counter(r.colour for r in rows)
    return ProvinceRow(code, name, len(rows), *(n.get(c.value, 0) for c in COLOURS))


def _check_scope(scope: str, code: str | None) -> Scope:
    """``scope`` as a :data:`Scope`, or ReportError saying what is expected."""
    if scope not in SCOPES:
        raise ReportError(f"scope {scope!r}: expected national, province CODE or commune CODE")
    if scope == "national" and code:
        raise ReportError("the national scope takes no code")
    if scope != "national" and not code:
        raise ReportError(f"scope {scope} needs a code (e.g. '01' or '00070')")
    return SCOPES[SCOPES.index(scope)]


def _scope_states(
    services: Services, scope: str, code: str | None, lang: Lang, within: Within
) -> tuple[list[CommuneState], str]:
    """The communes of the scope (statuses only; one commune with its details) and its label;
    "national" for a person of some provinces: the communes of their provinces."""
    units = services.units
    if scope == "national" and not within.national:
        states = [s for p in sorted(within.provinces) for s in services.readiness.commune_states(p)]
        names = ", ".join(units.provinces[p].name for p in sorted(within.provinces))
        return states, names
    if scope == "national":
        return services.readiness.commune_states(), t(lang, "nation")
    assert code is not None
    if scope == "province":
        p = units.province(code)
        return services.readiness.commune_states(p.code), p.name
    commune = units.commune(code)
    label = f"{commune.name}, {units.provinces[commune.province_code].name}"
    return [services.readiness.settled_state(code)], label


def _criterion_counts(
    rows: list[CommuneRow], cids: list[str], titles: dict[str, str], severity: dict[str, str]
) -> list[CriterionCount]:
    """Per criterion, how many reporting communes fail, warn, are unknown or waived."""
    counts = []
    for cid in cids:
        n = Counter(r.statuses[cid] for r in rows if r.last_report_at is not None)
        counts.append(
            CriterionCount(
                cid,
                titles[cid],
                severity[cid],
                n.get("fail", 0),
                n.get("warn", 0),
                n.get("unknown", 0),
                n.get("waived", 0),
            )
        )
    return counts


def _commune_detail(
    rules: Rules, s: CommuneState, titles: dict[str, str], lang: Lang
) -> list[CriterionResult]:
    """One commune's every criterion with its reason, evidence and since when."""
    out = []
    levels = level_table(rules.catalogue)
    for c in rules.catalogue.criteria:
        # A commune that never reported has no verdict, even for an attested criterion:
        # its reason says so rather than an attestation's words beside "unknown".
        item = (s.criteria.get(c.id) or {}) if s.last_report_at else {}
        reason = item.get("reason_en" if lang == "en" else "reason_vi", "") or t(
            lang, "never" if s.last_report_at else "not_evaluated"
        )
        explanation, remediation = guidance(rules, c.id, lang)
        evidence = list(item.get("evidence", []))
        out.append(
            CriterionResult(
                id=c.id,
                title=titles[c.id],
                kind=c.kind.value,
                severity=c.severity.value,
                status=item.get("status", "unknown"),
                reason=reason,
                evidence=evidence,
                since=item.get("since"),
                explanation=explanation,
                remediation=remediation,
                sentences=sentences(evidence, lang, levels),
                raw=raw_lines(evidence, lang),
            )
        )
    return out


def build_report(
    services: Services,
    scope: str,
    code: str | None = None,
    lang: Lang = "vi",
    with_history: bool = True,
    within: Within = NATIONAL,
) -> ReadinessReport:
    """The readiness of the nation, a province (``code`` = 2 digits) or a commune (5 digits).
    ``within``: the scope of the person asking; their "national" report holds their
    provinces only (whether they may ask for a province or a commune is checked before).

    Raises :class:`ReportError` for a bad scope or a missing code and
    :class:`~collector.domain.units.UnknownUnitError` for a code that is not an official unit.
    """
    checked = _check_scope(scope, code)
    rules = services.rules.current()  # one snapshot of the rules for the whole report
    cids = [c.id for c in rules.catalogue.criteria]
    states, label = _scope_states(services, scope, code, lang, within)
    rows = [_commune_row(services, s, cids) for s in states]
    by_prov: dict[str, list[CommuneRow]] = {}
    for r in rows:
        by_prov.setdefault(r.province_code, []).append(r)
    provinces = services.units.provinces
    titles = {c.id: c.title for c in _catalogue(rules, lang)}
    severity = {c.id: c.severity.value for c in rules.catalogue.criteria}
    report = ReadinessReport(
        scope=checked,
        code=code,
        lang=lang,
        scope_label=label,
        generated_at=services.clock(),
        totals=_roll_up(code or "", label, rows),
        provinces=[_roll_up(pc, provinces[pc].name, by_prov[pc]) for pc in sorted(by_prov)],
        communes=rows,
        catalogue=_catalogue(rules, lang),
        criterion_counts=_criterion_counts(rows, cids, titles, severity),
        off_hours=bool(rows) and all(r.off_hours for r in rows),
    )
    codes = [r.code for r in rows] if scope != "national" else None
    report.waivers = services.attestations.waivers(codes, active_only=scope != "commune")
    if scope == "commune":
        report.detail = _commune_detail(rules, states[0], titles, lang)
        report.attestations = services.attestations.attestations(codes)
        report.hosts = [h.to_json() for h in services.hosts.of_commune(states[0].code)]
    if with_history:
        report.history = _history(services, scope, code, within)
    return report


def _history(
    services: Services, scope: str, code: str | None, within: Within
) -> list[dict[str, Any]]:
    """The green coverage over time of the report's province, or of the nation; a person
    of several provinces has no national line (it counts others), one of one province theirs."""
    if scope == "province" and code:
        return services.history.history(code)
    if within.national:
        return services.history.history(NATION)
    if len(within.provinces) == 1:
        return services.history.history(next(iter(within.provinces)))
    return []


def colour_name(lang: Lang, colour: str) -> str:
    return colour_label(lang, colour)


def evidence_text(ev: dict[str, Any], lang: Lang | None = None) -> str:
    """One line of engineering text for an evidence item (see :mod:`.evidence`); in
    ``lang``, whether its host is stale and since when (docs/CRITERIA.md, "Silent hosts")."""
    line = raw_line(ev, lang or "vi")
    return f"{line} — {stale_note(ev, lang)}" if lang and ev.get("stale_since") else line
