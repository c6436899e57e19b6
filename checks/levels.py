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
from typing import Literal, NamedTuple

from checks.model import Status

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


__all__ = ["Formatter", "Judged", "crossing", "default_format", "levels", "percent"]
