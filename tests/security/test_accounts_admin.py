"""Admins disable and enable users, reset passwords and end sessions, from the CLI and from
/admin/users, each audited; a disabled user's open sessions stop working at once. Logins are
throttled per account whatever the address, without locking the owner out of an address
they logged in from."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
from click.testing import CliRunner, Result

from collector.cli import main
from collector.service import Services
from tests.conftest import Collector, app_config
from tests.peers.site import login
from tests.security.test_ratelimit import from_address

ADMIN_PW = "quan-tri-vien-1"
USER_PW = "mat-khau-canbo"


def run(services: Services, *args: str, input: str | None = None) -> Result:
    db = services.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(main, [*args, "--db", db], input=input)


def actions(services: Services) -> list[tuple[str, str, str]]:
    return [
        (e["actor"], e["action"], e["target"])
        for e in reversed(services.accounts.audit_entries(action_prefix="user."))
    ]


def opens(client: httpx.Client) -> bool:
    """Whether the client's session still opens a page (not sent to the login form)."""
    r = client.get("/", follow_redirects=False)
    return r.status_code == 200


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_cli_disable_enable_reset_and_end_sessions(collector: Collector, tmp_path: Path) -> None:
    services, url = collector.services, collector.url
    services.accounts.add_user("canbo.xa", USER_PW, "viewer")
    session = login(url, "canbo.xa", USER_PW)
    assert opens(session)

    off = run(services, "user", "disable", "canbo.xa")
    assert off.exit_code == 0, off.output
    assert "user canbo.xa disabled" in off.output and "đã khoá" in off.output
    assert not opens(session)  # the open session stopped working at once
    assert services.accounts.login("canbo.xa", USER_PW) is None
    listed = json.loads(run(services, "user", "list", "--json").output)
    assert listed[0]["disabled"] is True

    on = run(services, "user", "enable", "canbo.xa")
    assert on.exit_code == 0, on.output
    session = login(url, "canbo.xa", USER_PW)

    ended = run(services, "user", "end-sessions", "canbo.xa")
    assert ended.exit_code == 0, ended.output
    assert "1 session(s) of canbo.xa ended" in ended.output
    assert not opens(session)
    session = login(url, "canbo.xa", USER_PW)

    reset = run(services, "user", "reset-password", "canbo.xa")
    assert reset.exit_code == 0, reset.output
    [new] = re.findall(r"new password \(shown once\): (\S+)", reset.output)
    assert not opens(session)
    assert services.accounts.login("canbo.xa", USER_PW) is None
    assert services.accounts.login("canbo.xa", new) is not None

    pw_file = tmp_path / "pw"
    pw_file.write_text("mat-khau-tu-tep\n")
    from_file = run(services, "user", "reset-password", "canbo.xa", "--password-file", str(pw_file))
    assert from_file.exit_code == 0, from_file.output
    assert "mat-khau-tu-tep" not in from_file.output and "shown once" not in from_file.output
    assert services.accounts.login("canbo.xa", "mat-khau-tu-tep") is not None

    asked = run(
        services,
        "user",
        "reset-password",
        "canbo.xa",
        "--prompt",
        input="mat-khau-hoi-1\nmat-khau-hoi-1\n",
    )
    assert asked.exit_code == 0, asked.output
    assert services.accounts.login("canbo.xa", "mat-khau-hoi-1") is not None

    assert actions(services) == [
        ("cli", "user.add", "canbo.xa"),
        ("cli", "user.disable", "canbo.xa"),
        ("cli", "user.enable", "canbo.xa"),
        ("cli", "user.end_sessions", "canbo.xa"),
        ("cli", "user.password_reset", "canbo.xa"),
        ("cli", "user.password_reset", "canbo.xa"),
        ("cli", "user.password_reset", "canbo.xa"),
    ]
    log = json.dumps(services.accounts.audit_entries())
    for secret in (USER_PW, new, "mat-khau-tu-tep", "mat-khau-hoi-1"):
        assert secret not in log


def test_cli_refusals_are_one_clear_line(services: Services, tmp_path: Path) -> None:
    services.accounts.add_user("canbo.xa", USER_PW, "viewer")
    for cmd in ("disable", "enable", "end-sessions", "reset-password"):
        r = run(services, "user", cmd, "khong-co")
        assert r.exit_code == 1, r.output
        assert "no user 'khong-co'" in r.output and "Traceback" not in r.output
    short = tmp_path / "short"
    short.write_text("ngan\n")
    r = run(services, "user", "reset-password", "canbo.xa", "--password-file", str(short))
    assert r.exit_code == 1 and "too short" in r.output
    missing = run(
        services, "user", "reset-password", "canbo.xa", "--password-file", str(tmp_path / "x")
    )
    assert missing.exit_code == 1 and "cannot read the password file" in missing.output
    assert services.accounts.login("canbo.xa", USER_PW) is not None


def test_admin_page_manages_users(collector: Collector) -> None:
    services, url = collector.services, collector.url
    services.accounts.add_user("admin1", ADMIN_PW, "admin")
    services.accounts.add_user("canbo.xa", USER_PW, "viewer")
    admin = login(url, "admin1", ADMIN_PW)
    user = login(url, "canbo.xa", USER_PW)
    token = csrf(admin.get("/admin/users").text)

    def manage(action: str, username: str = "canbo.xa", **extra: str) -> httpx.Response:
        data = {"csrf": token, "action": action, "username": username, **extra}
        return admin.post("/admin/users/manage?lang=en", data=data)

    forged = admin.post(
        "/admin/users/manage", data={"csrf": "x", "action": "disable", "username": "canbo.xa"}
    )
    assert forged.status_code == 400 and opens(user)
    viewer_token = csrf(user.get("/").text)
    refused = user.post(
        "/admin/users/manage",
        data={"csrf": viewer_token, "action": "disable", "username": "admin1"},
    )
    assert refused.status_code == 403

    assert manage("disable").status_code == 303
    assert not opens(user)
    assert "disabled" in admin.get("/admin/users?lang=en").text
    assert manage("enable").status_code == 303
    user = login(url, "canbo.xa", USER_PW)
    assert manage("end-sessions").status_code == 303
    assert not opens(user)

    user = login(url, "canbo.xa", USER_PW)
    shown = manage("reset-password")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    found = re.search(r'id="new-password".*?<code>([^<]+)</code>', shown.text)
    assert found is not None and "New password of canbo.xa (shown once)" in shown.text
    assert not opens(user)
    login(url, "canbo.xa", found.group(1)).close()
    assert found.group(1) not in admin.get("/admin/users").text  # shown once only

    assert manage("reset-password", password="mat-khau-admin-dat").status_code == 303
    login(url, "canbo.xa", "mat-khau-admin-dat").close()

    assert manage("disable", username="admin1").status_code == 400  # not oneself
    assert manage("disable", username="khong-co").status_code == 400
    assert manage("explode").status_code == 400
    vi = admin.get("/admin/users?lang=vi")
    assert "Khoá" in vi.text and "Đặt lại mật khẩu" in vi.text and "Kết thúc mọi phiên" in vi.text

    assert actions(services)[2:] == [
        ("admin1", "user.disable", "canbo.xa"),
        ("admin1", "user.enable", "canbo.xa"),
        ("admin1", "user.end_sessions", "canbo.xa"),
        ("admin1", "user.password_reset", "canbo.xa"),
        ("admin1", "user.password_reset", "canbo.xa"),
    ]
    log = json.dumps(services.accounts.audit_entries())
    assert found.group(1) not in log and "mat-khau-admin-dat" not in log
    admin.close()
    user.close()


def test_password_guessing_is_slowed_per_account(serve, services: Services) -> None:
    services.accounts.add_user("canbo", "dung-mat-khau-1", "viewer")
    services.accounts.add_user("khac", "dung-mat-khau-2", "viewer")
    url = serve(
        app_config(
            auth_failures_per_min=30,
            auth_failures_burst=3,
            auth_failures_per_account_per_min=30,
            auth_failures_per_account_burst=4,
        )
    )

    def attempt(address: str, password: str, username: str = "canbo") -> httpx.Response:
        with from_address(address) as client:
            form = client.get(f"{url}/login?lang=en")
            return client.post(
                f"{url}/login?lang=en",
                data={
                    "csrf": csrf(form.text),
                    "username": username,
                    "password": password,
                    "next": "/",
                },
            )

    # The owner logged in from their office once: that address is known for the account.
    assert attempt("127.0.0.20", "dung-mat-khau-1").status_code == 303
    # Four failures, each from another address: no address reaches its own limit...
    codes = [attempt(f"127.0.1.{i}", f"sai-{i}").status_code for i in range(4)]
    assert codes == [401] * 4
    # ...but the account's is spent: a fifth address is refused, even with the password.
    blocked = attempt("127.0.1.99", "dung-mat-khau-1")
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "2"
    assert "Too many failed logins to this account: try again in 2 s." in blocked.text
    assert "ioc_session" not in blocked.cookies
    # Neither the owner at the known address nor another account is locked out.
    assert attempt("127.0.0.20", "dung-mat-khau-1").status_code == 303
    assert attempt("127.0.1.98", "dung-mat-khau-2", "khac").status_code == 303
    # The limit is a window, not a lock: once it refills, any address may try again.
    time.sleep(2.2)
    assert attempt("127.0.1.97", "dung-mat-khau-1").status_code == 303
