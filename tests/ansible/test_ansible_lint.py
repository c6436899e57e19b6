"""ansible-lint (production profile), the playbooks' syntax, the molecule scenario."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.ansible.conftest import ANSIBLE_DIR, ansible_env, ansible_tool, free_port


@pytest.mark.timeout(600)
def test_ansible_lint_production_profile_is_clean(tmp_path: Path) -> None:
    lint = ansible_tool("ansible-lint")
    proc = subprocess.run(
        [lint, "--profile", "production", "--nocolor", "--offline", "."],
        cwd=ANSIBLE_DIR,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "Passed" in out and "production" in out, out[-2000:]


@pytest.mark.parametrize("playbook", ["site.yml", "agents.yml", "collector.yml", "wheelhouse.yml"])
def test_playbook_syntax(playbook: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [ansible_tool("ansible-playbook"), "--syntax-check", playbook],
        cwd=ANSIBLE_DIR,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_molecule_scenario_of_the_agent_role(wheelhouse: Path, tmp_path: Path) -> None:
    """`molecule test` of ansible/roles/ioc_agent: delegated driver, connection local into a
    prefix, a collector prepared with the ioc_collector role, converge, idempotence, verify
    (the installed agent's report reaches the collector's summary)."""
    molecule = ansible_tool("molecule")
    env = ansible_env(tmp_path)
    env["IOC_WHEELHOUSE_ARCHIVE"] = str(wheelhouse)
    env["IOC_MOLECULE_PORT"] = str(free_port())
    proc = subprocess.run(
        [molecule, "test"],
        cwd=ANSIBLE_DIR / "roles/ioc_agent",
        env=env,
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-8000:]
    for action in ("prepare", "converge", "idempotence", "verify"):
        assert re.search(rf"{action}\W+Executed: Successful", out), (action, out[-4000:])


def test_example_inventory_groups_agents_by_province_and_commune(tmp_path: Path) -> None:
    import json

    import yaml

    proc = subprocess.run(
        [ansible_tool("ansible-inventory"), "-i", "inventory/example/hosts.yml", "--list"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    inv = json.loads(proc.stdout)
    hostvars = inv["_meta"]["hostvars"]
    communes = yaml.safe_load(
        (ANSIBLE_DIR / "roles/ioc_agent/vars/main.yml").read_text(encoding="utf-8")
    )["_ioc_agent_official_communes"]
    provinces = inv["ioc_agents"]["children"]
    assert provinces and all(p.startswith("province_") for p in provinces)
    agents = [h for p in provinces for c in inv[p]["children"] for h in inv[c]["hosts"]]
    assert len(agents) >= 2
    for host in agents:
        code = hostvars[host]["ioc_agent_commune_code"]
        assert isinstance(code, str) and code in communes, (host, code)
        assert communes[code]["province"] == hostvars[host]["ioc_agent_province_code"]
    assert inv["ioc_collectors"]["hosts"]
