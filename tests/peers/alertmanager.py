"""Debian's Alertmanager on loopback with its own configuration and storage, and stand-ins
for what it notifies: an SMTP sink, the Telegram Bot API, the Zalo Official Account API."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.peers.prometheus import ReadyServer, free_port


class Alertmanager(ReadyServer):
    """``prometheus-alertmanager`` with ``config`` (written to ``workdir``), clustering off."""

    name = "alertmanager"

    def __init__(self, binary: str, workdir: Path, config_text: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.config = workdir / "alertmanager.yml"
        self.config.write_text(config_text, encoding="utf-8")
        self._start(
            [
                binary,
                f"--config.file={self.config}",
                f"--storage.path={workdir / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ]
        )

    def silence(self, matchers: dict[str, str], minutes: int = 10) -> str:
        now = datetime.now(UTC)
        body = {
            "matchers": [
                {"name": k, "value": v, "isRegex": False, "isEqual": True}
                for k, v in matchers.items()
            ],
            "startsAt": now.isoformat(),
            "endsAt": (now + timedelta(minutes=minutes)).isoformat(),
            "createdBy": "test",
            "comment": "bảo trì / maintenance",
        }
        r = httpx.post(f"{self.url}/api/v2/silences", json=body, timeout=5)
        r.raise_for_status()
        return str(r.json()["silenceID"])

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=5).raise_for_status()

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        r = httpx.get(f"{self.url}/api/v2/alerts", timeout=5)
        r.raise_for_status()
        return [a for a in r.json() if all(a["labels"].get(k) == v for k, v in filters.items())]


# --- SMTP sink -------------------------------------------------------------------------


@dataclass
class Mail:
    rcpt: list[str]
    subject: str
    body: str


@dataclass
class SmtpSink:
    """A minimal SMTP server (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no
    AUTH) on loopback that keeps every message it is given, decoded."""

    port: int = field(default_factory=free_port)
    mails: list[Mail] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self._thread.start()
        started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", self.port)
        )
        started.set()
        self._loop.run_forever()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        def say(line: str) -> None:
            writer.write((line + "\r\n").encode())

        say("220 sink ESMTP")
        rcpt: list[str] = []
        while line := (await reader.readline()).decode("utf-8", "replace").rstrip("\r\n"):
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                say("250-sink")
                say("250 8BITMIME")
            elif verb in ("HELO", "MAIL", "RSET", "NOOP"):
                rcpt = [] if verb in ("MAIL", "RSET") else rcpt
                say("250 OK")
            elif verb == "RCPT":
                rcpt.append(line.split(":", 1)[1].strip().strip("<>"))
                say("250 OK")
            elif verb == "DATA":
                say("354 go on")
                await writer.drain()
                self._keep(rcpt, await self._data(reader))
                say("250 kept")
            elif verb == "QUIT":
                say("221 bye")
                break
            else:
                say("502 not here")
            await writer.drain()
        await writer.drain()
        writer.close()

    @staticmethod
    async def _data(reader: asyncio.StreamReader) -> bytes:
        lines = []
        while (line := await reader.readline()) not in (b".\r\n", b".\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)

    def _keep(self, rcpt: list[str], raw: bytes) -> None:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part = msg.get_body(("plain",)) if msg.is_multipart() else msg
        body = part.get_content() if part is not None else ""
        self.mails.append(Mail(list(rcpt), str(msg["Subject"]), body))

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


# --- Fake HTTP APIs --------------------------------------------------------------------


class FakeApi:
    """A JSON HTTP API on loopback: records every POST (path, headers, body) and answers
    with :meth:`answer`; ``down`` makes it answer 503."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.down = False
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                try:
                    body = json.loads(raw)
                except ValueError:
                    from urllib.parse import parse_qsl

                    body = dict(parse_qsl(raw))
                if api.down:
                    api.attempts_while_down += 1
                    status, answer = 503, {"error": -1}
                else:
                    api.requests.append((self.path, dict(self.headers), body))
                    status, answer = 200, api.answer(body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.attempts_while_down = 0
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        return {}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeTelegram(FakeApi):
    """The Bot API's sendMessage, as Alertmanager's telegram notifier calls it."""

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        chat = int(body.get("chat_id", 0))
        return {
            "ok": True,
            "result": {
                "message_id": len(self.requests) + 1,
                "date": 0,
                "chat": {"id": chat, "type": "group"},
                "text": body.get("text", ""),
            },
        }

    def messages(self) -> list[tuple[int, str]]:
        return [
            (int(b["chat_id"]), str(b["text"]))
            for path, _, b in self.requests
            if path.endswith("/sendMessage")
        ]


class FakeZalo(FakeApi):
    """The Official Account API's message/cs endpoint."""

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"error": 0, "message": "Success", "data": {"message_id": "m1"}}

    def messages(self) -> list[tuple[str, str, str]]:
        """(user id, text, access_token header) of every accepted message."""
        return [
            (b["recipient"]["user_id"], b["message"]["text"], h.get("access_token", ""))
            for _, h, b in self.requests
        ]
