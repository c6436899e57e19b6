"""Province-scoped access: a person of province B never reads nor changes province A.

The walk takes every route of the app's route table, except an explicit allow-list of the
routes that are public or answer agents and Prometheus (their own tokens), and asks it as
users scoped to Lai Châu (12) with every path and query parameter naming Cao Bằng (04) or
one of its communes: each answers 403 or 404, or an answer without a trace of Cao Bằng. A
new route without the scope check fails here. The same walk as a national admin finds Cao
Bằng's data on the routes that show it, so the markers do mark something.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.routing import iter_route_contexts
from sqlalchemy import func, select

from collector.api.app import create_app
from collector.cli import main
from collector.criteria.catalogue import Kind
from collector.service.attestations import EvidenceFile
from collector.storage import schema as db
from tests.conftest import app_config
from tests.peers.site import Site, csrf_of, database_for, login, open_site

A, B = "04", "12"  # Cao Bằng (the data), Lai Châu (the people who must not see it)
A_NAME = "Cao Bằng"
EVIDENCE = b"%PDF-1.4 bien ban Cao Bang, chi xem trong tinh"
PW = "mat-khau-pham-vi-1"

#: Routes that are not the officials': the login form and its stylesheet, the health check,
#: what agents call with their own token (enrollment code, report batches, levels, time,
#: throughput probes), /metrics (Prometheus' scrape token), and /logout (ends the caller's
#: own session, names no unit).
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/static/ioc.css"),
    ("GET", "/healthz"),
    ("GET", "/api/v1/time"),
    ("POST", "/api/v1/enroll"),
    ("POST", "/api/v1/reports"),
    ("GET", "/api/v1/levels"),
    ("GET", "/api/v1/probe/download"),
    ("POST", "/api/v1/probe/upload"),
    ("GET", "/metrics"),
    ("POST", "/logout"),
}


@dataclass
class World:
    site: Site
    commune: str  # a commune of A
    commune_name: str
    file_id: int  # an evidence file of an attestation in A
    criterion: str  # an attested criterion
    token_id: int  # a reader token of A's user


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[World]:
    db_path = database_for(request, tmp_path_factory.mktemp("scopes"))
    for site in open_site(db_path, {A, B}):
        s = site.services
        commune = s.units.by_province[A][0]
        criterion = next(
            c.id for c in s.rules.current().catalogue.criteria if c.kind is Kind.ATTESTED
        )
        s.attestations.record_attestation(
            commune=commune,
            criterion=criterion,
            status="pass",
            evidence="biên bản kiểm tra",
            actor="operator",
            valid_days=30,
            file=EvidenceFile("bien-ban.pdf", "application/pdf", EVIDENCE),
        )
        with s.database.read() as conn:
            file_id = conn.execute(select(func.max(db.evidence_files.c.id))).scalar_one()
        s.accounts.add_user("tinh12.admin", PW, "admin", provinces=[B])
        s.accounts.add_user("tinh12.canbo", PW, "viewer", provinces=[B])
        s.accounts.add_user("tinh04.canbo", PW, "viewer", provinces=[A])
        token_id, _ = s.readers.create("tinh04.canbo", 30, "caobang", "cli", max_days=90)
        yield World(site, commune, s.units.commune(commune).name, file_id, criterion, token_id)


def walked(world: World) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route of the app's route table but the public ones (routers
    included in the app, flattened as FastAPI serves them)."""
    app = create_app(world.site.services, app_config())
    routes = [(str(r.path), set(r.methods or ())) for r in iter_route_contexts(app.routes)]
    assert len(routes) > 20, "the route table was not read"
    return [(path, ms) for path, ms in routes if any((m, path) not in PUBLIC for m in ms)]


def fill(path: str, world: World) -> str:
    """The path with its parameters naming A: a province, a commune, an evidence file."""
    values = {
        "code": A if path.startswith("/province/") else world.commune,
        "file_id": str(world.file_id),
    }
    for name in re.findall(r"{(\w+)(?::\w+)?}", path):
        if name not in values:
            pytest.fail(f"{path}: no value of A for the parameter {name!r}; add one to fill()")
        path = re.sub(r"\{" + name + r"(?::\w+)?\}", values[name], path)
    return path


def queries(world: World) -> list[dict[str, str]]:
    """Every query a route might read a unit from, each naming A (or the national view)."""
    return [
        {},
        {"scope": "province", "code": A},
        {"scope": "commune", "code": world.commune},
        {"scope": A},
        {"scope": "national"},
        {"q": world.commune_name},
        {"province": A, "commune": world.commune},
    ]


def forms(world: World, csrf: str) -> list[dict[str, str]]:
    """Every form a route might read: a change to A's commune or to A's user."""
    base = {
        "csrf": csrf,
        "criterion": world.criterion,
        "status": "fail",
        "evidence": "ghi đè",
        "reason": "miễn trừ",
        "valid_days": "30",
        "username": "tinh04.canbo",
        "password": "mat-khau-moi-123",
        "role": "admin",
        "provinces": A,
        "token_id": str(world.token_id),
        "days": "30",
        "name": "lay-du-lieu",
    }
    actions = ["disable", "reset-password", "end-sessions", "scope", "enable"]
    return [base, *({**base, "action": a} for a in actions), {**base, "username": "tinh04.moi"}]


def leaks(body: bytes, world: World) -> list[str]:
    text = body.decode("utf-8", "replace")
    marks = [A_NAME, EVIDENCE.decode(), "tinh04.canbo"]
    return [m for m in marks if m in text]


def walk(client: httpx.Client, world: World, csrf: str) -> dict[str, list[str]]:
    """Every route asked every way; per request, the markers of A its answer holds (a 403 or
    404 holds none)."""
    found: dict[str, list[str]] = {}
    for route, methods in walked(world):
        path = fill(route, world)
        for method in sorted(methods):
            if (method, route) in PUBLIC:
                continue
            for q in queries(world):
                params = {**q, "format": "csv"}
                if method == "GET":
                    r = client.get(path, params=params)
                    key = f"GET {path}?{q}"
                    found[key] = [] if r.status_code in (403, 404) else leaks(r.content, world)
                    continue
                for f in forms(world, csrf):
                    r = client.post(path, params=params, data=f)
                    key = f"{method} {path}?{q} {f.get('action', '')}{f['username']}"
                    found[key] = [] if r.status_code in (403, 404) else leaks(r.content, world)
    return found


def stored_for(world: World) -> tuple[int, int]:
    """The attestations and waivers of A's commune."""
    a, w = db.attestations, db.waivers
    with world.site.services.database.read() as conn:
        return (
            conn.execute(
                select(func.count()).where(a.c.commune_code == world.commune)
            ).scalar_one(),
            conn.execute(
                select(func.count()).where(w.c.commune_code == world.commune)
            ).scalar_one(),
        )


def test_every_route_refuses_or_hides_another_province(world: World) -> None:
    site = world.site
    before = stored_for(world)
    for who in ("tinh12.admin", "tinh12.canbo"):
        client = login(site.url, who, PW)
        csrf = csrf_of(client.get("/").text)
        found = walk(client, world, csrf)
        assert len(found) > 50
        assert {k: v for k, v in found.items() if v} == {}, who
        client.close()
    # a reader token of Lai Châu's admin reads as its user: nothing of A either
    _, token = site.services.readers.create("tinh12.admin", 30, "walk", "test", max_days=90)
    with httpx.Client(
        base_url=site.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as scripted:
        assert scripted.get("/api/v1/summary").status_code == 200  # the token does read
        found = walk(scripted, world, "")
    assert {k: v for k, v in found.items() if v} == {}, "reader token"
    # nothing of A changed: no attestation nor waiver added, its user as it was, no user made
    s = site.services
    assert stored_for(world) == before
    users = {u["username"]: u for u in s.accounts.list_users()}
    assert "tinh04.moi" not in users
    assert users["tinh04.canbo"]["disabled"] is False
    assert users["tinh04.canbo"]["provinces"] == [A]
    [a_token] = s.readers.tokens("tinh04.canbo")
    assert (a_token["id"], a_token["active"]) == (world.token_id, True)
    assert s.accounts.login("tinh04.canbo", PW) is not None


#: GET routes that show no commune's data of their own (a national admin sees no marker).
SHOWS_NOTHING_OF_A: set[str] = set()


def test_the_national_admin_sees_a_on_every_route_that_shows_it(world: World) -> None:
    client = login(world.site.url, "admin")
    seen: dict[str, bool] = {}
    for route, methods in walked(world):
        if "GET" not in methods or route in SHOWS_NOTHING_OF_A:
            continue
        path = fill(route, world)
        answers = [client.get(path, params={**q, "format": "csv"}) for q in queries(world)]
        seen[route] = any(leaks(r.content, world) for r in answers)
    client.close()
    assert seen and all(seen.values()), seen


def test_lists_hold_only_the_scope(world: World) -> None:
    client = login(world.site.url, "tinh12.canbo", PW)
    summary = client.get("/api/v1/summary").json()
    assert [p["code"] for p in summary["by_province"]] == [B]
    n_b = len(world.site.services.units.by_province[B])
    assert summary["communes"] == n_b == sum(summary[c] for c in ("green", "yellow", "red", "grey"))
    nation = client.get("/")
    assert nation.status_code == 200 and "Lai Châu" in nation.text and A_NAME not in nation.text
    assert client.get("/history").status_code == 200
    assert client.get("/history", params={"scope": "00"}).status_code == 403
    csv = client.get("/reports", params={"format": "csv"})
    assert csv.status_code == 200
    assert A_NAME not in csv.text and "Lai Châu" in csv.text
    client.close()


def test_provincial_admin_manages_only_their_province(world: World) -> None:
    s = world.site.services
    client = login(world.site.url, "tinh12.admin", PW)
    page = client.get("/admin/users")
    listed = re.findall(r'<td class="title" data-label="[^"]+">([^<]+)</td>', page.text)
    assert set(listed) == {"tinh12.admin", "tinh12.canbo"}  # no national user, none of A
    csrf = csrf_of(page.text)
    made = client.post(
        "/admin/users",
        data={
            "csrf": csrf,
            "username": "tinh12.moi",
            "password": PW,
            "role": "operator",
            "provinces": B,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    national = client.post(
        "/admin/users",
        data={
            "csrf": csrf,
            "username": "quocgia.moi",
            "password": PW,
            "role": "viewer",
            "provinces": "",
        },
    )
    assert national.status_code == 403
    assert "phạm vi" in national.text
    off = client.post(
        "/admin/users/manage",
        data={"csrf": csrf, "username": "tinh12.moi", "action": "disable"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    users = {u["username"]: u for u in s.accounts.list_users()}
    assert users["tinh12.moi"] == {**users["tinh12.moi"], "provinces": [B], "disabled": True}
    assert "quocgia.moi" not in users
    admin = s.accounts.user("tinh12.admin")
    assert admin is not None
    mine = [e["target"] for e in s.accounts.audit_entries(scope=admin.scope)]
    assert "tinh12.moi" in mine and "tinh04.canbo" not in mine and world.commune not in mine
    client.close()


def test_cli_adds_lists_and_sets_scopes(world: World, tmp_path: Path) -> None:
    db_url = world.site.db_path

    def run(*args: str, input: str | None = None) -> object:
        return CliRunner().invoke(main, [*args, "--db", db_url], input=input)

    added = run(
        "user",
        "add",
        "--username",
        "hai.tinh",
        "--role",
        "operator",
        "--province",
        "04",
        "--province",
        "08",
        "--password-stdin",
        input=PW + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "scope 04, 08" in added.output
    bad = run(
        "user",
        "add",
        "--username",
        "sai.tinh",
        "--role",
        "viewer",
        "--province",
        "99",
        "--password-stdin",
        input=PW + "\n",
    )
    assert bad.exit_code == 1 and "99" in bad.output and "Traceback" not in bad.output
    listed = {u["username"]: u for u in json.loads(run("user", "list", "--json").output)}
    assert listed["hai.tinh"]["provinces"] == ["04", "08"]
    assert listed["admin"]["provinces"] == []
    plain = run("user", "list").output
    assert re.search(r"hai\.tinh\s+operator\s+04,08", plain)
    assert re.search(r"admin\s+admin\s+national", plain)
    moved = run("user", "scope", "hai.tinh", "--national")
    assert moved.exit_code == 0, moved.output
    assert "toàn quốc" in moved.output
    assert world.site.services.accounts.user("hai.tinh").scope.national
    neither = run("user", "scope", "hai.tinh")
    assert neither.exit_code == 2
    last = world.site.services.accounts.audit_entries(limit=1)[0]
    assert (last["action"], last["target"], last["detail"]["before"]) == (
        "user.scope",
        "hai.tinh",
        ["04", "08"],
    )


def test_the_admin_page_shows_and_sets_provinces(world: World) -> None:
    s = world.site.services
    s.accounts.add_user("doi.tinh", PW, "viewer", provinces=[B])
    session = login(world.site.url, "doi.tinh", PW)
    admin = login(world.site.url, "admin")
    page = admin.get("/admin/users")
    assert "Tỉnh, thành phố" in page.text and "Đặt phạm vi" in page.text
    r = admin.post(
        "/admin/users/manage",
        data={
            "csrf": csrf_of(page.text),
            "username": "doi.tinh",
            "action": "scope",
            "provinces": "04, 08",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    user = s.accounts.user("doi.tinh")
    assert user is not None and user.scope.provinces == {"04", "08"}
    assert session.get("/", follow_redirects=False).status_code == 303  # must log in again
    row = re.search(
        r"doi\.tinh</td><td[^>]*>viewer</td><td[^>]*>([^<]+)<", admin.get("/admin/users").text
    )
    assert row is not None and row.group(1) == "04, 08"
    last = s.accounts.audit_entries(limit=1)[0]
    assert (last["actor"], last["action"], last["detail"]["provinces"]) == (
        "admin",
        "user.scope",
        ["04", "08"],
    )
    english = admin.get("/admin/users?lang=en").text
    assert "Provinces" in english and "Set the scope" in english
    session.close()
    admin.close()


def test_an_admin_makes_and_revokes_reader_tokens_on_the_page(world: World) -> None:
    s = world.site.services
    admin = login(world.site.url, "tinh12.admin", PW)
    page = admin.get("/admin/users")
    assert "Mã đọc cho hệ thống khác" in page.text
    made = admin.post(
        "/admin/tokens",
        data={"csrf": csrf_of(page.text), "username": "tinh12.canbo", "days": "7", "name": "bc"},
    )
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    shown = re.search(r'id="new-token"[^>]*>[^<]*<code>(iocr_[^<]+)</code>', made.text)
    assert shown is not None
    h = {"Authorization": f"Bearer {shown.group(1)}"}
    summary = httpx.get(f"{world.site.url}/api/v1/summary", headers=h).json()
    assert [p["code"] for p in summary["by_province"]] == [B]
    mine = s.readers.tokens("tinh12.canbo")[0]
    assert (mine["name"], mine["active"]) == ("bc", True)
    assert shown.group(1) not in admin.get("/admin/users").text  # shown once
    revoked = admin.post(
        "/admin/tokens/revoke",
        data={"csrf": csrf_of(page.text), "token_id": str(mine["id"])},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert httpx.get(f"{world.site.url}/api/v1/summary", headers=h).status_code == 401
    long = admin.post(
        "/admin/tokens",
        data={"csrf": csrf_of(page.text), "username": "tinh12.canbo", "days": "9999"},
    )
    assert long.status_code == 400 and "1 to 366" in long.text
    admin.close()
