"""Judging one measured value against warn/fail levels: :func:`levels`.

One helper for every threshold comparison, in the checks and in the collector's criteria
engine (its rules name the same four levels: ``warn_above``, ``fail_above``, ``warn_below``,
``fail_below``). Like Checkmk's ``check_levels``, it returns the status and a text of the
value with its levels, e.g. ``"95% (warn above 90%, fail above 98%)"``.

Comparisons are strict: a value equal to a level does not cross it (``> fail_above``,
``< fail_below``). Fail levels are tried before warn levels, ``below`` before ``above``.
This module imports nothing but :mod:`checks.model`, so the collector can use it without
pulling in any check.

The levels themselves have one owner, the collector's criteria catalogue
(docs/ARCHITECTURE.md, "Who owns a threshold"): checks report values and facts (reachable,
measured, what the device says of itself), never a threshold of their own. The catalogue
compiles its levels into a :data:`LevelTable` (check id -> value name -> :class:`Bounds`)
that the collector judges with and sends to its agents, which judge their local display
(``ioc-agent check``) with :func:`judge`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

from checks.model import MAX_MESSAGE_CHARS, CheckResult, Status, Value

#: How a value is written when no formatter is given (six significant digits).
Formatter = Callable[[float], str]


def default_format(value: float) -> str:
    return f"{value:.6g}"


def percent(value: float) -> str:
    """A 0..1 ratio as a whole percentage: ``0.2 -> '20%'``."""
    return f"{value:.0%}"


class Judged(NamedTuple):
    """What :func:`levels` decided about one value. A named tuple, and the texts are written
    only when read: the criteria engine judges every value of every report it stores and
    reads just the status and the level crossed."""

    status: Status  # Status.OK, Status.WARN or Status.FAIL
    value: float
    #: The level the value crossed (None when OK) and on which side.
    bound: float | None
    side: Literal["above", "below"] | None
    #: The levels as given: fail below, fail above, warn below, warn above.
    given: tuple[float | None, float | None, float | None, float | None]
    unit: str
    fmt: Formatter

    def write(self, v: float) -> str:
        return f"{self.fmt(v)} {self.unit}" if self.unit else self.fmt(v)

    @property
    def value_text(self) -> str:
        """The value as written by the formatter, with its unit: ``"8%"``, ``"0.62 s"``."""
        return self.write(self.value)

    @property
    def text(self) -> str:
        """The value with its levels: ``"8% (warn below 20%, fail below 10%)"``."""
        fail_below, fail_above, warn_below, warn_above = self.given
        named = (
            ("warn below", warn_below),
            ("warn above", warn_above),
            ("fail below", fail_below),
            ("fail above", fail_above),
        )
        described = [f"{name} {self.write(level)}" for name, level in named if level is not None]
        shown = self.value_text
        return f"{shown} ({', '.join(described)})" if described else shown

    @property
    def bound_text(self) -> str:
        """The crossed level written like the value: ``"10%"`` ("" when OK)."""
        return "" if self.bound is None else self.write(self.bound)

    @property
    def crossed(self) -> str:
        """``"< 10%"`` / ``"> 0.5 s"`` for the crossed level, "" when OK."""
        if self.side is None:
            return ""
        return f"{'<' if self.side == 'below' else '>'} {self.bound_text}"


def levels(
    value: float,
    *,
    warn_above: float | None = None,
    fail_above: float | None = None,
    warn_below: float | None = None,
    fail_below: float | None = None,
    unit: str = "",
    fmt: Formatter = default_format,
) -> Judged:
    """Judge ``value`` against upper (``*_above``) and/or lower (``*_below``) levels.

    ``fmt`` writes a number (default: six significant digits; :func:`percent` for ratios);
    ``unit``, when given, follows it after a space (``"0.62 s"``). Any level may be None
    (not judged). Returns :class:`Judged`: ``status`` is ``Status.FAIL`` when a fail level is
    crossed, else ``Status.WARN`` when a warn level is, else ``Status.OK``.
    """
    given = (fail_below, fail_above, warn_below, warn_above)
    hit = crossing(value, *given)
    if hit is None:
        return Judged(Status.OK, value, None, None, given, unit, fmt)
    return Judged(hit[0], value, hit[1], hit[2], given, unit, fmt)


Side = Literal["above", "below"]


def crossing(
    value: float,
    fail_below: float | None,
    fail_above: float | None,
    warn_below: float | None,
    warn_above: float | None,
) -> tuple[Status, float, Side] | None:
    """The first level ``value`` crosses, as (status, level, side), in the order levels are
    tried (fail before warn, below before above); None when it crosses none. The comparison
    itself, for :func:`levels` and for the criteria engine (which judges every value of
    every stored report and writes its own texts)."""
    if fail_below is not None and value < fail_below:
        return Status.FAIL, fail_below, "below"
    if fail_above is not None and value > fail_above:
        return Status.FAIL, fail_above, "above"
    if warn_below is not None and value < warn_below:
        return Status.WARN, warn_below, "below"
    if warn_above is not None and value > warn_above:
        return Status.WARN, warn_above, "above"
    return None


# ------------------------------------------------------------------ the catalogue's table

_NAMES = ("fail_below", "fail_above", "warn_below", "warn_above")


class HasLevels(Protocol):
    """Anything that names the four levels: :class:`Bounds`, and the catalogue's rules and
    ``levels:`` entries."""

    @property
    def fail_below(self) -> float | None: ...
    @property
    def fail_above(self) -> float | None: ...
    @property
    def warn_below(self) -> float | None: ...
    @property
    def warn_above(self) -> float | None: ...


@dataclass(frozen=True)
class Bounds:
    """The levels of one value, as the catalogue gives them (any may be None)."""

    fail_below: float | None = None
    fail_above: float | None = None
    warn_below: float | None = None
    warn_above: float | None = None

    @classmethod
    def of(cls, given: HasLevels) -> Bounds:
        return cls(given.fail_below, given.fail_above, given.warn_below, given.warn_above)

    def to_json(self) -> dict[str, float]:
        return {name: v for name in _NAMES if (v := getattr(self, name)) is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bounds:
        """The levels of a JSON object; ValueError for anything but numbers under the four
        names (the agent reads this from its cache and from the collector)."""
        unknown = set(data) - set(_NAMES)
        if unknown:
            raise ValueError(f"unknown level names: {', '.join(sorted(unknown))}")
        given: dict[str, float] = {}
        for name, v in data.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ValueError(f"{name} must be a number, not {v!r}")
            given[name] = float(v)
        return cls(**given)

    def judge(self, value: float, unit: str = "", fmt: Formatter = default_format) -> Judged:
        return levels(
            value,
            fail_below=self.fail_below,
            fail_above=self.fail_above,
            warn_below=self.warn_below,
            warn_above=self.warn_above,
            unit=unit,
            fmt=fmt,
        )


#: check id -> value name -> levels: what the catalogue judges in the values agents report.
LevelTable = Mapping[str, Mapping[str, Bounds]]


def table_to_json(table: LevelTable) -> dict[str, dict[str, dict[str, float]]]:
    return {
        check: {name: b.to_json() for name, b in sorted(values.items())}
        for check, values in sorted(table.items())
    }


def table_from_json(data: Any) -> dict[str, dict[str, Bounds]]:
    """A level table from its JSON form; ValueError when it is not one."""
    if not isinstance(data, dict):
        raise ValueError("a level table is an object of checks")
    table: dict[str, dict[str, Bounds]] = {}
    for check, values in data.items():
        if not isinstance(values, dict) or not all(isinstance(b, dict) for b in values.values()):
            raise ValueError(f"{check}: expected an object of values, each an object of levels")
        table[str(check)] = {str(name): Bounds.from_json(b) for name, b in values.items()}
    return table


#: How each unit of :class:`checks.model.Value` is written in a judgement.
_WRITTEN: dict[str, tuple[str, Formatter]] = {
    "ratio": ("", percent),
    "seconds": ("s", lambda v: f"{v:.3g}"),
    "days": ("days", lambda v: f"{v:.0f}"),
    "bits_per_second": ("Mbit/s", lambda v: f"{round(v / 1e6, 1):g}"),
    "bytes": ("MiB", lambda v: f"{v / 2**20:.0f}"),
}

_RANK = {Status.OK: 0, Status.WARN: 1, Status.FAIL: 2}


def worst(*statuses: Status) -> Status:
    """The most severe of verdicts (OK, WARN, FAIL): of a device's parts, of a check's own
    status and the levels its values cross."""
    return max(statuses, key=_RANK.__getitem__)


def judge_values(
    values: Mapping[str, Value], bounds: Mapping[str, Bounds]
) -> list[tuple[str, Judged]]:
    """Each value of ``values`` that has levels in ``bounds`` and crosses one, with how."""
    crossed = []
    for name, b in bounds.items():
        v = values.get(name)
        if v is None:
            continue
        unit, fmt = _WRITTEN.get(v.unit, (v.unit, default_format))
        j = b.judge(v.value, unit, fmt)
        if j.status is not Status.OK:
            crossed.append((name, j))
    return crossed


def judged_status(
    status: str, bounds: Mapping[str, Bounds] | None, figures: Mapping[str, float]
) -> str:
    """A stored result's status (``"ok"``...) made worse by any level its figures cross:
    what the collector shows per check (/metrics) beside the criteria."""
    if not bounds or status not in ("ok", "warn"):
        return status
    judged = Status(status)
    for name, b in bounds.items():
        v = figures.get(name)
        if v is None:
            continue
        hit = crossing(v, b.fail_below, b.fail_above, b.warn_below, b.warn_above)
        if hit is not None:
            judged = worst(judged, hit[0])
    return judged.value


def judge(result: CheckResult, table: LevelTable) -> CheckResult:
    """``result`` with the catalogue's levels applied to its values: the status becomes the
    worse of the check's own (a fact: reachable, measured) and the worst level crossed, and
    each crossing is added to the message (``"disk_free_ratio 8% < 10%"``). A result the
    check could not measure (unknown) stays as it is."""
    bounds = table.get(result.check)
    if not bounds or result.status not in _RANK:
        return result
    crossed = judge_values(result.values, bounds)
    if not crossed:
        return result
    status = worst(result.status, *(j.status for _, j in crossed))
    told = "; ".join(f"{name} {j.value_text} {j.crossed}" for name, j in crossed)
    message = f"{result.message}; {told}" if result.message else told
    return result.model_copy(update={"status": status, "message": message[:MAX_MESSAGE_CHARS]})


def judge_all(results: Iterable[CheckResult], table: LevelTable) -> list[CheckResult]:
    return [judge(r, table) for r in results]


__all__ = [
    "Bounds",
    "Formatter",
    "HasLevels",
    "Judged",
    "LevelTable",
    "crossing",
    "default_format",
    "judge",
    "judge_all",
    "judge_values",
    "judged_status",
    "levels",
    "percent",
    "table_from_json",
    "table_to_json",
    "worst",
]
