"""Strings of the ``ioc-agent`` CLI in Vietnamese (default) and English."""

from __future__ import annotations

from typing import Literal

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")

_STRINGS: dict[str, dict[Lang, str]] = {
    # statuses
    "status.ok": {"vi": "Sẵn sàng", "en": "Ready"},
    "status.warn": {"vi": "Cảnh báo", "en": "Warning"},
    "status.fail": {"vi": "Không đạt", "en": "Not ready"},
    "status.unknown": {"vi": "Không rõ", "en": "Unknown"},
    # table headings
    "col.check": {"vi": "Kiểm tra", "en": "Check"},
    "col.target": {"vi": "Đối tượng", "en": "Target"},
    "col.status": {"vi": "Trạng thái", "en": "Status"},
    "col.values": {"vi": "Số đo", "en": "Values"},
    "col.reason": {"vi": "Lý do", "en": "Reason"},
    "title.check": {"vi": "Kiểm tra sẵn sàng của máy {host}", "en": "Readiness check of {host}"},
    "title.probe": {"vi": "Thăm dò", "en": "Probe"},
    "title.todo": {"vi": "Việc cần làm", "en": "What to do"},
    "todo.criterion": {"vi": "Tiêu chí {id} — {title}", "en": "Criterion {id} — {title}"},
    "todo.fed_by": {"vi": "(do {checks} chưa đạt)", "en": "(because of {checks})"},
    # verdicts
    "verdict.ready": {
        "vi": "KẾT LUẬN: Sẵn sàng — tất cả {total} mục đạt.",
        "en": "VERDICT: Ready — all {total} items pass.",
    },
    "verdict.not_ready": {
        "vi": "KẾT LUẬN: Chưa sẵn sàng — {fail} không đạt, {warn} cảnh báo, "
        "{unknown} không rõ trên {total} mục.",
        "en": "VERDICT: Not ready — {fail} failing, {warn} warning, {unknown} unknown "
        "of {total} items.",
    },
    "verdict.warn": {
        "vi": "KẾT LUẬN: Sẵn sàng có cảnh báo — {warn} cảnh báo trên {total} mục.",
        "en": "VERDICT: Ready with warnings — {warn} warning of {total} items.",
    },
    "verdict.incomplete": {
        "vi": "KẾT LUẬN: Chưa đủ dữ liệu — {unknown} mục không rõ (chưa cấu hình hoặc không "
        "đo được), {warn} cảnh báo trên {total} mục.",
        "en": "VERDICT: Incomplete — {unknown} unknown (not configured or not measurable), "
        "{warn} warning of {total} items.",
    },
    "unit.days": {"vi": "ngày", "en": "days"},
    # check titles
    "check.host.cpu": {"vi": "Bộ xử lý (CPU)", "en": "CPU"},
    "check.host.memory": {"vi": "Bộ nhớ (RAM)", "en": "Memory"},
    "check.host.disk": {"vi": "Dung lượng ổ đĩa", "en": "Disk space"},
    "check.host.uptime": {"vi": "Thời gian hoạt động", "en": "Uptime"},
    "check.host.clock": {"vi": "Đồng hồ so với máy chủ tỉnh", "en": "Clock vs collector"},
    "check.net.gateway": {"vi": "Cổng mạng mặc định", "en": "Default gateway"},
    "check.net.dns": {"vi": "Phân giải tên miền (DNS)", "en": "DNS resolution"},
    "check.net.tcp": {"vi": "Kết nối TCP", "en": "TCP connection"},
    "check.net.http": {"vi": "Trang web (HTTP)", "en": "Web (HTTP)"},
    "check.net.dedicated": {
        "vi": "Mạng truyền số liệu chuyên dùng",
        "en": "Dedicated data network",
    },
    "check.net.portal": {
        "vi": "Cổng Dịch vụ công quốc gia",
        "en": "National Public Service Portal",
    },
    "check.svc.http": {"vi": "Hệ thống thông tin dùng chung", "en": "Core information system"},
    "check.ssh.command": {
        "vi": "Lệnh qua SSH (máy chủ, bộ định tuyến)",
        "en": "Commands over SSH (host, router)",
    },
    "check.sig.token": {"vi": "Thiết bị ký số (USB token)", "en": "Signature token (USB)"},
    "check.sig.certificate": {"vi": "Chứng thư số", "en": "Signing certificate"},
    "check.sec.antivirus": {"vi": "Phần mềm diệt virus", "en": "Antivirus"},
    "check.sec.firewall": {"vi": "Tường lửa", "en": "Firewall"},
    "check.sec.updates": {"vi": "Cập nhật hệ điều hành", "en": "System updates"},
    "check.eq.device": {
        "vi": "Máy cấp số, thiết bị đánh giá, camera",
        "en": "Queue machine, satisfaction terminal, camera",
    },
    "check.eq.snmp": {"vi": "Thiết bị qua SNMP", "en": "Devices over SNMP"},
    "check.eq.printer": {"vi": "Máy in (mực, trạng thái)", "en": "Printer (supplies, state)"},
    "check.eq.ups": {"vi": "Bộ lưu điện (UPS)", "en": "UPS"},
    "check.eq.switch": {"vi": "Bộ chuyển mạch, bộ định tuyến", "en": "Switch, router"},
    "check.eq.snmp_host": {"vi": "Thiết bị mạng (SNMP)", "en": "Network device (SNMP)"},
    "check.eq.cups": {
        "vi": "Máy in trên máy này (CUPS, cả máy in USB)",
        "en": "Printers of this machine (CUPS, USB ones included)",
    },
    "check.eq.nut": {
        "vi": "Bộ lưu điện trên máy này (NUT, cả UPS USB)",
        "en": "UPS of this machine (NUT, USB ones included)",
    },
    "check.eq.scanner": {"vi": "Máy quét (SANE)", "en": "Scanner (SANE)"},
    "check.net.interfaces": {"vi": "Giao diện mạng", "en": "Network interfaces"},
    "check.net.throughput": {"vi": "Băng thông đến tỉnh", "en": "Bandwidth to the province"},
    "check.vc.quality": {
        "vi": "Chất lượng mạng cho họp trực tuyến",
        "en": "Network quality for online meetings",
    },
    "check.vc.sip": {"vi": "Máy chủ họp trực tuyến (SIP)", "en": "Meeting server (SIP)"},
    "check.vc.h323": {"vi": "Máy chủ họp trực tuyến (H.323)", "en": "Meeting server (H.323)"},
    "check.vc.stun": {"vi": "Máy chủ STUN (WebRTC)", "en": "STUN server (WebRTC)"},
    "check.vc.devices": {"vi": "Camera, micro, loa", "en": "Camera, microphone, speaker"},
}


def t(lang: Lang, key: str, **kwargs: object) -> str:
    """The string for ``key`` in ``lang``, with ``kwargs`` filled in; falls back to English,
    then to the key. Same argument order as the collector's ``t(lang, key)``."""
    entry = _STRINGS.get(key)
    if entry is None:
        return key.removeprefix("check.")
    text = entry.get(lang) or entry["en"]
    return text.format(**kwargs) if kwargs else text


def check_title(lang: Lang, check_id: str) -> str:
    return t(lang, f"check.{check_id}")
