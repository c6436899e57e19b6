"""Judging one measured value against warn/fail levels: :func:`levels`.

One helper for every threshold comparison, in the checks and in the collector's criteria
engine (its rules name the same four levels: ``warn_above``, ``fail_above``, ``warn_below``,
``fail_below``). Like Checkmk's ``check_levels``, it returns the status and a text of the
value with its levels, e.g. ``"95% (warn above 90%, fail above 98%)"``.

Comparisons are strict: a value equal to a level does not cross it (``> fail_above``,
``< fail_below``). Fail levels are tried before warn levels, ``below`` before ``above``.
This module imports nothing but :class:`checks.model.Status`, so the collector can use it
without pulling in any check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from checks.model import Status

#: How a value is written when no formatter is given (six significant digits).
Formatter = Callable[[float], str]


def default_format(value: float) -> str:
    return f"{value:.6g}"


def percent(value: float) -> str:
    """A 0..1 ratio as a whole percentage: ``0.2 -> '20%'``."""
    return f"{value:.0%}"


#: (status, side, level) in the order they are tried.
_Levels = tuple[tuple[Status, Literal["above", "below"], float | None], ...]


@dataclass(frozen=True, slots=True)
class Judged:
    """What :func:`levels` decided about one value. The texts are written only when read
    (the criteria engine judges every value of every report and reads just the status)."""

    status: Status  # Status.OK, Status.WARN or Status.FAIL
    value: float
    #: The level the value crossed (None when OK) and on which side.
    bound: float | None
    side: Literal["above", "below"] | None
    checked: _Levels
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
        described = [
            f"{status.value} {side} {self.write(level)}"
            for status, side, level in sorted(self.checked, key=lambda c: c[0] is Status.FAIL)
            if level is not None
        ]
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
    checked: _Levels = (
        (Status.FAIL, "below", fail_below),
        (Status.FAIL, "above", fail_above),
        (Status.WARN, "below", warn_below),
        (Status.WARN, "above", warn_above),
    )
    for status, side, level in checked:
        if level is not None and (value < level if side == "below" else value > level):
            return Judged(status, value, level, side, checked, unit, fmt)
    return Judged(Status.OK, value, None, None, checked, unit, fmt)


__all__ = ["Formatter", "Judged", "default_format", "levels", "percent"]
