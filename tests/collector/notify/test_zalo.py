"""The Zalo bridge on its own: the message text, the on-disk queue, delivery and backoff
against a fake Zalo API, the webhook answered only once queued, secrets never logged, and
the command's errors."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from collector.cli import main
from collector.notify.zalo import (
    MAX_TEXT,
    Outbox,
    Sender,
    Webhook,
    ZaloConfig,
    create_app,
    format_message,
)
from tests.peers.alertmanager import FakeZalo

TOKEN = "zalo-token-must-not-leak"


def _hook(receiver: str = "province-04", status: str = "firing", n: int = 1) -> dict:
    alert = {
        "status": status,
        "labels": {"alertname": "IocCommuneRed", "province": "04", "commune": "01279"},
        "annotations": {
            "summary_vi": "Phường Thục Phán (01279) ở trạng thái ĐỎ hơn 15 phút",
            "summary": "Phường Thục Phán (01279) has been RED for 15 minutes",
            "description_vi": "Một tiêu chí bắt buộc không đạt.",
            "runbook_vi": "1. Mở bảng điều khiển 'Chi tiết xã'.",
            "runbook": "1. Open the 'Commune detail' dashboard.",
            "runbook_url": "https://ioc.example.gov.vn/so-tay/xa-do",
        },
    }
    return {
        "version": "4",
        "receiver": receiver,
        "status": status,
        "alerts": [alert] * n,
        "groupLabels": {"province": "04", "alertname": "IocCommuneRed"},
        "commonLabels": {"alertname": "IocCommuneRed", "province": "04"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
    }


def _config(tmp_path: Path, url: str = "http://127.0.0.1:9", **kw) -> ZaloConfig:
    return ZaloConfig.model_validate(
        {
            "api_base_url": url,
            "access_token": TOKEN,
            "recipients": {"province-04": ["u1", "u2"]},
            "queue": str(tmp_path / "q.db"),
            "retry_initial_s": 0.01,
            "retry_max_s": 0.05,
            **kw,
        }
    )


def test_message_is_vietnamese_first_with_english_and_the_runbook() -> None:
    text = format_message(Webhook.model_validate(_hook()))
    assert text.splitlines() == [
        "[CẢNH BÁO / FIRING] IocCommuneRed · tỉnh/province 04 (1)",
        "",
        "[CẢNH BÁO] Phường Thục Phán (01279) ở trạng thái ĐỎ hơn 15 phút",
        "Một tiêu chí bắt buộc không đạt.",
        "Cách xử lý: 1. Mở bảng điều khiển 'Chi tiết xã'.",
        "Hướng dẫn / Runbook: https://ioc.example.gov.vn/so-tay/xa-do",
        "EN: Phường Thục Phán (01279) has been RED for 15 minutes Runbook: 1. Open the "
        "'Commune detail' dashboard.",
    ]
    resolved = format_message(Webhook.model_validate(_hook(status="resolved")))
    assert resolved.startswith("[ĐÃ KHẮC PHỤC / RESOLVED]")
    long = format_message(Webhook.model_validate(_hook(n=40)))
    assert len(long) == MAX_TEXT and long.endswith("…")


def test_the_queue_survives_reopening(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "q.db")
    box.put(["u1", "u2"], "xin chào", now=100.0)
    box.close()
    box = Outbox(tmp_path / "q.db")
    assert [(q.recipient, q.text) for q in box.due(now=100.0)] == [
        ("u1", "xin chào"),
        ("u2", "xin chào"),
    ]
    first = box.due(now=100.0)[0]
    box.later(first, at=200.0)
    assert [q.recipient for q in box.due(now=150.0)] == ["u2"]
    assert box.next_at() == 100.0
    box.done(box.due(now=150.0)[0])
    assert box.pending() == 1 and box.next_at() == 200.0
    assert box.due(now=200.0)[0].attempts == 1


def test_failures_keep_the_message_and_back_off_then_deliver(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    zalo = FakeZalo()
    try:
        config = _config(tmp_path, zalo.url)
        box = Outbox(config.queue)
        now = [1000.0]
        with httpx.Client() as client:
            sender = Sender(config, box, client, clock=lambda: now[0])
            box.put(["u1"], "tin nhắn", now=now[0])
            zalo.down = True
            sender.send_due()
            assert box.pending() == 1 and zalo.attempts_while_down == 1
            assert box.next_at() > now[0]  # not again at once
            sender.send_due()
            assert zalo.attempts_while_down == 1
            # A Zalo error code (an expired token, say) is a failure too.
            zalo.down = False
            zalo.answer = lambda body: {"error": -216, "message": "Access token is invalid"}  # type: ignore[method-assign]
            now[0] += 1
            sender.send_due()
            assert box.pending() == 1 and len(zalo.requests) == 1
            del zalo.answer
            now[0] += 1
            sender.send_due()
            assert box.pending() == 0
            assert [(u, t) for u, t, _ in zalo.messages()][-1] == ("u1", "tin nhắn")
            assert zalo.messages()[-1][2] == TOKEN  # the header Zalo reads
    finally:
        zalo.stop()
    assert "not delivered (HTTP 503)" in caplog.text
    assert "not delivered (Zalo error -216)" in caplog.text
    assert TOKEN not in caplog.text


def test_backoff_doubles_up_to_the_bound(tmp_path: Path) -> None:
    config = _config(tmp_path, retry_initial_s=2.0, retry_max_s=60.0)
    sender = Sender(config, Outbox(config.queue), httpx.Client())
    for attempts, bound in [(0, 2.0), (1, 4.0), (3, 16.0), (10, 60.0), (1000, 60.0)]:
        for _ in range(20):
            assert bound / 2 <= sender.backoff(attempts) <= bound


def test_the_webhook_is_answered_once_queued(tmp_path: Path) -> None:
    config = _config(tmp_path)
    box = Outbox(config.queue)
    with httpx.Client() as client:
        sender = Sender(config, box, client)
        sender.stop.set()  # no delivery thread work: the queue is what is looked at
        app = create_app(config, box, sender)
        with TestClient(app) as http:
            r = http.post("/alertmanager", json=_hook())
            assert r.status_code == 200 and r.json() == {"queued": 2}
            assert box.pending() == 2
            # A receiver nobody is named for: answered, nothing queued.
            assert http.post("/alertmanager", json=_hook("province-99")).json() == {"queued": 0}
            assert http.post("/alertmanager", json={"alerts": "?"}).status_code == 422
            assert http.get("/-/healthy").json() == {"pending": 2}
            # The disk refuses: Alertmanager must try again, so no 200.
            box.close()
            r = http.post("/alertmanager", json=_hook())
            assert r.status_code == 503
            assert "queue not writable" in r.text


def test_token_from_a_file_is_read_again(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n", encoding="utf-8")
    config = _config(tmp_path, access_token=None, access_token_file=str(token))
    assert config.token() == "first"
    token.write_text("second", encoding="utf-8")
    assert config.token() == "second"


def test_the_command_refuses_a_bad_configuration_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bridge.yaml"
    bad.write_text(f"access_token: {TOKEN}\naccess_token_file: /x\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["zalo-bridge", "--config", str(bad)])
    assert result.exit_code == 1
    assert "cấu hình cầu nối Zalo không hợp lệ / invalid Zalo bridge configuration" in (
        result.output
    )
    assert "exactly one of access_token, access_token_file" in result.output
    assert TOKEN not in result.output and "Traceback" not in result.output
    bad.write_text("access_token_file: /x\nport: 1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["zalo-bridge", "--config", str(bad)])
    assert result.exit_code == 1 and "port: Extra inputs are not permitted" in result.output
    missing = CliRunner().invoke(main, ["zalo-bridge", "--config", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "không đọc được" in missing.output


def test_the_command_builds_alertmanager_yml(tmp_path: Path) -> None:
    from dashboards.alerting import EXAMPLE_SETTINGS, GENERATED

    out = tmp_path / "alertmanager.yml"
    args = ["alerting", "build", "--settings", str(EXAMPLE_SETTINGS), "--out", str(out)]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0 and "đã ghi / written" in first.output
    assert (
        out.read_text("utf-8").split("\n", 2)[2] == GENERATED.read_text("utf-8").split("\n", 2)[2]
    )
    again = CliRunner().invoke(main, args)
    assert "không đổi / unchanged" in again.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("timing: {group_wait: soon}\n", encoding="utf-8")
    refused = CliRunner().invoke(
        main, ["alerting", "build", "--settings", str(bad), "--out", str(out)]
    )
    assert refused.exit_code == 1 and "timing.group_wait" in refused.output


@pytest.mark.parametrize("field", ["retry_initial_s", "retry_max_s"])
def test_config_field_types_are_checked(tmp_path: Path, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        _config(tmp_path, **{field: "often"})
