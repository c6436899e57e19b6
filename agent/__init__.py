"""The commune agent: configuration, checks scheduler, spool, sender and the ``ioc-agent`` CLI."""

import sys
from importlib.metadata import PackageNotFoundError, version

# httpx imports its own command-line client (rich, pygments: ~5 MiB of resident memory) when
# rich is installed, which it is for ``ioc-agent check``'s tables. The agent never runs
# httpx's CLI: a ``None`` entry makes that optional import fail, and httpx skips it.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

try:
    __version__ = version("commune-ioc")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
