"""Reader tokens: made for a user from the CLI, shown once and stored hashed, read the JSON
API and the report downloads as that user (role and provinces), never change anything, and
stop at revocation, at expiry and while the user is disabled; each step audited."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from click.testing import CliRunner, Result
from sqlalchemy import select

from collector.cli import main
from collector.service import Services
from collector.storage import schema as db
from tests.conftest import Collector, app_config
from tests.security.test_ratelimit import new_agent

PW = "mat-khau-doc-1"
HK = "00070"  # Phường Hoàn Kiếm, Hà Nội (01)


def run(services: Services, *args: str) -> Result:
    url = services.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(main, [*args, "--db", url])


def make_token(services: Services, *args: str) -> str:
    r = run(services, "token", "create", *args)
    assert r.exit_code == 0, r.output
    token = r.stdout.strip().splitlines()[-1]
    assert token.startswith("iocr_") and len(token) > 40
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refusals(services: Services) -> list[str]:
    return [
        e["detail"]["reason"]
        for e in reversed(services.accounts.audit_entries(action_prefix="token.refused"))
    ]


def test_a_token_reads_the_api_and_reports_as_its_user(collector: Collector) -> None:
    s, url = collector.services, collector.url
    s.accounts.add_user("he-thong", PW, "viewer")
    token = make_token(s, "--user", "he-thong", "--days", "30", "--name", "quoc-gia")
    h = bearer(token)
    summary = httpx.get(f"{url}/api/v1/summary", headers=h)
    assert summary.status_code == 200 and summary.json()["provinces"] == 34
    assert httpx.get(f"{url}/api/v1/communes/{HK}", headers=h).json()["province_code"] == "01"
    csv = httpx.get(
        f"{url}/reports", params={"scope": "province", "code": "01", "format": "csv"}, headers=h
    )
    assert csv.status_code == 200 and "Hoàn Kiếm" in csv.text
    # read-only: no page, no form, no admin action opens to it
    for path in ("/", "/province/01", f"/commune/{HK}", "/history", "/admin/users"):
        assert httpx.get(url + path, headers=h).status_code == 401, path
    for path in (f"/commune/{HK}/attestations", f"/commune/{HK}/waivers", "/admin/users"):
        assert httpx.post(url + path, headers=h, data={"csrf": ""}).status_code == 401, path
    # stored hashed: the token is nowhere in the database, its SHA-256 is
    with s.database.read() as conn:
        [stored] = conn.execute(select(db.reader_tokens)).all()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(s.accounts.audit_entries())
    [listed] = json.loads(run(s, "token", "list", "--json").output)
    assert (listed["username"], listed["name"], listed["active"]) == ("he-thong", "quoc-gia", True)
    assert token not in run(s, "token", "list").output


def test_a_token_inherits_its_users_provinces(collector: Collector) -> None:
    s, url = collector.services, collector.url
    s.accounts.add_user("caobang.script", PW, "operator", provinces=["04"])
    h = bearer(make_token(s, "--user", "caobang.script"))
    summary = httpx.get(f"{url}/api/v1/summary", headers=h).json()
    assert [p["code"] for p in summary["by_province"]] == ["04"]
    assert httpx.get(f"{url}/api/v1/communes/{HK}", headers=h).status_code == 403
    hanoi = httpx.get(f"{url}/reports", params={"scope": "province", "code": "01"}, headers=h)
    assert hanoi.status_code == 403
    mine = httpx.get(f"{url}/reports", params={"format": "csv"}, headers=h)
    assert mine.status_code == 200 and "Cao Bằng" in mine.text and "Hà Nội" not in mine.text


def test_revoked_expired_and_disabled_tokens_are_refused_and_audited(
    collector: Collector,
) -> None:
    s, url = collector.services, collector.url
    s.accounts.add_user("script", PW, "viewer")
    revoked = make_token(s, "--user", "script", "--days", "1")
    expiring = make_token(s, "--user", "script", "--days", "2")
    kept = make_token(s, "--user", "script", "--days", "30")
    rid = s.readers.tokens()[-1]["id"]  # newest first: the first made is last
    out = run(s, "token", "revoke", str(rid))
    assert out.exit_code == 0 and f"reader token {rid} of script revoked" in out.output
    r = httpx.get(f"{url}/api/v1/summary", headers=bearer(revoked))
    assert r.status_code == 401 and "revoked reader token" in r.json()["detail"]
    assert httpx.get(f"{url}/api/v1/summary", headers=bearer(expiring)).status_code == 200
    collector.clock.advance(days=3)
    assert httpx.get(f"{url}/api/v1/summary", headers=bearer(expiring)).status_code == 401
    assert httpx.get(f"{url}/api/v1/summary", headers=bearer(kept)).status_code == 200
    s.accounts.set_disabled("script", True, "cli")
    assert httpx.get(f"{url}/api/v1/summary", headers=bearer(kept)).status_code == 401
    agent = new_agent(url, s)
    assert httpx.get(f"{url}/api/v1/summary", headers=bearer(agent["token"])).status_code == 401
    assert refusals(s) == ["revoked", "expired", "user disabled", "unknown"]
    actions = [e["action"] for e in reversed(s.accounts.audit_entries(action_prefix="token."))]
    assert actions[:4] == ["token.create", "token.create", "token.create", "token.revoke"]
    log = json.dumps(s.accounts.audit_entries())
    for secret in (revoked, expiring, kept, agent["token"]):
        assert secret not in log


def test_cli_refusals_are_clear(collector: Collector) -> None:
    s = collector.services
    s.accounts.add_user("script", PW, "viewer")
    long = run(s, "token", "create", "--user", "script", "--days", "4000")
    assert long.exit_code == 1 and "1 to 366" in long.output and "Traceback" not in long.output
    nobody = run(s, "token", "create", "--user", "khong-co")
    assert nobody.exit_code == 1 and "no user 'khong-co'" in nobody.output
    missing = run(s, "token", "revoke", "999")
    assert missing.exit_code == 1 and "no reader token 999" in missing.output
    assert s.readers.tokens() == []


def test_guessed_tokens_are_slowed_per_address(serve: Any, services: Services) -> None:
    from tests.security.test_ratelimit import rate_limited

    url = serve(app_config(auth_failures_per_min=30, auth_failures_burst=2))
    services.accounts.add_user("script", PW, "viewer")
    good = make_token(services, "--user", "script")
    guesses = [
        httpx.get(f"{url}/api/v1/summary", headers=bearer(f"iocr_doan-{i}")).status_code
        for i in range(2)
    ]
    assert guesses == [401, 401]
    held = httpx.get(f"{url}/api/v1/summary", headers=bearer(good))
    assert held.status_code == 429 and held.headers["Retry-After"] == "2"
    assert rate_limited(url)["reader"] == 1.0
    assert refusals(services) == ["unknown", "unknown"]
