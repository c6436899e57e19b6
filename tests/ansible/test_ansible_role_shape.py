"""The roles' shape, as the well-kept exporter roles have it: defaults mirrored by argument
specs, generated vars fresh, hardened units, one restart handler, tagged phases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "ansible" / "roles"
ROLE_NAMES = ["ioc_agent", "ioc_collector"]

# argument_specs type -> the Python types a default of that type may have in YAML.
SPEC_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "path": (str,),
    "bool": (bool,),
    "int": (int,),
    "float": (float, int),
    "list": (list,),
    "dict": (dict,),
}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_argument_specs_mirror_defaults(role: str) -> None:
    defaults: dict[str, Any] = _load(ROLES / role / "defaults/main.yml")
    options = _load(ROLES / role / "meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    public = {k: v for k, v in defaults.items() if not k.startswith("_")}
    internal = [k for k in defaults if k.startswith("_")]
    assert sorted(public) == sorted(options)
    assert all(k.startswith(f"{role}_") for k in public)
    assert all(k.startswith(f"_{role}_") for k in internal)
    for name, spec in options.items():
        assert "description" in spec, name
        assert spec["default"] == public[name], name
        # bool is an int in Python: check it exactly.
        value = public[name]
        allowed = SPEC_TYPES[spec["type"]]
        assert isinstance(value, allowed) and (
            spec["type"] == "bool" or not isinstance(value, bool)
        ), (name, spec["type"], value)
        if "choices" in spec:
            assert value in spec["choices"], name


def test_commune_vars_are_generated_from_vietnam_provinces() -> None:
    import importlib.util

    script = ROOT / "ansible/scripts/generate_commune_vars.py"
    spec = importlib.util.spec_from_file_location("generate_commune_vars", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (ROLES / "ioc_agent/vars/main.yml").read_text(encoding="utf-8")
    assert committed == module.render(), "re-run ansible/scripts/generate_commune_vars.py"
    communes = yaml.safe_load(committed)["_ioc_agent_official_communes"]
    assert len(communes) == 3321
    assert communes["00070"] == {"province": "01", "name": "Phường Hoàn Kiếm"}
    assert all(len(code) == 5 and code.isdigit() for code in communes)


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_unit_is_hardened(role: str) -> None:
    unit = next((ROLES / role / "templates").glob("*.service.j2")).read_text()
    assert unit.startswith("{{ ansible_managed | comment }}\n")
    for line in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "Restart=always",
        "ReadWritePaths=",
    ):
        assert f"\n{line}" in unit, line
    install = (ROLES / role / "tasks/install.yml").read_text()
    assert "shell: /usr/sbin/nologin" in install
    assert "system: true" in install


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_phases_are_tagged_and_one_restart_handler(role: str) -> None:
    tasks = _load(ROLES / role / "tasks/main.yml")
    tags = {t for task in tasks for t in task["tags"]}
    assert {"preflight", "install", "configure", "run"} <= tags
    handlers = _load(ROLES / role / "handlers/main.yml")
    restarts = [h["name"] for h in handlers if h["name"].startswith("Restart")]
    # One restart handler per service the role runs: its own, and beside the collector the
    # Zalo bridge and Alertmanager.
    others = ["Restart ioc-zalo-bridge", "Restart prometheus-alertmanager"]
    assert restarts == [f"Restart {role.replace('_', '-')}"] + (
        others if role == "ioc_collector" else []
    )


def test_every_unit_of_the_collector_role_is_hardened() -> None:
    units = sorted((ROLES / "ioc_collector/templates").glob("*.service.j2"))
    assert [u.name for u in units] == ["ioc-collector.service.j2", "ioc-zalo-bridge.service.j2"]
    for unit in units:
        text = unit.read_text()
        assert text.startswith("{{ ansible_managed | comment }}\n")
        for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "Restart=always"):
            assert f"\n{line}" in text, (unit.name, line)


def test_alerting_secrets_are_never_logged() -> None:
    tasks = _load(ROLES / "ioc_collector/tasks/alertmanager.yml") + _load(
        ROLES / "ioc_collector/tasks/zalo.yml"
    )
    secret_vars = (
        "ioc_collector_alert_smtp_password",
        "ioc_collector_zalo_access_token",
        "alerting.yaml.j2",
    )
    holding = [t for t in tasks if any(v in yaml.safe_dump(t) for v in secret_vars)]
    assert len(holding) == 3
    assert all(t.get("no_log") is True for t in holding), [t["name"] for t in holding]


def test_ldap_password_is_never_logged() -> None:
    tasks = _load(ROLES / "ioc_collector/tasks/configure.yml")
    holding = [t for t in tasks if "ioc_collector_ldap_bind_password" in yaml.safe_dump(t)]
    assert [t["name"] for t in holding] == ["Write the LDAP service account's password"]
    assert holding[0]["no_log"] is True


def test_enrollment_code_is_never_logged() -> None:
    tasks = _load(ROLES / "ioc_agent/tasks/configure.yml")
    enroll = next(
        t
        for t in tasks
        if "ansible.builtin.command" in t and "enroll" in t["ansible.builtin.command"]["argv"]
    )
    assert enroll["no_log"] is True
    assert enroll["ansible.builtin.command"]["creates"] == "{{ _ioc_agent_state_file }}"
