"""Explicit registry of check classes, keyed by check id.

Checks are registered by name in :func:`default_registry`, never discovered by import side
effects; registering the same id twice is an error at start-up (like client_python's
``DuplicateTimeseries``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from checks.base import Check


class DuplicateCheckError(ValueError):
    """Two check classes claim the same id."""


class UnknownCheckError(KeyError):
    """A configuration names a check id that no class provides."""


class Registry:
    def __init__(self, classes: Iterable[type[Check]] = ()) -> None:
        self._classes: dict[str, type[Check]] = {}
        for cls in classes:
            self.register(cls)

    def register(self, cls: type[Check]) -> type[Check]:
        if cls.id in self._classes:
            raise DuplicateCheckError(
                f"check id {cls.id!r} registered twice: {self._classes[cls.id].__qualname__} "
                f"and {cls.__qualname__}"
            )
        self._classes[cls.id] = cls
        return cls

    def get(self, check_id: str) -> type[Check]:
        try:
            return self._classes[check_id]
        except KeyError:
            known = ", ".join(sorted(self._classes))
            raise UnknownCheckError(f"unknown check {check_id!r}; known checks: {known}") from None

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._classes

    def __iter__(self) -> Iterator[type[Check]]:
        return iter(self._classes.values())

    def ids(self) -> list[str]:
        return sorted(self._classes)
