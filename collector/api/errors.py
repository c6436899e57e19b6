"""Domain errors to HTTP answers: the one place that knows their status codes.

collector/api/handlers.py answers with these statuses; collector/api/openapi.py documents
them, from the same table (``status_for``)."""

from __future__ import annotations

from collector.domain.errors import (
    BadRequestError,
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    UnavailableError,
)
from collector.domain.units import UnknownUnitError

#: Most specific first: a subclass (EnrollmentError is a ForbiddenError) takes its parent's.
_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidInputError, 422),
    (BadRequestError, 400),
    (NotAuthenticatedError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (UnavailableError, 503),
)


def status_of(exc: DomainError) -> int:
    """The HTTP status that answers ``exc`` (400 for a kind not listed)."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def status_for(kind: type[Exception]) -> int:
    """The HTTP status that answers an error of class ``kind``: a domain error's as
    ``status_of``, an unknown commune or province code 404 (handlers.py)."""
    if issubclass(kind, UnknownUnitError):
        return 404
    for known, status in _STATUS:
        if issubclass(kind, known):
            return status
    return 400
