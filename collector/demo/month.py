"""A month in the demo: the simulated nation's last ``days`` days, time-compressed.

The services of the demo read :class:`DemoClock`. While the past is filled it is set to one
simulated instant after another (never slept through): the simulated agents' reports are
measured then (``observed_at``) and stored through the collector's own ingest use case
(``services.ingest.ingest_many``, the group commit the HTTP API hands its batches to), so
rule durations (``for:``, ``recover:``), staleness and silent hosts are timed in simulated
time; the periodic pass runs and the coverage history is snapshotted at simulated instants.
Then the clock is released to the wall clock, and the demo goes on into "now".

Commune PCs report only in their province's working time (docs/CRITERIA.md, "Working
time"): never at night, at weekends or on public holidays. One province
(:data:`DENSE_PROVINCES`) reports at every step of working time; the rest of the nation, to
keep ``make demo`` within about two minutes, reports only in a session in which its state
changes (and every few working days, if the retirement period would otherwise retire its
silent hosts: the demo's is long enough for its period).
History points are taken at :data:`SNAPSHOT_TIMES`, outside working time, when every
commune shows the colour its last working session left.

What varies by day (all drawn from the seed): the faults of the seeded plan (the picture of
"now") hold for the whole period; a share of the communes that are ready now had a fault
that was fixed on some day of the period (the trend climbs); a few communes have a bad week;
every working day but the last one province has a network outage afternoon in part of its
communes (the last working day has no episode, so that "now" is the seeded plan's picture).

Between two of its reports a simulated host is silent: in working time its commune is grey
once ``stale_after_s`` has passed, as a real one would be. The history points are taken
outside working time, so they show colours; whatever reads the period's working time (the
daily roll-ups) sees those silences too.
"""

from __future__ import annotations

import random
import time as monotime
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from checks.model import AgentReport, CheckResult, utcnow
from collector.demo.simulator import FAULTS, CommunePlan, SimAgent, simulated_results
from collector.domain.calendar import DEFAULT_TIMEZONE, OfficeCalendar
from collector.service import Services
from collector.service.identities import AgentIdentity, hash_secret
from collector.service.ingest import Batch

#: Provinces whose communes report at every step of working time: Quảng Ninh (54
#: communes, all ready now; a quarter of them had a fault fixed during the period).
DENSE_PROVINCES = ("22",)
#: Simulated time between two reports of a densely simulated agent: four reports a day.
DEFAULT_STEP = timedelta(minutes=120)
#: Local times of the coverage history points: every evening, outside the civil service's
#: working time, when every commune shows the colour its working day left.
SNAPSHOT_TIMES = (time(17, 30),)
#: Faults of a criterion with a duration (NET-01: ``for: 5m``, ``recover: 2m``): a
#: sparsely simulated agent reports twice in a session that has or ends one.
TIMED_FAULTS = frozenset({"link_down"})
#: Share of the communes ready now that had a fault fixed during the period.
FIXED_SHARE = 0.25
#: Share of communes with a bad week (a minor fault for seven days).
BAD_WEEK_SHARE = 0.03
#: Share of a province's communes cut off in its outage afternoon.
OUTAGE_SHARE = 0.25
#: Reports stored per transaction.
GROUP = 200


class DemoClock:
    """The clock the demo's services read: a simulated instant while the past is filled,
    the wall clock once :meth:`release` d."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at

    def __call__(self) -> datetime:
        at = self.at
        return utcnow() if at is None else at

    def release(self) -> None:
        self.at = None


def period_start(now: datetime, days: int, tz: str = DEFAULT_TIMEZONE) -> datetime:
    """Local midnight ``days`` days before the local day of ``now``."""
    zone = ZoneInfo(tz)
    day = now.astimezone(zone).date() - timedelta(days=days)
    return datetime.combine(day, time(), zone).astimezone(UTC)


def report_at(
    identity: AgentIdentity,
    host: str,
    seq: int,
    results: list[CheckResult],
    at: datetime,
    version: str = "sim-0.1",
) -> AgentReport:
    """A simulated agent's report number ``seq``, measured at the simulated instant ``at``:
    ``results`` (drawn once, reused from report to report) as observed then."""
    return AgentReport(
        agent_id=identity.agent_id,
        seq=seq,
        commune_code=identity.commune_code,
        host=host,
        observed_at=at,
        agent_version=version,
        results=[r.model_copy(update={"observed_at": at}) for r in results],
    )


@dataclass(frozen=True)
class Tick:
    """One simulated instant of working time at which agents report."""

    at: datetime
    #: (local day, session index): a session of the working day.
    session: tuple[date, int]
    first: bool
    last: bool


def working_ticks(
    cal: OfficeCalendar, start: datetime, end: datetime, step: timedelta
) -> list[Tick]:
    """The report instants in ``cal``'s working time from ``start`` to before ``end``: every
    ``step`` of each session, the first half a step after it opens; the period's first
    session also at its opening (the PCs switched on as the office opens: every agent's
    first report, so that no commune starts the period grey)."""
    zone = ZoneInfo(cal.timezone)
    day, last_day = start.astimezone(zone).date(), end.astimezone(zone).date()
    out: list[Tick] = []
    while day <= last_day:
        for n, (opens, closes) in enumerate(cal.intervals(day)):
            instants = [opens] if not out and start <= opens else []
            at = opens + step / 2
            while at < closes:
                instants.append(at)
                at += step
            for i, at in enumerate(instants):
                if start <= at < end:
                    out.append(Tick(at, (day, n), i == 0, i == len(instants) - 1))
        day += timedelta(days=1)
    return out


def snapshot_times(start: datetime, end: datetime, tz: str = DEFAULT_TIMEZONE) -> list[datetime]:
    """The history points' instants from ``start`` to before ``end``."""
    zone = ZoneInfo(tz)
    day, last_day = start.astimezone(zone).date(), end.astimezone(zone).date()
    out = []
    while day <= last_day:
        for t in SNAPSHOT_TIMES:
            at = datetime.combine(day, t, zone).astimezone(UTC)
            if start <= at < end:
                out.append(at)
        day += timedelta(days=1)
    return out


@dataclass(frozen=True)
class Episodes:
    """What varies by day, drawn from the seed: per commune, faults over periods of days,
    and per working day the province with an outage afternoon."""

    #: commune -> (fault, first day, day it is fixed (exclusive)).
    spells: dict[str, list[tuple[str, date, date]]]
    #: working day -> communes whose link is down that afternoon.
    outages: dict[date, frozenset[str]]

    def faults(self, plan: CommunePlan, day: date, session: int) -> frozenset[str]:
        """The faults of a commune in one session of a day."""
        out = set(plan.faults)
        for fault, first, fixed in self.spells.get(plan.code, ()):
            if first <= day < fixed:
                out.add(fault)
        if session > 0 and plan.code in self.outages.get(day, ()):
            out.add("link_down")
        return frozenset(out)


def draw_episodes(plans: dict[str, CommunePlan], working_days: list[date], seed: int) -> Episodes:
    """The period's episodes, deterministic for ``seed`` (a commune's fixed fault and bad
    week are drawn per commune, the same whichever provinces a run simulates; the outage
    afternoons among the provinces simulated)."""
    minor = sorted(f for f, (_, crit) in FAULTS.items() if not crit)
    critical = sorted(f for f, (_, crit) in FAULTS.items() if crit and f != "not_staffed")
    spells: dict[str, list[tuple[str, date, date]]] = {}
    if len(working_days) < 2:
        return Episodes(spells, {})
    # The last working day has no episode: "now" is the seeded plan's picture.
    first, end = working_days[0], working_days[-1]
    working_days = working_days[:-1]
    for code, plan in plans.items():
        if plan.silent:
            continue
        rng = random.Random(f"{seed}-month-{code}")
        if not plan.faults and rng.random() < FIXED_SHARE:
            fault = rng.choice(critical if rng.random() < 0.3 else minor)
            spells.setdefault(code, []).append(
                (fault, first, rng.choice(working_days[1:] or [end]))
            )
        if rng.random() < BAD_WEEK_SHARE:
            begins = rng.choice(working_days)
            spells.setdefault(code, []).append(
                (rng.choice(minor), begins, min(end, begins + timedelta(days=7)))
            )
    outages: dict[date, frozenset[str]] = {}
    provinces = sorted({p.province_code for p in plans.values()})
    rng = random.Random(f"{seed}-month-outages")
    for i, day in enumerate(working_days):
        # The middle day's outage is in the first densely simulated province (its trend
        # shows it); the others fall where the seed says.
        dense = [p for p in DENSE_PROVINCES if p in provinces]
        province = dense[0] if dense and i == len(working_days) // 2 else rng.choice(provinces)
        cut = [
            c
            for c, p in sorted(plans.items())
            if p.province_code == province and not p.silent and rng.random() < OUTAGE_SHARE
        ]
        outages[day] = frozenset(cut)
    return Episodes(spells, outages)


@dataclass
class MonthStats:
    """What the month's filling did."""

    days: int = 0
    working_days: int = 0
    days_off: list[date] = field(default_factory=list)
    reports: int = 0
    snapshots: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0


#: Called after each simulated day: (local day, working?, reports so far, national green
#: ratio at the day's last history point or None).
DayProgress = Callable[[date, bool, int, float | None], None]


class Month:
    """Fills the demo's past: simulated agents report through the ingest use case at
    simulated instants of working time, the periodic pass runs, history points are taken."""

    def __init__(
        self,
        services: Services,
        clock: DemoClock,
        agents: dict[str, SimAgent],
        *,
        seed: int = 1,
        step: timedelta = DEFAULT_STEP,
        dense: tuple[str, ...] = DENSE_PROVINCES,
        progress: DayProgress | None = None,
        episodes: Episodes | None = None,
    ) -> None:
        """``episodes``: what varies by day (by default drawn from ``seed`` for the
        period's working days, :func:`draw_episodes`)."""
        self.services = services
        self.clock = clock
        self.agents = agents
        self.seed = seed
        self.step = step
        self.dense = set(dense)
        self.progress = progress or (lambda _d, _w, _n, _g: None)
        self.stats = MonthStats()
        self.episodes = episodes
        self._results: dict[tuple[str, frozenset[str]], list[CheckResult]] = {}
        #: commune -> (faults it last reported with, working day index of that report).
        self._reported: dict[str, tuple[frozenset[str], int]] = {}

    def run(self, start: datetime, end: datetime) -> MonthStats:
        """Simulate from ``start`` to ``end`` (both UTC); the clock is left at ``end``."""
        began = monotime.monotonic()
        cal = self.services.core.calendar
        by_calendar: dict[OfficeCalendar, list[str]] = {}
        for code in self.agents:
            province = self.services.units.commune(code).province_code
            by_calendar.setdefault(cal.of(province), []).append(code)
        events = sorted(self._events(by_calendar, start, end), key=lambda e: e[0])
        zone = ZoneInfo(DEFAULT_TIMEZONE)
        days = _days(start, end, zone)
        working = sorted({t.session[0] for _, t, _ in events if t is not None})
        episodes = self.episodes
        if episodes is None:
            episodes = draw_episodes(
                {c: a.plan for c, a in self.agents.items()}, working, self.seed
            )
        day_index = {d: i for i, d in enumerate(working)}
        self.stats.days = len(days)
        self.stats.working_days = len(working)
        self.stats.days_off = [d for d in days if d not in day_index and d.weekday() < 5]
        last_ratio: float | None = None
        pending = list(days)
        for at, tick, codes in events:
            while pending and at.astimezone(zone).date() > pending[0]:
                d = pending.pop(0)
                self.progress(d, d in day_index, self.stats.reports, last_ratio)
            self.clock.at = at
            if tick is not None:
                self._tick(tick, codes, episodes, day_index[tick.session[0]])
            else:
                last_ratio = self._snapshot()
        for d in pending:
            self.progress(d, d in day_index, self.stats.reports, last_ratio)
        self.clock.at = end
        self.stats.elapsed_s = monotime.monotonic() - began
        return self.stats

    def _events(
        self, by_calendar: dict[OfficeCalendar, list[str]], start: datetime, end: datetime
    ) -> Iterator[tuple[datetime, Tick | None, list[str]]]:
        """Ticks (with the communes that work then) and history points (no tick), in no
        order."""
        for cal, codes in by_calendar.items():
            for t in working_ticks(cal, start, end, self.step):
                yield t.at, t, codes
        for at in snapshot_times(start, end):
            yield at, None, []

    def _tick(self, tick: Tick, codes: list[str], episodes: Episodes, index: int) -> None:
        """The reports of one instant, stored as the HTTP API's group committer stores
        batches: of the agents that report then (:meth:`_reports_now`)."""
        day, session = tick.session
        batches: list[Batch] = []
        for code in codes:
            agent = self.agents[code]
            faults = episodes.faults(agent.plan, day, session)
            if not self._reports_now(agent, faults, tick, index):
                continue
            batches.append((self._identity(agent), [self._report(agent, faults, tick.at)]))
        for i in range(0, len(batches), GROUP):
            for outcome in self.services.ingest.ingest_many(batches[i : i + GROUP]):
                if isinstance(outcome, Exception):
                    self.stats.errors.append(f"report at {tick.at.isoformat()}: {outcome}")
                else:
                    self.stats.reports += outcome.accepted

    def _reports_now(self, agent: SimAgent, faults: frozenset[str], tick: Tick, index: int) -> bool:
        """Whether an agent reports at ``tick``: a dense one always; a sparse one at the
        last instant of a session whose faults differ from those it last reported (and at
        the first too when a timed fault starts or ends), or when its silence would
        otherwise reach the retirement period."""
        code = agent.plan.code
        if agent.plan.province_code in self.dense:
            self._reported[code] = (faults, index)
            return True
        before = self._reported.get(code)
        if before is None and tick.first:  # its first report: as the office opens
            self._reported[code] = (faults, index)
            return True
        was = before[0] if before is not None else frozenset()
        changed = before is None or was != faults
        due = before is not None and index - before[1] >= self.services.core.retire_after_days - 1
        timed = bool((faults | was) & TIMED_FAULTS)
        if tick.last and (changed or due):
            self._reported[code] = (faults, index)
            return True
        return tick.first and changed and timed

    def _identity(self, agent: SimAgent) -> AgentIdentity:
        province = self.services.units.commune(agent.plan.code).province_code
        return AgentIdentity(agent.agent_id, agent.plan.code, province, hash_secret(agent.token))

    def _report(self, agent: SimAgent, faults: frozenset[str], at: datetime) -> AgentReport:
        """The agent's next report, measured at ``at``: its results for ``faults`` (drawn
        once per commune and set of faults, so that a month costs what its ingest costs)."""
        key = (agent.plan.code, faults)
        results = self._results.get(key)
        if results is None:
            code, ordered = agent.plan.code, tuple(sorted(faults))
            plan = CommunePlan(code, agent.plan.province_code, False, ordered)
            rng = random.Random(f"{self.seed}-{code}-{'+'.join(ordered)}")
            results = self._results[key] = simulated_results(plan, rng)
        agent.seq += 1
        return report_at(
            AgentIdentity(agent.agent_id, agent.plan.code, agent.plan.province_code),
            f"pasc-{agent.plan.code}",
            agent.seq,
            results,
            at,
        )

    def _snapshot(self) -> float | None:
        """The periodic pass, then a history point, at the clock's instant."""
        self.services.evaluation.reevaluate()
        if not self.services.history.snapshot(min_interval_s=0, by_holder=True):
            return None
        self.stats.snapshots += 1
        return float(self.services.history.history(limit=1)[-1]["green_ratio"])


def _days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    day = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    out = []
    while day <= last:
        out.append(day)
        day += timedelta(days=1)
    return out


__all__ = [
    "DEFAULT_STEP",
    "DENSE_PROVINCES",
    "DemoClock",
    "Episodes",
    "Month",
    "MonthStats",
    "Tick",
    "draw_episodes",
    "period_start",
    "report_at",
    "snapshot_times",
    "working_ticks",
]
