"""Real Prometheus -> real Alertmanager (the generated configuration) -> receivers on
loopback: an SMTP sink, a fake Telegram Bot API, and the Zalo bridge in front of a fake Zalo
Official Account API.

Prometheus scrapes a static exporter holding the collector's series for a red commune and
evaluates the project's alert rules with their ``for:`` cut to one second; Alertmanager's
group_wait and group_interval are a second or two, so each test settles within seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from dashboards import alerting
from tests import paths
from tests.conftest import require_binary
from tests.peers.alertmanager import Alertmanager, FakeTelegram, FakeZalo, SmtpSink
from tests.peers.prometheus import Prometheus, free_port, stop_process, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

RULES = paths.ROOT / "dashboards/prometheus/rules/alerts.yml"
ICT = ZoneInfo("Asia/Ho_Chi_Minh")
BOT_TOKEN = "123456:bot-secret-never-logged"
ZALO_TOKEN = "zalo-secret-never-logged"
#: Recipients per Alertmanager receiver: e-mail, Telegram chat, Zalo user.
WHO = {
    "province-04": ("ioc-caobang@example.gov.vn", -4004, "zalo-04"),
    "province-01": ("ioc-hanoi@example.gov.vn", -4001, "zalo-01"),
    "ioc-centre": ("truc-ioc@example.gov.vn", -4000, "zalo-centre"),
}
#: Quiet time after the last expected message, to see that nothing else follows.
QUIET_S = 4.0


def commune_series(province: str, commune: str, name: str, colour: str) -> str:
    info = (
        f'ioc_commune_info{{province="{province}",commune="{commune}",name="{name}",'
        f'kind="phường",province_name="Tỉnh {province}"}} 1\n'
    )
    return info + "".join(
        f'ioc_commune_colour{{province="{province}",commune="{commune}",colour="{c}"}} '
        f"{int(c == colour)}\n"
        for c in ("green", "yellow", "red", "grey")
    )


RED_04 = commune_series("04", "01279", "Phường Thục Phán", "red")
GREEN_01 = commune_series("01", "00070", "Phường Hoàn Kiếm", "green")
RED_01 = commune_series("01", "00070", "Phường Hoàn Kiếm", "red")


class Exporter:
    """A /metrics of fixed text, standing in for the collector's."""

    def __init__(self, text: str) -> None:
        body = text.encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.target = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Bridge:
    """``ioc-collector zalo-bridge`` as the systemd unit runs it, on a fixed port."""

    def __init__(self, workdir: Path, zalo_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "zalo-bridge.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "listen": f"127.0.0.1:{self.port}",
                    "api_base_url": zalo_url,
                    "access_token": ZALO_TOKEN,
                    "recipients": {name: [who[2]] for name, who in WHO.items()},
                    "queue": str(workdir / "zalo-queue.db"),
                    "retry_initial_s": 0.2,
                    "retry_max_s": 1.0,
                }
            ),
            encoding="utf-8",
        )
        self.log_path = workdir / "zalo-bridge.log"
        self.start()

    def start(self) -> None:
        self.log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "collector.cli", "zalo-bridge", "--config", str(self.config)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(paths.ROOT)},
        )
        wait_for(self._healthy, 30, "the Zalo bridge to answer")

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"zalo bridge exited: {self.log_path.read_text()}")
        return httpx.get(f"{self.url}/-/healthy", timeout=1).status_code == 200

    def pending(self) -> int:
        return int(httpx.get(f"{self.url}/-/healthy", timeout=2).json()["pending"])

    def stop(self) -> None:
        stop_process(self.proc)
        self.log.close()


@dataclass
class Stack:
    tmp: Path
    smtp: SmtpSink
    telegram: FakeTelegram
    zalo: FakeZalo
    bridge: Bridge
    stopping: list[Any]

    def alertmanager(
        self, office_days: list[str], applies_to: list[str], days_off: Sequence[date] = ()
    ) -> Alertmanager:
        settings = alerting.AlertingSettings.model_validate(
            {
                "templates": f"{alerting.TEMPLATES}/*.tmpl",
                "send_resolved": False,
                "smtp": {
                    "smarthost": f"127.0.0.1:{self.smtp.port}",
                    "from": "canhbao-ioc@example.gov.vn",
                    "require_tls": False,
                },
                "telegram": {"api_url": self.telegram.url, "bot_token": BOT_TOKEN},
                "zalo_bridge": {"url": f"{self.bridge.url}/alertmanager"},
                "office_hours": {
                    "weekdays": office_days,
                    "start": "00:00",
                    "end": "24:00",
                    "applies_to": applies_to,
                    "days_off": [d.isoformat() for d in days_off],
                },
                "timing": {"group_wait": "1s", "group_interval": "2s", "repeat_interval": "1h"},
                "centre": _recipients("ioc-centre"),
                "provinces": {"04": _recipients("province-04"), "01": _recipients("province-01")},
            }
        )
        binary = require_binary("prometheus-alertmanager")
        am = Alertmanager(binary, self.tmp, alerting.render(settings, "test"))
        self.stopping.append(am)
        return am

    def prometheus(self, am: Alertmanager, metrics: str) -> Prometheus:
        exporter = Exporter(metrics)
        self.stopping.append(exporter)
        prom = Prometheus(
            require_binary("prometheus"),
            self.tmp,
            [exporter.target],
            rule_files=[fast_rules(self.tmp)],
            alertmanagers=[f"127.0.0.1:{am.port}"],
        )
        self.stopping.append(prom)
        return prom

    def delivered(self) -> dict[str, list[tuple[str, str]]]:
        """Every message received, by channel: (recipient, text)."""
        return {
            "email": [(m.rcpt[0], m.subject + "\n" + m.body) for m in self.smtp.mails],
            "telegram": [(str(chat), text) for chat, text in self.telegram.messages()],
            "zalo": [(user, text) for user, text, _ in self.zalo.messages()],
        }

    def received_by(self, receiver: str) -> dict[str, list[str]]:
        mail, chat, user = WHO[receiver]
        got = self.delivered()
        return {
            "email": [t for r, t in got["email"] if r == mail],
            "telegram": [t for r, t in got["telegram"] if r == str(chat)],
            "zalo": [t for r, t in got["zalo"] if r == user],
        }


def _recipients(receiver: str) -> dict[str, Any]:
    mail, chat, _ = WHO[receiver]
    return {"emails": [mail], "telegram_chat_ids": [chat], "zalo": True}


def fast_rules(tmp: Path) -> Path:
    """The project's alert rules with every ``for:`` cut to one second."""
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in doc["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "1s"
    out = tmp / "alerts-fast.yml"
    out.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return out


def weekdays(*offsets: int) -> list[str]:
    """Names of the weekdays ``offsets`` days from today, in Asia/Ho_Chi_Minh."""
    today = datetime.now(ICT)
    return [(today + timedelta(days=d)).strftime("%A").lower() for d in offsets]


#: Office hours that include now (yesterday to tomorrow, so that midnight cannot matter)
#: and that do not (three and four days away).
NOW = weekdays(-1, 0, 1)
NOT_NOW = weekdays(3, 4)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    require_binary("prometheus-alertmanager")
    require_binary("prometheus")
    smtp, telegram, zalo = SmtpSink(), FakeTelegram(), FakeZalo()
    bridge = Bridge(tmp_path, zalo.url)
    s = Stack(tmp_path, smtp, telegram, zalo, bridge, [])
    yield s
    for peer in reversed(s.stopping):
        peer.stop()
    bridge.stop()
    for peer in (smtp, telegram, zalo):
        peer.stop()
    for log in ("zalo-bridge.log", "alertmanager.log", "prometheus.log"):
        text = (tmp_path / log).read_text(encoding="utf-8") if (tmp_path / log).exists() else ""
        assert ZALO_TOKEN not in text and BOT_TOKEN not in text, f"a secret in {log}"


def _one_each(stack: Stack, receiver: str) -> dict[str, str]:
    got = wait_for(
        lambda: (r := stack.received_by(receiver)) and all(r.values()) and r,
        40,
        f"a message on every channel of {receiver}",
    )
    time.sleep(QUIET_S)
    got = stack.received_by(receiver)
    assert {k: len(v) for k, v in got.items()} == {"email": 1, "telegram": 1, "zalo": 1}, got
    return {k: v[0] for k, v in got.items()}


def test_a_red_commune_in_04_reaches_04_once_on_every_channel_and_nobody_else(
    stack: Stack,
) -> None:
    am = stack.alertmanager(NOW, ["warning", "critical"])
    stack.prometheus(am, RED_04 + GREEN_01)
    got = _one_each(stack, "province-04")
    for channel, text in got.items():
        assert "[CẢNH BÁO / FIRING] IocCommuneRed · tỉnh/province 04 (1)" in text, channel
        assert "Phường Thục Phán (01279) ở trạng thái ĐỎ" in text, channel
        assert "Cách xử lý: 1. Mở bảng điều khiển 'Chi tiết xã' với xã 01279" in text, channel
        assert "EN: Phường Thục Phán (01279) has been RED" in text, channel
        assert text.index("ĐỎ") < text.index("EN: "), channel
    everything = stack.delivered()
    assert sum(len(v) for v in everything.values()) == 3, everything
    assert stack.received_by("province-01") == {"email": [], "telegram": [], "zalo": []}
    # The bot token went to the fake Bot API in the path, the Zalo token in its header.
    assert all(p.startswith(f"/bot{BOT_TOKEN}/") for p, _, _ in stack.telegram.requests)
    assert {h for _, _, h in stack.zalo.messages()} == {ZALO_TOKEN}


def test_a_silence_suppresses_the_red_commune(stack: Stack) -> None:
    am = stack.alertmanager(NOW, ["warning", "critical"])
    am.silence({"alertname": "IocCommuneRed", "province": "04"})
    stack.prometheus(am, RED_04 + RED_01)
    # Province 01's alert is not silenced: once it is delivered, 04's has had its chance.
    _one_each(stack, "province-01")
    assert stack.received_by("province-04") == {"email": [], "telegram": [], "zalo": []}
    (red04,) = am.alerts(alertname="IocCommuneRed", province="04")
    assert red04["status"]["state"] == "suppressed" and red04["status"]["silencedBy"]


def _a_warning_in_01_goes_out_and_04_hears_nothing(stack: Stack, am: Alertmanager) -> None:
    """A warning of province 01 (not held back) is sent; 04's held-back alert is not."""
    am.post_alerts(
        [
            {
                "labels": {
                    "alertname": "IocUpsOnBattery",
                    "severity": "warning",
                    "province": "01",
                    "commune": "00070",
                    "host": "pasc-00070",
                },
                "annotations": {"summary_vi": "UPS đang chạy bằng ắc quy", "summary": "UPS"},
            }
        ]
    )
    got = _one_each(stack, "province-01")
    assert "IocUpsOnBattery" in got["email"]
    assert stack.received_by("province-04") == {"email": [], "telegram": [], "zalo": []}


def test_office_hours_hold_back_what_they_apply_to(stack: Stack) -> None:
    # Outside office hours, for critical alerts only: 04's red commune waits, a warning
    # (not held back in this configuration) goes out.
    am = stack.alertmanager(NOT_NOW, ["critical"])
    stack.prometheus(am, RED_04 + GREEN_01)
    wait_for(lambda: am.alerts(alertname="IocCommuneRed"), 30, "the red commune in Alertmanager")
    _a_warning_in_01_goes_out_and_04_hears_nothing(stack, am)
    (red04,) = am.alerts(alertname="IocCommuneRed", province="04")
    assert red04["status"]["state"] == "active"  # not silenced nor inhibited: muted by time


def test_a_day_off_holds_back_what_office_hours_apply_to(stack: Stack) -> None:
    # Within office hours, but today (and, so that midnight cannot matter, yesterday and
    # tomorrow) is a day off in Asia/Ho_Chi_Minh: 04's red commune waits; 01's warning,
    # not held back in this configuration, goes out.
    today = datetime.now(ICT).date()
    days_off = [today + timedelta(days=d) for d in (-1, 0, 1)]
    am = stack.alertmanager(NOW, ["critical"], days_off)
    stack.prometheus(am, RED_04 + GREEN_01)
    wait_for(lambda: am.alerts(alertname="IocCommuneRed"), 30, "the red commune in Alertmanager")
    _a_warning_in_01_goes_out_and_04_hears_nothing(stack, am)
    (red04,) = am.alerts(alertname="IocCommuneRed", province="04")
    assert red04["status"]["state"] == "active"  # muted by the day off, not silenced


def test_zalo_down_for_a_while_loses_nothing_across_a_bridge_restart(stack: Stack) -> None:
    stack.zalo.down = True
    am = stack.alertmanager(NOW, ["warning", "critical"])
    stack.prometheus(am, RED_04 + GREEN_01)
    # The bridge acknowledged the webhook (Alertmanager delivered it) and keeps trying.
    wait_for(lambda: stack.zalo.attempts_while_down >= 2, 40, "the bridge to try Zalo")
    assert stack.bridge.pending() == 1
    stack.bridge.stop()
    stack.bridge.start()
    assert stack.bridge.pending() == 1  # still queued after the restart
    stack.zalo.down = False
    wait_for(lambda: stack.zalo.messages(), 20, "the queued message to reach Zalo")
    time.sleep(QUIET_S)
    assert stack.bridge.pending() == 0
    (msg,) = stack.zalo.messages()
    assert msg[0] == "zalo-04" and "Phường Thục Phán (01279) ở trạng thái ĐỎ" in msg[1]


def test_inhibition_in_the_real_alertmanager(stack: Stack) -> None:
    am = stack.alertmanager(NOW, ["warning"])

    def alert(name: str, **labels: str) -> dict[str, Any]:
        return {"labels": {"alertname": name, "severity": "warning", **labels}}

    host = {"host": "pasc-1", "agent": "a1"}
    am.post_alerts(
        [
            alert("IocCommuneRed", province="04", commune="01279"),
            alert("IocAgentSilent", province="04", commune="01279", **host),
            alert("IocUpsOnBattery", province="04", commune="01288", **host),
            alert("IocCriterionFailingWidely", province="01", criterion="NET-01"),
            alert("IocCommuneRed", province="01", commune="00070"),
        ]
    )

    def inhibited() -> dict[tuple[str, str], bool]:
        return {
            (a["labels"]["alertname"], a["labels"].get("commune", "")): bool(
                a["status"]["inhibitedBy"]
            )
            for a in am.alerts()
        }

    expected = {
        ("IocCommuneRed", "01279"): False,
        ("IocAgentSilent", "01279"): True,  # its commune is red
        ("IocUpsOnBattery", "01288"): False,  # another commune
        ("IocCriterionFailingWidely", ""): False,
        ("IocCommuneRed", "00070"): True,  # a shared cause in province 01
    }
    wait_for(lambda: inhibited() == expected, 15, f"inhibition as {expected}")
    am.post_alerts([alert("IocCollectorDown", instance="127.0.0.1:8321", job="ioc-collector")])
    wait_for(
        lambda: all(v for k, v in inhibited().items() if k[0] != "IocCollectorDown"),
        15,
        "a silent collector to inhibit every alert below it",
    )
    assert inhibited()[("IocCollectorDown", "")] is False
