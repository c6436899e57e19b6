"""Criteria engine: from the latest check results of a commune to criterion statuses and colour.

No database and no clock (``now`` is passed in), so the rules are tested with plain data.
Every function takes the :class:`~collector.criteria.rules.Rules` snapshot to judge under;
the only state is a caller's :class:`VerdictMemo`. The colour rules (docs/ARCHITECTURE.md):

* green  - every applicable criterion passes or is waived;
* red    - a critical criterion fails;
* yellow - anything else (something warns, fails, or could not be measured);
* grey   - silent in working time; decided at read time by :func:`colour_at`, never shown
  as green. Outside working time a commune keeps its colour (collector/domain/calendar.py).

Two steps. Each host's latest results are judged once, when it reports, against every check
rule (:func:`host_findings`, and their summary :func:`host_verdict`). A commune is then
judged from its fresh hosts' part by ONE interpreter (:func:`_interpret`) that decides not
applicable, attested, optional rules, any_of, waivers and colour. It runs over one of two
algebras: :class:`_Compact` over verdict characters (statuses alone, for the national pass:
:func:`evaluate_verdicts`) and :class:`_Detailed` over findings (statuses with reasons and
evidence: :func:`evaluate_findings`). An algebra says how statuses are represented and
combined, never which rules count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol, TypeVar

from checks import fmt
from checks.levels import HasLevels, crossing
from checks.messages import figure, render_id, render_stored, write, written
from checks.model import Status
from collector.criteria.catalogue import Severity
from collector.criteria.rules import AnyOfStep, CompiledCriterion, Rules, RuleStep, Step
from collector.domain.calendar import ROUND_THE_CLOCK, OfficeCalendar


class CriterionStatus(StrEnum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"
    WAIVED = "waived"
    NOT_APPLICABLE = "not_applicable"


class Colour(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    GREY = "grey"


COLOURS: tuple[Colour, ...] = (Colour.GREEN, Colour.YELLOW, Colour.RED, Colour.GREY)

# Combining the rules of one criterion (all must hold): a definite finding outranks an
# unknown, so "disk 5 % free" is reported even when the clock could not be measured.
_WORST = {
    CriterionStatus.PASS: 0,
    CriterionStatus.UNKNOWN: 1,
    CriterionStatus.WARN: 2,
    CriterionStatus.FAIL: 3,
}
# any_of: the best alternative decides; an unknown alternative might still be fine.
_BEST = {
    CriterionStatus.PASS: 0,
    CriterionStatus.WARN: 1,
    CriterionStatus.UNKNOWN: 2,
    CriterionStatus.FAIL: 3,
}
_FROM_CHECK = {
    "ok": CriterionStatus.PASS,
    "warn": CriterionStatus.WARN,
    "fail": CriterionStatus.FAIL,
    "unknown": CriterionStatus.UNKNOWN,
}
_STATUS_OF = {s.value: s for s in CriterionStatus}
_GREEN_STATUSES = frozenset(
    (CriterionStatus.PASS, CriterionStatus.WAIVED, CriterionStatus.NOT_APPLICABLE)
)


@dataclass(frozen=True, slots=True)
class Observation:
    """The latest result of one check for one target on one host of the commune."""

    host: str
    check: str
    target: str
    status: str
    values: dict[str, float]
    message: str
    observed_at: datetime
    #: The message by id, as stored ([id, params]; None from an older agent).
    msg: Any = None
    #: Each value's unit of measure, when known (figures in reasons are written with it).
    units: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Attestation:
    criterion_id: str
    status: str  # "pass" | "fail": an official may also attest that a condition is NOT met
    evidence: str
    entered_by: str
    entered_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Waiver:
    criterion_id: str
    reason: str
    granted_by: str
    expires_at: datetime


class Finding(NamedTuple):
    """A rule's or a criterion's verdict. A named tuple, not a dataclass: a national
    evaluation builds and combines about a million of them (several times faster)."""

    status: CriterionStatus
    en: str
    vi: str
    #: Never mutated once made; a list when read back from storage (no copy).
    evidence: Sequence[dict[str, Any]] = ()


@dataclass(frozen=True)
class CriterionOutcome:
    id: str
    status: CriterionStatus
    severity: Severity
    reason_en: str
    reason_vi: str
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "severity": self.severity.value,
            "reason_en": self.reason_en,
            "reason_vi": self.reason_vi,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class CommuneEvaluation:
    colour: Colour
    criteria: dict[str, CriterionOutcome]


#: A finding as stored in a host's findings and read back: [status, en, vi, evidence]. The
#: engine combines these without turning each into a :class:`Finding` first (a national
#: evaluation reads about 370,000 of them); a status string equals its CriterionStatus.
StoredFinding = list[Any]


# ------------------------------------------------------------------ one host's results


def _fmt(v: float) -> str:
    return f"{v:.6g}"


_OF_CHECK_STATUS = {
    Status.WARN: CriterionStatus.WARN,
    Status.FAIL: CriterionStatus.FAIL,
}
_LANGS = ("en", "vi")


def _say(id: str, lang: str, **params: Any) -> str:
    """A reason of the message catalogue (``reason.*`` in checks/messages.yaml) in ``lang``,
    written now. A host's findings are judged only when its commune's details are read
    (ingest judges statuses alone), so keeping the Vietnamese as catalogue messages to
    write later bought nothing and cost every later read of the stored findings. Its
    parameters are the engine's own (check ids, value names, statuses, figures and texts
    already written), so none holds a kept message to write out first. Not remembered
    (checks.messages.render_id): a reason names its host, so the same one hardly comes
    back before 8,192 others have pushed it out (a national evaluation writes millions),
    and remembering each cost a quarter of judging a host."""
    return render_id(id, params, lang, id, remember=False)


def levels(value: float, lv: HasLevels) -> tuple[CriterionStatus, str]:
    """The status of ``value`` under ``lv`` and the bound it crossed ("< 0.2"; "" when it
    passes), by the same comparison as the agents' checks (:func:`checks.levels.crossing`)."""
    hit = crossing(value, lv.fail_below, lv.fail_above, lv.warn_below, lv.warn_above)
    if hit is None:
        return CriterionStatus.PASS, ""
    status, bound, side = hit
    return _OF_CHECK_STATUS[status], f"{'<' if side == 'below' else '>'} {_fmt(bound)}"


class _Crossed(NamedTuple):
    """A value past a level: its name, figure and unit, which side and which level."""

    name: str
    value: float
    unit: str
    side: str
    bound: float

    def figures(self, lang: str) -> tuple[str, str]:
        """The value and the level as ``lang`` writes them (English: as measured)."""
        if lang == "en":
            return _fmt(self.value), _fmt(self.bound)
        return (
            figure(float(self.value), self.unit, self.name, lang),
            figure(float(self.bound), self.unit, self.name, lang),
        )


def _crossed(name: str, value: float, unit: str, lv: HasLevels) -> tuple[CriterionStatus, Any]:
    hit = crossing(value, lv.fail_below, lv.fail_above, lv.warn_below, lv.warn_above)
    if hit is None:
        return CriterionStatus.PASS, None
    status, bound, side = hit
    return _OF_CHECK_STATUS[status], _Crossed(name, value, unit, side, bound)


def _evidence(obs: Observation, value: str | None = None) -> dict[str, Any]:
    values = {value: obs.values[value]} if value and value in obs.values else dict(obs.values)
    ev = {
        "host": obs.host,
        "check": obs.check,
        "target": obs.target,
        "status": obs.status,
        "values": values,
        "message": obs.message,
        "observed_at": obs.observed_at.isoformat(),
    }
    if obs.msg:
        ev["msg"] = obs.msg
    return ev


def _where(obs: Observation) -> str:
    return f"{obs.host}" + (f" ({obs.target})" if obs.target else "")


def _said(obs: Observation, lang: str) -> str:
    """The check's own message in ``lang``: from its id when it has one, else as sent."""
    if lang == "vi" and obs.msg:
        try:
            id, params = obs.msg
        except (TypeError, ValueError):
            return obs.message
        if isinstance(params, dict):
            return write(str(id), params, lang, obs.message)
        return obs.message
    return render_stored(obs.msg, lang, obs.message)


def _eval_status(step: RuleStep, obs: Observation, detail: bool = True) -> Finding:
    """A rule on the check's own status: the status the agent reported (a fact: reachable,
    measured) made worse by any of the catalogue's ``levels:`` the result's values cross."""
    status = _FROM_CHECK.get(obs.status, CriterionStatus.UNKNOWN)
    crossed: list[_Crossed] = []
    if step.levels and status is not CriterionStatus.UNKNOWN:
        for name, bounds in step.levels.items():
            v = obs.values.get(name)
            if v is None:
                continue
            judged, hit = _crossed(name, v, obs.units.get(name, ""), bounds)
            if hit is not None:
                crossed.append(hit)
                status = max(status, judged, key=_WORST.__getitem__)
    if not detail:
        return Finding(status, "", "")
    said = status.value if crossed else obs.status
    en, vi = (_status_reason(obs, status, said, crossed, lang) for lang in _LANGS)
    return Finding(status, en, vi, (_evidence(obs),))


def _status_reason(
    obs: Observation, status: CriterionStatus, said: str, crossed: list[_Crossed], lang: str
) -> str:
    parts = [_said(obs, lang)] if obs.message and status is not CriterionStatus.PASS else []
    for c in crossed:
        value, bound = c.figures(lang)
        parts.append(_say(f"reason.crossed_{c.side}", lang, name=c.name, figure=value, bound=bound))
    detail = (": " + "; ".join(parts)) if parts else ""
    shown = said if lang == "en" else status.value
    return _say(
        "reason.status", lang, check=obs.check, status=shown, where=_where(obs), detail=detail
    )


def _eval_one(step: RuleStep, obs: Observation, detail: bool = True) -> Finding:
    """The rule's finding for one result; with ``detail=False`` its status alone (no
    reasons, no evidence: what a verdict needs)."""
    rule = step.rule
    if rule.value is None:
        return _eval_status(step, obs, detail)
    v = obs.values.get(rule.value)
    if v is None:
        # A failed check often carries no figures (device unreachable): that is a failure;
        # anything else without the figure is "could not measure".
        status = CriterionStatus.FAIL if obs.status == "fail" else CriterionStatus.UNKNOWN
        if not detail:
            return Finding(status, "", "")
        where = _where(obs)
        en, vi = (
            _say(
                "reason.not_measured",
                lang,
                check=obs.check,
                name=rule.value,
                where=where,
                detail=_said(obs, lang) or _say("reason.no_value", lang),
            )
            for lang in _LANGS
        )
        return Finding(status, en, vi, (_evidence(obs, rule.value),))
    unit = obs.units.get(rule.value, "")
    status, hit = _crossed(rule.value, v, unit, rule)
    if not detail:
        return Finding(status, "", "")
    where = _where(obs)
    en, vi = (_value_reason(rule.value, v, unit, hit, where, lang) for lang in _LANGS)
    return Finding(status, en, vi, (_evidence(obs, rule.value),))


def _value_reason(
    name: str, value: float, unit: str, hit: _Crossed | None, where: str, lang: str
) -> str:
    if hit is None:
        shown = _fmt(value) if lang == "en" else figure(float(value), unit, name, lang)
        bound = ""
    else:
        shown, level = hit.figures(lang)
        bound = _say(f"reason.bound_{hit.side}", lang, bound=level)
    return _say("reason.value", lang, name=name, figure=shown, bound=bound, where=where)


# ------------------------------------------------------------------ per-host findings
# A commune's automated criteria combine the findings of every host. Each host's part
# depends only on that host's own latest results, so it is computed once when the host
# reports (:func:`host_findings`) and stored; evaluating a commune then combines a few
# small per-host parts instead of re-reading and re-judging every result of every host.


@dataclass(frozen=True)
class HostFindings:
    """What one host's latest results say for each check rule of a catalogue."""

    fingerprint: str
    #: Checks with at least one result (an optional rule or any_of alternative with none
    #: is "not used" rather than "unknown").
    checks: frozenset[str]
    #: rule key -> one finding per matching result of this host (as judged, or as stored).
    rules: dict[str, Sequence[Finding | StoredFinding]]

    def to_json(self) -> dict[str, Any]:
        return {
            "v": self.fingerprint,
            "checks": sorted(self.checks),
            "rules": {
                k: [[str(f[0]), f[1], f[2], f[3]] for f in fs] for k, fs in self.rules.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostFindings:
        """As stored: the findings stay the lists they were read as (see StoredFinding)."""
        return cls(data["v"], frozenset(data["checks"]), data["rules"])


def host_findings(
    rules: Rules, observations: Iterable[Observation], detail: bool = True
) -> HostFindings:
    """Judge one host's latest results against every check rule of ``rules``; with
    ``detail=False``, each finding's status alone (enough for :func:`host_verdict`)."""
    by_check = rules.compiled.by_check
    checks: set[str] = set()
    found: dict[str, list[Finding | StoredFinding]] = {}
    for o in observations:
        checks.add(o.check)
        for step in by_check.get(o.check, ()):
            if step.rule.target is None or o.target == step.rule.target:
                found.setdefault(step.key, []).append(_eval_one(step, o, detail))
    return HostFindings(rules.fingerprint, frozenset(checks), dict(found))


#: One result as :func:`host_statuses` reads it: check, target, the agent's status, and
#: its figures (value name -> [value, unit], as a host's latest results keep them).
Figured = tuple[str, str, str, "dict[str, list[Any]]"]


def host_statuses(rules: Rules, results: Iterable[Figured]) -> HostFindings:
    """:func:`host_findings` with ``detail=False`` (each finding's status alone) of results
    given as their figures: the same findings without building an :class:`Observation`
    per result (ingest judges every report this way, for its verdict)."""
    by_check = rules.compiled.by_check
    checks: set[str] = set()
    found: dict[str, list[Finding | StoredFinding]] = {}
    for check, target, status, figures in results:
        checks.add(check)
        for step in by_check.get(check, ()):
            if step.rule.target is None or target == step.rule.target:
                found.setdefault(step.key, []).append(
                    Finding(_status_of(step, status, figures), "", "")
                )
    return HostFindings(rules.fingerprint, frozenset(checks), dict(found))


def _level_status(value: float, lv: HasLevels) -> CriterionStatus:
    hit = crossing(value, lv.fail_below, lv.fail_above, lv.warn_below, lv.warn_above)
    return CriterionStatus.PASS if hit is None else _OF_CHECK_STATUS[hit[0]]


def _status_of(step: RuleStep, status: str, figures: dict[str, list[Any]]) -> CriterionStatus:
    """:func:`_eval_one`'s status (``detail=False``) of a result given as its figures."""
    rule = step.rule
    if rule.value is not None:
        fig = figures.get(rule.value)
        if fig is None or fig[0] is None:
            return CriterionStatus.FAIL if status == "fail" else CriterionStatus.UNKNOWN
        return _level_status(fig[0], rule)
    out = _FROM_CHECK.get(status, CriterionStatus.UNKNOWN)
    if step.levels and out is not CriterionStatus.UNKNOWN:
        for name, bounds in step.levels.items():
            fig = figures.get(name)
            if fig is not None and fig[0] is not None:
                out = max(out, _level_status(fig[0], bounds), key=_WORST.__getitem__)
    return out


# ------------------------------------------------------------------ durations
# A rule with ``for:`` counts a host's warning or failure only once it has lasted that long
# (NET-01: the dedicated network down for more than 5 minutes, not one failed connect); one
# with ``recover:`` counts it as cleared only once it has been clear that long. Per host and
# timed rule, three things are kept (agents.conditions): the status the results say now,
# since when they say it (the agent's own clock: both ends of a duration are its
# measurements), and the status that counts. A host seen for the first time with a failure
# is pending: it counts as passing until the failure has lasted. Judged when the host
# reports, from its stored state: nothing re-reads history.

#: Per rule key: [status char now, since (Unix seconds), status char counted].
Conditions = dict[str, list[Any]]


def _span(seconds: float, lang: str) -> str:
    s = int(seconds)
    if s >= 60 and s % 60 == 0:
        return f"{s // 60} phút" if lang == "vi" else f"{s // 60} min"
    return f"{s} giây" if lang == "vi" else f"{s} s"


def _held(step: RuleStep, raw: str, prev: list[Any] | None, at: int) -> list[Any]:
    """The condition of one timed rule after a report at ``at`` that says ``raw``."""
    if prev is None:
        return [raw, at, "0" if raw in "23" and step.for_s else raw]
    was, since, held = prev
    if raw != was:
        since = at
    if raw > held and raw in "23" and at - since < step.for_s:
        return [raw, since, held]  # pending: not failing yet
    if raw < held and held in "23" and at - since < step.recover_s:
        return [raw, since, held]  # recovering: still failing
    return [raw, since, raw]


def _noted(step: RuleStep, found: Finding, cond: list[Any], at: int) -> Finding:
    """The rule's finding with the status that counts and why it is not the one seen."""
    raw, since, held = cond
    status = _OF_CHAR[held]
    pending = held < raw
    need_s = step.for_s if pending else step.recover_s
    en, vi = (
        _say(
            "reason.pending" if pending else "reason.still_counted",
            lang,
            found=found.en if lang == "en" else found.vi,
            need=_span(need_s, lang),
            so_far=_span(at - since, lang),
            status=status.value,
        )
        for lang in _LANGS
    )
    return Finding(status, en, vi, found.evidence)


def advance_conditions(
    rules: Rules, observations: Iterable[Observation], conditions: Conditions | None, at: datetime
) -> Conditions:
    """The conditions of a host's timed rules after a report measured at ``at`` with the
    results ``observations``: for each report of a batch but the newest (a spool drained
    after an outage), judging the timed rules only. A timed rule the report has no result
    for keeps its condition."""
    timed = rules.compiled.timed
    before = conditions or {}
    if not timed:
        return {}
    keys = {s.key for s in timed}
    worst: dict[str, str] = {}
    for o in observations:
        for step in rules.compiled.by_check.get(o.check, ()):
            if step.key in keys and (step.rule.target is None or o.target == step.rule.target):
                char = _DIGIT[_eval_one(step, o, detail=False).status.value]
                worst[step.key] = max(worst.get(step.key, char), char)
    now = int(at.timestamp())
    out = {k: v for k, v in before.items() if k in keys}
    for s in timed:
        if s.key in worst:
            out[s.key] = _held(s, worst[s.key], before.get(s.key), now)
    return out


def apply_durations(
    rules: Rules,
    findings: HostFindings,
    conditions: Conditions | None,
    at: datetime,
    detail: bool = True,
) -> tuple[HostFindings, Conditions]:
    """``findings`` with each timed rule's status as it counts after a report measured at
    ``at``, and the host's conditions to keep for its next report; with ``detail=False``
    (findings judged for a verdict alone) the statuses only, without saying why."""
    timed = rules.compiled.timed
    if not timed:
        return findings, {}
    now = int(at.timestamp())
    before = conditions or {}
    kept: Conditions = {}
    found = dict(findings.rules)
    for step in timed:
        fs = found.get(step.key)
        if not fs:  # no result: nothing to time (the rule is unknown or not used)
            continue
        combined = _combine(fs, _WORST, worst=True)
        cond = _held(step, _DIGIT[combined.status.value], before.get(step.key), now)
        kept[step.key] = cond
        if cond[2] != cond[0]:
            found[step.key] = [
                _noted(step, combined, cond, now) if detail else Finding(_OF_CHAR[cond[2]], "", "")
            ]
    return HostFindings(findings.fingerprint, findings.checks, found), kept


# ------------------------------------------------------------------ verdicts
# What a commune's criterion STATUSES (and so its colour) need from a host is far less than
# its findings: per rule, the worst status of the host's findings; per check, whether the
# host has a result at all (for optional rules and any_of). That fits in a short string,
# the host's verdict, kept beside its findings. "Worst" is associative, so the verdicts of a
# commune's hosts pool by taking, at each position, the worst character: no JSON, no
# evidence, no reasons. The national pass works from verdicts; reasons and evidence are
# filled in from findings afterwards, by the same interpreter over the other algebra.

#: A rule's status in a verdict, one character, ordered as _WORST ranks them (so the worst
#: of several is their max()); "." (below "0") when the host has no result for the rule.
_DIGIT = {"pass": "0", "unknown": "1", "warn": "2", "fail": "3"}
#: Every status as the compact algebra writes it (the last two only for whole criteria).
_CHAR = {**_DIGIT, "waived": "w", "not_applicable": "n"}
_OF_CHAR = {c: _STATUS_OF[s] for s, c in _CHAR.items()}
assert all(_WORST[_OF_CHAR[d]] == int(d) for d in _DIGIT.values())
#: any_of keeps the best alternative: _BEST's order of the same characters.
_BEST_OF_DIGIT = {d: _BEST[_OF_CHAR[d]] for d in _DIGIT.values()}


def host_verdict(rules: Rules, findings: HostFindings) -> str:
    """``fingerprint:rules:checks``: per rule of the compiled catalogue, the worst status of
    the host's findings ("." for none); per check some rule reads, "1" when the host has a
    result of it."""
    compiled = rules.compiled
    found = findings.rules
    digit = _DIGIT
    chars = []
    for step in compiled.rules:  # once per report ingested: the common cases first
        fs = found.get(step.key)
        if not fs:
            chars.append(".")
        elif len(fs) == 1:
            chars.append(digit[str(fs[0][0])])
        else:
            chars.append(max([digit[str(f[0])] for f in fs]))
    checks = findings.checks
    flags = "".join(["1" if c in checks else "0" for c in compiled.checks])
    return f"{rules.fingerprint}:{''.join(chars)}:{flags}"


def verdict_is_current(rules: Rules, verdict: str | None) -> bool:
    """Whether a stored verdict was made under these rules."""
    if not verdict:
        return False
    return verdict.partition(":")[0] == rules.fingerprint


def _pool_verdicts(rules: Rules, verdicts: Sequence[str]) -> str:
    """The commune's "rules:checks": at each position the worst of its hosts' characters
    (":" is the same in every verdict)."""
    skip = len(rules.fingerprint) + 1
    if len(verdicts) == 1:
        return verdicts[0][skip:]
    if verdicts:
        return "".join(map(max, zip(*[v[skip:] for v in verdicts], strict=True)))
    return "." * len(rules.compiled.rules) + ":" + "0" * len(rules.compiled.checks)


#: evaluate_verdicts' answer: the colour and, per criterion, (status, severity) as stored.
Statuses = tuple[Colour, dict[str, tuple[str, str]]]


class VerdictMemo:
    """:func:`evaluate_verdicts`'s answers, owned by its caller (e.g. one per store).

    Most communes of a nation share one of a few hundred combinations of pooled verdicts,
    attested statuses and waivers, so a national pass mostly looks its answers up. Keys
    start with the rules' fingerprint: answers under two rule sets are never mixed. Bounded:
    emptied when full."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._answers: dict[tuple[Any, ...], Statuses] = {}

    def get(self, key: tuple[Any, ...]) -> Statuses | None:
        return self._answers.get(key)

    def put(self, key: tuple[Any, ...], answer: Statuses) -> None:
        if len(self._answers) >= self.max_entries:
            self._answers.clear()
        self._answers[key] = answer

    def clear(self) -> None:
        self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)


def evaluate_verdicts(
    rules: Rules,
    commune_kind: str,
    verdicts: Sequence[str],
    attestations: Sequence[Attestation] = (),
    waivers: Sequence[Waiver] = (),
    now: datetime | None = None,
    memo: VerdictMemo | None = None,
) -> Statuses:
    """The colour and every criterion's status and severity (their values, as stored), as
    :func:`evaluate_findings` decides them, from the fresh hosts' verdicts (all made under
    ``rules``). With a ``memo``, the dictionary returned may be shared: read it, do not
    change it."""
    if now is None:
        from checks.model import utcnow

        now = utcnow()
    pooled = _pool_verdicts(rules, verdicts)
    attested = _attested(rules, attestations, now)
    waived = _in_force(waivers, now)
    key = (
        rules.fingerprint,
        commune_kind,
        pooled,
        tuple([status for status, _ in attested.values()]),
        frozenset(waived),
    )
    done = memo.get(key) if memo is not None else None
    if done is None:
        judged = _interpret(rules, _Compact(pooled), commune_kind, attested, waived)
        done = (
            _colour((status, c.severity) for c, status, _ in judged),
            {c.id: (status.value, c.severity.value) for c, status, _ in judged},
        )
        if memo is not None:
            memo.put(key, done)
    return done


# ------------------------------------------------------------------ the commune's findings


@dataclass(frozen=True)
class _Pooled:
    """Every host's findings of one commune, pooled per rule."""

    checks: frozenset[str]
    rules: dict[str, list[Finding | StoredFinding]]


def _pool(hosts: Iterable[HostFindings]) -> _Pooled:
    checks: set[str] = set()
    rules: dict[str, list[Finding | StoredFinding]] = {}
    for h in hosts:
        checks |= h.checks
        for k, fs in h.rules.items():
            rules.setdefault(k, []).extend(fs)
    return _Pooled(frozenset(checks), rules)


def evaluate_commune(
    rules: Rules,
    commune_kind: str,
    observations: Iterable[Observation],
    attestations: Sequence[Attestation] = (),
    waivers: Sequence[Waiver] = (),
    now: datetime | None = None,
) -> CommuneEvaluation:
    """Evaluate every criterion of the rules for one commune.

    ``observations`` are the latest, fresh results of the commune's hosts; ``now`` decides
    which attestations and waivers are still in force.
    """
    by_host: dict[str, list[Observation]] = {}
    for o in observations:
        by_host.setdefault(o.host, []).append(o)
    hosts = [host_findings(rules, by_host[h]) for h in sorted(by_host)]
    return evaluate_findings(rules, commune_kind, hosts, attestations, waivers, now)


def evaluate_findings(
    rules: Rules,
    commune_kind: str,
    hosts: Iterable[HostFindings],
    attestations: Sequence[Attestation] = (),
    waivers: Sequence[Waiver] = (),
    now: datetime | None = None,
) -> CommuneEvaluation:
    """:func:`evaluate_commune` from the fresh hosts' stored :func:`host_findings`."""
    if now is None:
        from checks.model import utcnow

        now = utcnow()
    judged = _interpret(
        rules,
        _Detailed(_pool(hosts)),
        commune_kind,
        _attested(rules, attestations, now),
        _in_force(waivers, now),
    )
    # Findings are judged with their Vietnamese written out; written() only writes out the
    # kept messages of findings stored before that (a text without one is returned as is).
    outcomes = {
        c.id: CriterionOutcome(
            c.id, status, c.severity, f.en, written(f.vi, "vi"), list(f.evidence)
        )
        for c, status, f in judged
    }
    return CommuneEvaluation(colour=colour_of(outcomes.values()), criteria=outcomes)


# ------------------------------------------------------------------ the interpreter

V = TypeVar("V")


class _Algebra(Protocol[V]):
    """How one commune's statuses are represented and combined. Bound to the commune's
    pooled hosts; the interpreter alone decides which rules count and how."""

    def status(self, value: V) -> CriterionStatus: ...

    def measured(self, step: RuleStep) -> bool:
        """Whether some host has a result of the step's check (any target)."""
        ...

    def results(self, step: RuleStep) -> V | None:
        """The worst of every host's findings for the rule; None when there is none."""
        ...

    def worst(self, values: Sequence[V]) -> V:
        """All must hold: the worst status decides (_WORST)."""
        ...

    def best(self, values: Sequence[V]) -> V:
        """Any may hold: the best status decides (_BEST)."""
        ...

    def no_result(self, step: RuleStep) -> V:
        """UNKNOWN: no host has a result for the rule."""
        ...

    def nothing_measured(self) -> V:
        """UNKNOWN: every rule of the criterion is optional and none has a result."""
        ...

    def not_applicable(self, commune_kind: str) -> V: ...

    def attested(self, status: CriterionStatus, latest: Attestation | None) -> V:
        """``status`` as decided from ``latest``, the criterion's latest attestation."""
        ...

    def waived(self, value: V, waiver: Waiver) -> V:
        """WAIVED, over what ``value`` said."""
        ...


def _attested(
    rules: Rules, attestations: Sequence[Attestation], now: datetime
) -> dict[str, tuple[CriterionStatus, Attestation | None]]:
    """Each attested criterion's status and latest attestation: UNKNOWN without one or
    when it has expired; FAIL when an official attested that the condition is not met."""
    latest: dict[str, Attestation] = {}
    for a in attestations:
        seen = latest.get(a.criterion_id)
        if seen is None or a.entered_at >= seen.entered_at:
            latest[a.criterion_id] = a
    out: dict[str, tuple[CriterionStatus, Attestation | None]] = {}
    for cid in rules.compiled.attested:
        last = latest.get(cid)
        if last is None or last.expires_at <= now:
            out[cid] = (CriterionStatus.UNKNOWN, last)
        elif last.status == "fail":
            out[cid] = (CriterionStatus.FAIL, last)
        else:
            out[cid] = (CriterionStatus.PASS, last)
    return out


def _in_force(waivers: Sequence[Waiver], now: datetime) -> dict[str, Waiver]:
    return {w.criterion_id: w for w in waivers if w.expires_at > now}


def _interpret(
    rules: Rules,
    algebra: _Algebra[V],
    commune_kind: str,
    attested: dict[str, tuple[CriterionStatus, Attestation | None]],
    waivers: dict[str, Waiver],
) -> list[tuple[CompiledCriterion, CriterionStatus, V]]:
    """Every criterion's status and value: not applicable to this kind of commune; from its
    attestation; or from its rules. A waiver in force turns anything but a pass into
    WAIVED."""
    out = []
    for c in rules.compiled.criteria:
        if commune_kind not in c.applies_to:
            value = algebra.not_applicable(commune_kind)
        elif c.attested:
            value = algebra.attested(*attested[c.id])
        else:
            value = _automated(algebra, c.steps)
        status = algebra.status(value)
        waiver = waivers.get(c.id)
        if waiver is not None and status is not CriterionStatus.PASS:
            value, status = algebra.waived(value, waiver), CriterionStatus.WAIVED
        out.append((c, status, value))
    return out


def _automated(algebra: _Algebra[V], steps: tuple[Step, ...]) -> V:
    """All rules must hold. An optional rule without any result of its check is left out.
    An any_of keeps its best alternative among those measured (an alternative the commune
    does not use, e.g. no H.323 endpoint, does not make it unknown), or among all when none
    is."""
    found = []
    for step in steps:
        if isinstance(step, AnyOfStep):
            alts = [s for s in step.alternatives if algebra.measured(s)] or step.alternatives
            found.append(algebra.best([_rule(algebra, s) for s in alts]))
        elif not step.optional or algebra.measured(step):
            found.append(_rule(algebra, step))
    return algebra.worst(found) if found else algebra.nothing_measured()


def _rule(algebra: _Algebra[V], step: RuleStep) -> V:
    value = algebra.results(step)
    return algebra.no_result(step) if value is None else value


def _colour(statuses: Iterable[tuple[CriterionStatus, Severity]]) -> Colour:
    green = True
    for status, severity in statuses:
        if status is CriterionStatus.FAIL and severity is Severity.CRITICAL:
            return Colour.RED
        if status not in _GREEN_STATUSES:
            green = False
    return Colour.GREEN if green else Colour.YELLOW


def colour_of(outcomes: Iterable[CriterionOutcome]) -> Colour:
    """Colour from criterion outcomes (fresh data assumed; see :func:`colour_at`)."""
    return _colour((o.status, o.severity) for o in outcomes)


def colour_at(
    evaluated: Colour | str | None,
    last_report_at: datetime | None,
    now: datetime,
    stale_after_s: float,
    calendar: OfficeCalendar = ROUND_THE_CLOCK,
    working: bool | None = None,
) -> Colour:
    """The colour to show now. In working time: grey when the commune has been silent for
    more than ``stale_after_s`` seconds of its ``calendar``'s working time, whatever it
    was. Outside working time: the colour it had (grey only if it never reported).
    ``working``: whether ``now`` is working time, when the caller knows already."""
    if evaluated is None or last_report_at is None:
        return Colour.GREY
    if working is None:
        working = calendar.is_working_time(now)
    if working and calendar.is_silent(last_report_at, now, stale_after_s):
        return Colour.GREY
    return Colour(evaluated)


# ------------------------------------------------------------------ the two algebras


class _Compact:
    """Statuses alone, as verdict characters (:data:`_CHAR`), from pooled verdicts."""

    __slots__ = ("checks", "rules")

    def __init__(self, pooled: str) -> None:
        self.rules, _, self.checks = pooled.partition(":")

    def status(self, value: str) -> CriterionStatus:
        return _OF_CHAR[value]

    def measured(self, step: RuleStep) -> bool:
        return self.checks[step.check_pos] == "1"

    def results(self, step: RuleStep) -> str | None:
        char = self.rules[step.pos]  # the worst of the hosts' already (pooled)
        return None if char == "." else char

    def worst(self, values: Sequence[str]) -> str:
        return max(values)

    def best(self, values: Sequence[str]) -> str:
        return min(values, key=_BEST_OF_DIGIT.__getitem__)

    def no_result(self, step: RuleStep) -> str:
        return _DIGIT["unknown"]

    def nothing_measured(self) -> str:
        return _DIGIT["unknown"]

    def not_applicable(self, commune_kind: str) -> str:
        return _CHAR["not_applicable"]

    def attested(self, status: CriterionStatus, latest: Attestation | None) -> str:
        return _CHAR[status]

    def waived(self, value: str, waiver: Waiver) -> str:
        return _CHAR["waived"]


def _finding(f: Finding | StoredFinding) -> Finding:
    if isinstance(f, Finding):
        return f
    return Finding(_STATUS_OF[f[0]], f[1], f[2], f[3])


def _combine(
    findings: Sequence[Finding | StoredFinding], rank: dict[CriterionStatus, int], worst: bool
) -> Finding:
    if len(findings) == 1:  # the common case: one host, one target
        return _finding(findings[0])
    statuses = {f[0] for f in findings}
    if len(statuses) == 1:  # the next most common: all of them agree
        decisive, same = findings[0][0], findings
    else:
        decisive = (max if worst else min)(statuses, key=rank.__getitem__)
        same = [f for f in findings if f[0] == decisive]
    # Name every finding of the deciding status; keep all evidence.
    return Finding(
        _STATUS_OF[decisive],
        "; ".join(dict.fromkeys([f[1] for f in same])),
        "; ".join(dict.fromkeys([f[2] for f in same])),
        [e for f in findings for e in f[3]],
    )


class _Detailed:
    """Findings: statuses with reasons in English and Vietnamese, and evidence."""

    __slots__ = ("pooled",)

    def __init__(self, pooled: _Pooled) -> None:
        self.pooled = pooled

    def status(self, value: Finding) -> CriterionStatus:
        return value.status

    def measured(self, step: RuleStep) -> bool:
        return step.rule.check in self.pooled.checks

    def results(self, step: RuleStep) -> Finding | None:
        found = self.pooled.rules.get(step.key)
        return _combine(found, _WORST, worst=True) if found else None

    def worst(self, values: Sequence[Finding]) -> Finding:
        return _combine(values, _WORST, worst=True)

    def best(self, values: Sequence[Finding]) -> Finding:
        return _combine(values, _BEST, worst=False)

    def no_result(self, step: RuleStep) -> Finding:
        check, target = step.rule.check, step.rule.target
        id = "reason.no_result_target" if target else "reason.no_result"
        en, vi = (_say(id, lang, check=check, target=target or "") for lang in _LANGS)
        return Finding(CriterionStatus.UNKNOWN, en, vi)

    def nothing_measured(self) -> Finding:
        en, vi = (_say("reason.nothing_measured", lang) for lang in _LANGS)
        return Finding(CriterionStatus.UNKNOWN, en, vi)

    def not_applicable(self, commune_kind: str) -> Finding:
        en, vi = (_say("reason.not_applicable", lang, kind=commune_kind) for lang in _LANGS)
        return Finding(CriterionStatus.NOT_APPLICABLE, en, vi)

    def attested(self, status: CriterionStatus, latest: Attestation | None) -> Finding:
        if latest is None:
            en, vi = (_say("reason.no_attestation", lang) for lang in _LANGS)
            return Finding(status, en, vi)
        ev = (
            {
                "attestation": latest.evidence,
                "entered_by": latest.entered_by,
                "entered_at": latest.entered_at.isoformat(),
                "expires_at": latest.expires_at.isoformat(),
            },
        )
        id = {
            CriterionStatus.UNKNOWN: "reason.attestation_expired",
            CriterionStatus.FAIL: "reason.attested_fail",
        }.get(status, "reason.attested")
        en, vi = (
            _say(id, lang, by=latest.entered_by, day=_day(latest.expires_at, lang))
            for lang in _LANGS
        )
        return Finding(status, en, vi, ev)

    def waived(self, value: Finding, waiver: Waiver) -> Finding:
        en, vi = (
            _say(
                "reason.waived",
                lang,
                by=waiver.granted_by,
                until=_day(waiver.expires_at, lang),
                reason=waiver.reason,
                was=value.en if lang == "en" else value.vi,
            )
            for lang in _LANGS
        )
        return Finding(CriterionStatus.WAIVED, en, vi, value.evidence)


def _day(at: datetime, lang: str) -> str:
    """A day in a reason: ISO 8601 in English, dd/mm/yyyy (UTC+7) in Vietnamese."""
    if lang == "en":
        return at.date().isoformat()
    return fmt.when(at, lang)[:10]
