"""Zalo bridge: Alertmanager's webhook in, Zalo Official Account messages out.

Alertmanager has no Zalo receiver. The bridge (``ioc-collector zalo-bridge``) answers its
webhook (``POST /alertmanager``), writes one message per Zalo user named for the
notification's receiver into an on-disk queue (SQLite, committed with ``synchronous=FULL``)
and only then answers 200: an acknowledged alert is never lost. A sender thread delivers
the queue oldest first to the Official Account API (``POST {api}/v3.0/oa/message/cs`` with
the ``access_token`` header); a failure (network, 5xx, a Zalo error code) keeps the message
and tries again later, the delay doubling up to ``retry_max_s``. After a restart, whatever
is still queued is sent.

The access token is never logged nor shown; it may live in a file (``access_token_file``),
read again before each delivery, so that whatever refreshes the token only rewrites it.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, model_validator

log = logging.getLogger("ioc.notify.zalo")

#: Zalo's limit on a text message, in characters.
MAX_TEXT = 2000
SEND_PATH = "/v3.0/oa/message/cs"


class BridgeConfigError(ValueError):
    """A configuration the bridge cannot run with; the message names the field (vi / en)."""


class ZaloConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listen: str = "127.0.0.1:9095"
    api_base_url: str = "https://openapi.zalo.me"
    access_token: SecretStr | None = None
    access_token_file: Path | None = None
    #: Alertmanager receiver name (``province-04``, ``ioc-centre``) -> Zalo user ids.
    recipients: dict[str, list[str]] = {}
    queue: Path = Path("/var/lib/ioc-collector/zalo-queue.db")
    retry_initial_s: float = 2.0
    retry_max_s: float = 300.0
    timeout_s: float = 10.0

    @model_validator(mode="after")
    def _one_token(self) -> ZaloConfig:
        if (self.access_token is None) == (self.access_token_file is None):
            raise ValueError(
                "cần đúng một trong access_token, access_token_file / "
                "exactly one of access_token, access_token_file is needed"
            )
        return self

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host or "127.0.0.1", int(port)

    def token(self) -> str:
        if self.access_token is not None:
            return self.access_token.get_secret_value()
        assert self.access_token_file is not None
        return self.access_token_file.read_text(encoding="utf-8").strip()


def load_config(path: Path) -> ZaloConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ZaloConfig.model_validate(raw)
    except OSError as exc:
        raise BridgeConfigError(
            f"không đọc được {path} / cannot read {path}: {exc.strerror}"
        ) from None
    except yaml.YAMLError as exc:
        raise BridgeConfigError(f"{path}: YAML không hợp lệ / invalid YAML: {exc}") from None
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc']) or '-'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise BridgeConfigError(
            f"{path}: cấu hình cầu nối Zalo không hợp lệ / invalid Zalo bridge configuration:\n"
            + "\n".join(lines)
        ) from None


# --- Alertmanager's webhook and the message text ---------------------------------------


class WebhookAlert(BaseModel):
    status: str
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class Webhook(BaseModel):
    """The part of Alertmanager's webhook payload (version 4) the bridge reads."""

    receiver: str
    status: str
    alerts: list[WebhookAlert]
    commonLabels: dict[str, str] = {}  # noqa: N815 (Alertmanager's name)


def _status(status: str) -> tuple[str, str]:
    return ("CẢNH BÁO", "FIRING") if status == "firing" else ("ĐÃ KHẮC PHỤC", "RESOLVED")


def _alert_lines(alert: WebhookAlert) -> list[str]:
    a = alert.annotations
    vi, _ = _status(alert.status)
    lines = [f"[{vi}] {a.get('summary_vi') or a.get('summary', '')}"]
    if a.get("description_vi"):
        lines.append(a["description_vi"])
    if a.get("runbook_vi"):
        lines.append(f"Cách xử lý: {a['runbook_vi']}")
    if a.get("runbook_url"):
        lines.append(f"Hướng dẫn / Runbook: {a['runbook_url']}")
    english = f"EN: {a.get('summary', '')}"
    if a.get("runbook"):
        english += f" Runbook: {a['runbook']}"
    lines.append(english)
    return lines


def format_message(hook: Webhook) -> str:
    """The same text as the e-mail and Telegram template ``ioc.text``: Vietnamese first,
    an English line per alert, the runbook; cut to Zalo's limit."""
    vi, en = _status(hook.status)
    subject = f"[{vi} / {en}] {hook.commonLabels.get('alertname', '')}"
    if province := hook.commonLabels.get("province"):
        subject += f" · tỉnh/province {province}"
    blocks = [f"{subject} ({len(hook.alerts)})"]
    blocks += ["\n".join(_alert_lines(a)) for a in hook.alerts]
    text = "\n\n".join(blocks)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


# --- The on-disk queue -----------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    id: int
    recipient: str
    text: str
    attempts: int


class Outbox:
    """Messages not yet delivered, in SQLite: written and committed before the webhook is
    answered, deleted only once Zalo has accepted them."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "recipient TEXT NOT NULL, text TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
            "next_at REAL NOT NULL, created_at REAL NOT NULL)"
        )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def put(self, recipients: list[str], text: str, now: float) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT INTO outbox (recipient, text, next_at, created_at) VALUES (?, ?, ?, ?)",
                [(r, text, now, now) for r in recipients],
            )

    def due(self, now: float, limit: int = 20) -> list[Queued]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, recipient, text, attempts FROM outbox WHERE next_at <= ? "
                "ORDER BY id LIMIT ?",
                (now, limit),
            ).fetchall()
        return [Queued(*row) for row in rows]

    def next_at(self) -> float | None:
        with self._lock:
            (value,) = self._db.execute("SELECT MIN(next_at) FROM outbox").fetchone()
        return None if value is None else float(value)

    def pending(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return int(n)

    def done(self, item: Queued) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM outbox WHERE id = ?", (item.id,))

    def later(self, item: Queued, at: float) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ? WHERE id = ?",
                (at, item.id),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


# --- Delivery --------------------------------------------------------------------------


class DeliveryError(Exception):
    """Zalo did not accept a message (kept, tried again later)."""


class Sender:
    """Delivers the outbox to Zalo, oldest first, backing off per message on failure."""

    def __init__(
        self,
        config: ZaloConfig,
        outbox: Outbox,
        client: httpx.Client,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.outbox = outbox
        self.client = client
        self.clock = clock
        self.wake = threading.Event()
        self.stop = threading.Event()

    def deliver(self, item: Queued) -> None:
        try:
            token = self.config.token()
        except OSError as exc:
            raise DeliveryError(f"access token file unreadable: {exc.strerror}") from None
        try:
            r = self.client.post(
                self.config.api_base_url.rstrip("/") + SEND_PATH,
                headers={"access_token": token},
                json={"recipient": {"user_id": item.recipient}, "message": {"text": item.text}},
                timeout=self.config.timeout_s,
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}") from None
        if r.status_code != 200:
            raise DeliveryError(f"HTTP {r.status_code}")
        try:
            body = r.json()
        except ValueError:
            raise DeliveryError("answer is not JSON") from None
        if not isinstance(body, dict) or body.get("error") != 0:
            code = body.get("error") if isinstance(body, dict) else None
            raise DeliveryError(f"Zalo error {code}")

    def backoff(self, attempts: int) -> float:
        """Full-range jitter over a doubling delay: 1/2 to 1 of min(max, initial * 2^n)."""
        cfg = self.config
        delay = min(cfg.retry_max_s, cfg.retry_initial_s * 2 ** min(attempts, 30))
        return delay * random.uniform(0.5, 1.0)

    def send_due(self) -> None:
        for item in self.outbox.due(self.clock()):
            if self.stop.is_set():
                return
            try:
                self.deliver(item)
            except DeliveryError as exc:
                wait = self.backoff(item.attempts)
                log.warning(
                    "Zalo message %d to %s not delivered (%s); next try in %.1f s",
                    item.id,
                    item.recipient,
                    exc,
                    wait,
                )
                self.outbox.later(item, self.clock() + wait)
            else:
                self.outbox.done(item)
                log.info("Zalo message %d delivered to %s", item.id, item.recipient)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.send_due()
            except sqlite3.Error as exc:  # the disk: keep the thread, try again soon
                log.error("Zalo queue unreadable: %s", exc)
            nxt = self.outbox.next_at()
            wait = 5.0 if nxt is None else max(0.0, min(5.0, nxt - self.clock()))
            self.wake.wait(wait)
            self.wake.clear()


# --- The HTTP side ---------------------------------------------------------------------


def create_app(config: ZaloConfig, outbox: Outbox, sender: Sender) -> Any:
    from fastapi import FastAPI, HTTPException

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        thread = threading.Thread(target=sender.run, name="zalo-sender", daemon=True)
        thread.start()
        yield
        sender.stop.set()
        sender.wake.set()
        thread.join(timeout=10)

    app = FastAPI(title="commune-ioc Zalo bridge", lifespan=lifespan, openapi_url=None)

    @app.post("/alertmanager")
    def alertmanager(hook: Webhook) -> dict[str, int]:
        recipients = config.recipients.get(hook.receiver, [])
        if not recipients:
            log.warning("no Zalo recipients for receiver %s: notification ignored", hook.receiver)
            return {"queued": 0}
        try:
            outbox.put(recipients, format_message(hook), time.time())
        except sqlite3.Error as exc:
            log.error("Zalo queue not writable: %s", exc)
            raise HTTPException(503, "hàng đợi không ghi được / queue not writable") from None
        sender.wake.set()
        return {"queued": len(recipients)}

    @app.get("/-/healthy")
    def healthy() -> dict[str, int]:
        return {"pending": outbox.pending()}

    return app


def serve(config: ZaloConfig) -> None:
    """Run the bridge in the foreground until interrupted (SIGINT, SIGTERM)."""
    import uvicorn

    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines, at INFO
    outbox = Outbox(config.queue)
    host, port = config.host_port
    with httpx.Client() as client:
        sender = Sender(config, outbox, client)
        app = create_app(config, outbox, sender)
        log.info("Zalo bridge on %s:%d, %d message(s) queued", host, port, outbox.pending())
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    outbox.close()
