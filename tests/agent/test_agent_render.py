from agent.i18n import t
from agent.render import format_value, sort_results, verdict
from checks.model import Category, CheckResult, Status, Value


def r(status: Status) -> CheckResult:
    return CheckResult(check="host.cpu", category=Category.HOST, status=status)


def test_status_names_vietnamese_with_diacritics():
    assert [t("vi", f"status.{s}") for s in ("ok", "warn", "fail", "unknown")] == [
        "Sẵn sàng",
        "Cảnh báo",
        "Không đạt",
        "Không rõ",
    ]
    assert t("en", "status.fail") == "Not ready"


def test_not_ready_first():
    out = sort_results([r(Status.OK), r(Status.UNKNOWN), r(Status.FAIL), r(Status.WARN)])
    assert [x.status for x in out] == [Status.FAIL, Status.WARN, Status.UNKNOWN, Status.OK]


def test_verdict():
    assert "Sẵn sàng" in verdict([r(Status.OK)])[0]
    text, style = verdict([r(Status.OK), r(Status.FAIL)], "en")
    assert "1 failing" in text and "red" in style


def test_format_values_with_units_in_the_locale():
    """Figures are written as the reader's locale writes them (Babel): a decimal comma and
    Vietnamese units by default, English on request."""
    assert format_value(Value(value=3 * 2**30, unit="bytes")) == "3,2 GB"
    assert format_value(Value(value=0.256, unit="ratio")) == "25,6 %"
    assert format_value(Value(value=0.042, unit="seconds")) == "42 ms"
    assert format_value(Value(value=45, unit="days"), "vi") == "45 ngày"
    assert format_value(Value(value=200, unit="")) == "200"
    assert format_value(Value(value=1.64812e8, unit="bits_per_second")) == "164,8 Mbit/s"
    assert format_value(Value(value=8220, unit="seconds")) == "2 giờ 17 phút"


def test_format_values_every_unit_branch():
    def show(value: float, unit: str, lang: str = "en") -> str:
        return format_value(Value(value=value, unit=unit), lang)  # type: ignore[arg-type]

    assert show(90000, "seconds", "vi") == "1 ngày 1 giờ"
    assert show(7200, "seconds") == "2 h"
    assert show(5.5, "seconds", "vi") == "5,5 giây"
    assert show(-2, "seconds") == "-2 s"
    assert show(12.5e6, "bits_per_second") == "12.5 Mbit/s"
    assert show(42.4, "percent") == "42 %"
    assert show(36.55, "celsius") == "36.6 °C"
    assert show(2.5, "") == "2.5"
    assert show(2.5, "", "vi") == "2,5"
    assert show(3, "count") == "3"


def test_verdict_unknown_is_not_called_ready():
    text, _ = verdict([r(Status.OK), r(Status.UNKNOWN)], "vi")
    assert "Chưa đủ dữ liệu" in text
    assert "Ready with warnings" in verdict([r(Status.OK), r(Status.WARN)], "en")[0]
