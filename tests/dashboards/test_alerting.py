"""The generated Alertmanager configuration: current, valid for amtool, routed per province,
inhibiting with the alert names and labels the rules really have, Vietnamese templates."""

from __future__ import annotations

import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
import yaml

from dashboards import alerting
from tests.conftest import require_binary

RULES = Path(__file__).resolve().parents[2] / "dashboards/prometheus/rules/alerts.yml"


def _alerts() -> dict[str, dict]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return {r["alert"]: r for g in groups for r in g["rules"] if "alert" in r}


def _config() -> dict:
    return alerting.build_config(alerting.load_settings(alerting.EXAMPLE_SETTINGS))


def test_generated_config_is_current(tmp_path: Path) -> None:
    # Regenerating must not change the committed file: run `python -m dashboards.alerting`.
    assert alerting.main(["--check"]) == 0, "dashboards/alertmanager/alertmanager.yml is stale"
    out = tmp_path / "am.yml"
    assert alerting.main(["--out", str(out)]) == 0
    assert out.read_text("utf-8") == alerting.GENERATED.read_text("utf-8")
    assert out.stat().st_mode & 0o777 == 0o640


def test_check_reports_a_stale_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "am.yml"
    out.write_text("route: {}\n", encoding="utf-8")
    assert alerting.main(["--check", "--out", str(out)]) == 1
    assert "is not current" in capsys.readouterr().out


def test_bad_settings_name_the_field_in_vietnamese_and_english(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "s.yaml"
    bad.write_text(
        "office_hours: {start: '7h30', applies_to: [urgent]}\nprovinces: {'4': {}}\n",
        encoding="utf-8",
    )
    assert alerting.main(["--settings", str(bad), "--out", str(tmp_path / "o.yml")]) == 2
    err = capsys.readouterr().err
    assert "cấu hình cảnh báo không hợp lệ / invalid alerting settings" in err
    assert "office_hours.start" in err and "office_hours.applies_to" in err
    assert "provinces" in err and "Traceback" not in err
    assert not (tmp_path / "o.yml").exists()
    assert alerting.main(["--settings", str(tmp_path / "missing.yaml")]) == 2
    assert "không đọc được" in capsys.readouterr().err


def test_routes_by_province_and_groups_per_province() -> None:
    route = _config()["route"]
    assert route["receiver"] == alerting.CENTRE_RECEIVER
    assert route["group_by"] == ["province", "alertname"]
    by_province = {r["matchers"][0]: r["receiver"] for r in route["routes"] if "receiver" in r}
    assert by_province == {'province="01"': "province-01", 'province="04"': "province-04"}
    receivers = {r["name"]: r for r in _config()["receivers"]}
    assert set(receivers) == {"ioc-centre", "province-01", "province-04"}
    r04 = receivers["province-04"]
    assert r04["email_configs"][0]["to"] == "ioc-caobang@example.gov.vn"
    assert [t["chat_id"] for t in r04["telegram_configs"]] == [-1001000000004]
    assert r04["webhook_configs"][0]["url"].endswith("/alertmanager")


def test_office_hours_hold_back_only_warnings_by_default() -> None:
    config = _config()
    office, days_off = config["time_intervals"]
    assert office["name"] == "office-hours"
    assert office["time_intervals"] == [
        {
            "weekdays": ["monday:friday"],
            "times": [{"start_time": "07:30", "end_time": "17:00"}],
            "location": "Asia/Ho_Chi_Minh",
        }
    ]
    assert days_off["name"] == "days-off"
    for child in config["route"]["routes"]:
        assert child["routes"] == [
            {
                "matchers": ['severity=~"warning"'],
                "active_time_intervals": ["office-hours"],
                "mute_time_intervals": ["days-off"],
            }
        ]


def test_public_holidays_of_the_settings_years_and_the_provinces_days_off_mute() -> None:
    """The example's holiday_years (2026, 2027) give Vietnam's public holidays, lunar ones
    included, each a whole day in Asia/Ho_Chi_Minh; a province's own days off join them."""
    (_, days_off) = _config()["time_intervals"]
    days = {
        date(int(i["years"][0]), int(i["months"][0]), int(i["days_of_month"][0]))
        for i in days_off["time_intervals"]
    }
    assert {i["location"] for i in days_off["time_intervals"]} == {"Asia/Ho_Chi_Minh"}
    assert date(2026, 9, 2) in days and date(2027, 9, 2) in days  # National Day
    assert date(2026, 4, 26) in days  # Hùng Kings' day 2026 (10th of the 3rd lunar month)
    assert date(2027, 2, 6) in days  # Tết 2027 (the lunar new year)
    assert date(2026, 12, 7) not in days  # a Monday like any other
    settings = alerting.load_settings(alerting.EXAMPLE_SETTINGS)
    hours = settings.office_hours.model_copy(
        update={"holiday_years": [], "days_off": [date(2026, 12, 7)]}
    )
    assert hours.muted_days() == [date(2026, 12, 7)]
    none = settings.office_hours.model_copy(update={"holiday_years": [], "days_off": []})
    only_office = alerting.build_config(settings.model_copy(update={"office_hours": none}))
    assert [i["name"] for i in only_office["time_intervals"]] == ["office-hours"]


def test_inhibition_uses_the_rules_alert_names_and_labels() -> None:
    alerts = _alerts()
    rules = _config()["inhibit_rules"]
    sources = [r["source_matchers"][0].split('"')[1] for r in rules]
    assert sources == ["IocCollectorDown", "IocCriterionFailingWidely", "IocCommuneRed"]
    assert set(sources) <= set(alerts)
    assert set(alerting.PER_COMMUNE_ALERTS) <= set(alerts)
    # Every per-host alert keeps the host label (its expression is a per-host metric).
    for name in alerting.PER_HOST_ALERTS:
        assert "ioc_agent_" in alerts[name]["expr"] or "ioc_check_" in alerts[name]["expr"]
    # Every alert below the collector has a province; the collector's own do not.
    provinced = set(alerts) - {"IocCollectorDown", "IocCatalogueReloadFailed"}
    assert set(alerting.PER_COMMUNE_ALERTS) | {"IocCriterionFailingWidely"} == provinced
    assert rules[2]["equal"] == ["province", "commune"]
    assert rules[1]["equal"] == ["province"]


def test_secrets_stay_out_unless_given(tmp_path: Path) -> None:
    text = alerting.GENERATED.read_text("utf-8")
    assert "auth_password:" not in text  # the SMTP password is a file Alertmanager reads
    assert "auth_password_file: /etc/prometheus/alertmanager-smtp-password" in text


@pytest.fixture(scope="module")
def amtool() -> str:
    return require_binary("amtool")


@pytest.mark.integration
def test_amtool_accepts_the_generated_config(amtool: str) -> None:
    proc = subprocess.run(
        [amtool, "check-config", str(alerting.GENERATED)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 inhibit rules" in proc.stdout and "1 templates" in proc.stdout


def _render(amtool: str, tmp_path: Path, data: dict, text: str) -> str:
    (tmp_path / "data.json").write_text(json.dumps(data), encoding="utf-8")
    proc = subprocess.run(
        [
            amtool,
            "template",
            "render",
            f"--template.glob={alerting.TEMPLATES}/*.tmpl",
            f"--template.text={text}",
            f"--template.data={tmp_path / 'data.json'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _notification(status: str) -> dict:
    red = _alerts()["IocCommuneRed"]["annotations"]
    labels = {"alertname": "IocCommuneRed", "province": "04", "commune": "01279"}
    labels |= {"severity": "critical", "name": "Phường Thục Phán"}
    annotations = {
        key: value.replace("{{ $labels.name }}", "Phường Thục Phán")
        .replace("{{ $labels.commune }}", "01279")
        .replace("{{ $labels.province_name }}", "Cao Bằng")
        for key, value in red.items()
    }
    alert = {
        "status": status,
        "labels": labels,
        "annotations": annotations | {"runbook_url": "https://ioc.example.gov.vn/so-tay"},
        "startsAt": "2026-12-05T01:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": "0123456789abcdef",
    }
    return {
        "receiver": "province-04",
        "status": status,
        "alerts": [alert],
        "groupLabels": {"province": "04", "alertname": "IocCommuneRed"},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
    }


@pytest.mark.integration
def test_templates_are_vietnamese_first_with_english_and_the_runbook(
    amtool: str, tmp_path: Path
) -> None:
    text = _render(amtool, tmp_path, _notification("firing"), '{{ template "ioc.text" . }}')
    lines = text.splitlines()
    assert lines[0] == "[CẢNH BÁO / FIRING] IocCommuneRed · tỉnh/province 04 (1)"
    assert "[CẢNH BÁO] Phường Thục Phán (01279) ở trạng thái ĐỎ hơn 15 phút" in lines
    assert any(line.startswith("Cách xử lý: 1. Mở bảng điều khiển 'Chi tiết xã'") for line in lines)
    assert "Hướng dẫn / Runbook: https://ioc.example.gov.vn/so-tay" in lines
    english = next(line for line in lines if line.startswith("EN: "))
    assert "has been RED" in english and "Runbook: 1. Open the 'Commune detail'" in english
    # Vietnamese comes before English.
    assert text.index("ĐỎ") < text.index("EN: ")
    subject = _render(amtool, tmp_path, _notification("resolved"), '{{ template "ioc.subject" . }}')
    assert subject.strip() == "[ĐÃ KHẮC PHỤC / RESOLVED] IocCommuneRed · tỉnh/province 04 (1)"
