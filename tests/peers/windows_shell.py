"""A fake PowerShell call layer for the Windows backend: recorded outputs keyed by script.

``RecordedPowerShell(outputs)`` answers each script of ``checks.backend.windows`` with the
text given for it, and raises BackendError for a script it has no answer for (as a failing
cmdlet would), so a test sees exactly which facts it fed. ``recorded(**files)`` builds one
from the samples under ``tests/fixtures/windows`` (see the README there), by fact name
(the keys of ``checks.backend.windows.SCRIPTS``); a value of ``None`` leaves that fact
unanswered.
"""

from __future__ import annotations

from checks.backend import BackendError
from checks.backend.windows import SCRIPTS
from tests import paths

WINDOWS = paths.FIXTURES / "windows"

#: The sample each fact is answered with by default: a healthy Vietnamese-language PC.
HEALTHY = {
    "routes": "routes.json",
    "neighbours": "neighbours.json",
    "av_devices": "av_devices_vi.json",
    "usb": "usb.json",
    "certificates": "certificates.json",
    "firewall": "firewall_on.json",
    "security_center": "security_center.json",
    "defender": "defender.json",
    "updates": "updates.json",
    "time": "time_vi.json",
    "scanners": "scanners_one_vi.json",
}


def sample(name: str) -> str:
    """A sample's text exactly as PowerShell printed it (BOM and CRLF kept)."""
    return (WINDOWS / name).read_bytes().decode("utf-8")


class RecordedPowerShell:
    def __init__(self, outputs: dict[str, str]) -> None:
        self.outputs = outputs
        self.calls: list[tuple[str, float]] = []

    def run(self, script: str, timeout_s: float) -> str:
        self.calls.append((script, timeout_s))
        try:
            return self.outputs[script]
        except KeyError:
            raise BackendError("PowerShell: the term is not recognized (no recording)") from None


def recorded(texts: dict[str, str] | None = None, **files: str | None) -> RecordedPowerShell:
    """The healthy samples, with ``files`` (fact -> sample file, or None) and ``texts``
    (fact -> literal output) replacing some."""
    chosen: dict[str, str | None] = {**HEALTHY, **files}
    outputs = {SCRIPTS[fact]: sample(name) for fact, name in chosen.items() if name is not None}
    outputs.update({SCRIPTS[fact]: text for fact, text in (texts or {}).items()})
    return RecordedPowerShell(outputs)
