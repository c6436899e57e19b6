"""``sig.token``: the configured USB signature token is plugged in (SIG-01).

Matched by USB vendor and product id through the platform backend (Linux: sysfs; Windows:
the ``USB\\VID_xxxx&PID_xxxx`` ids of ``Get-PnpDevice``). Values: ``token_present`` 1/0.
``fail`` when no configured token is present, ``unknown`` when none is configured or the
platform cannot list USB devices. Configuration (ids as ``lsusb`` prints them)::

    checks:
      sig.token:
        tokens:
          - {vendor_id: "096e", product_id: "0807", name: "Feitian ePass2003"}
          - {vendor_id: "0529", product_id: "0620", name: "SafeNet eToken 5110"}
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from annotated_types import MaxLen, MinLen

from checks.backend import UsbDevice
from checks.base import CannotMeasure, Check, CheckConfig, CheckContext
from checks.messages import msg
from checks.model import Category, CheckResult, Status, Value
from checks.schema import STRICT, Before, Doc, Record

_HEX4 = re.compile(r"^[0-9a-f]{4}$")


def _hex(v: object) -> str:
    text = str(v).strip().lower().removeprefix("0x")
    if not _HEX4.match(text):
        raise ValueError(f"{v!r} is not a 4-digit hex USB id (as lsusb shows: '096e')")
    return text


@dataclass(frozen=True, kw_only=True)
class TokenId(Record):
    __pydantic_config__ = STRICT

    vendor_id: Annotated[str, Before(_hex), Doc("USB vendor id, 4 hex digits, e.g. '096e'")]
    product_id: Annotated[str, Before(_hex), Doc("USB product id, 4 hex digits, e.g. '0807'")]
    name: Annotated[str, MaxLen(100)] = ""

    @property
    def label(self) -> str:
        ids = f"{self.vendor_id}:{self.product_id}"
        return f"{self.name} ({ids})" if self.name else ids


@dataclass(frozen=True, kw_only=True)
class TokenConfig(CheckConfig):
    tokens: Annotated[list[TokenId], Doc("accepted token models")] = field(default_factory=list)
    target: Annotated[str, MinLen(1), MaxLen(64), Doc("label of the result")] = "usb-token"


@dataclass(frozen=True)
class TokenSection:
    found: tuple[str, ...]


def parse_token(devices: list[UsbDevice], tokens: list[TokenId]) -> TokenSection:
    wanted = {(t.vendor_id, t.product_id): t for t in tokens}
    found = []
    for dev in devices:
        token = wanted.get((dev.vendor_id.lower(), dev.product_id.lower()))
        if token is not None:
            found.append(token.name or dev.product or token.label)
    return TokenSection(tuple(dict.fromkeys(found)))


def evaluate_token(section: TokenSection, params: TokenConfig) -> CheckResult:
    present = bool(section.found)
    if present:
        status, message = Status.OK, msg("sig.token.present", names=", ".join(section.found))
    else:
        status = Status.FAIL
        message = msg("sig.token.absent", wanted=", ".join(t.label for t in params.tokens))
    return TokenCheck.result(
        status,
        message,
        target=params.target,
        values={"token_present": Value(value=1.0 if present else 0.0)},
    )


class TokenCheck(Check):
    id = "sig.token"
    # The token is a piece of equipment on the desk (as the simulator reports it).
    category = Category.EQUIPMENT
    Config: ClassVar[type[CheckConfig]] = TokenConfig
    config: TokenConfig

    def targets(self) -> list[str]:
        return [self.config.target]

    async def fetch(self, ctx: CheckContext) -> list[UsbDevice]:
        if not self.config.tokens:
            raise CannotMeasure(msg("sig.token.none"))
        # A BackendError (the platform cannot list USB devices) is unknown.
        return await asyncio.to_thread(self.backend.usb_devices)

    def parse(self, raw: list[UsbDevice]) -> TokenSection:
        return parse_token(raw, self.config.tokens)

    def evaluate(self, section: TokenSection) -> list[CheckResult]:
        return [evaluate_token(section, self.config)]
