"""Build the operations centre's Grafana dashboards (grafana-foundation-sdk, Grafana 11).

``python -m dashboards.build`` writes ``dashboards/generated/<uid>.json`` (committed; a test
fails when regenerating changes them). ``--check`` only reports whether they are current.

Titles are Vietnamese (the operations centre's language) with English in descriptions.
Queries use only metrics of ``collector/metric_catalogue.yaml`` and the recording rules of
``prometheus/rules/recording.yml``; a test enforces it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.builders.common import ReduceDataOptions
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import Dashboard as DashboardModel
from grafana_foundation_sdk.models.dashboard import (
    DashboardLinkType,
    DataSourceRef,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

GENERATED = Path(__file__).resolve().parent / "generated"
#: The Prometheus datasource every panel uses; provisioning/datasources.yaml fixes this uid.
DATASOURCE_UID = "ioc-prometheus"
DS = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
TAGS = ["ioc", "commune-ioc"]
#: Seconds without a report after which an agent counts as silent (alert IocAgentSilent).
SILENT_AFTER_S = 15 * 60

COLOURS = {"green": "green", "yellow": "yellow", "red": "red", "grey": "#8e8e8e"}

PanelBuilder = stat.Panel | timeseries.Panel | table.Panel | bargauge.Panel


def query(
    expr: str, legend: str = "", *, instant: bool = False, as_table: bool = False
) -> prom.Dataquery:
    q = prom.Dataquery().expr(expr).datasource(DS)
    if legend:
        q = q.legend_format(legend)
    q = q.instant() if instant or as_table else q.range()
    if as_table:
        q = q.format(PromQueryFormat.TABLE)
    return q


def _thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=v, color=c) for v, c in steps])
    )


#: Green coverage: red under 50 %, yellow under 90 % (KH02 aims at every commune green).
COVERAGE = _thresholds((None, "red"), (0.5, "yellow"), (0.9, "green"))


def _colour_overrides(panel: Any) -> Any:
    for name, colour in COLOURS.items():
        panel = panel.override_by_name(
            name,
            [DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": colour})],
        )
    return panel


def _queries(panel: Any, queries: Iterable[prom.Dataquery]) -> Any:
    for i, q in enumerate(queries):
        panel = panel.with_target(q.ref_id(chr(ord("A") + i)))
    return panel


def stat_panel(
    title: str,
    description: str,
    queries: list[prom.Dataquery],
    *,
    unit: str = "short",
    w: int = 6,
    h: int = 5,
    thresholds: dash.ThresholdsConfig | None = None,
    text_mode: common.BigValueTextMode = common.BigValueTextMode.AUTO,
    colours: bool = False,
) -> stat.Panel:
    p = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .unit(unit)
        .span(w)
        .height(h)
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .text_mode(text_mode)
        .reduce_options(common_reduce())
        .thresholds(thresholds or _thresholds((None, "blue")))
    )
    p = _queries(p, queries)
    return _colour_overrides(p) if colours else p


def common_reduce() -> ReduceDataOptions:
    return ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def ts_panel(
    title: str,
    description: str,
    queries: list[prom.Dataquery],
    *,
    unit: str = "short",
    w: int = 12,
    h: int = 8,
    min_val: float | None = None,
    max_val: float | None = None,
    colours: bool = False,
) -> timeseries.Panel:
    p = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .unit(unit)
        .span(w)
        .height(h)
    )
    if min_val is not None:
        p = p.min(min_val)
    if max_val is not None:
        p = p.max(max_val)
    p = _queries(p, queries)
    return _colour_overrides(p) if colours else p


def table_panel(
    title: str, description: str, queries: list[prom.Dataquery], *, w: int = 12, h: int = 10
) -> table.Panel:
    p = table.Panel().title(title).description(description).datasource(DS).span(w).height(h)
    return _queries(p, queries)


def bar_panel(
    title: str,
    description: str,
    queries: list[prom.Dataquery],
    *,
    unit: str = "short",
    w: int = 12,
    h: int = 10,
    thresholds: dash.ThresholdsConfig | None = None,
    min_val: float | None = None,
    max_val: float | None = None,
) -> bargauge.Panel:
    p = (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .unit(unit)
        .span(w)
        .height(h)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.BASIC)
        .reduce_options(common_reduce())
        .thresholds(thresholds or _thresholds((None, "blue")))
    )
    if min_val is not None:
        p = p.min(min_val)
    if max_val is not None:
        p = p.max(max_val)
    return _queries(p, queries)


def province_variable(*, include_all: bool = False) -> dash.QueryVariable:
    v = (
        dash.QueryVariable("province")
        .label("Tỉnh / Province")
        .description("Province code (label_values of ioc_commune_info).")
        .datasource(DS)
        .query("label_values(ioc_commune_info, province)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    if include_all:
        v = v.include_all(True).all_value(".*")
    return v


def commune_variable() -> dash.QueryVariable:
    return (
        dash.QueryVariable("commune")
        .label("Xã / Commune")
        .description("Commune code within the province (label_values of ioc_commune_info).")
        .datasource(DS)
        .query('label_values(ioc_commune_info{province="$province"}, commune)')
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def new_dashboard(uid: str, title: str, description: str) -> dash.Dashboard:
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .timezone("Asia/Ho_Chi_Minh")
        .time("now-6h", "now")
        .refresh("1m")
        .editable()
        .link(
            dash.DashboardLink("Bảng điều khiển IOC / IOC dashboards")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(["ioc"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )


def add_panels(d: dash.Dashboard, panels: list[PanelBuilder]) -> dash.Dashboard:
    for i, p in enumerate(panels, start=1):
        d = d.with_panel(p.id(i))
    return d


# -- the four dashboards ----------------------------------------------------------------------

_NAMES = "max by (province, province_name) (ioc_commune_info)"


def national() -> DashboardModel:
    d = new_dashboard(
        "ioc-national",
        "IOC — Toàn quốc: mức độ sẵn sàng của xã",
        "National overview: green coverage by province, communes by colour, the criteria "
        "that fail most often.",
    )
    panels: list[PanelBuilder] = [
        stat_panel(
            "Tỷ lệ xã xanh toàn quốc",
            "Share of all communes of the nation that are green (recording rule "
            ":ioc_commune_green:ratio).",
            [query(":ioc_commune_green:ratio", "Toàn quốc / Nation")],
            unit="percentunit",
            thresholds=COVERAGE,
        ),
        stat_panel(
            "Số xã theo màu",
            "Communes of the nation by readiness colour (green, yellow, red, grey = no fresh "
            "report).",
            [query("colour:ioc_commune_colour:sum", "{{colour}}")],
            w=18,
            colours=True,
        ),
        bar_panel(
            "Tỷ lệ xã xanh theo tỉnh",
            "Green coverage of each province (KH02), lowest first.",
            [
                query(
                    f"sort(province:ioc_commune_green:ratio * on (province) group_left "
                    f"(province_name) {_NAMES})",
                    "{{province_name}}",
                    instant=True,
                )
            ],
            unit="percentunit",
            thresholds=COVERAGE,
            min_val=0,
            max_val=1,
            h=20,
        ),
        bar_panel(
            "Tiêu chí không đạt nhiều nhất",
            "The ten criteria failed by the most communes of the nation.",
            [
                query(
                    "topk(10, sum by (criterion) "
                    "(province_criterion:ioc_commune_criterion_fail:count))",
                    "{{criterion}}",
                    instant=True,
                )
            ],
            thresholds=_thresholds((None, "orange")),
        ),
        ts_panel(
            "Tỷ lệ xã xanh theo thời gian",
            "Green coverage of the nation and of the five least-covered provinces over time.",
            [
                query(":ioc_commune_green:ratio", "Toàn quốc / Nation"),
                query(
                    f"bottomk(5, province:ioc_commune_green:ratio * on (province) group_left "
                    f"(province_name) {_NAMES})",
                    "{{province_name}}",
                ),
            ],
            unit="percentunit",
            min_val=0,
            max_val=1,
        ),
        ts_panel(
            "Số xã theo màu theo thời gian",
            "Communes of the nation by colour over time.",
            [query("colour:ioc_commune_colour:sum", "{{colour}}")],
            colours=True,
            w=24,
        ),
    ]
    return add_panels(d, panels).build()


def _province_colours(sel: str) -> list[PanelBuilder]:
    """The province's coverage, its communes by colour, and the criteria they fail."""
    return [
        stat_panel(
            "Tỷ lệ xã xanh",
            "Share of the province's communes that are green.",
            [query(f"ioc_province_green_ratio{{{sel}}}", "$province")],
            unit="percentunit",
            thresholds=COVERAGE,
        ),
        stat_panel(
            "Số xã theo màu",
            "Communes of the province by readiness colour.",
            [query(f"ioc_province_communes{{{sel}}}", "{{colour}}")],
            w=12,
            colours=True,
        ),
        stat_panel(
            "Giờ làm việc",
            "Whether the province is within its working time (office hours, not a holiday). "
            "Outside it communes keep their colour and are never grey for silence.",
            [query(f"ioc_working_time{{{sel}}}", "$province")],
            thresholds=_thresholds((None, COLOURS["grey"]), (1, "green")),
        ).mappings(
            [
                ValueMap(
                    options={
                        "0": ValueMappingResult(text="Ngoài giờ làm việc", index=0),
                        "1": ValueMappingResult(text="Trong giờ làm việc", index=1),
                    }
                )
            ]
        ),
        table_panel(
            "Các xã và màu hiện tại",
            "Every commune of the province with its current colour (table; sort by colour).",
            [
                query(
                    f"(ioc_commune_colour{{{sel}}} == 1) * on (province, commune) "
                    f"group_left (name, kind) ioc_commune_info{{{sel}}}",
                    as_table=True,
                )
            ],
            h=14,
        ),
        bar_panel(
            "Tiêu chí không đạt",
            "Communes of the province failing each criterion (critical criteria make a "
            "commune red).",
            [
                query(
                    "count by (criterion, severity) "
                    f'(ioc_commune_criterion_status{{{sel},status="fail"}})',
                    "{{criterion}} ({{severity}})",
                    instant=True,
                )
            ],
            thresholds=_thresholds((None, "orange")),
            h=14,
        ),
    ]


def _province_network(sel: str) -> list[PanelBuilder]:
    """Meeting-server quality over the province's communes: RTT, jitter, loss, throughput."""
    return [
        ts_panel(
            "Độ trễ và jitter (phân vị 90)",
            "90th percentile over the province's communes of round-trip time and jitter to "
            "the meeting server (criterion VC-02 warns above 150 ms / 30 ms).",
            [
                query(f"quantile(0.9, ioc_check_rtt_seconds{{{sel}}})", "RTT p90"),
                query(f"quantile(0.9, ioc_check_jitter_seconds{{{sel}}})", "Jitter p90"),
            ],
            unit="s",
            w=8,
        ),
        ts_panel(
            "Mất gói (phân vị 90)",
            "90th percentile of packet loss to the meeting server (VC-02 warns above 1 %).",
            [query(f"quantile(0.9, ioc_check_loss_ratio{{{sel}}})", "Loss p90")],
            unit="percentunit",
            w=8,
        ),
        ts_panel(
            "Băng thông tải về (phân vị 10)",
            "10th percentile of measured download and upload throughput (the slowest communes).",
            [
                query(
                    f"quantile(0.1, ioc_check_download_bandwidth_bytes_per_second{{{sel}}})",
                    "Download p10",
                ),
                query(
                    f"quantile(0.1, ioc_check_upload_bandwidth_bytes_per_second{{{sel}}})",
                    "Upload p10",
                ),
            ],
            unit="Bps",
            w=8,
        ),
        table_panel(
            "Xã có chất lượng họp trực tuyến kém nhất",
            "The ten communes with the highest RTT to the meeting server.",
            [
                query(
                    f"topk(10, ioc_check_rtt_seconds{{{sel}}}) * on (province, commune) "
                    f"group_left (name) ioc_commune_info{{{sel}}}",
                    as_table=True,
                )
            ],
        ),
    ]


def _province_problems(sel: str) -> list[PanelBuilder]:
    """Checks with a problem, and the communes by colour over time."""
    return [
        table_panel(
            "Kiểm tra có vấn đề",
            "Checks whose latest status is not ok (warn, fail, unknown), by commune.",
            [query(f"ioc_check_problem{{{sel}}}", as_table=True)],
        ),
        ts_panel(
            "Số xã theo màu theo thời gian",
            "Communes of the province by colour over time (recording rule).",
            [query(f"province_colour:ioc_commune_colour:sum{{{sel}}}", "{{colour}}")],
            colours=True,
            w=24,
        ),
    ]


def province() -> DashboardModel:
    sel = 'province="$province"'
    d = new_dashboard(
        "ioc-province",
        "IOC — Tỉnh: các xã theo màu, tiêu chí không đạt, chất lượng mạng",
        "Province view: communes by colour, failing criteria, network quality of its communes.",
    ).with_variable(province_variable())
    panels: list[PanelBuilder] = [
        *_province_colours(sel),
        *_province_network(sel),
        *_province_problems(sel),
    ]
    return add_panels(d, panels).build()


def _commune_status(sel: str) -> list[PanelBuilder]:
    """Which commune, its colour, its last report, its criteria and its failing checks."""
    return [
        stat_panel(
            "Xã",
            "Official name of the commune and its province.",
            [query(f"ioc_commune_info{{{sel}}}", "{{name}}, {{province_name}}", instant=True)],
            text_mode=common.BigValueTextMode.NAME,
            w=10,
        ),
        stat_panel(
            "Màu hiện tại",
            "Current readiness colour (green, yellow, red, grey = no fresh report).",
            [query(f"ioc_commune_colour{{{sel}}} == 1", "{{colour}}", instant=True)],
            text_mode=common.BigValueTextMode.NAME,
            colours=True,
            w=7,
        ),
        stat_panel(
            "Báo cáo cuối cách đây",
            "Time since the newest report of the commune.",
            [query(f"time() - ioc_commune_last_report_timestamp_seconds{{{sel}}}", "")],
            unit="s",
            thresholds=_thresholds((None, "green"), (180, "yellow"), (SILENT_AFTER_S, "red")),
            w=7,
        ),
        table_panel(
            "Tiêu chí",
            "Every criterion of the catalogue for this commune: severity and status (pass, "
            "warn, fail, unknown, waived, not_applicable).",
            [query(f"ioc_commune_criterion_status{{{sel}}}", as_table=True)],
            h=14,
        ),
        table_panel(
            "Kiểm tra có vấn đề",
            "Checks on the commune's hosts whose latest status is not ok.",
            [query(f"ioc_check_problem{{{sel}}}", as_table=True)],
            h=14,
        ),
    ]


def _commune_network(sel: str) -> list[PanelBuilder]:
    """RTT, jitter, loss and throughput to the meeting server."""
    return [
        ts_panel(
            "Độ trễ khứ hồi và jitter",
            "Round-trip time and jitter to the meeting server (VC-02: warn above 150 ms / 30 ms).",
            [
                query(f"ioc_check_rtt_seconds{{{sel}}}", "RTT {{host}} → {{target}}"),
                query(f"ioc_check_jitter_seconds{{{sel}}}", "Jitter {{host}} → {{target}}"),
            ],
            unit="s",
            w=8,
        ),
        ts_panel(
            "Mất gói",
            "Packet loss to the meeting server (VC-02: warn above 1 %).",
            [query(f"ioc_check_loss_ratio{{{sel}}}", "{{host}} → {{target}}")],
            unit="percentunit",
            w=8,
        ),
        ts_panel(
            "Băng thông",
            "Measured download and upload throughput.",
            [
                query(
                    f"ioc_check_download_bandwidth_bytes_per_second{{{sel}}}",
                    "Tải về / download {{host}}",
                ),
                query(
                    f"ioc_check_upload_bandwidth_bytes_per_second{{{sel}}}",
                    "Tải lên / upload {{host}}",
                ),
            ],
            unit="Bps",
            w=8,
        ),
    ]


def _commune_equipment(sel: str) -> list[PanelBuilder]:
    """UPS, printer supplies, signature and portal certificates."""
    return [
        stat_panel(
            "UPS: điện lưới",
            "1 = UPS on mains, 0 = on battery (alert IocUpsOnBattery).",
            [query(f"ioc_check_ups_on_line{{{sel}}}", "{{target}}")],
            thresholds=_thresholds((None, "red"), (1, "green")),
            w=4,
        ),
        stat_panel(
            "UPS: thời gian lưu điện",
            "Estimated UPS runtime on battery.",
            [query(f"ioc_check_ups_runtime_seconds{{{sel}}}", "{{target}}")],
            unit="s",
            thresholds=_thresholds((None, "red"), (900, "yellow"), (1800, "green")),
            w=4,
        ),
        stat_panel(
            "UPS: dung lượng ắc quy",
            "UPS battery charge.",
            [query(f"ioc_check_battery_charge_ratio{{{sel}}}", "{{target}}")],
            unit="percentunit",
            thresholds=_thresholds((None, "red"), (0.5, "yellow"), (0.8, "green")),
            w=4,
        ),
        stat_panel(
            "Máy in: mực thấp nhất",
            "Lowest printer supply level (toner, drum).",
            [query(f"ioc_check_supply_level_min_ratio{{{sel}}}", "{{target}}")],
            unit="percentunit",
            thresholds=_thresholds((None, "red"), (0.1, "yellow"), (0.25, "green")),
            w=4,
        ),
        stat_panel(
            "Chứng thư số còn hạn",
            "Time left before the digital-signature certificate expires (criterion SIG-01; "
            "alert under 30 days).",
            [query(f"ioc_check_cert_left_seconds{{{sel}}}", "{{target}}")],
            unit="s",
            thresholds=_thresholds((None, "red"), (0, "orange"), (30 * 86400, "green")),
            w=4,
        ),
        stat_panel(
            "Chứng chỉ TLS cổng dịch vụ",
            "Time left before the TLS certificate of the public-service portal expires.",
            [query(f"min(ioc_check_tls_cert_left_seconds{{{sel}}})", "")],
            unit="s",
            thresholds=_thresholds((None, "red"), (0, "orange"), (30 * 86400, "green")),
            w=4,
        ),
    ]


def _commune_hosts(sel: str) -> list[PanelBuilder]:
    """Service response times, the machines' disk, memory and clocks."""
    return [
        ts_panel(
            "Thời gian phản hồi dịch vụ",
            "HTTP response time of the portal and the core systems the commune uses.",
            [query(f"ioc_check_http_response_time_seconds{{{sel}}}", "{{target}}")],
            unit="s",
        ),
        ts_panel(
            "Máy trạm: đĩa trống, bộ nhớ còn trống",
            "Free disk and available memory of the commune's machines.",
            [
                query(f"ioc_check_disk_free_ratio{{{sel}}}", "Đĩa / disk {{host}} {{target}}"),
                query(f"ioc_check_memory_available_ratio{{{sel}}}", "Bộ nhớ / memory {{host}}"),
            ],
            unit="percentunit",
            min_val=0,
            max_val=1,
        ),
        ts_panel(
            "Lệch đồng hồ",
            "Clock offset of the machines measured by the agent, and agent clock minus "
            "collector clock at the last report.",
            [
                query(f"ioc_check_clock_offset_seconds{{{sel}}}", "Offset {{host}}"),
                query(f"ioc_agent_clock_skew_seconds{{{sel}}}", "Skew {{host}}"),
            ],
            unit="s",
            w=24,
        ),
    ]


def commune() -> DashboardModel:
    sel = 'commune="$commune"'
    d = (
        new_dashboard(
            "ioc-commune",
            "IOC — Chi tiết xã: tiêu chí, mạng, thiết bị, chứng thư số",
            "Commune detail: every criterion, RTT/jitter/loss, throughput, equipment, "
            "certificate expiry.",
        )
        .with_variable(province_variable())
        .with_variable(commune_variable())
    )
    panels: list[PanelBuilder] = [
        *_commune_status(sel),
        *_commune_network(sel),
        *_commune_equipment(sel),
        *_commune_hosts(sel),
    ]
    return add_panels(d, panels).build()


def _agent_reports(sel: str, last: str) -> list[PanelBuilder]:
    """Agents reporting and silent, reports waiting in spools and dropped from them."""
    return [
        stat_panel(
            "Tác nhân đang báo cáo",
            f"Agents whose last report is under {SILENT_AFTER_S // 60} minutes old.",
            [query(f"count(time() - {last} <= {SILENT_AFTER_S}) or vector(0)", "")],
            thresholds=_thresholds((None, "green")),
        ),
        stat_panel(
            "Tác nhân im lặng",
            f"Agents silent for over {SILENT_AFTER_S // 60} minutes (alert IocAgentSilent).",
            [query(f"count(time() - {last} > {SILENT_AFTER_S}) or vector(0)", "")],
            thresholds=_thresholds((None, "green"), (1, "red")),
        ),
        stat_panel(
            "Báo cáo chờ gửi",
            "Reports waiting in agents' on-disk spools, all agents together.",
            [query(f"sum(ioc_agent_spool_pending_reports{{{sel}}}) or vector(0)", "")],
            thresholds=_thresholds((None, "green"), (100, "yellow"), (1000, "red")),
        ),
        stat_panel(
            "Báo cáo bị bỏ (1 giờ)",
            "Reports agents' spools dropped in the last hour (age or size bound; alert "
            "IocAgentSpoolDropping).",
            [
                query(
                    f"sum(increase(ioc_agent_spool_dropped_reports_total{{{sel}}}[1h])) "
                    "or vector(0)",
                    "",
                )
            ],
            thresholds=_thresholds((None, "green"), (1, "red")),
        ),
    ]


def _agent_fleet(sel: str, last: str) -> list[PanelBuilder]:
    """The agents furthest behind, with the largest spools, by version, by clock skew."""
    return [
        table_panel(
            "Tác nhân lâu chưa báo cáo nhất",
            "The twenty agents with the oldest last report (seconds since it).",
            [query(f"topk(20, time() - {last})", as_table=True)],
        ),
        ts_panel(
            "Hàng đợi lớn nhất",
            "The ten agents with the most reports waiting in their spool (alert "
            "IocAgentSpoolBacklogGrowing).",
            [query(f"topk(10, ioc_agent_spool_pending_reports{{{sel}}})", "{{commune}} {{host}}")],
        ),
        bar_panel(
            "Phiên bản tác nhân",
            "Agents by software version.",
            [query(f"count by (version) (ioc_agent_info{{{sel}}})", "{{version}}", instant=True)],
            w=8,
        ),
        table_panel(
            "Lệch đồng hồ lớn nhất",
            "The ten agents whose clock is furthest from the collector's (seconds).",
            [query(f"topk(10, abs(ioc_agent_clock_skew_seconds{{{sel}}}))", as_table=True)],
            w=16,
        ),
    ]


def _collector_ingest() -> list[PanelBuilder]:
    """The collector's side: reports received, its write backlog, its batch time."""
    return [
        ts_panel(
            "Báo cáo nhận được",
            "Reports received by the collector per second, by result (accepted, duplicate), "
            "and requests refused, by reason.",
            [
                query(
                    "sum by (result) (rate(ioc_ingest_reports_total[$__rate_interval]))",
                    "{{result}}",
                ),
                query(
                    "sum by (reason) (rate(ioc_ingest_rejected_requests_total[$__rate_interval]))",
                    "từ chối / refused: {{reason}}",
                ),
                query(
                    "sum by (limit) (rate(ioc_ingest_shed_requests_total[$__rate_interval]))",
                    "quá tải / shed: {{limit}}",
                ),
            ],
            unit="reqps",
        ),
        ts_panel(
            "Hàng đợi ghi báo cáo",
            "Expected time to store the report requests in progress, per collector process, "
            "at the rate its writer measured. Above max_ingest_wait_s (5 s by default) new "
            "requests are shed with 503 and the agents keep their reports.",
            [query("max by (instance) (ioc_ingest_backlog_seconds)", "{{instance}}")],
            unit="s",
        ),
        ts_panel(
            "Thời gian ghi một lô báo cáo (p95)",
            "95th percentile of the time to store and evaluate one batch of reports.",
            [
                query(
                    "histogram_quantile(0.95, sum by (le) "
                    "(rate(ioc_ingest_duration_seconds_bucket[$__rate_interval])))",
                    "p95",
                )
            ],
            unit="s",
        ),
    ]


def agents() -> DashboardModel:
    sel = 'province=~"$province"'
    d = new_dashboard(
        "ioc-agents",
        "IOC — Tác nhân: báo cáo, tác nhân im lặng, hàng đợi, phiên bản",
        "Agent fleet: agents reporting, silent agents, spool backlog, software versions, "
        "collector ingest.",
    ).with_variable(province_variable(include_all=True))
    last = f"ioc_agent_last_report_timestamp_seconds{{{sel}}}"
    panels: list[PanelBuilder] = [
        *_agent_reports(sel, last),
        *_agent_fleet(sel, last),
        *_collector_ingest(),
    ]
    return add_panels(d, panels).build()
    return add_panels(d, panels).build()


DASHBOARDS: dict[str, Callable[[], DashboardModel]] = {
    "ioc-national": national,
    "ioc-province": province,
    "ioc-commune": commune,
    "ioc-agents": agents,
}


def render(model: DashboardModel) -> str:
    return json.dumps(model, cls=JSONEncoder, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def build_all() -> dict[str, str]:
    """Generated JSON text by file name."""
    return {f"{uid}.json": render(make()) for uid, make in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__)
    parser.add_argument("--out", type=Path, default=GENERATED, help="output directory")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the generated files are not current"
    )
    args = parser.parse_args(argv)
    files = build_all()
    stale = [
        name
        for name, text in files.items()
        if not (args.out / name).exists() or (args.out / name).read_text("utf-8") != text
    ]
    if args.check:
        for name in stale:
            print(f"{args.out / name} is not current: run python -m dashboards.build")
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} dashboards to {args.out} ({len(stale)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
