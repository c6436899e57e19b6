"""The commune agent: configuration, checks scheduler, spool, sender and the ``ioc-agent`` CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("commune-ioc")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
