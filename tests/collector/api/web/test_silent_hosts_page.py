"""A stale host on the commune page and in its JSON, over real HTTP, in working time: its
evidence marked "số liệu cũ, không báo cáo từ ... / stale, no report since ...", the hosts
table with fresh/stale, and the retire button for operators and above (POST with the
session's CSRF token; a viewer and an operator of another province are refused 403)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import timedelta

import pytest

from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.reports.i18n import ict
from collector.service import Services
from tests.collector.service.test_silent_hosts import (
    HK,
    TUESDAY_9,
    Host,
    _attest,
    _run,
    _store,
)
from tests.conftest import Clock, app_config
from tests.peers.site import PASSWORDS, csrf_of, login


@pytest.fixture
def site(new_database) -> Iterator[tuple[str, Services, Clock, Host]]:
    clock = Clock(TUESDAY_9)
    services = _store(new_database("collector.db"), clock)
    for role in ("viewer", "operator"):
        services.accounts.add_user(role, PASSWORDS[role], role)
    services.accounts.add_user("op-cao-bang", PASSWORDS["operator"], "operator", provinces=["04"])
    _attest(services)
    failing, healthy = Host(services, clock, "pasc", "disk_full"), Host(services, clock, "office")
    _run(clock, 3, failing, healthy)
    _run(clock, 10, healthy)  # pasc falls silent at 09:02
    with BackgroundServer(create_app(services, app_config())) as url:
        yield url, services, clock, failing


def test_stale_host_is_marked_and_an_operator_retires_it(site) -> None:
    url, services, clock, failing = site
    last = TUESDAY_9 + timedelta(minutes=2)
    viewer = login(url, "viewer")
    page = viewer.get(f"/commune/{HK}")
    text = html.unescape(page.text)
    assert 'class="badge c-yellow" id="commune-colour"' in text
    assert f"số liệu cũ, không báo cáo từ {ict(last)}" in text
    assert 'id="hosts"' in text and 'class="host-stale"' in text
    assert "retire-form" not in text  # a viewer sees no button
    doc = viewer.get(f"/api/v1/communes/{HK}").json()
    assert doc["colour"] == "yellow"
    assert {h["host"]: (h["state"], h["since"]) for h in doc["hosts"]} == {
        "pasc": ("stale", last.isoformat()),
        "office": ("fresh", (clock() - timedelta(minutes=1)).isoformat()),
    }
    stale = {
        e["stale_since"]
        for c in doc["criteria"].values()
        for e in c["evidence"]
        if "stale_since" in e
    }
    assert stale == {last.isoformat()}
    form = {"csrf": csrf_of(page.text), "host": failing.ident.agent_id}
    assert viewer.post(f"/commune/{HK}/hosts/retire", data=form).status_code == 403

    other = login(url, "op-cao-bang", PASSWORDS["operator"])  # an operator of Cao Bằng
    form_other = {"csrf": csrf_of(other.get("/province/04").text), "host": failing.ident.agent_id}
    assert other.post(f"/commune/{HK}/hosts/retire", data=form_other).status_code == 403

    operator = login(url, "operator")
    page = operator.get(f"/commune/{HK}")
    assert page.text.count("retire-form") == 1  # only the stale host has a button
    r = operator.post(f"/commune/{HK}/hosts/retire", data={**form, "csrf": "forged"})
    assert r.status_code == 400
    r = operator.post(f"/commune/{HK}/hosts/retire", data={**form, "csrf": csrf_of(page.text)})
    assert r.status_code == 303, r.text
    doc = operator.get(f"/api/v1/communes/{HK}").json()
    assert doc["colour"] == "green"
    assert {h["host"]: h["state"] for h in doc["hosts"]} == {"pasc": "retired", "office": "fresh"}
    [line] = services.audit.entries(target=HK, action_prefix="host.")
    assert (line["actor"], line["action"]) == ("operator", "host.retire")
    again = operator.post(f"/commune/{HK}/hosts/retire", data={**form, "csrf": csrf_of(page.text)})
    assert again.status_code == 409 and "retired already" in again.text
