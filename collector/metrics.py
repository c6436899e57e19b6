"""Prometheus exposition of commune readiness.

:class:`ReadinessCollector` is a custom collector (client_python "custom collectors"): each
scrape reads the current state from the database, so there are no mutable global gauges and
every replica exposes the same readiness. Only the ingest counters of this process live in
memory, as process metrics do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics
from prometheus_client import Counter as PromCounter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.criteria.engine import COLOURS
from collector.store import as_utc

if TYPE_CHECKING:
    from collector.store import Store

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
            "Report requests refused, by reason (token, schema, forbidden).",
            ["reason"],
            registry=registry,
        )
        self.duration = Histogram(
            f"{NS}_ingest_duration_seconds",
            "Time to store and evaluate one batch of reports.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )


class ReadinessCollector(Collector):
    def __init__(self, store: Store, host_values: frozenset[str] = DEFAULT_HOST_VALUES) -> None:
        self.store = store
        self.host_values = host_values

    def describe(self) -> list[Metric]:
        return []  # families depend on the data; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        store = self.store
        units = store.units
        states = store.commune_states()

        info = GaugeMetricFamily(
            f"{NS}_commune_info",
            "Administrative unit of a commune (value 1): official name, kind and province name.",
            labels=["province", "commune", "name", "kind", "province_name"],
        )
        colour = GaugeMetricFamily(
            f"{NS}_commune_colour",
            "Readiness colour of a commune as a state set: 1 for its current colour, 0 otherwise.",
            labels=["province", "commune", "colour"],
        )
        criterion = GaugeMetricFamily(
            f"{NS}_commune_criterion_status",
            "Status of one criterion for a commune (value 1, status in the label: "
            "pass, warn, fail, unknown, waived, not_applicable).",
            labels=["province", "commune", "criterion", "severity", "status"],
        )
        last = GaugeMetricFamily(
            f"{NS}_commune_last_report_timestamp_seconds",
            "Unix time of the newest report observed for a commune.",
            labels=["province", "commune"],
        )
        per_prov: dict[str, Counter[str]] = {p: Counter() for p in units.provinces}
        for s in states:
            c = units.communes[s.code]
            labels = [s.province_code, s.code]
            info.add_metric([*labels, c.name, c.kind, units.provinces[s.province_code].name], 1)
            for col in COLOURS:
                colour.add_metric([*labels, col.value], 1.0 if s.colour is col else 0.0)
            per_prov[s.province_code][s.colour.value] += 1
            for cid, item in s.criteria.items():
                criterion.add_metric([*labels, cid, item["severity"], item["status"]], 1)
            if s.last_report_at is not None:
                last.add_metric(labels, s.last_report_at.timestamp())
        yield from (info, colour, criterion, last)

        prov_count = GaugeMetricFamily(
            f"{NS}_province_communes",
            "Communes of a province by readiness colour.",
            labels=["province", "colour"],
        )
        prov_ratio = GaugeMetricFamily(
            f"{NS}_province_green_ratio",
            "Share of a province's communes that are green (KH02 green coverage), 0 to 1.",
            labels=["province"],
        )
        national: Counter[str] = Counter()
        for pcode, counts in per_prov.items():
            n = len(units.by_province[pcode])
            for col in COLOURS:
                prov_count.add_metric([pcode, col.value], counts.get(col.value, 0))
            prov_ratio.add_metric([pcode], counts.get("green", 0) / n if n else 0.0)
            national.update(counts)
        nat_ratio = GaugeMetricFamily(
            f"{NS}_national_green_ratio",
            "Share of all communes of the nation that are green, 0 to 1.",
            value=national.get("green", 0) / len(units.communes),
        )
        yield from (prov_count, prov_ratio, nat_ratio)

        yield from self._agents()
        yield from self._check_values()

    def _agents(self) -> Iterator[Metric]:
        last = GaugeMetricFamily(
            f"{NS}_agent_last_report_timestamp_seconds",
            "Unix time of the newest report observed from an agent.",
            labels=["province", "commune", "host", "agent"],
        )
        skew = GaugeMetricFamily(
            f"{NS}_agent_clock_skew_seconds",
            "Agent clock minus collector clock at the agent's last report (includes transit time).",
            labels=["province", "commune", "host", "agent"],
        )
        info = GaugeMetricFamily(
            f"{NS}_agent_info",
            "Agent software version (value 1).",
            labels=["province", "commune", "host", "agent", "version"],
        )
        for row in self.store.agent_rows():
            labels = [row.province_code, row.commune_code, row.host, row.agent_id]
            info.add_metric([*labels, row.agent_version or "unknown"], 1)
            if row.last_observed_at is not None:
                last.add_metric(labels, as_utc(row.last_observed_at).timestamp())
            if row.clock_skew_s is not None:
                skew.add_metric(labels, row.clock_skew_s)
        yield from (last, skew, info)

    def _check_values(self) -> Iterator[Metric]:
        status = GaugeMetricFamily(
            f"{NS}_check_problem",
            "A check on a host whose latest status is not ok (value 1, status in the label: "
            "warn, fail, unknown). Checks that are ok have no series, to keep national "
            "cardinality bounded.",
            labels=["province", "commune", "host", "check", "target", "status"],
        )
        agent_labels = ["province", "commune", "host", "agent"]
        spool_pending = GaugeMetricFamily(
            f"{NS}_agent_spool_pending_reports",
            "Reports waiting in an agent's on-disk spool at its last report (a growing "
            "backlog means the agent cannot deliver).",
            labels=agent_labels,
        )
        spool_dropped = CounterMetricFamily(
            f"{NS}_agent_spool_dropped_reports",
            "Reports an agent dropped from its spool (bounds reached) since it was installed.",
            labels=agent_labels,
        )
        families: dict[str, GaugeMetricFamily] = {}
        labels_v = ["province", "commune", "host", "check", "target"]
        wanted = self.host_values
        for row in self.store.latest_values():
            if row.check_id == "agent.spool":
                ids = [row.province_code, row.commune_code, row.host, row.agent_id]
                figures = row.figures
                if "spool_pending" in figures:
                    spool_pending.add_metric(ids, figures["spool_pending"][0])
                if "spool_dropped" in figures:
                    spool_dropped.add_metric(ids, figures["spool_dropped"][0])
                continue
            labels = [row.province_code, row.commune_code, row.host, row.check_id, row.target]
            if row.status != "ok":
                status.add_metric([*labels, row.status], 1)
            for vname, (value, unit) in row.figures.items():
                if vname not in wanted:
                    continue
                name, scale = value_metric(vname, unit)
                fam = families.get(name)
                if fam is None:
                    fam = families[name] = GaugeMetricFamily(
                        name, f"Latest '{vname}' measured by agent checks.", labels=labels_v
                    )
                fam.add_metric(labels, value * scale)
        yield from (status, spool_pending, spool_dropped)
        yield from families.values()
