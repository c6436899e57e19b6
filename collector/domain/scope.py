"""Where a person may look and act: the whole nation, or one or more provinces.

A user (and each reader token, which inherits its user's) has a :class:`Scope`. The one
check of the pages, the JSON API and the downloads (collector/api/deps.py ``require``) asks
the scope about every province or commune code a request names; the services that list
rows (the summary, search, the audit log, the users) take the scope and leave out what lies
outside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from collector.domain.errors import ForbiddenError
from collector.domain.units import Units, UnknownUnitError

_PROVINCE = re.compile(r"^[0-9]{2}$")
_COMMUNE = re.compile(r"^[0-9]{5}$")


class OutOfScopeError(ForbiddenError):
    """The request names a province or commune outside the person's scope (403)."""


@dataclass(frozen=True)
class Scope:
    """The provinces of a person; none: national (every province, and the national views)."""

    provinces: frozenset[str] = frozenset()

    @classmethod
    def of(cls, provinces: Iterable[str] = ()) -> Scope:
        return cls(frozenset(provinces))

    @property
    def national(self) -> bool:
        return not self.provinces

    def has_province(self, code: str) -> bool:
        return self.national or code in self.provinces

    def covers(self, other: Scope) -> bool:
        """Whether everything ``other`` may see lies inside this scope (a provincial admin
        manages only users whose provinces are all theirs; never a national one)."""
        return self.national or (not other.national and other.provinces <= self.provinces)

    def label(self) -> str:
        """``toàn quốc / national`` or the province codes, for lists and the CLI."""
        return "toàn quốc / national" if self.national else ", ".join(sorted(self.provinces))

    def check_province(self, code: str) -> None:
        if not self.has_province(code):
            raise OutOfScopeError(
                f"tỉnh {code} nằm ngoài phạm vi của bạn ({self.label()}) / "
                f"province {code} is outside your scope"
            )

    def check_commune(self, units: Units, code: str) -> None:
        """Refuses a commune of another province; an unknown code is left to the caller's
        404 (it names no one's data)."""
        if self.national:
            return
        try:
            province = units.commune(code).province_code
        except UnknownUnitError:
            return
        if province not in self.provinces:
            raise OutOfScopeError(
                f"xã {code} (tỉnh {province}) nằm ngoài phạm vi của bạn ({self.label()}) / "
                f"commune {code} (province {province}) is outside your scope"
            )

    def check_code(self, units: Units, value: str) -> None:
        """A code a request names: two digits a province, five a commune; anything else
        (``national``, a search word) names no unit and is left alone."""
        if _PROVINCE.match(value):
            self.check_province(value)
        elif _COMMUNE.match(value):
            self.check_commune(units, value)

    def communes(self, units: Units) -> frozenset[str] | None:
        """The commune codes inside the scope (None: every commune)."""
        if self.national:
            return None
        return frozenset(c for p in self.provinces for c in units.by_province.get(p, ()))


NATIONAL = Scope()
