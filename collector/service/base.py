"""What every service stands on: the database, the rules in force, the administrative
register, the clock and the working calendar, shared by all the services of one process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from collector.criteria.rules import RulesHolder
from collector.domain.calendar import ALWAYS, WorkingCalendar
from collector.domain.units import Units
from collector.storage.database import Database


@dataclass(frozen=True)
class Core:
    database: Database
    rules: RulesHolder
    units: Units
    clock: Callable[[], datetime]
    #: When each province works; outside it silence is not staleness.
    calendar: WorkingCalendar = ALWAYS
    #: Working days a silent host keeps counting before it is retired (docs/CRITERIA.md,
    #: "Silent hosts").
    retire_after_days: int = 7


class Service:
    """Base of the services: the core's parts as attributes (``self.database``, ...)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.database = core.database
        self.rules = core.rules
        self.units = core.units
        self.clock = core.clock
        self.calendar = core.calendar
