"""The rules in force: an immutable snapshot of a catalogue and its compiled form.

A :class:`Rules` is made once per catalogue (at start and at each reload) and never changes,
so an evaluation that holds one snapshot judges everything under one rule set even if a
reload swaps in another meanwhile. :class:`RulesHolder` is the one place a process keeps its
current snapshot; readers take it once per request and pass it down.

The compiled form flattens every check rule (each alternative of an ``any_of`` too) into a
numbered list: a host's findings are stored per rule key, and a host's verdict has one
character per rule position and one flag per check (see ``collector/criteria/engine.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from checks.levels import Bounds, table_to_json
from collector.criteria.catalogue import (
    AnyOfRule,
    Catalogue,
    CheckRule,
    Criterion,
    Kind,
    Severity,
    duration_seconds,
    level_table,
)


@dataclass(frozen=True, slots=True)
class RuleStep:
    """One check rule of a criterion (or one alternative of an any_of)."""

    #: Where a host's findings keep this rule's findings: "NET-01#0", "VC-01#0.2".
    key: str
    #: Its position among the rules of a verdict.
    pos: int
    #: The position of its check among the check flags of a verdict.
    check_pos: int
    rule: CheckRule
    #: ``rule.optional``, at hand for the interpreter.
    optional: bool
    #: For a rule on the check's own status (no ``value:``): the catalogue's ``levels:``
    #: of that check's values, judged with the status. Empty otherwise.
    levels: Mapping[str, Bounds] = field(default_factory=dict)
    #: ``for:`` and ``recover:`` in seconds (0: none): see engine.apply_durations.
    for_s: int = 0
    recover_s: int = 0


@dataclass(frozen=True, slots=True)
class AnyOfStep:
    """An any_of rule: its alternatives, each a :class:`RuleStep`."""

    alternatives: tuple[RuleStep, ...]


Step = RuleStep | AnyOfStep


@dataclass(frozen=True, slots=True)
class CompiledCriterion:
    criterion: Criterion
    id: str
    severity: Severity
    applies_to: frozenset[str]
    attested: bool
    #: Its rules in catalogue order (none for an attested criterion).
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class CompiledCatalogue:
    """The catalogue's check rules flattened once, each under a stable key and position."""

    #: Every check rule, each alternative of an any_of included, in verdict order.
    rules: tuple[RuleStep, ...]
    #: The rules reading each check.
    by_check: dict[str, tuple[RuleStep, ...]]
    #: Every check some rule reads, sorted: the positions of a verdict's check flags.
    checks: tuple[str, ...]
    #: Every criterion, in catalogue order.
    criteria: tuple[CompiledCriterion, ...]
    #: The ids of the attested criteria (their statuses come from attestations).
    attested: tuple[str, ...]
    #: Every level of the catalogue (rules and ``levels:``): what agents judge with.
    levels: Mapping[str, Mapping[str, Bounds]]
    #: The rules with a ``for:`` or ``recover:`` duration.
    timed: tuple[RuleStep, ...] = ()


def _rule_key(criterion_id: str, i: int, j: int | None = None) -> str:
    return f"{criterion_id}#{i}" if j is None else f"{criterion_id}#{i}.{j}"


def fingerprint_of(catalogue: Catalogue) -> str:
    """16 hex characters naming the criteria and levels (not e.g. ``stale_after_s``): what
    a host's findings and verdict depend on. Stored with them: it must not change for the
    same criteria and levels."""
    judged: list[object] = [c.model_dump(mode="json") for c in catalogue.criteria]
    if catalogue.levels:  # a catalogue without a levels table keeps its fingerprint
        judged.append(
            {
                k: {n: s.model_dump(mode="json") for n, s in v.items()}
                for k, v in sorted(catalogue.levels.items())
            }
        )
    rules_json = json.dumps(judged, sort_keys=False)
    return hashlib.sha256(rules_json.encode()).hexdigest()[:16]


def remediation_by_check(catalogue: Catalogue) -> dict[str, list[dict[str, Any]]]:
    """Check id -> the criteria it feeds, with their titles and remediation steps (vi, en):
    what ``ioc-agent check`` shows under a failing result."""
    out: dict[str, list[dict[str, Any]]] = {}
    for c in catalogue.criteria:
        g = catalogue.guidance.get(c.id)
        if g is None:
            continue
        remedy = {
            "id": c.id,
            "title": {"vi": c.title.vi, "en": c.title.en},
            "steps": {"vi": list(g.remediation.vi), "en": list(g.remediation.en)},
        }
        for check in sorted(c.check_ids()):
            out.setdefault(check, []).append(remedy)
    return dict(sorted(out.items()))


def compile_catalogue(catalogue: Catalogue) -> CompiledCatalogue:
    """Flatten the catalogue's rules: keys and positions for every check rule."""
    flat: list[tuple[str, CheckRule]] = []
    for c in catalogue.criteria:
        for i, rule in enumerate(c.rules):
            if isinstance(rule, AnyOfRule):
                flat.extend((_rule_key(c.id, i, j), r) for j, r in enumerate(rule.any_of))
            else:
                flat.append((_rule_key(c.id, i), rule))
    checks = tuple(sorted({rule.check for _, rule in flat}))
    check_at = {check: i for i, check in enumerate(checks)}
    own = {
        check: {name: Bounds.of(spec) for name, spec in values.items()}
        for check, values in catalogue.levels.items()
    }
    steps = tuple(
        RuleStep(
            key,
            pos,
            check_at[rule.check],
            rule,
            rule.optional,
            own.get(rule.check, {}) if rule.value is None else {},
            duration_seconds(rule.hold_for) if rule.hold_for else 0,
            duration_seconds(rule.recover) if rule.recover else 0,
        )
        for pos, (key, rule) in enumerate(flat)
    )
    step_of = {s.key: s for s in steps}
    by_check: dict[str, list[RuleStep]] = {}
    for s in steps:
        by_check.setdefault(s.rule.check, []).append(s)
    criteria = []
    for c in catalogue.criteria:
        mine: list[Step] = []
        for i, rule in enumerate(c.rules):
            if isinstance(rule, AnyOfRule):
                mine.append(
                    AnyOfStep(
                        tuple(step_of[_rule_key(c.id, i, j)] for j in range(len(rule.any_of)))
                    )
                )
            else:
                mine.append(step_of[_rule_key(c.id, i)])
        criteria.append(
            CompiledCriterion(
                c, c.id, c.severity, frozenset(c.applies_to), c.kind is Kind.ATTESTED, tuple(mine)
            )
        )
    return CompiledCatalogue(
        steps,
        {k: tuple(v) for k, v in by_check.items()},
        checks,
        tuple(criteria),
        tuple(c.id for c in catalogue.criteria if c.kind is Kind.ATTESTED),
        level_table(catalogue),
        tuple(s for s in steps if s.for_s or s.recover_s),
    )


@dataclass(frozen=True)
class Rules:
    """A catalogue, its compiled form and its fingerprint: never changed once made."""

    catalogue: Catalogue
    #: 16 hex characters, from the criteria only (see :func:`fingerprint_of`).
    fingerprint: str
    compiled: CompiledCatalogue = field(compare=False, repr=False)

    @classmethod
    def of(cls, catalogue: Catalogue) -> Rules:
        return cls(catalogue, fingerprint_of(catalogue), compile_catalogue(catalogue))

    @property
    def stale_after_s(self) -> int:
        return self.catalogue.stale_after_s

    def levels_body(self) -> dict[str, Any]:
        """What agents receive (``GET /api/v1/levels``, agent/default_levels.json): every
        level of the catalogue, under the version its ingest answers name."""
        body: dict[str, Any] = {
            "version": self.fingerprint,
            "levels": table_to_json(self.compiled.levels),
        }
        if self.catalogue.guidance:
            body["remediation"] = remediation_by_check(self.catalogue)
        return body

    def __hash__(self) -> int:  # the catalogue holds lists: not hashable itself
        return hash(self.fingerprint)


class RulesHolder:
    """The current :class:`Rules` of a process. Readers take :meth:`current` once per
    request and use that snapshot throughout; :meth:`replace` swaps in a new one (a
    reload) without disturbing an evaluation under way."""

    # A snapshot is immutable and swapped by one reference assignment (atomic): a reader
    # gets the old snapshot or the new one, never a mix, and needs no lock.

    def __init__(self, rules: Rules) -> None:
        self._rules = rules

    def current(self) -> Rules:
        return self._rules

    def replace(self, rules: Rules) -> None:
        self._rules = rules
