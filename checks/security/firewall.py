"""``sec.firewall``: a host firewall filters incoming traffic (SEC-01).

The platform backend decides (Linux heuristics: ``checks.backend.linux_endpoint``; Windows:
not implemented yet). Value ``firewall_enabled`` 1/0; ``unknown`` when the platform cannot
tell (no permission, tool missing), never "off".
"""

from __future__ import annotations

import asyncio

from checks.backend import Backend, BackendError, FirewallState, get_backend
from checks.base import Check, CheckConfig, CheckContext
from checks.model import Category, CheckResult, Status, Value


def evaluate_firewall(state: FirewallState) -> CheckResult:
    return CheckResult(
        check=FirewallCheck.id, category=FirewallCheck.category,
        status=Status.OK if state.enabled else Status.FAIL,
        values={"firewall_enabled": Value(value=1.0 if state.enabled else 0.0)},
        message=("firewall on: " if state.enabled else "firewall off: ") + state.how,
    )


class FirewallCheck(Check):
    id = "sec.firewall"
    category = Category.SECURITY

    def __init__(self, config: CheckConfig | None = None, backend: Backend | None = None):
        super().__init__(config)
        self.backend = backend

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        backend = self.backend or get_backend()
        try:
            state = await asyncio.to_thread(backend.firewall)
        except BackendError as exc:
            return [CheckResult(check=self.id, category=self.category, status=Status.UNKNOWN,
                                message=str(exc))]
        return [evaluate_firewall(state)]
