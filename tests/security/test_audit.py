"""The audit log records enrollments (code issued, used by which agent and host, refused:
unknown, used or expired; re-enrollment; token revoked) and user changes next to
attestations and waivers; ``ioc-collector audit`` and the /admin/users page show them, and
no secret ever lands in it."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from typing import Any

import httpx
import pytest

from collector.service import Services
from collector.service.identities import code_id, hash_secret
from tests.collector.api.test_ingest_api import report
from tests.conftest import Clock, Collector
from tests.peers.site import login
from tests.security.conftest import BIN, HK, cli_env


def db_arg(services: Services) -> str:
    return services.engine.url.render_as_string(hide_password=False)


def cli(
    services: Services, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ioc-collector"), *args, "--db", db_arg(services)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=120,
        input=stdin,
    )


def entries(services: Services, prefix: str = "") -> list[dict[str, Any]]:
    run = cli(services, "audit", "--json", *(("--action", prefix) if prefix else ()))
    assert run.returncode == 0, run.stderr
    return list(reversed(json.loads(run.stdout)))  # oldest first


def has(detail: dict[str, Any], **expected: Any) -> bool:
    return all(detail.get(k) == v for k, v in expected.items())


def enroll_from(url: str, address: str, code: str, host: str) -> httpx.Response:
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30) as c:
        return c.post(f"{url}/api/v1/enroll", json={"code": code, "host": host})


def test_enrollment_lifecycle_is_audited(collector: Collector, clock: Clock) -> None:
    services, url = collector.services, collector.url
    issued = cli(services, "enrollment-code", "--commune", HK, "--json")
    assert issued.returncode == 0, issued.stderr
    [code] = [c["code"] for c in json.loads(issued.stdout)]
    cid = code_id(hash_secret(code))

    ok = enroll_from(url, "127.0.0.7", code, "pasc-pc-1")
    assert ok.status_code == 201
    agent = ok.json()
    again = enroll_from(url, "127.0.0.8", code, "other-pc")
    assert again.status_code == 403
    unknown = enroll_from(url, "127.0.0.8", "ZZZZ-ZZZZ-ZZZZ", "other-pc")
    assert unknown.status_code == 403
    [(_, stale)] = services.identities.create_enrollment_codes(
        [HK], ttl=timedelta(days=1), actor="admin1"
    )
    clock.advance(days=2)
    expired = enroll_from(url, "127.0.0.8", stale, "other-pc")
    assert expired.status_code == 403 and "expired" in expired.json()["detail"]
    # The same machine enrolls again (reinstalled): the new identity names the old one.
    [(_, fresh)] = services.identities.create_enrollment_codes([HK], actor="admin1")
    re = enroll_from(url, "127.0.0.7", fresh, "pasc-pc-1")
    assert re.status_code == 201
    new_agent = re.json()

    log = entries(services, "enroll")
    assert [e["action"] for e in log] == [
        "enroll.code_issued",
        "enroll",
        "enroll.refused",
        "enroll.refused",
        "enroll.code_issued",
        "enroll.refused",
        "enroll.code_issued",
        "enroll.reenroll",
    ]
    first_issue, used, refused_used, refused_unknown, _, refused_expired, _, reenroll = log
    assert first_issue["actor"].startswith("cli") and first_issue["target"] == HK
    assert first_issue["detail"]["code_id"] == cid
    assert used["actor"] == agent["agent_id"] and used["target"] == HK
    assert has(used["detail"], code_id=cid, host="pasc-pc-1", client="127.0.0.7")
    assert has(
        refused_used["detail"], reason="used", code_id=cid, host="other-pc", client="127.0.0.8"
    )
    assert refused_used["actor"] == "127.0.0.8" and refused_used["target"] == HK
    assert refused_unknown["detail"]["reason"] == "unknown" and refused_unknown["target"] == ""
    assert refused_expired["detail"]["reason"] == "expired"
    assert refused_expired["detail"]["code_id"] == code_id(hash_secret(stale))
    assert reenroll["actor"] == new_agent["agent_id"]
    assert reenroll["detail"]["replaces"] == [agent["agent_id"]]

    # Revoking the old token (from the command line) is audited and takes effect at once.
    revoked = cli(services, "agents", "revoke", agent["agent_id"], "--reason", "PC reinstalled")
    assert revoked.returncode == 0, revoked.stderr
    twice = cli(services, "agents", "revoke", agent["agent_id"])
    assert twice.returncode == 1 and "no agent" in twice.stderr and "Traceback" not in twice.stderr
    [rev] = entries(services, "agent.")
    assert rev["action"] == "agent.revoke" and rev["target"] == HK
    assert has(rev["detail"], agent_id=agent["agent_id"], host="pasc-pc-1", reason="PC reinstalled")
    r = httpx.post(
        f"{url}/api/v1/reports",
        json={"reports": [report(agent, 1)]},
        headers={"Authorization": f"Bearer {agent['token']}"},
    )
    assert r.status_code == 401
    listed = cli(services, "agents", "list", "--json")
    assert [a["agent_id"] for a in json.loads(listed.stdout)] == [new_agent["agent_id"]]

    # No code or token in the audit log, in any form.
    text = json.dumps(entries(services))
    for secret in (code, stale, fresh, agent["token"], new_agent["token"]):
        assert secret not in text and secret.replace("-", "") not in text


def test_user_changes_and_logins_are_audited(collector: Collector) -> None:
    services, url = collector.services, collector.url
    added = cli(
        services,
        "user",
        "add",
        "--username",
        "admin1",
        "--role",
        "admin",
        "--password-stdin",
        stdin="quan-tri-vien-1\n",
    )
    assert added.returncode == 0, added.stderr
    admin = login(url, "admin1", "quan-tri-vien-1")
    form = admin.get("/admin/users")
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    made = admin.post(
        "/admin/users",
        data={"csrf": csrf, "username": "canbo.xa", "password": "mat-khau-canbo", "role": "viewer"},
    )
    assert made.status_code == 303
    accounts = services.accounts
    accounts.set_disabled("canbo.xa", True, actor="admin1")
    accounts.set_disabled("canbo.xa", False, actor="admin1")
    assert accounts.login("canbo.xa", "sai-mat-khau") is None

    log = [(e["actor"], e["action"], e["target"]) for e in entries(services)]
    assert log == [
        ("cli", "user.add", "admin1"),
        ("admin1", "login", ""),
        ("admin1", "user.add", "canbo.xa"),
        ("admin1", "user.disable", "canbo.xa"),
        ("admin1", "user.enable", "canbo.xa"),
        ("canbo.xa", "login.failed", ""),
    ]
    page = admin.get("/admin/users?lang=en")
    assert page.status_code == 200
    for action in ("user.add", "user.disable", "user.enable", "login.failed"):
        assert action in page.text
    text = json.dumps(entries(services)) + page.text
    for secret in ("quan-tri-vien-1", "mat-khau-canbo", "sai-mat-khau"):
        assert secret not in text
    admin.close()


def test_attestations_waivers_and_enrollments_share_one_log(collector: Collector) -> None:
    services, url = collector.services, collector.url
    [(_, code)] = services.identities.create_enrollment_codes([HK], actor="admin1")
    assert httpx.post(f"{url}/api/v1/enroll", json={"code": code, "host": "pc"}).status_code == 201
    services.attestations.record_attestation(
        commune=HK,
        criterion="ATT-01",
        status="pass",
        evidence="Quyết định số 12/QĐ-UBND",
        actor="operator1",
    )
    services.attestations.record_waiver(
        commune=HK,
        criterion="NET-01",
        reason="Đang nâng cấp đường truyền",
        actor="operator1",
        valid_days=30,
    )
    commune_log = [e["action"] for e in reversed(services.accounts.audit_entries(target=HK))]
    assert commune_log == ["enroll.code_issued", "enroll", "attestation.add", "waiver.add"]


@pytest.mark.parametrize("bad", ["--limit=0", "--db=postgresql://u:pw-secret@/x?host=/nonexistent"])
def test_audit_cli_errors_are_one_clear_line(bad: str, tmp_path) -> None:
    run = subprocess.run(
        [str(BIN / "ioc-collector"), "audit", bad],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
        cwd=tmp_path,
    )
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert "pw-secret" not in run.stderr + run.stdout
