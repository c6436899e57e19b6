"""The time budget of ``make bench``: what each section is expected to take with the sizes
asked for, what it took, and a warning when the run will not fit in ``--budget-s``.

The expectations are linear in the sizes (seconds of load, agents to enroll, hosts to build,
cycles, days), with costs per unit measured on the 2-core development machine while other
work shared it (docs/BENCHMARKS.md says what each section took in its last run). They only
warn: a section expected to overrun still runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

#: Seconds a collector run of section 1 or 5 costs besides its load (building or copying its
#: agents and their reports, starting the collectors, counting what was stored).
RUN_OVERHEAD_S = 7.0
#: The national minute's cost besides its load: the first engine builds 50,000 reports (a
#: commune's cycle drawn once for all its agents) and wrk's data file; the second copies the
#: agents in and takes the same file.
MINUTE_FIRST_S, MINUTE_AGAIN_S = 15.0, 15.0


def _ingest(a: argparse.Namespace) -> float:
    runs = 2 if a.no_postgres else 4
    s = runs * (a.duration + RUN_OVERHEAD_S) + a.duration + 5  # + the pushgateway
    if a.nation_agents > 0:
        minute = a.nation_duration + a.nation_paced
        s += minute + MINUTE_FIRST_S + (0 if a.no_postgres else minute + MINUTE_AGAIN_S)
    return s


def _nation(a: argparse.Namespace) -> float:
    """Measured: 50,000 hosts in 126 s on SQLite, in 179 s on PostgreSQL."""
    return a.hosts * 0.0025 + (0 if a.no_postgres else a.pg_hosts * 0.0036) + 10


def _footprint(a: argparse.Namespace) -> float:
    """Installing the agent in its own environment, then the cycles."""
    return a.cycles * a.interval + 20


def _drain(a: argparse.Namespace) -> float:
    """One agent's 24-hour backlog (about 45 s with the fleet's enrolment), then the fleet."""
    return 45 + (a.fleet_window + 16 if a.fleet_agents > 0 else 0)


def _zabbix(a: argparse.Namespace) -> float:
    """Two collector runs, Zabbix's schema and hosts, its load, and the values it still
    writes after the load (about twice the load's time)."""
    return 2 * (a.duration + RUN_OVERHEAD_S) + a.agents * 0.012 + 6 + 3.1 * a.duration + 8


def _retention(a: argparse.Namespace) -> float:
    """The month (about 2.2 ms a host-day at one report every 120 minutes), pruning under
    ingest (two windows), the two rates."""
    month = a.retention_hosts * a.retention_days * (120 / a.retention_step) * 0.00216
    return month + 2 * a.prune_window + 15


#: Each section's expected seconds, from the sizes asked for.
EXPECTED: dict[str, Callable[[argparse.Namespace], float]] = {
    "ingest": _ingest,
    "nation": _nation,
    "footprint": _footprint,
    "drain": _drain,
    "zabbix": _zabbix,
    "retention": _retention,
}


def expected_s(name: str, args: argparse.Namespace) -> float:
    return EXPECTED[name](args)


def took(seconds: float) -> str:
    """``3 min 05 s``, or ``42 s`` under a minute."""
    s = round(seconds)
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


@dataclass
class Budget:
    """The run's budget: the sections done, what each took, and the warnings given."""

    budget_s: float
    took_s: dict[str, float] = field(default_factory=dict)

    @property
    def total_s(self) -> float:
        return sum(self.took_s.values())

    def before(self, name: str, expected: float) -> str | None:
        """A warning when the sections so far plus ``name``'s expected time exceed the
        budget; None when they fit."""
        if self.total_s + expected <= self.budget_s:
            return None
        return (
            f"budget: {name} is expected to take about {took(expected)}; after "
            f"{took(self.total_s)} so far the run would take {took(self.total_s + expected)}, "
            f"over the budget of {took(self.budget_s)} (--budget-s); running it all the same"
        )

    def after(self, name: str, seconds: float) -> None:
        self.took_s[name] = seconds

    def summary(self) -> str:
        """``This run took 8 min 40 s in all (budget 10 min 00 s): ingest 4 min 10 s, ...``"""
        parts = ", ".join(f"{n} {took(s)}" for n, s in self.took_s.items())
        return f"This run took {took(self.total_s)} in all (budget {took(self.budget_s)}): {parts}."

    def overrun(self) -> str | None:
        """The closing warning when the run took longer than the budget."""
        if self.total_s <= self.budget_s:
            return None
        return (
            f"WARNING: this run took {took(self.total_s)}, over the budget of "
            f"{took(self.budget_s)} (--budget-s): shrink the sizes (--help) or raise the budget"
        )
