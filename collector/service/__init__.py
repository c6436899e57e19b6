"""Use cases over storage: what the collector does, each in a module of its own.

:class:`Services` is built once per process (:func:`services_for`) and handed to the API,
the CLI and the demo; each service takes what it needs from it and nothing else.

===============  ===========================================================
identities       enrollment codes, enrollment, agent tokens, revocation
ingest           agents' reports stored and judged, one group commit at a time
evaluation       the incremental evaluation pipeline (colours, statuses, details)
readiness        reads: communes' states, the national summary, latest values
attestations     the one writer of attestations and waivers
accounts         people: users, roles, scopes, sessions
readers          reader tokens: a user's read-only bearer tokens
audit            the one writer of the audit log
history          green coverage over time
periods          figures over days and months, read from the daily roll-ups
hosts            a commune's hosts: fresh, stale or retired; retiring a silent one
reload           the criteria catalogue reloaded while serving
rollups          daily roll-ups of the change log, and retention (pruning)
===============  ===========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from checks.model import utcnow
from collector.criteria.catalogue import Catalogue
from collector.criteria.rules import Rules, RulesHolder
from collector.domain.calendar import ALWAYS, WorkingCalendar
from collector.domain.units import Units
from collector.service.accounts import Accounts
from collector.service.attestations import Attestations
from collector.service.audit import Audit
from collector.service.base import Core
from collector.service.evaluation import Evaluation
from collector.service.history import History
from collector.service.hosts import Hosts
from collector.service.identities import Identities
from collector.service.ingest import Ingest
from collector.service.periods import Periods
from collector.service.readers import ReaderTokens
from collector.service.readiness import Readiness
from collector.service.rollups import Retention, Rollups
from collector.storage.database import Database


@dataclass(frozen=True)
class Services:
    core: Core
    audit: Audit
    evaluation: Evaluation
    identities: Identities
    ingest: Ingest
    readiness: Readiness
    attestations: Attestations
    accounts: Accounts
    readers: ReaderTokens
    history: History
    hosts: Hosts
    periods: Periods
    rollups: Rollups

    @property
    def database(self) -> Database:
        return self.core.database

    @property
    def rules(self) -> RulesHolder:
        return self.core.rules

    @property
    def units(self) -> Units:
        return self.core.units

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.core.clock

    @property
    def engine(self) -> Engine:
        return self.core.database.engine


def services_for(
    engine: Engine,
    catalogue: Catalogue,
    units: Units,
    clock: Callable[[], datetime] = utcnow,
    calendar: WorkingCalendar = ALWAYS,
    *,
    retire_after_days: int = 7,
    retention: Retention | None = None,
) -> Services:
    """Every service over one database, under ``catalogue``'s rules. ``calendar``: when
    each province works (the configuration's, :meth:`CalendarSpec.working_calendar`); by
    default every instant is working time, so staleness is the wall clock's.
    ``retention``: how long raw data and roll-ups are kept (the configuration's)."""
    core = Core(
        Database(engine),
        RulesHolder(Rules.of(catalogue)),
        units,
        clock,
        calendar,
        retire_after_days,
    )
    audit = Audit(core)
    evaluation = Evaluation(core, audit)
    identities = Identities(core, audit, evaluation)
    readiness = Readiness(core, evaluation)
    accounts = Accounts(core, audit)
    return Services(
        core=core,
        audit=audit,
        evaluation=evaluation,
        identities=identities,
        ingest=Ingest(core, identities, evaluation),
        readiness=readiness,
        attestations=Attestations(core, audit, evaluation),
        accounts=accounts,
        readers=ReaderTokens(core, audit, accounts),
        history=History(core, readiness),
        hosts=Hosts(core, audit, evaluation),
        periods=Periods(core),
        rollups=Rollups(core, retention),
    )
