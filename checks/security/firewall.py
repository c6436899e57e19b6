"""``sec.firewall``: a host firewall filters incoming traffic (SEC-01).

The platform backend decides (Linux heuristics: ``checks.backend.linux_endpoint``; Windows:
the Domain, Private and Public profiles of ``Get-NetFirewallProfile``, all on). Value
``firewall_enabled`` 1/0; ``unknown`` when the platform cannot tell (no permission, tool
missing), never "off".
"""

from __future__ import annotations

import asyncio

from checks.backend import FirewallState
from checks.base import Check, CheckContext
from checks.messages import msg
from checks.model import Category, CheckResult, Status, Value


def evaluate_firewall(state: FirewallState) -> CheckResult:
    return FirewallCheck.result(
        Status.OK if state.enabled else Status.FAIL,
        values={"firewall_enabled": Value(value=1.0 if state.enabled else 0.0)},
        message=msg("sec.firewall.on" if state.enabled else "sec.firewall.off", how=state.how),
    )


class FirewallCheck(Check):
    id = "sec.firewall"
    category = Category.SECURITY

    async def fetch(self, ctx: CheckContext) -> FirewallState:
        return await asyncio.to_thread(self.backend.firewall)  # BackendError: unknown

    def evaluate(self, section: FirewallState) -> list[CheckResult]:
        return [evaluate_firewall(section)]
