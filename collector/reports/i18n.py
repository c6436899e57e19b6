"""Words shown to officials, in Vietnamese (default) and English; shared by pages and reports."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

from collector.reports import fmt

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")
#: Indochina Time, the time officials read (Vietnam has no daylight saving).
ICT = timezone(timedelta(hours=7), "ICT")


def ict(dt: datetime | None) -> str:
    """A UTC time as officials read it: day/month/year hour:minute in Asia/Ho_Chi_Minh."""
    return fmt.when(dt, "vi")


def ict_wall(dt: datetime) -> datetime:
    """A UTC time as a naive wall-clock time in UTC+7, to the second (spreadsheets have no
    time zones: the column heading says UTC+7)."""
    return dt.astimezone(ICT).replace(tzinfo=None, microsecond=0)


_TEXT: dict[str, tuple[str, str]] = {
    # key: (vi, en)
    "app": ("Giám sát sẵn sàng cấp xã", "Commune readiness monitoring"),
    "nation": ("Toàn quốc", "Nation"),
    "national_overview": ("Tổng quan toàn quốc", "National overview"),
    "report_title": ("Báo cáo mức độ sẵn sàng phục vụ người dân", "Readiness report"),
    "scope": ("Phạm vi", "Scope"),
    "generated_at": ("Thời điểm lập", "Generated at"),
    "summary": ("Tóm tắt", "Summary"),
    "province": ("Tỉnh, thành phố", "Province"),
    "provinces": ("Tỉnh, thành phố", "Provinces"),
    "commune": ("Xã, phường, đặc khu", "Commune"),
    "communes": ("Xã, phường, đặc khu", "Communes"),
    "code": ("Mã", "Code"),
    "commune_code": ("Mã xã", "Commune code"),
    "province_code": ("Mã tỉnh", "Province code"),
    "name": ("Tên", "Name"),
    "kind": ("Loại", "Kind"),
    "count": ("Số xã", "Communes"),
    "green_ratio": ("Tỷ lệ xanh", "Green coverage"),
    "colour": ("Màu", "Colour"),
    "green": ("Xanh", "Green"),
    "yellow": ("Vàng", "Yellow"),
    "red": ("Đỏ", "Red"),
    "grey": ("Xám", "Grey"),
    "criterion": ("Tiêu chí", "Criterion"),
    "criteria": ("Tiêu chí", "Criteria"),
    "criteria_basis": ("Căn cứ các tiêu chí", "Basis of the criteria"),
    "status": ("Trạng thái", "Status"),
    "severity": ("Mức độ", "Severity"),
    "reason": ("Lý do", "Reason"),
    "evidence": ("Bằng chứng", "Evidence"),
    "raw_values": ("Số liệu gốc", "Raw values"),
    "observed_at": ("Thời điểm đo", "Observed at"),
    "since": ("Từ khi", "Since"),
    "basis": ("Căn cứ", "Basis"),
    "proposal": ("ngưỡng đề xuất", "proposed threshold"),
    "last_report": ("Báo cáo gần nhất", "Last report"),
    "not_met": ("Tiêu chí chưa đạt", "Criteria not met"),
    "never": ("chưa có", "never"),
    "worst_criteria": ("Tiêu chí chưa đạt nhiều nhất", "Criteria most often not met"),
    "not_met_count": ("Số xã chưa đạt", "Communes not meeting it"),
    "attestations": ("Xác nhận", "Attestations"),
    "waivers": ("Miễn trừ", "Waivers"),
    "entered_by": ("Người nhập", "Entered by"),
    "granted_by": ("Người cho phép", "Granted by"),
    "entered_at": ("Ngày nhập", "Entered"),
    "expires_at": ("Hết hạn", "Expires"),
    "expired": ("đã hết hạn", "expired"),
    "active": ("còn hiệu lực", "in force"),
    "file": ("Tệp", "File"),
    "history": ("Diễn biến tỷ lệ xanh", "Green coverage over time"),
    "taken_at": ("Thời điểm", "Time"),
    "search": ("Tìm xã", "Find a commune"),
    "search_hint": ("Tên xã, có hoặc không dấu", "Commune name, with or without diacritics"),
    "results": ("Kết quả", "Results"),
    "no_results": ("Không tìm thấy", "Nothing found"),
    "login": ("Đăng nhập", "Log in"),
    "logout": ("Đăng xuất", "Log out"),
    "username": ("Tên đăng nhập", "Username"),
    "password": ("Mật khẩu", "Password"),
    "bad_login": (
        "Sai tên đăng nhập hoặc mật khẩu.",
        "Wrong username or password.",
    ),
    "login_throttled": (
        "Quá nhiều lần đăng nhập sai từ địa chỉ này: thử lại sau {s} giây.",
        "Too many failed logins from this address: try again in {s} s.",
    ),
    "not_found": ("Không tìm thấy", "Not found"),
    "forbidden": ("Không có quyền", "Not allowed"),
    "filter": ("Lọc", "Filter"),
    "all": ("Tất cả", "All"),
    "apply": ("Áp dụng", "Apply"),
    "reports": ("Tải báo cáo", "Download report"),
    "add_attestation": ("Nhập xác nhận", "Enter an attestation"),
    "add_waiver": ("Cấp miễn trừ", "Grant a waiver"),
    "valid_days": ("Hiệu lực (ngày)", "Valid (days)"),
    "save": ("Lưu", "Save"),
    "users": ("Người dùng", "Users"),
    "role": ("Vai trò", "Role"),
    "add_user": ("Thêm người dùng", "Add a user"),
    "audit": ("Nhật ký thao tác", "Audit log"),
    "manage_user": ("Quản lý người dùng", "Manage a user"),
    "user_disabled": ("đã khoá", "disabled"),
    "ldap_no_group": (
        "Tài khoản thư mục của bạn không thuộc nhóm nào được cấp quyền vào hệ thống này; "
        "hãy nhờ quản trị viên thêm bạn vào một nhóm.",
        "Your directory account is in no group given access to this system; ask an "
        "administrator to add you to one.",
    ),
    "ldap_unavailable": (
        "Không kết nối được máy chủ thư mục (LDAP); thử lại sau hoặc dùng tài khoản cục bộ.",
        "The directory (LDAP) server cannot be reached; try again later or use a local account.",
    ),
    "my_provinces": ("Tỉnh của tôi", "My provinces"),
    "reader_tokens": ("Mã đọc cho hệ thống khác", "Reader tokens"),
    "reader_tokens_hint": (
        "Mã đọc cho phép một chương trình (hệ thống quốc gia, kịch bản) đọc dữ liệu JSON và "
        "tải báo cáo với quyền và phạm vi của người dùng, không được thay đổi gì.",
        "A reader token lets a program (the national system, a script) read the JSON API and "
        "download reports with its user's role and scope; it can change nothing.",
    ),
    "new_token_once": (
        "Mã đọc số {id} của {user} (chỉ hiện một lần):",
        "Reader token {id} of {user} (shown once):",
    ),
    "token_name": ("Tên gợi nhớ", "Name"),
    "token_expires": ("Hết hạn", "Expires"),
    "token_active": ("còn hiệu lực", "active"),
    "token_expired": ("đã hết hạn", "expired"),
    "token_revoked": ("đã thu hồi", "revoked"),
    "create_token": ("Tạo mã đọc", "Make a token"),
    "revoke_token": ("Thu hồi", "Revoke"),
    "provinces_hint": (
        "Mã tỉnh, cách nhau bằng dấu phẩy (để trống: toàn quốc)",
        "Province codes, comma-separated (empty: national)",
    ),
    "set_scope": ("Đặt phạm vi", "Set the scope"),
    "disable_user": ("Khoá", "Disable"),
    "enable_user": ("Mở khoá", "Enable"),
    "reset_password": ("Đặt lại mật khẩu", "Reset password"),
    "end_sessions": ("Kết thúc mọi phiên", "End all sessions"),
    "new_password_optional": (
        "Mật khẩu mới (để trống: tạo ngẫu nhiên)",
        "New password (empty: a random one)",
    ),
    "new_password_once": (
        "Mật khẩu mới của {user} (chỉ hiện một lần):",
        "New password of {user} (shown once):",
    ),
    "login_throttled_account": (
        "Quá nhiều lần đăng nhập sai vào tài khoản này: thử lại sau {s} giây.",
        "Too many failed logins to this account: try again in {s} s.",
    ),
    "saved": ("Đã lưu.", "Saved."),
    "error": ("Lỗi", "Error"),
    "back": ("Quay lại", "Back"),
    "attested_met": ("đạt", "met"),
    "attested_not_met": ("chưa đạt", "not met"),
    "no_evidence_file": ("Không có tệp bằng chứng số {id}.", "No evidence file {id}."),
    "optional_file": ("Tệp bằng chứng (tuỳ chọn, ≤ 2 MiB)", "Evidence file (optional, ≤ 2 MiB)"),
    # criterion status
    "st_pass": ("Đạt", "Pass"),
    "st_warn": ("Cảnh báo", "Warning"),
    "st_fail": ("Không đạt", "Fail"),
    "st_unknown": ("Không rõ", "Unknown"),
    "st_waived": ("Được miễn", "Waived"),
    "st_not_applicable": ("Không áp dụng", "Not applicable"),
    # severity
    "sev_critical": ("Nghiêm trọng", "Critical"),
    "sev_major": ("Quan trọng", "Major"),
    "sev_minor": ("Thứ yếu", "Minor"),
    # kind
    "kind_automated": ("Tự động", "Automated"),
    "kind_attested": ("Xác nhận", "Attested"),
    # kind of commune (the register's words are the Vietnamese ones)
    "unit_xã": ("xã", "commune"),
    "unit_phường": ("phường", "ward"),
    "unit_đặc khu": ("đặc khu", "special zone"),
    "yes": ("có", "yes"),
    # the colour legend on every page (docs/CRITERIA.md, "Colour, staleness and waivers")
    "legend": ("Ý nghĩa các màu", "What the colours mean"),
    "legend_green": (
        "mọi tiêu chí áp dụng cho xã đều đạt hoặc đang được miễn.",
        "every criterion that applies to the commune passes or is waived.",
    ),
    "legend_yellow": (
        "không có tiêu chí nghiêm trọng nào không đạt, nhưng có tiêu chí không đạt, "
        "cảnh báo hoặc chưa đo được (không rõ).",
        "no critical criterion fails, but some criterion fails, warns or could not be "
        "measured (unknown).",
    ),
    "legend_red": (
        "có ít nhất một tiêu chí nghiêm trọng không đạt và không được miễn.",
        "at least one critical criterion fails and is not waived.",
    ),
    "legend_grey": (
        "xã chưa từng gửi báo cáo, hoặc không có máy nào của xã gửi báo cáo trong hơn {limit} "
        "của giờ làm việc; màu cũ không còn được tính. Xám không bao giờ được tính là xanh. "
        "Ngoài giờ làm việc xã giữ màu của lần báo cáo cuối, không chuyển sang xám.",
        "the commune has never reported, or none of its machines has reported for more than "
        "{limit} of working time; the old colour no longer counts. Grey never counts as "
        "green. Outside working hours a commune keeps the colour of its last reports and "
        "does not turn grey.",
    ),
    # working time (docs/CRITERIA.md, "Working time")
    "off_hours": ("ngoài giờ làm việc", "outside working hours"),
    # Silent hosts (docs/CRITERIA.md, "Silent hosts").
    "hosts": ("Máy trạm", "Hosts"),
    "host": ("Máy", "Host"),
    "host_state": ("Trạng thái", "State"),
    "host_fresh": ("đang báo cáo", "fresh"),
    "host_stale": ("số liệu cũ", "stale"),
    "host_retired": ("ngừng theo dõi", "retired"),
    "host_stale_since": ("số liệu cũ, không báo cáo từ {at}", "stale, no report since {at}"),
    "host_retire": ("Ngừng theo dõi", "Retire"),
    "host_retire_help": (
        "Máy im lặng vẫn được tính theo số liệu cuối cùng cho đến khi ngừng theo dõi; "
        "máy báo cáo lại sẽ được theo dõi lại.",
        "A silent host's last findings keep counting until it is retired; "
        "a host that reports again is active again.",
    ),
    "off_hours_notice": (
        "Ngoài giờ làm việc: mỗi xã giữ màu của giờ làm việc gần nhất; máy tắt không làm xã "
        "chuyển sang xám và không gây cảnh báo.",
        "Outside working hours: each commune keeps its colour from the last working time; "
        "machines switched off do not turn it grey and raise no alert.",
    ),
    "minutes": ("{n} phút", "{n} min"),
    "seconds": ("{n} giây", "{n} s"),
    "criterion_basis": ("Căn cứ", "Basis"),
    # a commune without reports
    "no_reports_title": ("Xã chưa gửi báo cáo", "No reports from this commune"),
    "no_reports_never": (
        "Chưa có máy nào của xã gửi báo cáo, nên màu là Xám và mọi tiêu chí là Không rõ: "
        "chưa tiêu chí nào được đánh giá.",
        "No machine of this commune has reported yet, so its colour is Grey and every "
        "criterion is Unknown: no criterion has been evaluated.",
    ),
    "no_reports_stale": (
        "Không có máy nào của xã gửi báo cáo trong hơn {limit} của giờ làm việc, nên màu là Xám.",
        "None of the commune's machines has reported for more than {limit} of working time, "
        "so its colour is Grey.",
    ),
    "no_reports_attested": (
        "Các xác nhận bên dưới đã được ghi nhận, nhưng chưa được tính vào màu khi xã chưa có "
        "báo cáo.",
        "The attestations below are recorded, but they do not count towards the colour "
        "while the commune has no report.",
    ),
    "not_evaluated": (
        "Chưa đánh giá: xã chưa gửi báo cáo.",
        "Not evaluated: the commune has not reported.",
    ),
    # briefing PDFs: the conventions of an administrative document
    "emblem_country": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIET NAM"),
    "emblem_motto": ("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"),
    "report_heading": ("BÁO CÁO", "REPORT"),
    "report_subject": (
        "Mức độ sẵn sàng phục vụ người dân — {scope}",
        "Readiness to serve citizens — {scope}",
    ),
    "summary_text": (
        "Tại thời điểm lập báo cáo ({at}, giờ Việt Nam), {scope} có {n} đơn vị hành chính cấp "
        "xã: {g} xanh, {y} vàng, {r} đỏ, {x} xám. Tỷ lệ xanh đạt {ratio}. {rep}/{n} đơn vị có "
        "báo cáo còn hiệu lực (độ phủ giám sát {cov}).",
        "At the time of this report ({at}, Viet Nam time), {scope} has {n} {units}: {g} green, "
        "{y} yellow, {r} red, {x} grey. Green coverage is {ratio}. {rep} of {n} have a fresh "
        "report (monitoring coverage {cov}).",
    ),
    "coverage_by_province": ("Tỷ lệ xanh theo tỉnh, thành phố", "Green coverage by province"),
    "coverage_by_kind": (
        "Tỷ lệ xanh theo loại đơn vị (xã, phường, đặc khu)",
        "Green coverage by kind of unit (commune, ward, special zone)",
    ),
    "chart": ("Biểu đồ", "Chart"),
    "figures": ("Số liệu", "Figures"),
    "trend_none": (
        "Chưa đủ số liệu để vẽ diễn biến (cần ít nhất hai lần ghi nhận).",
        "Not enough data for a trend yet (at least two snapshots are needed).",
    ),
    "red_communes": (
        "Các đơn vị màu đỏ và tiêu chí không đạt",
        "Red communes and the criteria they fail",
    ),
    "red_none": ("Không có đơn vị nào màu đỏ.", "No commune is red."),
    "red_more": (
        "… và {n} đơn vị màu đỏ khác: xem bản XLSX hoặc CSV.",
        "… and {n} more red communes: see the XLSX or CSV.",
    ),
    "failing": ("Tiêu chí không đạt", "Criteria failed"),
    "status_overall": ("Tình trạng chung", "Overall status"),
    "commune_status_text": (
        "Màu: {colour}. Báo cáo gần nhất: {last}. {npass}/{n} tiêu chí đạt hoặc được miễn, "
        "{nfail} không đạt, {nother} cảnh báo hoặc chưa rõ.",
        "Colour: {colour}. Last report: {last}. {npass} of {n} criteria pass or are waived, "
        "{nfail} fail, {nother} warn or are unknown.",
    ),
    "criteria_results": ("Kết quả theo tiêu chí", "Result by criterion"),
    "todo": ("Việc cần làm", "What to do"),
    "todo_none": (
        "Mọi tiêu chí đều đạt: không có việc cần làm.",
        "Every criterion is met: nothing to do.",
    ),
    "appendix": ("PHỤ LỤC", "APPENDIX"),
    "criteria_meaning": ("Ý nghĩa các tiêu chí", "What the criteria check"),
    "explanation": ("Giải thích", "Explanation"),
    "appendix_evidence": ("Bằng chứng của từng tiêu chí", "Evidence of each criterion"),
    "cut_note": ("… (đã cắt bớt {n} ký tự)", "… ({n} characters cut)"),
    "see_appendix": ("… (xem Phụ lục)", "… (see the appendix)"),
    "sign_hint": ("(Ký, ghi rõ họ tên)", "(Signature and full name)"),
    "date_line": ("{place}, ngày {d:02d} tháng {m:02d} năm {y}", "{place}, {d} {month} {y}"),
    # period reports (collector/reports/period.py)
    "period_title": (
        "Báo cáo mức độ sẵn sàng theo kỳ",
        "Readiness over a period",
    ),
    "period_subject": ("{scope}, từ {start} đến {end}", "{scope}, {start} to {end}"),
    "period": ("Kỳ báo cáo", "Period"),
    "period_from": ("Từ ngày", "From"),
    "period_to": ("Đến ngày", "To"),
    "period_show": ("Xem kỳ báo cáo", "Show the period"),
    "day": ("Ngày", "Day"),
    "working_days": ("Ngày làm việc", "Working days"),
    "ready_days": ("Ngày sẵn sàng", "Days ready"),
    "working_hours": ("Giờ làm việc", "Working hours"),
    "availability": ("Tỷ lệ thời gian xanh", "Availability (green time)"),
    "ready_communes": ("Số xã sẵn sàng", "Communes ready"),
    "period_coverage": ("Tỷ lệ xanh của kỳ", "Green coverage over the period"),
    "daily_coverage": ("Tỷ lệ xanh theo ngày làm việc", "Green coverage per working day"),
    "failed_most": ("Tiêu chí không đạt nhiều nhất", "Criteria failed most"),
    "pass_share": ("Tỷ lệ thời gian đạt", "Share of time passed"),
    "no_data": ("chưa có số liệu", "no data"),
    "period_none": (
        "Chưa có số liệu tổng hợp theo ngày cho kỳ này.",
        "No daily figures for this period yet.",
    ),
    "period_trend_none": (
        "Chưa đủ số liệu để vẽ diễn biến (cần ít nhất hai ngày làm việc).",
        "Not enough data for a trend yet (at least two working days are needed).",
    ),
    "ready_rule": (
        "Một ngày làm việc được tính là sẵn sàng khi đơn vị có màu xanh trong ít nhất {share} "
        "thời gian làm việc của ngày đó. Tỷ lệ xanh của một ngày là tỷ lệ đơn vị sẵn sàng trong "
        "ngày; tỷ lệ thời gian xanh là thời gian xanh chia cho thời gian làm việc.",
        "A working day counts as ready when the commune was green for at least {share} of "
        "that day's working time. A day's green coverage is the share of communes ready that "
        "day; availability is green time over working time.",
    ),
    "period_summary_text": (
        "Trong kỳ từ {start} đến {end}, {scope} có {days} ngày làm việc và {n} đơn vị hành "
        "chính cấp xã ({rep} có số liệu). Tỷ lệ xanh của kỳ: {coverage} ({ready}/{cdays} "
        "ngày-xã sẵn sàng); tỷ lệ thời gian xanh: {availability}.",
        "From {start} to {end}, {scope} had {days} working days and {n} communes ({rep} with "
        "figures). Green coverage over the period: {coverage} ({ready} of {cdays} "
        "commune-days ready); availability: {availability}.",
    ),
    "attestation_recorded": (
        "Đã ghi nhận xác nhận của {by} ({at}).",
        "Attestation by {by} recorded ({at}).",
    ),
}


def t(lang: str, key: str) -> str:
    vi, en = _TEXT[key]
    return en if lang == "en" else vi


def status_label(lang: str, status: str) -> str:
    return t(lang, f"st_{status}") if f"st_{status}" in _TEXT else status


def colour_label(lang: str, colour: str) -> str:
    return t(lang, colour) if colour in _TEXT else colour


def severity_label(lang: str, severity: str) -> str:
    key = f"sev_{severity}"
    return t(lang, key) if key in _TEXT else severity


def kind_label(lang: str, kind: str) -> str:
    key = f"kind_{kind}"
    return t(lang, key) if key in _TEXT else kind


def unit_kind_label(lang: str, kind: str) -> str:
    """A commune's kind (xã, phường, đặc khu) in ``lang``."""
    key = f"unit_{kind}"
    return t(lang, key) if key in _TEXT else kind


def pick_lang(value: str | None) -> Lang:
    return "en" if value == "en" else "vi"


def texts(lang: str) -> dict[str, str]:
    """Every text in one language, for templates (``T.key``)."""
    return {k: (en if lang == "en" else vi) for k, (vi, en) in _TEXT.items()}
