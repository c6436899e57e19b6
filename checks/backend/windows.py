"""Windows backend: planned (most commune PCs run Windows).

Until it is written, facts that need it raise :class:`NotSupportedError`, which checks turn
into an ``unknown`` result saying so — never a crash and never a false ``fail``.
"""

from __future__ import annotations

import os

from checks.backend import Neighbour, NotSupportedError, Route


class WindowsBackend:
    name = "windows"

    def default_gateway(self) -> Route | None:
        # Planned: GetIpForwardTable2 via ctypes, or `route print -4` as a fallback.
        raise NotSupportedError("default gateway: not implemented yet on Windows")

    def neighbours(self) -> list[Neighbour]:
        # Planned: GetIpNetTable2 via ctypes.
        raise NotSupportedError("neighbour table: not implemented yet on Windows")

    def system_drive(self) -> str:
        return os.environ.get("SYSTEMDRIVE", "C:") + "\\"
