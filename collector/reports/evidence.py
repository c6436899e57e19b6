"""Evidence as officials read it: one short sentence per host, in the reader's language.

"Máy pc-1: không có micro, không có loa" / "Host pc-1: no microphone, no speaker";
"Máy pc-2: tải xuống 164,8 Mbit/s, dưới mức 200 Mbit/s". Built from the evidence items the
criteria engine stores (host, check, target, status, the values that decided), the phrase
of each value name from :data:`PHRASES`, its unit made human by :mod:`collector.reports.fmt`
and the level it crosses from the catalogue's levels. The raw items stay available as
engineering text (:func:`raw_lines`), shown behind a disclosure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.i18n import Lang, check_title
from agent.i18n import t as agent_t
from checks.levels import Bounds, crossing
from checks.messages import render_stored
from collector.reports import fmt
from collector.reports.i18n import t as report_t

#: check id -> value name -> levels (``collector.criteria.catalogue.level_table``).
LevelTable = Mapping[str, Mapping[str, Bounds]]


@dataclass(frozen=True)
class Phrase:
    """How one value name reads: its kind of figure (how the number is written) and a
    template per language (``{v}`` is the figure, ``{s}`` an English plural "s"); for a
    count or a flag, the words for 0."""

    kind: str  # bitrate | bytes | ratio | seconds | days | count | flag | code | number
    vi: str
    en: str
    zero_vi: str = ""
    zero_en: str = ""
    #: a negative figure (an expired certificate): "{v}" is its absolute value
    neg_vi: str = ""
    neg_en: str = ""


_CERT_NEG = ("đã hết hạn {v}", "expired {v} ago")

#: Every value name a check can emit that feeds a criterion (the catalogue's rules and
#: levels; tests/collector/reports/test_evidence.py holds the table to them), and a few more.
PHRASES: dict[str, Phrase] = {
    "download_bandwidth": Phrase("bitrate", "tải xuống {v}", "download {v}"),
    "upload_bandwidth": Phrase("bitrate", "tải lên {v}", "upload {v}"),
    "http_response_time": Phrase("seconds", "thời gian phản hồi {v}", "response time {v}"),
    "rtt": Phrase("seconds", "độ trễ {v}", "round trip {v}"),
    "jitter": Phrase("seconds", "độ dao động trễ {v}", "jitter {v}"),
    "loss": Phrase("ratio", "mất gói {v}", "packet loss {v}"),
    "mos": Phrase("number", "điểm chất lượng thoại {v}", "call quality score {v}"),
    "r_factor": Phrase("number", "hệ số R {v}", "R-factor {v}"),
    "camera_count": Phrase("count", "{v} camera", "{v} camera{s}", "không có camera", "no camera"),
    "microphone_count": Phrase(
        "count", "{v} micro", "{v} microphone{s}", "không có micro", "no microphone"
    ),
    "speaker_count": Phrase("count", "{v} loa", "{v} speaker{s}", "không có loa", "no speaker"),
    "disk_free_ratio": Phrase("ratio", "còn {v} dung lượng đĩa", "{v} of the disk free"),
    "disk_min_free_ratio": Phrase(
        "ratio", "ổ đĩa đầy nhất còn {v} dung lượng", "fullest disk {v} free"
    ),
    "memory_available_ratio": Phrase("ratio", "còn {v} bộ nhớ trống", "{v} of memory free"),
    "cpu_usage": Phrase("ratio", "CPU bận {v}", "CPU {v} busy"),
    "clock_offset": Phrase("seconds", "đồng hồ lệch {v}", "clock off by {v}"),
    "clock_offset_abs": Phrase("seconds", "đồng hồ lệch {v}", "clock off by {v}"),
    "ntp_synchronised": Phrase(
        "flag",
        "đồng hồ được đồng bộ",
        "clock synchronised",
        "đồng hồ không được đồng bộ",
        "clock not synchronised",
    ),
    "supply_level_min": Phrase(
        "ratio", "vật tư in (mực, giấy) thấp nhất còn {v}", "lowest printer supply at {v}"
    ),
    "ups_on_line": Phrase(
        "flag",
        "UPS dùng điện lưới",
        "UPS on mains power",
        "UPS đang chạy bằng pin",
        "UPS on battery",
    ),
    "ups_runtime": Phrase("seconds", "UPS còn chạy được {v}", "UPS runtime {v}"),
    "battery_charge": Phrase("ratio", "pin UPS còn {v}", "UPS battery at {v}"),
    "cert_days_left": Phrase(
        "days",
        "chứng thư số còn hạn {v}",
        "signing certificate valid {v} more",
        neg_vi="chứng thư số " + _CERT_NEG[0],
        neg_en="signing certificate " + _CERT_NEG[1],
    ),
    "tls_cert_days_left": Phrase(
        "days",
        "chứng chỉ TLS còn hạn {v}",
        "TLS certificate valid {v} more",
        neg_vi="chứng chỉ TLS " + _CERT_NEG[0],
        neg_en="TLS certificate " + _CERT_NEG[1],
    ),
    "updates_age": Phrase("days", "cập nhật lần cuối {v} trước", "last updated {v} ago"),
}


def _flag(vi: str, en: str, vi_no: str, en_no: str) -> Phrase:
    return Phrase("flag", vi, en, vi_no, en_no)


def _time(vi: str, en: str) -> Phrase:
    return Phrase("seconds", vi + " {v}", en + " {v}")


# Facts the checks report beside the judged values (a check's own status decides on them).
PHRASES |= {
    "tcp_up": _flag("kết nối được", "reachable", "không kết nối được", "not reachable"),
    "http_up": _flag(
        "trang web trả lời", "website answers", "trang web không trả lời", "website does not answer"
    ),
    "sip_up": _flag(
        "máy chủ SIP trả lời",
        "SIP server answers",
        "máy chủ SIP không trả lời",
        "SIP server does not answer",
    ),
    "stun_up": _flag(
        "máy chủ STUN trả lời",
        "STUN server answers",
        "máy chủ STUN không trả lời",
        "STUN server does not answer",
    ),
    "ssh_up": _flag(
        "đăng nhập SSH được", "SSH login works", "không đăng nhập SSH được", "SSH login fails"
    ),
    "device_up": _flag(
        "thiết bị trả lời", "device answers", "thiết bị không trả lời", "device does not answer"
    ),
    "printer_up": _flag(
        "máy in trả lời", "printer answers", "máy in không trả lời", "printer does not answer"
    ),
    "scanner_up": _flag(
        "máy quét sẵn sàng", "scanner ready", "không thấy máy quét", "no scanner found"
    ),
    "link_up": _flag(
        "cổng mạng có kết nối", "network link up", "cổng mạng mất kết nối", "network link down"
    ),
    "gateway_present": _flag(
        "có cổng mặc định", "default gateway set", "không có cổng mặc định", "no default gateway"
    ),
    "gateway_reachable": _flag(
        "cổng mặc định trả lời",
        "default gateway answers",
        "cổng mặc định không trả lời",
        "default gateway does not answer",
    ),
    "route_via_dedicated": _flag(
        "đi qua đường truyền chuyên dùng",
        "routed over the dedicated line",
        "không đi qua đường truyền chuyên dùng",
        "not routed over the dedicated line",
    ),
    "antivirus_running": _flag(
        "phần mềm diệt virus đang chạy",
        "antivirus running",
        "phần mềm diệt virus không chạy",
        "antivirus not running",
    ),
    "firewall_enabled": _flag("tường lửa bật", "firewall on", "tường lửa tắt", "firewall off"),
    "token_present": _flag(
        "có thiết bị ký số",
        "signing token present",
        "không thấy thiết bị ký số",
        "no signing token found",
    ),
    "tcp_connect_time": _time("thời gian kết nối", "connect time"),
    "dns_resolve_time": _time("thời gian phân giải tên miền", "name lookup time"),
    "sip_response_time": _time("máy chủ SIP trả lời sau", "SIP answer time"),
    "stun_response_time": _time("máy chủ STUN trả lời sau", "STUN answer time"),
    "ssh_connect_time": _time("thời gian kết nối SSH", "SSH connect time"),
    "response_time": _time("thời gian phản hồi", "response time"),
    "rtt_min": _time("độ trễ nhỏ nhất", "lowest round trip"),
    "rtt_p95": _time("độ trễ (95 %)", "round trip (95th percentile)"),
    "ups_seconds_on_battery": _time("UPS đã chạy bằng pin", "UPS on battery for"),
    "uptime": _time("máy đã chạy liên tục", "up for"),
    "disk_free": Phrase("bytes", "đĩa còn trống {v}", "{v} of disk free"),
    "disk_size": Phrase("bytes", "dung lượng đĩa {v}", "disk size {v}"),
    "memory_available": Phrase("bytes", "bộ nhớ còn trống {v}", "{v} of memory free"),
    "memory_total": Phrase("bytes", "tổng bộ nhớ {v}", "memory {v}"),
    "if_in_rate": Phrase("bitrate", "lưu lượng vào {v}", "traffic in {v}"),
    "if_out_rate": Phrase("bitrate", "lưu lượng ra {v}", "traffic out {v}"),
    "link_speed": Phrase("bitrate", "tốc độ cổng mạng {v}", "link speed {v}"),
    "http_status": Phrase("code", "mã trả lời HTTP {v}", "HTTP status {v}"),
    "sip_status_code": Phrase("code", "mã trả lời SIP {v}", "SIP status {v}"),
    "interfaces_down": Phrase(
        "count",
        "{v} cổng mạng mất kết nối",
        "{v} interface{s} down",
        "không cổng mạng nào mất kết nối",
        "no interface down",
    ),
    "uplinks_down": Phrase(
        "count",
        "{v} đường lên mất kết nối",
        "{v} uplink{s} down",
        "không đường lên nào mất kết nối",
        "no uplink down",
    ),
}

_FIGURE: dict[str, Callable[[float, str], str]] = {
    "bytes": fmt.size,
    "code": lambda v, lang: str(int(v)),  # a protocol's answer code, never grouped
    "bitrate": fmt.bitrate,
    "ratio": fmt.ratio,
    "seconds": fmt.duration,
    "days": fmt.days,
    "count": lambda v, lang: fmt.number(v, lang, 0),
    "number": fmt.number,
}
_WORDS = {
    "vi": {"host": "Máy", "below": "dưới mức", "above": "trên mức", "value": "giá trị"},
    "en": {"host": "Host", "below": "below", "above": "above", "value": "value"},
}
# A value name no phrase names is still written with its unit, guessed from its suffix.
_SUFFIX_KIND = (
    ("_ratio", "ratio"),
    ("_bandwidth", "bitrate"),
    ("_days", "days"),
    ("_seconds", "seconds"),
    ("_time", "seconds"),
    ("_count", "count"),
    ("_up", "flag"),
)


def _kind(name: str) -> str:
    phrase = PHRASES.get(name)
    if phrase:
        return phrase.kind
    return next((k for suffix, k in _SUFFIX_KIND if name.endswith(suffix)), "number")


def figure(name: str, value: float, lang: str) -> str:
    """``value`` of ``name`` written with its unit: 164,8 Mbit/s, 31 %, 2 giờ 17 phút."""
    kind = _kind(name)
    return _FIGURE.get(kind, fmt.number)(value, lang)


def phrase(
    name: str, value: float, lang: str, bounds: Bounds | None = None, target: str = ""
) -> str:
    """One value in words, with the level it crosses: "tải xuống 164,8 Mbit/s, dưới mức
    200 Mbit/s"; a name with no phrase: "giá trị foo_bar = 12,5"."""
    en = lang == "en"
    p = PHRASES.get(name)
    words = _WORDS["en" if en else "vi"]
    where = f" ({target})" if target else ""
    if p is None:
        return f"{words['value']} {name} = {figure(name, value, lang)}{where}"
    if p.kind in ("count", "flag") and value == 0:
        return (p.zero_en if en else p.zero_vi) + where
    if p.kind == "flag":
        return (p.en if en else p.vi) + where
    template = p.en if en else p.vi
    shown = value
    if value < 0 and p.neg_vi:
        template, shown = (p.neg_en if en else p.neg_vi), -value
    plural = "" if shown == 1 else "s"  # English counts: 1 camera, 2 cameras
    text = template.format(v=figure(name, shown, lang), s=plural) + where
    # an expired certificate says so; "below 0 days" would add nothing
    hit = (
        shown == value
        and bounds
        and crossing(
            value, bounds.fail_below, bounds.fail_above, bounds.warn_below, bounds.warn_above
        )
    )
    if hit:
        _, level, side = hit
        text += f", {words[side]} {figure(name, level, lang)}"
    return text


def _crosses(value: float, bounds: Bounds | None) -> bool:
    return bool(
        bounds
        and crossing(
            value, bounds.fail_below, bounds.fail_above, bounds.warn_below, bounds.warn_above
        )
    )


@dataclass(frozen=True)
class _Item:
    host: str
    check: str
    target: str
    status: str
    values: dict[str, float]
    crossed: frozenset[str]  # the names of the values past a level
    stale_since: str = ""  # the host's last report, when it has fallen silent

    @property
    def bad(self) -> bool:
        """Tells what is wrong: a status other than ok, or a value past a level."""
        return self.status != "ok" or bool(self.crossed)

    @classmethod
    def of(cls, ev: Mapping[str, Any], levels: LevelTable) -> _Item:
        check = str(ev.get("check", ""))
        bounds = levels.get(check, {})
        values = {n: float(v) for n, v in (ev.get("values") or {}).items()}
        crossed = frozenset(n for n, v in values.items() if _crosses(v, bounds.get(n)))
        return cls(
            str(ev.get("host", "")),
            check,
            str(ev.get("target") or ""),
            str(ev.get("status", "unknown")),
            values,
            crossed,
            str(ev.get("stale_since") or ""),
        )


def _said(item: _Item, names: list[str], lang: str, levels: LevelTable) -> str:
    """An item in words: the values ``names`` (none: the check and how it ended), its
    target once, at the end."""
    bounds = levels.get(item.check, {})
    said = [phrase(n, item.values[n], lang, bounds.get(n)) for n in names]
    if not item.values:
        code: Lang = "en" if lang == "en" else "vi"
        status = agent_t(code, f"status.{item.status}").lower()
        said = [f"{check_title(code, item.check)} {status}"]
    return ", ".join(said) + (f" ({item.target})" if item.target else "")


def sentences(
    evidence: Iterable[Mapping[str, Any]], lang: str, levels: LevelTable | None = None
) -> list[str]:
    """One sentence per host, in the order hosts first appear. When some items tell what
    is wrong, only those, and of an item with values past a level only those values (the
    rest stay in the raw values); else everything. The same host, check, target and value
    is said once."""
    levels = levels or {}
    out: list[str] = []
    items: list[_Item] = []
    for ev in evidence:
        if "attestation" not in ev:
            items.append(_Item.of(ev, levels))
        elif (line := attestation_line(ev, lang)) not in out:
            out.append(line)
    shown = [i for i in items if i.bad] or items
    by_host: dict[str, list[str]] = {}
    seen: set[tuple[str, str, str, str, float]] = set()
    for item in shown:
        names = [n for n in item.values if not item.crossed or n in item.crossed]
        names = [
            n for n in names if (item.host, item.check, item.target, n, item.values[n]) not in seen
        ]
        seen.update((item.host, item.check, item.target, n, item.values[n]) for n in names)
        if item.values and not names:
            continue  # all said already
        text = _said(item, names, lang, levels)
        said = by_host.setdefault(item.host, [])
        if text not in said:
            said.append(text)
    targeted = {i.host for i in shown if i.target}
    stale = {i.host: f" ({stale_note(i, lang)})" for i in items if i.stale_since}
    word = _WORDS["en" if lang == "en" else "vi"]["host"]
    return out + [
        f"{word} {host}{stale.get(host, '')}: {('; ' if host in targeted else ', ').join(said)}"
        for host, said in by_host.items()
    ]


def stale_note(ev: Mapping[str, Any] | _Item, lang: str) -> str:
    """ "stale, no report since <its last report>" of a silent host's item, in ``lang``
    (docs/CRITERIA.md, "Silent hosts")."""
    since = ev.stale_since if isinstance(ev, _Item) else str(ev.get("stale_since") or "")
    code: Lang = "en" if lang == "en" else "vi"
    try:
        at = fmt.when(datetime.fromisoformat(since), code) + " (UTC+7)"
    except ValueError:
        at = since
    return report_t(code, "host_stale_since").format(at=at)


def attestation_line(ev: Mapping[str, Any], lang: str) -> str:
    """An attestation as evidence: its text, who entered it and when (in UTC+7)."""
    when = fmt.when(datetime.fromisoformat(ev["entered_at"]), lang) if ev.get("entered_at") else ""
    return f"{ev['attestation']} ({ev.get('entered_by', '')}, {when})"


def raw_lines(evidence: Iterable[Mapping[str, Any]], lang: str = "vi") -> list[str]:
    """The engineering text of each evidence item (check, status, host, values as measured,
    message, time), each distinct line once, and an item whose every value an earlier line
    of the same result gave is not repeated: what sits behind the disclosure."""
    out: list[str] = []
    seen: set[tuple[Any, ...]] = set()
    for ev in evidence:
        result = tuple(str(ev.get(k, "")) for k in ("host", "check", "target", "observed_at"))
        keys = {(*result, n, v) for n, v in (ev.get("values") or {}).items()}
        line = raw_line(ev, lang)
        if line in out or (keys and keys <= seen):
            continue
        seen |= keys
        out.append(line)
    return out


def raw_line(ev: Mapping[str, Any], lang: str = "vi") -> str:
    """One line for an evidence item: the check values, its message in ``lang`` (from its
    id when it has one) and when they were observed."""
    if "attestation" in ev:
        return attestation_line(ev, lang)
    values = ", ".join(f"{k}={_num(v)}" for k, v in (ev.get("values") or {}).items())
    where = str(ev.get("host", "")) + (f" ({ev['target']})" if ev.get("target") else "")
    parts = [f"{ev.get('check', '')} {ev.get('status', '')} @ {where}"]
    if values:
        parts.append(values)
    message = render_stored(ev.get("msg"), lang, str(ev.get("message") or ""))
    if message:
        parts.append(message)
    if ev.get("observed_at"):
        parts.append(_when(str(ev["observed_at"])))
    return " — ".join(parts)


def _when(iso: str) -> str:
    try:
        return fmt.when(datetime.fromisoformat(iso), "vi") + " (UTC+7)"
    except ValueError:
        return iso


def _num(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
