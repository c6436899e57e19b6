"""``vc.h323``: TCP reachability of the H.323 call-signalling port (ITU-T H.225.0, TCP 1720)
of the provincial MCU (VC-01). A completed TCP handshake is what we can check without an
H.323 stack; a refused or silent port fails, an unresolvable name is unknown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from annotated_types import Gt, Le

from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg
from checks.model import Category, CheckResult
from checks.network.probes import TcpOutcome, evaluate_tcp, probe_tcp_targets, split_host_port
from checks.schema import After, Doc

H225_PORT = 1720


def _targets(v: list[str]) -> list[str]:
    for t in v:
        split_host_port(t, default_port=H225_PORT)
    return v


@dataclass(frozen=True, kw_only=True)
class H323Config(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(60)] = 5.0
    targets: Annotated[list[str], After(_targets), Doc("HOST[:PORT], default 1720")] = field(
        default_factory=list
    )


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
