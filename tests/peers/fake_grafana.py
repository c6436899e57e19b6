"""A small stand-in for Grafana's HTTP API on 127.0.0.1, as grafana-client calls it:
``GET /api/health``, ``GET/POST /api/folders``, ``POST /api/dashboards/db``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, Any]


class FakeGrafana:
    def __init__(self, token: str = "glsa_test") -> None:
        self.token = token
        self.folders: list[dict[str, Any]] = []
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        #: path -> (status, body) to answer instead of the normal behaviour
        self.fail: dict[str, Answer] = {}
        self.routes: dict[tuple[str, str], Callable[[Any], Answer]] = {
            ("GET", "/api/folders"): self._list_folders,
            ("POST", "/api/folders"): self._create_folder,
            ("POST", "/api/dashboards/db"): self._save_dashboard,
        }
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, method: str, path: str, authorization: str | None, body: Any) -> Answer:
        """Status and JSON body for one request."""
        if path in self.fail:
            return self.fail[path]
        if path == "/api/health":
            return 200, {"database": "ok", "version": "11.6.0"}
        if authorization != f"Bearer {self.token}":
            return 401, {"message": "invalid API key"}
        route = self.routes.get((method, path))
        if route is None:
            return 404, {"message": "Not found"}
        return route(body)

    def _list_folders(self, _body: Any) -> Answer:
        return 200, self.folders

    def _create_folder(self, body: Any) -> Answer:
        n = len(self.folders) + 1
        folder = {"id": n, "uid": f"f{n}", "title": body["title"]}
        self.folders.append(folder)
        return 200, folder

    def _save_dashboard(self, body: Any) -> Answer:
        d = body["dashboard"]
        uid = d["uid"]
        if uid in self.dashboards and not body.get("overwrite"):
            return 412, {
                "message": "A dashboard with the same uid already exists",
                "status": "name-exists",
            }
        version = self.dashboards.get(uid, {}).get("version", 0) + 1
        self.dashboards[uid] = {
            "dashboard": d,
            "folderUid": body.get("folderUid"),
            "version": version,
        }
        return 200, {
            "id": 1,
            "uid": uid,
            "status": "success",
            "version": version,
            "url": f"/d/{uid}/x",
        }

    def __enter__(self) -> FakeGrafana:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    """Hands each request to the ``fake`` its subclass names, and sends back its answer."""

    fake: FakeGrafana

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
        self.fake.requests.append((method, path))
        body = self._body() if method == "POST" else None
        self._send(*self.fake.answer(method, path, self.headers.get("Authorization"), body))

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")
