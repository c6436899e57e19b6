"""Served over HTTPS, every answer carries HSTS and every cookie is Secure; over plain HTTP
there is no HSTS (browsers ignore it there) and cookies work without TLS."""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable

import httpx
import pytest

from collector.service import Services
from tests.security.conftest import PKI

# HTTP headers: the database is only the store behind it, the same on either
# engine (any_engine: the PostgreSQL pass leaves it out).
pytestmark = pytest.mark.any_engine

HSTS = "strict-transport-security"


def cookie_lines(r: httpx.Response) -> dict[str, str]:
    return {line.split("=", 1)[0]: line for line in r.headers.get_list("set-cookie")}


def log_in(client: httpx.Client) -> tuple[httpx.Response, httpx.Response]:
    form = client.get("/login?lang=en")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert found is not None
    done = client.post(
        "/login",
        data={"csrf": found.group(1), "username": "canbo", "password": "mat-khau-123"},
    )
    assert done.status_code == 303, done.text
    return form, done


def test_https_answers_carry_hsts_and_secure_cookies(
    pki: PKI, https_collector: Callable[..., str], services: Services
) -> None:
    services.accounts.add_user("canbo", "mat-khau-123", "viewer")
    url = https_collector(pki.good)
    with httpx.Client(
        base_url=url, verify=ssl.create_default_context(cafile=str(pki.ca.pem)), timeout=30
    ) as client:
        form, done = log_in(client)
        for r in (form, done, client.get("/healthz"), client.get("/nothing-here")):
            assert r.headers[HSTS] == "max-age=31536000", r.url
        cookies = {**cookie_lines(form), **cookie_lines(done)}
        for name in ("ioc_lang", "ioc_login_csrf", "ioc_session"):
            assert "; secure" in cookies[name].lower(), cookies[name]


def test_plain_http_has_no_hsts_and_no_secure_cookies(
    serve: Callable[..., str], services: Services
) -> None:
    services.accounts.add_user("canbo", "mat-khau-123", "viewer")
    url = serve()
    with httpx.Client(base_url=url, timeout=30) as client:
        form, done = log_in(client)
        assert HSTS not in form.headers and HSTS not in done.headers
        cookies = {**cookie_lines(form), **cookie_lines(done)}
        assert "; secure" not in cookies["ioc_session"].lower()
        assert client.get("/").status_code == 200  # the session cookie works without TLS
