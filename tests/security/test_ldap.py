"""Officials log in with their directory account (a real slapd on loopback): role and
provinces come from their groups (highest role, union of provinces, a group without
provinces is national), no mapped group is refused with a clear message, local users still
log in, and the service account's password is never logged."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.service import Services
from collector.service.accounts import LoginRefused
from tests.conftest import app_config
from tests.peers.site import csrf_of
from tests.peers.slapd import (
    GROUPS,
    SUFFIX,
    Slapd,
    group,
    hashed,
    person,
    posix_group,
    start_slapd,
)

SERVICE_DN = f"cn=ioc-collector,{SUFFIX}"
SERVICE_PW = "dich-vu-bi-mat-9f3a"
PW = {
    "canbo04": "mat-khau-cao-bang",
    "tinh0408": "mat-khau-hai-tinh",
    "quanly": "mat-khau-quoc-gia",
    "laichau": "mat-khau-lai-chau",
    "khongnhom": "mat-khau-khong-nhom",
}


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    try:
        server.ldif(
            f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\n"
            f"objectClass: simpleSecurityObject\ncn: ioc-collector\n"
            f"userPassword: {hashed(SERVICE_PW)}\n\n"
            + "\n".join(person(uid, pw, f"Can bo {uid}") for uid, pw in PW.items())
            + "\n"
            + group("ioc-caobang-xem", ["canbo04", "tinh0408"])
            + "\n"
            + group("ioc-tinh08-vanhanh", ["tinh0408"])
            + "\n"
            + group("ioc-quantri", ["quanly"])
            + "\n"
            + group("nhom-khac", ["khongnhom"])
            + "\n"
            + posix_group("ioc-laichau", 5012, ["laichau"])
        )
        yield server
    finally:
        server.stop()


def ldap_config(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "url": url,
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_PW,
        "user_base": f"ou=people,{SUFFIX}",
        "groups": [
            {"dn": f"cn=ioc-caobang-xem,{GROUPS}", "role": "viewer", "provinces": ["04"]},
            {"dn": f"cn=ioc-tinh08-vanhanh,{GROUPS}", "role": "operator", "provinces": ["08"]},
            {"dn": f"cn=ioc-quantri,{GROUPS}", "role": "admin"},
            {"dn": f"cn=ioc-laichau,{GROUPS}", "role": "viewer", "provinces": ["12"]},
        ],
        **extra,
    }


@pytest.fixture
def served(services: Services, slapd: Slapd) -> Iterator[str]:
    app = create_app(services, app_config(ldap=ldap_config(slapd.url)))
    with BackgroundServer(app) as url:
        yield url


def form_login(url: str, username: str, password: str) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=url, timeout=30)
    csrf = csrf_of(client.get("/login").text)
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf": csrf, "next": "/"}
    )
    return client, r


def test_groups_give_role_and_provinces(services: Services, served: str) -> None:
    client, r = form_login(served, "canbo04", PW["canbo04"])
    assert r.status_code == 303, r.text
    assert client.get("/province/04").status_code == 200
    assert client.get("/province/01").status_code == 403
    client.close()
    users = {u["username"]: u for u in services.accounts.list_users()}
    assert (users["canbo04"]["role"], users["canbo04"]["provinces"]) == ("viewer", ["04"])

    two = services.accounts.login("tinh0408", PW["tinh0408"])
    assert two is not None
    assert two[1].user.role.value == "operator"  # the highest of viewer and operator
    assert two[1].user.scope.provinces == {"04", "08"}
    admin = services.accounts.login("quanly", PW["quanly"])
    assert admin is not None and admin[1].user.role.value == "admin"
    assert admin[1].user.scope.national
    posix = services.accounts.login("laichau", PW["laichau"])
    assert posix is not None and posix[1].user.scope.provinces == {"12"}
    synced = [e for e in services.accounts.audit_entries() if e["action"] == "user.ldap"]
    assert {e["target"] for e in synced} == {"canbo04", "tinh0408", "quanly", "laichau"}


def test_no_mapped_group_is_refused_with_a_clear_message(services: Services, served: str) -> None:
    client, r = form_login(served, "khongnhom", PW["khongnhom"])
    assert r.status_code == 403
    assert "không thuộc nhóm nào được cấp quyền" in r.text
    assert "ioc_session" not in client.cookies
    client.close()
    assert all(u["username"] != "khongnhom" for u in services.accounts.list_users())
    [refused] = services.accounts.audit_entries(action_prefix="login.refused")
    assert refused["actor"] == "khongnhom"


def test_wrong_or_empty_password_and_unknown_name(services: Services, served: str) -> None:
    for username, password in (("canbo04", "sai-mat-khau"), ("canbo04", ""), ("khong-co", "x")):
        assert services.accounts.authenticate(username, password) is None
    _, r = form_login(served, "canbo04", "sai-mat-khau")
    assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu." in r.text
    assert services.accounts.list_users() == []


def test_a_group_change_is_taken_at_the_next_login(services: Services, slapd: Slapd) -> None:
    create_app(services, app_config(ldap=ldap_config(slapd.url)))
    assert services.accounts.login("tinh0408", PW["tinh0408"]) is not None
    slapd.ldif(
        f"dn: cn=ioc-tinh08-vanhanh,{GROUPS}\nchangetype: modify\n"
        f"delete: member\nmember: uid=tinh0408,ou=people,{SUFFIX}\n"
        f"-\nadd: member\nmember: uid=quanly,ou=people,{SUFFIX}\n",
        modify=True,
    )
    try:
        user = services.accounts.user("tinh0408")
        assert user is not None and user.scope.provinces == {"04", "08"}
        again = services.accounts.login("tinh0408", PW["tinh0408"])
        assert again is not None
        assert (again[1].user.role.value, again[1].user.scope.provinces) == ("viewer", {"04"})
    finally:
        slapd.ldif(
            f"dn: cn=ioc-tinh08-vanhanh,{GROUPS}\nchangetype: modify\n"
            f"add: member\nmember: uid=tinh0408,ou=people,{SUFFIX}\n"
            f"-\ndelete: member\nmember: uid=quanly,ou=people,{SUFFIX}\n",
            modify=True,
        )


def test_local_users_still_log_in_and_a_disabled_one_stays_out(
    services: Services, slapd: Slapd
) -> None:
    create_app(services, app_config(ldap=ldap_config(slapd.url)))
    services.accounts.add_user("xa.nho", "mat-khau-cuc-bo", "operator", provinces=["12"])
    local = services.accounts.login("xa.nho", "mat-khau-cuc-bo")
    assert local is not None and local[1].user.scope.provinces == {"12"}
    assert services.accounts.login("canbo04", PW["canbo04"]) is not None
    services.accounts.set_disabled("canbo04", True, "cli")
    assert services.accounts.login("canbo04", PW["canbo04"]) is None


def test_directory_down_says_so(services: Services, slapd: Slapd) -> None:
    from tests.peers.slapd import free_port

    closed = f"ldap://127.0.0.1:{free_port()}"
    create_app(services, app_config(ldap=ldap_config(closed, timeout_s=2)))
    with pytest.raises(LoginRefused) as refused:
        services.accounts.login("canbo04", PW["canbo04"])
    assert refused.value.key == "ldap_unavailable"


def test_the_service_password_is_never_logged(
    services: Services, slapd: Slapd, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_file = tmp_path / "bind"
    secret_file.write_text(SERVICE_PW + "\n")
    config = app_config(
        ldap=ldap_config(slapd.url, bind_password=None, bind_password_file=str(secret_file))
    )
    create_app(services, config)
    assert services.accounts.login("quanly", PW["quanly"]) is not None
    assert services.accounts.login("quanly", "sai") is None
    shown = repr(config) + config.model_dump_json() + caplog.text
    shown += json.dumps(services.accounts.audit_entries())
    assert SERVICE_PW not in shown and PW["quanly"] not in shown
