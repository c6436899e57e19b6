"""The criteria catalogue: what each criterion means and the rule that decides it.

Loaded from YAML and validated once; a broken catalogue is refused with the file, the line,
the criterion and the field, and never half-loaded. A province overrides thresholds or adds
criteria with a file of the same shape, merged by criterion id (:func:`merge`).

The catalogue is the one owner of every threshold (docs/ARCHITECTURE.md, "Who owns a
threshold"): agents measure and report values, the catalogue judges them, in a rule of a
criterion (``value:`` with levels) or, for a value no rule names, in its ``levels:`` table,
which applies wherever the check's own status decides. :func:`level_table` gives both as one
table, the one agents receive to judge their local display.
"""

from __future__ import annotations

import re
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from checks.levels import Bounds, HasLevels
from checks.model import CHECK_ID_RE, VALUE_NAME_RE

CommuneKind = Literal["xã", "phường", "đặc khu"]
COMMUNE_KINDS: tuple[CommuneKind, ...] = ("xã", "phường", "đặc khu")


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


class Kind(StrEnum):
    AUTOMATED = "automated"
    ATTESTED = "attested"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Title(_Strict):
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)


_Text = Annotated[str, Field(min_length=1)]


class Steps(_Strict):
    """Remediation steps, in order, in both languages."""

    vi: list[_Text] = Field(min_length=1)
    en: list[_Text] = Field(min_length=1)


class Guidance(_Strict):
    """What a criterion checks and why it matters, in plain words for an official
    (``explanation``), and what commune IT staff do when it is not met (``remediation``)."""

    explanation: Title
    remediation: Steps


def _ordered(given: HasLevels) -> None:
    b = Bounds.of(given)
    if b.warn_below is not None and b.fail_below is not None and b.fail_below > b.warn_below:
        raise ValueError("fail_below must not be above warn_below")
    if b.warn_above is not None and b.fail_above is not None and b.fail_above < b.warn_above:
        raise ValueError("fail_above must not be below warn_above")


class LevelSpec(_Strict):
    """The levels of one value in the catalogue's ``levels:`` table."""

    warn_below: float | None = None
    fail_below: float | None = None
    warn_above: float | None = None
    fail_above: float | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if Bounds.of(self) == Bounds():
            raise ValueError("no level given (warn_/fail_below/above)")
        _ordered(self)
        return self


_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
#: The longest ``for:`` or ``recover:`` (a day).
MAX_DURATION_S = 86_400


def duration_seconds(text: str) -> int:
    """``"5m"`` -> 300: hours, minutes and seconds as Prometheus writes them (``1h30m``)."""
    m = _DURATION.match(text)
    if not text or m is None:
        raise ValueError(f"duration {text!r}: expected a number and a unit, e.g. 30s, 5m or 1h")
    h, mi, sec = (int(g or 0) for g in m.groups())
    return h * 3600 + mi * 60 + sec


def _duration(v: Any) -> Any:
    if v is None:
        return v
    if not isinstance(v, str):
        raise ValueError(f"duration {v!r}: expected a number and a unit, e.g. 30s, 5m or 1h")
    seconds = duration_seconds(v.strip())
    if not 1 <= seconds <= MAX_DURATION_S:
        raise ValueError(f"duration {v!r}: must be from 1s to 24h")
    return v.strip()


#: A duration as the catalogue writes it ("5m"); see :func:`duration_seconds`.
Duration = Annotated[str, BeforeValidator(_duration)]


class CheckRule(_Strict):
    """A condition on the latest results of one check, over every host of the commune."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    check: str
    target: str | None = None
    #: A device kind a commune may not have (e.g. a managed switch): no result at all is
    #: then not "unknown" but simply nothing to judge. Results that do arrive still count.
    optional: bool = False
    value: str | None = None
    warn_below: float | None = None
    fail_below: float | None = None
    warn_above: float | None = None
    fail_above: float | None = None
    #: How long a host's result must warn or fail before it counts (``for: 5m``); until
    #: then the rule keeps the status it had (pending).
    hold_for: Duration | None = Field(default=None, alias="for")
    #: How long it must be clear again before the rule recovers (``recover: 2m``).
    recover: Duration | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not CHECK_ID_RE.match(self.check):
            raise ValueError(f"check {self.check!r} is not a check id such as 'host.disk'")
        thresholds = (self.warn_below, self.fail_below, self.warn_above, self.fail_above)
        if self.value is None and any(t is not None for t in thresholds):
            raise ValueError("thresholds need 'value': the name of the value they apply to")
        if self.value is not None:
            if not VALUE_NAME_RE.match(self.value):
                raise ValueError(f"value {self.value!r} must be a snake_case value name")
            if all(t is None for t in thresholds):
                raise ValueError(f"value {self.value!r} has no threshold (warn_/fail_below/above)")
        _ordered(self)
        return self


class AnyOfRule(_Strict):
    """Passes when any one of its rules passes (e.g. SIP or H.323 or STUN reachable)."""

    any_of: list[CheckRule] = Field(min_length=1)


def _rule_kind(v: Any) -> str:
    """Which rule a mapping is, so that an error names its own fields and not every
    member of the union."""
    if isinstance(v, dict):
        return "any_of" if "any_of" in v else "check"
    return "any_of" if isinstance(v, AnyOfRule) else "check"


Rule = Annotated[
    Annotated[CheckRule, Tag("check")] | Annotated[AnyOfRule, Tag("any_of")],
    Discriminator(_rule_kind),
]


class Criterion(_Strict):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*-[0-9A-Z]+$")
    title: Title
    basis: str = Field(min_length=1, description="the document it comes from, or 'proposal'")
    proposal: bool = Field(default=False, description="threshold proposed here, not in law")
    kind: Kind
    severity: Severity
    applies_to: list[CommuneKind] = Field(default_factory=lambda: list(COMMUNE_KINDS))
    rules: list[Rule] = Field(default_factory=list)
    validity_days: int | None = Field(default=None, ge=1, le=3660)

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        if self.kind is Kind.AUTOMATED and not self.rules:
            raise ValueError("an automated criterion needs at least one rule")
        if self.kind is Kind.ATTESTED:
            if self.rules:
                raise ValueError("an attested criterion has no rules: officials enter evidence")
            if self.validity_days is None:
                raise ValueError("an attested criterion needs validity_days")
        return self

    def check_ids(self) -> set[str]:
        ids: set[str] = set()
        for rule in self.rules:
            if isinstance(rule, AnyOfRule):
                ids.update(r.check for r in rule.any_of)
            else:
                ids.add(rule.check)
        return ids


class Catalogue(_Strict):
    profile: str = Field(min_length=1)
    version: int = 1
    stale_after_s: int = Field(default=180, ge=30, le=7 * 86400)
    criteria: list[Criterion] = Field(min_length=1)
    #: check id -> value name -> levels, for values no rule names: judged wherever the
    #: check's own status decides (a ``check:`` rule without ``value:``).
    levels: dict[str, dict[str, LevelSpec]] = Field(default_factory=dict)
    #: criterion id -> its guidance, from the catalogue's companion file
    #: (``decree118.guidance.yaml``); when given, every criterion has one.
    guidance: dict[str, Guidance] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _guidance_for_each(self) -> Self:
        if not self.guidance:
            return self
        ids = [c.id for c in self.criteria]
        missing = [i for i in ids if i not in self.guidance]
        if missing:
            raise ValueError(
                f"guidance: no explanation and remediation for {', '.join(missing)}: every "
                "criterion needs both, in Vietnamese and English"
            )
        unknown = sorted(set(self.guidance) - set(ids))
        if unknown:
            raise ValueError(f"guidance: {', '.join(unknown)}: no such criterion")
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: set[str] = set()
        for c in self.criteria:
            if c.id in seen:
                raise ValueError(f"criterion id {c.id!r} appears twice")
            seen.add(c.id)
        return self

    @model_validator(mode="after")
    def _levels_once(self) -> Self:
        """Each value has one set of levels: in the ``levels:`` table or in rules, and
        every rule that names it gives the same ones."""
        for check, values in self.levels.items():
            if not CHECK_ID_RE.match(check):
                raise ValueError(f"levels: {check!r} is not a check id such as 'host.disk'")
            for name in values:
                if not VALUE_NAME_RE.match(name):
                    raise ValueError(f"levels: {check}: {name!r} is not a snake_case value name")
        ruled: dict[tuple[str, str], tuple[str, Bounds]] = {}
        for c in self.criteria:
            for rule in _check_rules(c):
                if rule.value is None:
                    continue
                pair, bounds = (rule.check, rule.value), Bounds.of(rule)
                first = ruled.setdefault(pair, (c.id, bounds))
                if first[1] != bounds:
                    raise ValueError(
                        f"{c.id} judges {rule.check} {rule.value} with other levels than "
                        f"{first[0]}: give one value one set of levels"
                    )
                if rule.value in self.levels.get(rule.check, {}):
                    raise ValueError(
                        f"levels: {rule.check}: {rule.value} is judged by {c.id}'s rule "
                        "already: give its levels in one place"
                    )
        return self

    def by_id(self) -> dict[str, Criterion]:
        return {c.id: c for c in self.criteria}

    def check_ids(self) -> set[str]:
        out: set[str] = set()
        for c in self.criteria:
            out |= c.check_ids()
        return out


def _check_rules(c: Criterion) -> list[CheckRule]:
    """Every check rule of a criterion, each alternative of an any_of included."""
    out: list[CheckRule] = []
    for rule in c.rules:
        out.extend(rule.any_of if isinstance(rule, AnyOfRule) else [rule])
    return out


def level_table(catalogue: Catalogue) -> dict[str, dict[str, Bounds]]:
    """Every level the catalogue judges a value with, from its rules and its ``levels:``
    table: check id -> value name -> levels. What an agent judges its display with."""
    table: dict[str, dict[str, Bounds]] = {}
    for c in catalogue.criteria:
        for rule in _check_rules(c):
            if rule.value is not None:
                table.setdefault(rule.check, {})[rule.value] = Bounds.of(rule)
    for check, values in catalogue.levels.items():
        table.setdefault(check, {}).update({name: Bounds.of(s) for name, s in values.items()})
    return table


class CatalogueError(ValueError):
    """A catalogue file that cannot be used; the message names the file and the field."""


def _read_yaml(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """The document and its node tree (whose marks give each value's line)."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # checks the characters already
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise CatalogueError(
            f"{source}: line {line}: not valid YAML: {exc.reason} (character #x{exc.character:04x})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogueError(f"{source}: {where}not valid YAML: {problem}") from None
    except RecursionError:
        raise CatalogueError(f"{source}: not valid YAML: nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, node


def _node_at(node: yaml.Node | None, loc: list[Any]) -> yaml.Node | None:
    """The deepest node along ``loc`` (pydantic's error location: keys, list indexes and,
    for a union, the name of the model tried, which matches no key and is passed over)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
        else:
            child = None
        if child is not None:
            node = child
    return node


def _line(root: yaml.Node | None, loc: list[Any], merged: Any = None) -> int | None:
    """Line of ``loc`` in the file ``root`` was read from. For an override, ``merged`` is
    the merged catalogue that was validated: its criteria are found in the override file
    by id (a criterion taken whole from the base catalogue has no line there)."""
    if root is None:
        return None
    data = merged
    if data is not None and loc[:1] == ["criteria"] and len(loc) > 1 and isinstance(loc[1], int):
        crits = data.get("criteria") if isinstance(data, dict) else None
        item = crits[loc[1]] if isinstance(crits, list) and loc[1] < len(crits) else None
        cid = item.get("id") if isinstance(item, dict) else None
        seq = _node_at(root, ["criteria"])
        if cid is not None and isinstance(seq, yaml.SequenceNode):
            for i, sub in enumerate(seq.value):
                if isinstance(sub, yaml.MappingNode) and any(
                    k.value == "id" and getattr(v, "value", None) == str(cid) for k, v in sub.value
                ):
                    loc = ["criteria", i, *loc[2:]]
                    break
            else:
                return None
    node = _node_at(root, loc)
    return None if node is None else node.start_mark.line + 1


def _without_tags(loc: list[Any]) -> list[Any]:
    """Drop the union tag pydantic puts after ``rules[i]`` (see :func:`_rule_kind`)."""
    return [
        part
        for i, part in enumerate(loc)
        if not (
            i >= 2
            and loc[i - 2] == "rules"
            and isinstance(loc[i - 1], int)
            and part in ("check", "any_of")
        )
    ]


_PLAIN_KEY = re.compile(r"[\w.-]+")


def _describe(
    errors: ValidationError, data: Any, root: yaml.Node | None = None, merged: bool = False
) -> str:
    lines = []
    for err in errors.errors()[:10]:
        loc = _without_tags(list(err["loc"]))
        # Name criteria by id rather than by list index where we can.
        where: list[str] = []
        node: Any = data
        for part in loc:
            if isinstance(part, int) and isinstance(node, list) and part < len(node):
                item = node[part]
                cid = item.get("id") if isinstance(item, dict) else None
                where.append(f"[{part}]" + (f" ({cid})" if cid else ""))
                node = item
            else:
                # A key that is not a plain name (spaces, line breaks, control characters,
                # an empty string) is quoted so that the message stays one readable line.
                name = str(part) if _PLAIN_KEY.fullmatch(str(part)) else repr(part)
                where.append(f".{name}" if where else name)
                node = node.get(part) if isinstance(node, dict) else None
        msg = err["msg"].removeprefix("Value error, ")
        line = _line(root, loc, data if merged else None)
        at = f"line {line}, " if line is not None else ""
        lines.append(f"  {at}{''.join(where) or '(top)'}: {msg}")
    return "\n".join(lines)


def parse_catalogue(
    text: str, source: str = "<catalogue>", guidance: tuple[str, str] | None = None
) -> Catalogue:
    """A catalogue from its YAML text; ``guidance`` is its companion file's (text, source)."""
    data, root = _read_yaml(text, source)
    if not isinstance(data, dict):
        raise CatalogueError(f"{source}: line 1: expected a mapping with 'profile' and 'criteria'")
    if guidance is not None:
        data = {**data, "guidance": parse_guidance(*guidance)}
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(
            f"{source}: invalid catalogue:\n{_describe(exc, data, root)}"
        ) from None


def parse_overrides(text: str, source: str = "<override>") -> tuple[dict[str, Any], yaml.Node]:
    """A province's override file: the mapping for :func:`merge` and its node tree."""
    data, root = _read_yaml(text, source)
    if data is None:
        data, root = {}, yaml.MappingNode("tag:yaml.org,2002:map", [])
    if not isinstance(data, dict) or root is None:
        raise CatalogueError(f"{source}: line 1: expected a mapping with 'criteria'")
    return data, root


def parse_guidance(text: str, source: str) -> dict[str, Any]:
    """A guidance file: criterion id -> explanation and remediation (checked with the
    catalogue it belongs to)."""
    data, _root = _read_yaml(text, source)
    if not isinstance(data, dict):
        raise CatalogueError(f"{source}: line 1: expected criterion ids, each with its guidance")
    return data


def guidance_path(path: Path) -> Path:
    """The companion guidance file of a catalogue file: ``x.yaml`` -> ``x.guidance.yaml``."""
    return path.with_name(f"{path.stem}.guidance{path.suffix}")


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text("utf-8")
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read {what}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load a catalogue file, or the built-in ``decree118`` profile when ``path`` is None,
    with its companion guidance file when there is one (the built-in profile has one)."""
    if path is None:
        package = resources.files("collector.criteria")
        text = package.joinpath("decree118.yaml").read_text("utf-8")
        guidance = package.joinpath("decree118.guidance.yaml").read_text("utf-8")
        return parse_catalogue(text, "decree118.yaml", (guidance, "decree118.guidance.yaml"))
    text = _read(path, "catalogue")
    companion = guidance_path(path)
    if companion.is_file():
        return parse_catalogue(text, str(path), (_read(companion, "guidance"), str(companion)))
    return parse_catalogue(text, str(path))


def _merge_guidance(data: dict[str, Any], guidance: Any, source: str) -> None:
    """An override's ``guidance:`` replaces texts criterion by criterion, field by field,
    language by language."""
    if guidance is None:
        return
    if not isinstance(guidance, dict) or not all(isinstance(v, dict) for v in guidance.values()):
        raise CatalogueError(
            f"{source}: guidance: expected criterion ids, each with explanation and remediation"
        )
    for cid, fields in guidance.items():
        into = data["guidance"].setdefault(cid, {})
        for name, texts in fields.items():
            if isinstance(texts, dict) and isinstance(into.get(name), dict):
                into[name] = {**into[name], **texts}
            else:
                into[name] = texts


def _merge_levels(data: dict[str, Any], levels: Any, source: str, root: yaml.Node | None) -> None:
    """An override's ``levels:`` replace the base's levels value by value."""
    if levels is None:
        return
    if not isinstance(levels, dict) or not all(isinstance(v, dict) for v in levels.values()):
        line = _line(root, ["levels"])
        at = f"line {line}: " if line is not None else ""
        raise CatalogueError(
            f"{source}: {at}levels: expected check ids, each with value names and their levels"
        )
    for check, values in levels.items():
        data["levels"].setdefault(check, {}).update(values)


def _at(root: yaml.Node | None, loc: list[Any]) -> str:
    line = _line(root, loc)
    return f"line {line}: " if line is not None else ""


def _guidance_given(data: dict[str, Any], cid: str, where: str, n: int) -> None:
    """A criterion an override adds brings its guidance when the catalogue has guidance."""
    if data["guidance"] and cid not in data["guidance"]:
        raise CatalogueError(
            f"{where}criteria[{n}]: {cid} needs its guidance too: add 'guidance: {{{cid}: "
            "{explanation: {vi, en}, remediation: {vi: [...], en: [...]}}}' to this file"
        )


def merge(
    base: Catalogue,
    override: dict[str, Any],
    source: str = "<override>",
    root: yaml.Node | None = None,
) -> Catalogue:
    """Apply a province's overrides: criteria merged by id (fields replaced), new ids added.
    ``root`` (from :func:`parse_overrides`) gives the lines of the override file."""
    data = base.model_dump(mode="json")
    by_id = {c["id"]: c for c in data["criteria"]}
    for key in ("stale_after_s", "profile"):
        if key in override:
            data[key] = override[key]
    _merge_levels(data, override.get("levels"), source, root)
    _merge_guidance(data, override.get("guidance"), source)
    items = override.get("criteria", []) or []
    if not isinstance(items, list):
        line = _line(root, ["criteria"])
        at = f"line {line}: " if line is not None else ""
        raise CatalogueError(f"{source}: {at}criteria: expected a list of criteria")
    for n, item in enumerate(items):
        if not isinstance(item, dict) or "id" not in item:
            line = _line(root, ["criteria", n])
            at = f"line {line}: " if line is not None else ""
            raise CatalogueError(
                f"{source}: {at}criteria[{n}]: every criterion override needs an 'id'"
            )
        if not isinstance(item["id"], str):
            line = _line(root, ["criteria", n, "id"])
            at = f"line {line}: " if line is not None else ""
            raise CatalogueError(
                f"{source}: {at}criteria[{n}].id: expected a text id such as 'NET-02'"
            )
        if item["id"] in by_id:
            by_id[item["id"]].update(item)
        else:
            _guidance_given(data, item["id"], f"{source}: {_at(root, ['criteria', n])}", n)
            data["criteria"].append(item)
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        raise CatalogueError(
            f"{source}: invalid catalogue override:\n{_describe(exc, data, root, merged=True)}"
        ) from None
