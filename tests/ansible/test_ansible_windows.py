"""The Windows path of the agent role, checked on Linux: the Windows inventory passes
`ansible-playbook --syntax-check` with the ansible.windows modules resolved, and the
PowerShell scripts the bundle ships keep the rules an administrator relies on (no pwsh
here to parse them: a small lexer checks that their brackets and quotes balance)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ansible.conftest import ANSIBLE_DIR, ansible_env, ansible_tool

ROOT = ANSIBLE_DIR.parent
WINDOWS = ANSIBLE_DIR / "roles/ioc_agent/files/windows"
SCRIPTS = ["install.ps1", "uninstall.ps1"]
INVENTORY = "inventory/example/windows.yml"


def test_windows_inventory_passes_the_syntax_check(tmp_path: Path) -> None:
    proc = subprocess.run(
        [ansible_tool("ansible-playbook"), "--syntax-check", "-i", INVENTORY, "agents.yml"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ansible_windows_collection_is_installed(tmp_path: Path) -> None:
    proc = subprocess.run(
        [ansible_tool("ansible-doc"), "--json", "ansible.windows.win_powershell"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["ansible.windows.win_powershell"]["doc"]
    assert {"script", "parameters"} <= set(doc["options"])


def test_windows_inventory_names_official_communes(tmp_path: Path) -> None:
    proc = subprocess.run(
        [ansible_tool("ansible-inventory"), "-i", INVENTORY, "--list"],
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
    assert len(hostvars) >= 2
    for host, hv in hostvars.items():
        assert hv["ansible_shell_type"] == "powershell" and hv["ioc_become"] is False, host
        assert communes[hv["ioc_agent_commune_code"]]["province"] == hv["ioc_agent_province_code"]


# --------------------------------------------------------------------------- PowerShell


#: PowerShell's comments and strings ('…' with '' escapes, "…" with ` escapes), brackets,
#: and last a quote or comment opener that nothing closes.
_TOKEN = re.compile(
    r"""<\#.*?\#>|\#[^\n]*|'(?:[^']|'')*'|"(?:[^"`]|`.)*"|[(){}\[\]]|<\#|['"]""", re.S
)
_PAIRS = {")": "(", "}": "{", "]": "["}


def tokens_balance(text: str) -> list[str]:
    """Problems with the brackets and quotes of a PowerShell script: (), {}, [] must nest
    outside strings and comments, and every string and block comment must be closed."""
    problems: list[str] = []
    stack: list[tuple[str, int]] = []
    for m in _TOKEN.finditer(text):
        tok, line = m.group(), text.count("\n", 0, m.start()) + 1
        if tok in ("'", '"', "<#"):
            problems.append(f"line {line}: unclosed {tok}")
        elif tok in "({[":
            stack.append((tok, line))
        elif tok in _PAIRS:
            if stack and stack[-1][0] == _PAIRS[tok]:
                stack.pop()
            else:
                problems.append(f"line {line}: unexpected {tok}")
    return problems + [f"line {ln}: unclosed {ch}" for ch, ln in stack]


def test_the_lexer_finds_unbalanced_scripts() -> None:
    assert tokens_balance("if ($a) { 'x(' } # )") == []
    assert tokens_balance("if ($a { 'x' }") != []
    assert tokens_balance("Say 'it''s' \"a `\" b\"") == []
    assert tokens_balance("Say 'open") == ["line 1: unclosed '"]
    assert tokens_balance("<# help\n(\n") == ["line 1: unclosed <#", "line 2: unclosed ("]


@pytest.mark.parametrize("name", SCRIPTS)
def test_scripts_are_strict_and_balanced(name: str) -> None:
    text = (WINDOWS / name).read_text(encoding="utf-8")
    assert "[CmdletBinding(" in text
    assert "Set-StrictMode -Version Latest" in text
    assert "$ErrorActionPreference = 'Stop'" in text
    assert tokens_balance(text) == []
    # Every message to the administrator is in Vietnamese and English.
    joined = re.sub(r"`\r?\n\s*", " ", text)
    calls = re.findall(r"^\s*(?:Say|Fail) (.*)$", joined, re.M)
    assert calls
    for call in calls:
        args = re.findall(r"'[^']*'|\"[^\"]*\"", call)
        assert len(args) == 2 and all(len(a) > 2 for a in args), call


def script_params(name: str) -> list[str]:
    text = (WINDOWS / name).read_text(encoding="utf-8")
    block = text[text.index("param(") : text.index("Set-StrictMode")]
    return re.findall(r"\]\s*\$([A-Z]\w+)", block)


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_parameter_is_documented_in_the_help_and_the_readme(name: str) -> None:
    text = (WINDOWS / name).read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    params = script_params(name)
    assert params
    for param in params:
        assert f".PARAMETER {param}" in text, param
        assert f"-{param}" in readme, f"README does not mention {name} -{param}"


def test_install_script_sets_the_service_and_acl_as_documented() -> None:
    text = (WINDOWS / "install.ps1").read_text(encoding="utf-8")
    # Well-known SIDs, not names (localized on a Vietnamese Windows); inheritance removed.
    assert "'*S-1-5-18'" in text and "'*S-1-5-32-544'" in text
    assert "'/inheritance:r', '/grant:r'" in text and "(OI)(CI)F" in text
    assert "'restart/60000/restart/60000/restart/60000'" in text and "'86400'" in text
    assert "'delayed-auto'" in text and "'--startup', 'delayed'" in text
    # It installs from the bundle only, and what it needs from the bundle is built into it.
    assert "'--no-index', '--find-links', $Bundle" in text
    for pattern in re.findall(r"'((?:commune_ioc|pip)-\*\.whl)'", text):
        assert pattern in {"commune_ioc-*.whl", "pip-*.whl"}
    bundle_script = (ANSIBLE_DIR / "scripts/windows_bundle.py").read_text(encoding="utf-8")
    assert 'ROOTS = (PROJECT, "pip")' in bundle_script
    # Windows PowerShell 5.1 strips double quotes from a native program's arguments.
    one_liners = re.findall(r"-c'?,? '([^']*)'", text)
    assert one_liners and not [c for c in one_liners if '"' in c]
    # The service reads the configuration it wrote, and enrollment happens only once.
    assert "IOC_AGENT_CONFIG=$Config" in text
    assert "Test-Path (Join-Path $DataDir 'agent.json')" in text


def test_windows_tasks_are_tagged_by_phase_and_never_log_the_code() -> None:
    tasks = yaml.safe_load(
        (ANSIBLE_DIR / "roles/ioc_agent/tasks/windows.yml").read_text(encoding="utf-8")
    )
    phases = {t for task in tasks for t in task["tags"]} - {"ioc_agent"}
    assert phases == {"install", "configure", "run"}
    holding = [t for t in tasks if "ioc_agent_enrollment_code" in yaml.safe_dump(t)]
    install = next(t for t in holding if "ansible.windows.win_powershell" in t)
    assert install["no_log"] is True
    assert "windows/install.ps1" in install["ansible.windows.win_powershell"]["script"]
    # The only other task naming the code shows install.ps1's error with the code scrubbed.
    [scrub] = [t for t in holding if t is not install]
    assert (
        "replace(ioc_agent_enrollment_code, '***')" in scrub["ansible.builtin.assert"]["fail_msg"]
    )


def test_agent_yaml_for_a_windows_pc_is_a_valid_agent_configuration(tmp_path: Path) -> None:
    """The role's agent.yaml.j2, rendered with its defaults for a Windows host, points the
    state at %ProgramData%\\ioc-agent and collector.ca_file at the copied CA, with Windows
    paths the agent's own loader accepts."""
    import sys

    from agent.config import load_config

    role = ANSIBLE_DIR / "roles/ioc_agent"
    out = tmp_path / "agent.yaml"
    playbook = tmp_path / "render.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {"ansible.builtin.include_vars": str(role / "defaults/main.yml")},
                        {"ansible.builtin.include_vars": str(role / "vars/main.yml")},
                        {"ansible.builtin.set_fact": {"ansible_facts": {"os_family": "Windows"}}},
                        {
                            "ansible.builtin.template": {
                                "src": str(role / "templates/agent.yaml.j2"),
                                "dest": str(out),
                                "mode": "0600",
                            }
                        },
                    ],
                }
            ]
        ),
        encoding="utf-8",
    )
    extra = {
        "ansible_python_interpreter": sys.executable,
        "ioc_agent_windows_ca_src": "files/ca.pem",
        "ioc_agent_commune_code": "01273",
        "ioc_agent_collector_url": "https://ioc.caobang.example:8443/",
        "ioc_agent_host": "thucphan-motcua-01",
    }
    proc = subprocess.run(
        [
            ansible_tool("ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            str(playbook),
            "-e",
            json.dumps(extra),
        ],
        cwd=ANSIBLE_DIR,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = load_config(out)
    assert str(config.state_dir) == r"C:\ProgramData\ioc-agent"
    assert str(config.collector.ca_file) == r"C:\ProgramData\ioc-agent\ca.pem"
    assert config.collector.url == "https://ioc.caobang.example:8443"
    assert "Phường Thục Phán" in out.read_text(encoding="utf-8")
