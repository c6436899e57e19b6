"""/metrics names every commune's colour, hosts and agents: it needs a configured scrape
token unless served open on purpose (``metrics_open: true``). The API documentation is off
unless ``api_docs: true``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from collector.config import ConfigError, load_config
from collector.service import Services
from tests.conftest import app_config
from tests.peers.site import login

TOKEN = "scrape-token-of-the-province-0123456789"
OTHER = "scrape-token-of-a-second-prometheus-42"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_metrics_need_a_configured_token_by_default(serve: Callable[..., str]) -> None:
    url = serve(app_config(metrics_token_hashes=[]))
    r = httpx.get(f"{url}/metrics", headers=bearer(TOKEN))
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "metrics_token_file" in r.json()["detail"] and "metrics_open" in r.json()["detail"]
    assert "ioc_" not in r.text


def test_only_a_configured_token_reads_metrics(
    serve: Callable[..., str], services: Services, tmp_path: Path
) -> None:
    token_file = tmp_path / "metrics-token"
    token_file.write_text(TOKEN + "\n")
    other_hash = hashlib.sha256(OTHER.encode()).hexdigest()
    url = serve(app_config(metrics_token_file=token_file, metrics_token_hashes=[other_hash]))
    for token in (TOKEN, OTHER):
        r = httpx.get(f"{url}/metrics", headers=bearer(token), params={"part": "readiness"})
        assert r.status_code == 200 and "ioc_commune_colour" in r.text
    refused = {
        "none": httpx.get(f"{url}/metrics"),
        "wrong": httpx.get(f"{url}/metrics", headers=bearer(TOKEN + "x")),
        "basic": httpx.get(f"{url}/metrics", headers={"Authorization": f"Basic {TOKEN}"}),
    }
    for why, r in refused.items():
        assert r.status_code == 401, why
        assert "ioc_" not in r.text and TOKEN not in r.text, why
    # A person's login opens the pages, not /metrics.
    services.accounts.add_user("quantri", "quan-tri-vien-1", "admin")
    admin = login(url, "quantri", "quan-tri-vien-1")
    assert admin.get("/metrics").status_code == 401
    admin.close()


def test_metrics_open_is_an_explicit_choice(serve: Callable[..., str]) -> None:
    url = serve(app_config(metrics_token_hashes=[], metrics_open=True))
    r = httpx.get(f"{url}/metrics")
    assert r.status_code == 200 and "ioc_commune_colour" in r.text


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("metrics_token_hashes: [abc]\n", "expected 64 hexadecimal digits"),
        ("metrics_token_file: /nonexistent/token\n", "no such file"),
    ],
)
def test_bad_token_options_are_clear_configuration_errors(
    option: str, message: str, tmp_path: Path
) -> None:
    cfg = tmp_path / "collector.yaml"
    cfg.write_text(option)
    with pytest.raises(ConfigError, match=message):
        load_config(cfg)


def test_a_short_token_file_is_refused_when_the_app_starts(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("abc\n")
    with pytest.raises(ConfigError, match="too short"):
        app_config(metrics_token_file=short).metrics_scrape_hashes()


def test_api_docs_are_off_unless_asked_for(serve: Callable[..., str]) -> None:
    closed = serve(app_config())
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert httpx.get(f"{closed}{path}").status_code == 404, path
    opened = serve(app_config(api_docs=True))
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert httpx.get(f"{opened}{path}").status_code == 200, path
    assert "/api/v1/reports" in httpx.get(f"{opened}/openapi.json").json()["paths"]
