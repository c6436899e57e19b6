"""A small stand-in for Grafana's HTTP API on 127.0.0.1, as grafana-client calls it:
``GET /api/health``, ``GET/POST /api/folders``, ``POST /api/dashboards/db``."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeGrafana:
    def __init__(self, token: str = "glsa_test") -> None:
        self.token = token
        self.folders: list[dict[str, Any]] = []
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        #: path -> (status, body) to answer instead of the normal behaviour
        self.fail: dict[str, tuple[int, Any]] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> Any:
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n) or b"null")

            def _handle(self, method: str) -> None:
                path = self.path.split("?")[0]
                fake.requests.append((method, path))
                body = self._body() if method == "POST" else None
                if path in fake.fail:
                    self._send(*fake.fail[path])
                    return
                if path == "/api/health":
                    self._send(200, {"database": "ok", "version": "11.6.0"})
                    return
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._send(401, {"message": "invalid API key"})
                    return
                if (method, path) == ("GET", "/api/folders"):
                    self._send(200, fake.folders)
                elif (method, path) == ("POST", "/api/folders"):
                    folder = {
                        "id": len(fake.folders) + 1,
                        "uid": f"f{len(fake.folders) + 1}",
                        "title": body["title"],
                    }
                    fake.folders.append(folder)
                    self._send(200, folder)
                elif (method, path) == ("POST", "/api/dashboards/db"):
                    d = body["dashboard"]
                    uid = d["uid"]
                    if uid in fake.dashboards and not body.get("overwrite"):
                        self._send(
                            412,
                            {
                                "message": "A dashboard with the same uid already exists",
                                "status": "name-exists",
                            },
                        )
                        return
                    version = fake.dashboards.get(uid, {}).get("version", 0) + 1
                    fake.dashboards[uid] = {
                        "dashboard": d,
                        "folderUid": body.get("folderUid"),
                        "version": version,
                    }
                    self._send(
                        200,
                        {
                            "id": 1,
                            "uid": uid,
                            "status": "success",
                            "version": version,
                            "url": f"/d/{uid}/x",
                        },
                    )
                else:
                    self._send(404, {"message": "Not found"})

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeGrafana:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
