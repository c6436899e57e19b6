"""The one base class every check derives from.

A check is fetch -> parse -> evaluate (STYLE.md 1): only ``fetch`` touches the world; ``parse``
and ``evaluate`` are pure functions tested with recorded data. Override :meth:`Check.run`
only; the runner (``checks.runner``) enforces the deadline and turns any exception into an
``unknown`` result, so a check may raise freely inside ``run``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from checks.model import Category, CheckResult
from checks.tls import TLSVerify


class CheckConfig(BaseModel):
    """Options common to every check; each check extends it with its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    timeout_s: float = Field(default=5.0, gt=0, le=300, description="deadline of the whole check")


@dataclass(frozen=True)
class CheckContext:
    """What a check may know about where it runs (filled in by the agent)."""

    host: str
    collector_url: str | None = None
    #: Secrets the runner scrubs from any message (tokens, community strings, keys).
    secrets: tuple[str, ...] = field(default=())
    verify_tls: TLSVerify = True
    #: The agent's bearer token, for collector endpoints that need it (throughput probe).
    token: str | None = None


class Check(ABC):
    """Base of all checks. Subclasses set ``id``, ``category``, ``Config`` and implement ``run``."""

    id: ClassVar[str]
    category: ClassVar[Category]
    Config: ClassVar[type[CheckConfig]] = CheckConfig

    def __init__(self, config: CheckConfig | None = None) -> None:
        self.config = config if config is not None else self.Config()

    @property
    def timeout_s(self) -> float:
        return self.config.timeout_s

    def targets(self) -> list[str]:
        """Targets this check measures; the runner names them in an ``unknown`` result."""
        return [""]

    @abstractmethod
    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        """Measure and return one result per target. May raise: the runner catches it."""
