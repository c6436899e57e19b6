"""Prometheus exposition of commune readiness.

:class:`ReadinessCollector` is a custom collector (client_python "custom collectors"): each
scrape reads the current state from the database, so there are no mutable global gauges and
every replica exposes the same readiness. Only the ingest counters of this process live in
memory, as process metrics do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Gauge, Histogram, disable_created_metrics
from prometheus_client import Counter as PromCounter

from collector.criteria.engine import COLOURS
from collector.storage.codecs import as_utc

if TYPE_CHECKING:
    from collector.service import Services

NS = "ioc"
# The *_created series of counters add nothing an operator uses; keep the exposition lean.
disable_created_metrics()
#: Units appended to a check value's metric name (Prometheus base units).
_SUFFIX_UNITS = ("seconds", "bytes", "ratio", "bytes_per_second", "celsius", "volts")
CHECK_STATUSES = ("ok", "warn", "fail", "unknown")
#: Per-host measurements exposed by default. Cardinality budget: at national scale (3,321
#: communes, ~50,000 hosts) every value of every host would be millions of series, so only
#: the figures the operations centre graphs and alerts on are exposed; a province can widen
#: the list (``metrics_host_values`` in the collector configuration).
DEFAULT_HOST_VALUES: frozenset[str] = frozenset(
    {
        "rtt",
        "jitter",
        "loss",
        "mos",
        "r_factor",
        "download_bandwidth",
        "upload_bandwidth",
        "supply_level_min",
        "ups_on_line",
        "ups_runtime",
        "battery_charge",
        "cert_days_left",
        "tls_cert_days_left",
        "http_response_time",
        "disk_free_ratio",
        "memory_available_ratio",
        "clock_offset",
    }
)


#: Units that agents report for people (days, bits/s) converted to Prometheus base units.
_TO_BASE = {"days": ("seconds", 86400.0), "bits_per_second": ("bytes_per_second", 1 / 8)}


def value_metric(value: str, unit: str) -> tuple[str, float]:
    """Metric name and scale for a check value, in Prometheus base units.

    ``rtt`` in seconds -> ``ioc_check_rtt_seconds``; ``disk_free_ratio`` stays as it is;
    ``cert_days_left`` in days -> ``ioc_check_cert_left_seconds`` (x 86400);
    ``download_bandwidth`` in bits/s -> ``ioc_check_download_bandwidth_bytes_per_second``.
    """
    scale = 1.0
    if unit in _TO_BASE:
        if unit == "days":
            value = value.replace("_days", "")
        unit, scale = _TO_BASE[unit]
    name = f"{NS}_check_{value}"
    if unit in _SUFFIX_UNITS and not name.endswith(f"_{unit}"):
        name = f"{name}_{unit}"
    return name, scale


#: Endpoints of ``ioc_rate_limited_requests_total`` (collector/api/ratelimit.py).
RATE_LIMITED_ENDPOINTS = ("reports", "enroll", "login", "reader")


#: Limits of ``ioc_ingest_shed_requests_total`` (collector/api/middleware.py).
SHED_LIMITS = ("requests", "bytes", "wait")


class IngestMetrics:
    """Counters of this collector process (each replica is scraped on its own)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.reports = PromCounter(
            f"{NS}_ingest_reports",
            "Reports received from agents, by result (accepted, duplicate).",
            ["result"],
            registry=registry,
        )
        self.rejected = PromCounter(
            f"{NS}_ingest_rejected_requests",
            "Report requests refused, by reason (token, schema, forbidden, overload).",
            ["reason"],
            registry=registry,
        )
        self.rate_limited = PromCounter(
            f"{NS}_rate_limited_requests",
            "Requests refused with 429 by a rate limit, by endpoint (reports: per agent; "
            "enroll, login, reader: after failed attempts from the client address).",
            ["endpoint"],
            registry=registry,
        )
        for endpoint in RATE_LIMITED_ENDPOINTS:  # every series exists from the start, at 0
            self.rate_limited.labels(endpoint=endpoint)
        self.shed = PromCounter(
            f"{NS}_ingest_shed_requests",
            "Report requests shed with 503 before their body was read (reason overload), by "
            "the limit reached: requests (max_ingest_inflight), bytes "
            "(max_ingest_inflight_bytes), wait (max_ingest_wait_s).",
            ["limit"],
            registry=registry,
        )
        for limit in SHED_LIMITS:
            self.shed.labels(limit=limit)
        #: Set by the app to the writer's estimate for the requests in progress.
        self.backlog = Gauge(
            f"{NS}_ingest_backlog_seconds",
            "Expected time to store the report requests in progress, at the rate the "
            "writer measured over its last group commits.",
            registry=registry,
        )
        self.duration = Histogram(
            f"{NS}_ingest_duration_seconds",
            "Time to store and evaluate one batch of reports.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )

        # The two series every answered request counts, resolved at the first one (as
        # .labels() would create them then): .labels() takes a lock and builds a key.
        self._counted: tuple[PromCounter, PromCounter] | None = None

    def count_reports(self, accepted: int, duplicates: int) -> None:
        """Count an answered request's reports, accepted and duplicate."""
        counted = self._counted
        if counted is None:
            counted = self._counted = (
                self.reports.labels(result="accepted"),
                self.reports.labels(result="duplicate"),
            )
        counted[0].inc(accepted)
        counted[1].inc(duplicates)

    def shed_one(self, limit: str) -> None:
        """Count a report request shed by load shedding at ``limit`` (one of SHED_LIMITS)."""
        self.rejected.labels(reason="overload").inc()
        self.shed.labels(limit=limit).inc()


#: Outcomes of ``ioc_catalogue_reloads_total`` (collector/service/reload.py).
CATALOGUE_RELOAD_RESULTS = ("applied", "unchanged", "refused")


class CatalogueMetrics:
    """Reloads of the criteria catalogue in this process, like Prometheus's own
    ``prometheus_config_last_reload_successful``: the IocCatalogueReloadFailed alert tells
    the operations centre that a province's edit was refused, which the log alone would
    not."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.reloads = PromCounter(
            f"{NS}_catalogue_reloads",
            "Reloads of the criteria catalogue, by result (applied, unchanged, refused).",
            ["result"],
            registry=registry,
        )
        for result in CATALOGUE_RELOAD_RESULTS:  # every series exists from the start, at 0
            self.reloads.labels(result=result)
        self.last_ok = Gauge(
            f"{NS}_catalogue_last_reload_successful",
            "1 if the last reload of the criteria catalogue was valid (or none was tried), "
            "0 if it was refused and the previous catalogue is still in use.",
            registry=registry,
        )
        self.last_ok.set(1)

    def reloaded(self, result: str) -> None:
        self.reloads.labels(result=result).inc()
        self.last_ok.set(0 if result == "refused" else 1)


@dataclass
class Family:
    """One metric family as read at scrape time. National scale means ~10^5 samples, so
    label sets are rendered once, by the code that knows them (see :func:`labels`), not
    validated sample by sample as client_python's MetricFamily does."""

    name: str
    type: str  # "gauge" | "counter"
    help: str
    samples: list[tuple[str, float]] = field(default_factory=list)

    def add(self, rendered_labels: str, value: float) -> None:
        self.samples.append((rendered_labels, float(value)))

    @property
    def sample_name(self) -> str:
        return f"{self.name}_total" if self.type == "counter" else self.name


def esc(v: str) -> str:
    """Escape a label value (text exposition format: backslash, double quote, newline)."""
    if "\\" in v or '"' in v or "\n" in v:
        v = v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return v


def labels(**pairs: str) -> str:
    """``province="01",commune="00070"``: label names are this module's, values escaped."""
    return ",".join(f'{k}="{esc(v)}"' for k, v in pairs.items())


def _format_value(v: float) -> str:
    if v.is_integer() and abs(v) < 1e15:  # False for inf and NaN
        return f"{int(v)}"
    return repr(v)


def render(families: Iterable[Family]) -> str:
    """Prometheus text exposition format 0.0.4 of ``families``."""
    out: list[str] = []
    for fam in families:
        name = fam.sample_name
        help_text = fam.help.replace("\\", "\\\\").replace("\n", "\\n")
        out.append(f"# HELP {name} {help_text}\n# TYPE {name} {fam.type}\n")
        for rendered, value in fam.samples:
            sample = f"{name}{{{rendered}}}" if rendered else name
            out.append(f"{sample} {_format_value(value)}\n")
    return "".join(out)


class ReadinessCollector:
    """Readiness read from the database at every scrape (a custom collector in the sense of
    client_python's docs: nothing is kept between scrapes), rendered by :meth:`render`."""

    def __init__(
        self, services: Services, host_values: frozenset[str] = DEFAULT_HOST_VALUES
    ) -> None:
        self.services = services
        self.host_values = host_values

    def render(self, part: str = "all", province: str | None = None) -> str:
        return render(self.families(part, province))

    def families(self, part: str = "all", province: str | None = None) -> list[Family]:
        """``part``: "all" (one scrape for everything: a province-sized collector),
        "readiness" (communes, provinces, nation: ~7·10^4 series nationally) or "hosts"
        (per-agent and per-check series, optionally of one ``province``). At national
        scale (~50,000 hosts, ~4·10^5 series) Prometheus scrapes readiness once and hosts
        once per province, like a multi-target exporter: see dashboards/prometheus."""
        out: list[Family] = []
        if part in ("all", "readiness"):
            out += self._communes()
        if part in ("all", "hosts"):
            out += [*self._agents(province), *self._check_values(province)]
        return out

    def _communes(self) -> list[Family]:
        services = self.services
        units = services.units
        info = Family(
            f"{NS}_commune_info",
            "gauge",
            "Administrative unit of a commune (value 1): official name, kind and province name.",
        )
        colour = Family(
            f"{NS}_commune_colour",
            "gauge",
            "Readiness colour of a commune as a state set: 1 for its current colour, 0 otherwise.",
        )
        criterion = Family(
            f"{NS}_commune_criterion_status",
            "gauge",
            "Status of one criterion for a commune (value 1, status in the label: "
            "pass, warn, fail, unknown, waived, not_applicable).",
        )
        last = Family(
            f"{NS}_commune_last_report_timestamp_seconds",
            "gauge",
            "Unix time of the newest report observed for a commune.",
        )
        per_prov: dict[str, Counter[str]] = {p: Counter() for p in units.provinces}
        off: dict[str, bool] = {}
        for s in services.readiness.commune_states():
            off[s.province_code] = s.off_hours
            c = units.communes[s.code]
            pc = f'province="{s.province_code}",commune="{s.code}"'
            info.add(
                f"{pc},{labels(name=c.name, kind=c.kind)},"
                f"{labels(province_name=units.provinces[s.province_code].name)}",
                1,
            )
            for col in COLOURS:
                colour.add(f'{pc},colour="{col.value}"', 1.0 if s.colour is col else 0.0)
            per_prov[s.province_code][s.colour.value] += 1
            for cid, item in s.criteria.items():
                criterion.add(
                    f'{pc},criterion="{esc(cid)}",severity="{item["severity"]}",'
                    f'status="{item["status"]}"',
                    1,
                )
            if s.last_report_at is not None:
                last.add(pc, s.last_report_at.timestamp())

        prov_count = Family(
            f"{NS}_province_communes", "gauge", "Communes of a province by readiness colour."
        )
        prov_ratio = Family(
            f"{NS}_province_green_ratio",
            "gauge",
            "Share of a province's communes that are green (KH02 green coverage), 0 to 1.",
        )
        national: Counter[str] = Counter()
        for pcode, counts in per_prov.items():
            n = len(units.by_province[pcode])
            for col in COLOURS:
                prov_count.add(f'province="{pcode}",colour="{col.value}"', counts.get(col.value, 0))
            prov_ratio.add(f'province="{pcode}"', counts.get("green", 0) / n if n else 0.0)
            national.update(counts)
        nat_ratio = Family(
            f"{NS}_national_green_ratio",
            "gauge",
            "Share of all communes of the nation that are green, 0 to 1.",
        )
        nat_ratio.add("", national.get("green", 0) / len(units.communes))
        working = Family(
            f"{NS}_working_time",
            "gauge",
            "1 while a province is within its working time (office hours, not a holiday), "
            "0 outside it: commune colours are kept and silence is not alerted.",
        )
        for pcode in per_prov:
            working.add(f'province="{pcode}"', 0.0 if off.get(pcode) else 1.0)
        return [info, colour, criterion, last, prov_count, prov_ratio, nat_ratio, working]

    def _agents(self, province: str | None = None) -> list[Family]:
        last = Family(
            f"{NS}_agent_last_report_timestamp_seconds",
            "gauge",
            "Unix time of the newest report observed from an agent.",
        )
        skew = Family(
            f"{NS}_agent_clock_skew_seconds",
            "gauge",
            "Agent clock minus collector clock at the agent's last report (includes transit time).",
        )
        info = Family(f"{NS}_agent_info", "gauge", "Agent software version (value 1).")
        for row in self.services.readiness.agent_rows(province):
            ids = labels(
                province=row.province_code,
                commune=row.commune_code,
                host=row.host,
                agent=row.agent_id,
            )
            info.add(f"{ids},{labels(version=row.agent_version or 'unknown')}", 1)
            if row.last_observed_at is not None:
                last.add(ids, as_utc(row.last_observed_at).timestamp())
            if row.clock_skew_s is not None:
                skew.add(ids, row.clock_skew_s)
        return [last, skew, info]

    def _check_values(self, province: str | None = None) -> list[Family]:
        status = Family(
            f"{NS}_check_problem",
            "gauge",
            "A check on a host whose latest status is not ok (value 1, status in the label: warn, "
            "fail, unknown). Checks that are ok have no series, to keep national cardinality "
            "bounded.",
        )
        spool_pending = Family(
            f"{NS}_agent_spool_pending_reports",
            "gauge",
            "Reports waiting in an agent's on-disk spool at its last report (a growing "
            "backlog means the agent cannot deliver).",
        )
        spool_dropped = Family(
            f"{NS}_agent_spool_dropped_reports",
            "counter",
            "Reports an agent dropped from its spool (bounds reached) since it was installed.",
        )
        families: dict[str, Family] = {}
        wanted = self.host_values
        names: dict[tuple[str, str], tuple[str, float]] = {}
        for row in self.services.readiness.latest_values(province):
            figures = row.figures
            if row.check_id == "agent.spool":
                ids = labels(
                    province=row.province_code,
                    commune=row.commune_code,
                    host=row.host,
                    agent=row.agent_id,
                )
                if "spool_pending" in figures:
                    spool_pending.add(ids, figures["spool_pending"][0])
                if "spool_dropped" in figures:
                    spool_dropped.add(ids, figures["spool_dropped"][0])
                continue
            rendered = labels(
                province=row.province_code,
                commune=row.commune_code,
                host=row.host,
                check=row.check_id,
                target=row.target,
            )
            if row.status != "ok":
                status.add(f'{rendered},status="{esc(row.status)}"', 1)
            for vname, (value, unit) in figures.items():
                if vname not in wanted:
                    continue
                key = (vname, unit)
                if key not in names:
                    names[key] = value_metric(vname, unit)
                name, scale = names[key]
                fam = families.get(name)
                if fam is None:
                    fam = families[name] = Family(
                        name, "gauge", f"Latest '{vname}' measured by agent checks."
                    )
                fam.add(rendered, value * scale)
        return [status, spool_pending, spool_dropped, *families.values()]
