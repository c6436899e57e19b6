"""Strings of the ``ioc-agent`` CLI in Vietnamese (default) and English. What each check is
called, and every check message, is in the shared catalogue (``checks/messages.yaml``)."""

from __future__ import annotations

from typing import Literal

from checks.messages import render_id

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
}


def t(lang: Lang, key: str, **kwargs: object) -> str:
    """The string for ``key`` in ``lang``, with ``kwargs`` filled in; falls back to English,
    then to the key. Same argument order as the collector's ``t(lang, key)``."""
    entry = _STRINGS.get(key)
    if entry is None:
        if key.startswith("check."):
            return check_title(lang, key.removeprefix("check."))
        return key
    text = entry.get(lang) or entry["en"]
    return text.format(**kwargs) if kwargs else text


def check_title(lang: Lang, check_id: str) -> str:
    """What a check is called (the catalogue's ``title.<check id>``), else its id."""
    return render_id(f"title.{check_id}", {}, lang, check_id)
