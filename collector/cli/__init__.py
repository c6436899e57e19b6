"""``ioc-collector``: serve the collector, run the national demo, migrate its database,
issue enrollment codes, manage users, write reports (console script
``collector.cli:main``).

The group is in :mod:`collector.cli.root`, the commands in one module per family (serving,
database, admin, users, reports, catalogue, dashboards), what they share in
:mod:`collector.cli.common`. ``main`` is imported when first asked for, so that importing a
command module never imports the group (and through it every other command).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collector.cli.root import main

__all__ = ["main"]


def __getattr__(name: str) -> object:
    if name == "main":
        from collector.cli.root import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
