"""``vc.h323``: TCP reachability of the H.323 call-signalling port (ITU-T H.225.0, TCP 1720)
of the provincial MCU (VC-01). A completed TCP handshake is what we can check without an
H.323 stack; a refused or silent port fails, an unresolvable name is unknown."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg
from checks.model import Category, CheckResult
from checks.network.probes import TcpOutcome, evaluate_tcp, probe_tcp_targets, split_host_port

H225_PORT = 1720


class H323Config(CheckConfig):
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    targets: list[str] = Field(default_factory=list, description="HOST[:PORT], default 1720")

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        for t in v:
            split_host_port(t, default_port=H225_PORT)
        return v


class H323Check(Check):
    id = "vc.h323"
    category = Category.VIDEOCONF
    Config: ClassVar[type[CheckConfig]] = H323Config
    config: H323Config

    def targets(self) -> list[str]:
        return list(self.config.targets) or [""]

    async def fetch(self, ctx: CheckContext) -> list[tuple[str, TcpOutcome]]:
        if not self.config.targets:
            raise CannotMeasure(msg("check.not_configured", option="vc.h323.targets"))
        budget = max(0.1, self.config.timeout_s - 0.2)
        return await probe_tcp_targets(self.config.targets, budget, default_port=H225_PORT)

    def evaluate(self, section: list[tuple[str, TcpOutcome]]) -> list[CheckResult]:
        return [
            evaluate_tcp(self.id, outcome, target=target, category=self.category)
            for target, outcome in section
        ]
