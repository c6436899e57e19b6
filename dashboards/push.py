"""Push the generated dashboards to a Grafana over its HTTP API (grafana-client).

Idempotent: the folder is created only when missing, and each dashboard is saved with
``overwrite`` under its fixed uid, so pushing twice leaves one copy of each. Every failure
(unreachable, refused token, HTTP error) becomes a :class:`PushError` with one line that
says what failed; the CLI prints it without a traceback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaException
from niquests.exceptions import RequestException

GENERATED = Path(__file__).resolve().parent / "generated"
DEFAULT_FOLDER = "IOC — Sẵn sàng của xã"


class PushError(Exception):
    """Pushing to Grafana failed; the message is one line for the operator."""


@dataclass(frozen=True)
class Pushed:
    uid: str
    title: str
    version: int | None
    url: str


def _describe(exc: Exception, what: str, base_url: str) -> PushError:
    if isinstance(exc, GrafanaException):
        if exc.status_code == 0:  # no HTTP answer (timeout, connection reset)
            return PushError(f"{what}: Grafana at {base_url} did not answer: {exc.message}")
        detail = exc.response
        if isinstance(detail, dict):
            detail = detail.get("message") or json.dumps(detail)
        detail = " ".join(str(detail or "(empty answer)").split())[:300]
        hint = ""
        if exc.status_code in (401, 403):
            hint = " (check the service-account token and its Editor role)"
        return PushError(f"{what}: Grafana answered HTTP {exc.status_code}: {detail}{hint}")
    return PushError(f"{what}: cannot reach Grafana at {base_url}: {_reason(exc)}")


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")(]+)")
_RESOLVE = re.compile(r"Failed to resolve '([^']+)'")


def _reason(exc: Exception) -> str:
    """The useful end of a connection error (urllib3 wraps it in pool details)."""
    text = str(exc)
    if m := _RESOLVE.search(text):
        return f"cannot resolve host {m.group(1)}"
    if m := _ERRNO.search(text):
        return m.group(1).strip().rstrip(".")
    return " ".join(text.split())[:200]


def load_dashboards(directory: Path = GENERATED) -> list[dict[str, Any]]:
    files = sorted(directory.glob("*.json"))
    if not files:
        raise PushError(f"no dashboards in {directory}: run python -m dashboards.build")
    out = []
    for f in files:
        try:
            out.append(json.loads(f.read_text("utf-8")))
        except (OSError, ValueError) as exc:
            raise PushError(f"{f}: not a dashboard JSON file: {exc}") from None
    return out


class Pusher:
    def __init__(self, url: str, token: str, timeout_s: float = 10.0) -> None:
        self.base_url = url.rstrip("/")
        self.api = GrafanaApi.from_url(self.base_url, credential=token, timeout=timeout_s)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (GrafanaException, RequestException, OSError) as exc:
            raise _describe(exc, what, self.base_url) from None

    def check_health(self) -> None:
        self._call("health check", self.api.client.GET, "/health")

    def ensure_folder(self, title: str) -> str:
        """uid of the folder titled ``title``, created when missing."""
        folders = self._call("list folders", self.api.folder.get_all_folders) or []
        for f in folders:
            if f.get("title") == title:
                return str(f["uid"])
        created = self._call(f"create folder {title!r}", self.api.folder.create_folder, title)
        return str(created["uid"])

    def push(self, dashboard: dict[str, Any], folder_uid: str) -> Pushed:
        body = dict(dashboard)
        body.pop("id", None)  # the uid identifies it; Grafana assigns its own id
        title = str(body.get("title", ""))
        answer = self._call(
            f"save dashboard {body.get('uid')!r}",
            self.api.dashboard.update_dashboard,
            {
                "dashboard": body,
                "folderUid": folder_uid,
                "overwrite": True,
                "message": "ioc-collector dashboards push",
            },
        )
        answer = answer if isinstance(answer, dict) else {}
        return Pushed(
            uid=str(answer.get("uid", body.get("uid"))),
            title=title,
            version=answer.get("version"),
            url=f"{self.base_url}{answer.get('url', '')}",
        )


def push_dashboards(
    url: str,
    token: str,
    folder: str = DEFAULT_FOLDER,
    directory: Path = GENERATED,
    timeout_s: float = 10.0,
) -> list[Pushed]:
    """Create ``folder`` if needed and save every dashboard of ``directory`` into it."""
    dashboards = load_dashboards(directory)
    pusher = Pusher(url, token, timeout_s)
    pusher.check_health()
    folder_uid = pusher.ensure_folder(folder)
    return [pusher.push(d, folder_uid) for d in dashboards]
