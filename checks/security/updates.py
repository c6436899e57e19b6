"""``sec.updates``: how long ago the system's packages were last updated (SEC-01).

The platform backend says when (Linux: Debian/Ubuntu apt records; Windows: not implemented
yet). Value ``updates_age`` in days. The thresholds are proposals (SEC-01 "patches < 30
days"): ``warn`` above ``warn_days`` (30), ``fail`` above ``fail_days`` (60), matching the
catalogue; ``unknown`` when the platform does not tell.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import ClassVar

from pydantic import Field, model_validator

from checks.backend import UpdateInfo
from checks.base import Check, CheckConfig, CheckContext
from checks.levels import levels
from checks.model import Category, CheckResult, Value, utcnow


class UpdatesConfig(CheckConfig):
    warn_days: float = Field(default=30.0, gt=0)
    fail_days: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _order(self) -> UpdatesConfig:
        if self.fail_days < self.warn_days:
            raise ValueError(
                f"fail_days ({self.fail_days:g}) must not be below warn_days ({self.warn_days:g})"
            )
        return self


def evaluate_updates(info: UpdateInfo, params: UpdatesConfig, now: datetime) -> CheckResult:
    age = max(0.0, (now - info.when).total_seconds() / 86400)
    status = levels(age, warn_above=params.warn_days, fail_above=params.fail_days).status
    return UpdatesCheck.result(
        status,
        values={"updates_age": Value(value=age, unit="days")},
        message=f"last update {age:.0f} days ago ({info.when:%Y-%m-%d}, from {info.source})",
    )


class UpdatesCheck(Check):
    id = "sec.updates"
    category = Category.SECURITY
    Config: ClassVar[type[CheckConfig]] = UpdatesConfig
    config: UpdatesConfig

    async def fetch(self, ctx: CheckContext) -> tuple[UpdateInfo, datetime]:
        # A BackendError (the platform does not tell) is unknown.
        return await asyncio.to_thread(self.backend.last_update), utcnow()

    def evaluate(self, section: tuple[UpdateInfo, datetime]) -> list[CheckResult]:
        info, now = section
        return [evaluate_updates(info, self.config, now)]
