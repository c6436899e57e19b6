from agent.i18n import t
from agent.render import format_value, sort_results, verdict
from checks.model import Category, CheckResult, Status, Value


def r(status: Status) -> CheckResult:
    return CheckResult(check="host.cpu", category=Category.HOST, status=status)


def test_status_names_vietnamese_with_diacritics():
    assert [t("vi", f"status.{s}") for s in ("ok", "warn", "fail", "unknown")] == [
        "Sẵn sàng", "Cảnh báo", "Không đạt", "Không rõ"]
    assert t("en", "status.fail") == "Not ready"


def test_not_ready_first():
    out = sort_results([r(Status.OK), r(Status.UNKNOWN), r(Status.FAIL), r(Status.WARN)])
    assert [x.status for x in out] == [Status.FAIL, Status.WARN, Status.UNKNOWN, Status.OK]


def test_verdict():
    assert "Sẵn sàng" in verdict([r(Status.OK)])[0]
    text, style = verdict([r(Status.OK), r(Status.FAIL)], "en")
    assert "1 failing" in text and "red" in style


def test_format_values_with_units():
    assert format_value(Value(value=3 * 2**30, unit="bytes")) == "3.0 GiB"
    assert format_value(Value(value=0.256, unit="ratio")) == "26%"
    assert format_value(Value(value=0.042, unit="seconds")) == "42 ms"
    assert format_value(Value(value=45, unit="days"), "vi") == "45 ngày"
    assert format_value(Value(value=200, unit="")) == "200"


def test_verdict_unknown_is_not_called_ready():
    text, _ = verdict([r(Status.OK), r(Status.UNKNOWN)], "vi")
    assert "Chưa đủ dữ liệu" in text
    assert "Ready with warnings" in verdict([r(Status.OK), r(Status.WARN)], "en")[0]
