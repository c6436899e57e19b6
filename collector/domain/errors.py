"""The collector's domain errors: what went wrong, in words meant for the caller.

Services and storage raise these; they carry no HTTP status. The API layer maps each kind to
its answer (``collector.api.errors``): invalid input 422 (or 400), not authenticated 401,
forbidden 403, not found 404, conflict 409, unavailable 503.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal with a message for the caller (never a secret, never a traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(DomainError):
    """The request is well-formed but its content is not acceptable (422)."""


class BadRequestError(DomainError):
    """The request itself is wrong (a missing CSRF token, an unreadable form): 400."""


class NotAuthenticatedError(DomainError):
    """No valid credentials (401)."""


class ForbiddenError(DomainError):
    """Authenticated, but not allowed to do this (403)."""


class NotFoundError(DomainError):
    """No such thing (404)."""


class ConflictError(DomainError):
    """The state does not allow it now (409)."""


class UnavailableError(DomainError):
    """A dependency (the database) is down; retry later (503)."""


class EnrollmentError(ForbiddenError):
    """An enrollment code was refused; ``reason`` (unknown | used | expired) is audited."""

    def __init__(self, message: str, *, reason: str = "", commune: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.commune = commune


class TokenRefusedError(NotAuthenticatedError):
    """The token was revoked (by any replica or the CLI) after this process last checked it."""


class UnknownCommuneError(InvalidInputError):
    """A report names a commune that is not an official administrative unit."""
