"""``vc.devices``: camera, microphone and speaker present (VC-03).

fetch: the platform backend lists devices by kind (Linux: ``/sys/class/video4linux``,
``/dev/snd``; Windows: ``Get-PnpDevice`` classes Camera/Image and audio endpoints).
evaluate: a kind with no device fails (a commune meeting room needs all three); a kind that
could not be read is unknown, and then no count is reported for it, so the criterion cannot
pass on a guess.
"""

from __future__ import annotations

import asyncio

from checks.backend import AvDevices
from checks.base import Check, CheckContext
from checks.messages import msg, said
from checks.model import Category, CheckResult, Status, Value

KINDS = (("camera", "cameras"), ("microphone", "microphones"), ("speaker", "speakers"))


def evaluate_devices(devices: AvDevices, check_id: str = "vc.devices") -> CheckResult:
    values: dict[str, Value] = {}
    missing, unreadable = [], []
    for kind, attr in KINDS:
        names: tuple[str, ...] | None = getattr(devices, attr)
        if names is None:
            unreadable.append(kind)
            continue
        values[f"{kind}_count"] = Value(value=float(len(names)), unit="count")
        if not names:
            missing.append(f"no_{kind}")
    detail = f" ({devices.detail})" if devices.detail else ""
    if missing:
        status = Status.FAIL
        message = msg(
            "vc.devices.missing_unreadable" if unreadable else "vc.devices.missing",
            missing=",".join(missing),
            unreadable=",".join(unreadable),
            detail=detail,
        )
    elif unreadable:
        status = Status.UNKNOWN
        message = msg("vc.devices.unreadable", unreadable=",".join(unreadable), detail=detail)
    else:
        status = Status.OK
        message = msg("vc.devices.found", **{k: values[f"{k}_count"].value for k, _ in KINDS})
    return CheckResult(
        check=check_id,
        category=Category.VIDEOCONF,
        status=status,
        values=values,
        **said(message),
    )


class DevicesCheck(Check):
    id = "vc.devices"
    category = Category.VIDEOCONF

    async def fetch(self, ctx: CheckContext) -> AvDevices:
        # A BackendError (the platform cannot list its devices) is unknown.
        return await asyncio.to_thread(self.backend.av_devices)

    def evaluate(self, section: AvDevices) -> list[CheckResult]:
        return [evaluate_devices(section, self.id)]
