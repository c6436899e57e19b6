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
from checks.model import Category, CheckResult, Status, Value

KINDS = (("camera", "cameras"), ("microphone", "microphones"), ("speaker", "speakers"))


def evaluate_devices(devices: AvDevices, check_id: str = "vc.devices") -> CheckResult:
    values: dict[str, Value] = {}
    missing, unreadable, found = [], [], []
    for kind, attr in KINDS:
        names: tuple[str, ...] | None = getattr(devices, attr)
        if names is None:
            unreadable.append(kind)
            continue
        values[f"{kind}_count"] = Value(value=float(len(names)), unit="count")
        if names:
            found.append(f"{len(names)} {kind}(s)")
        else:
            missing.append(kind)
    if missing:
        status = Status.FAIL
    elif unreadable:
        status = Status.UNKNOWN
    else:
        status = Status.OK
    parts = []
    if missing:
        parts.append("no " + ", no ".join(missing))
    if unreadable:
        parts.append(
            "cannot read: "
            + ", ".join(unreadable)
            + (f" ({devices.detail})" if devices.detail else "")
        )
    if found:
        parts.append("found " + ", ".join(found))
    return CheckResult(
        check=check_id,
        category=Category.VIDEOCONF,
        status=status,
        values=values,
        message="; ".join(parts),
    )


class DevicesCheck(Check):
    id = "vc.devices"
    category = Category.VIDEOCONF

    async def fetch(self, ctx: CheckContext) -> AvDevices:
        # A BackendError (the platform cannot list its devices) is unknown.
        return await asyncio.to_thread(self.backend.av_devices)

    def evaluate(self, section: AvDevices) -> list[CheckResult]:
        return [evaluate_devices(section, self.id)]
