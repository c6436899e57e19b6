"""``sec.updates``: how long ago the system's packages were last updated (SEC-01).

The platform backend says when (Linux: Debian/Ubuntu apt records; Windows: the Windows
Update history, else ``Get-HotFix``). Value ``updates_age`` in days, judged by the catalogue
(SEC-01 "patches < 30 days", a proposal); ``unknown`` when the platform does not tell.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import ClassVar

from checks.backend import UpdateInfo
from checks.base import Check, CheckConfig, CheckContext
from checks.messages import msg
from checks.model import Category, CheckResult, Status, Value, utcnow


class UpdatesConfig(CheckConfig):
    pass


def evaluate_updates(info: UpdateInfo, now: datetime) -> CheckResult:
    age = max(0.0, (now - info.when).total_seconds() / 86400)
    return UpdatesCheck.result(
        Status.OK,
        values={"updates_age": Value(value=age, unit="days")},
        message=msg("sec.updates.last", age=age, when=info.when.isoformat(), source=info.source),
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
        return [evaluate_updates(info, now)]
