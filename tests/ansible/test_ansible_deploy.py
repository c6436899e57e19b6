"""Roll the collector and an agent out with the real playbooks, on this machine.

What is real: ansible-playbook runs ansible/collector.yml, agents.yml and site.yml with
`connection: local` against this machine; the roles build virtualenvs from the wheelhouse
(`pip --no-index`), template the configuration and the systemd units, run the real
preflight (including the HTTP request to the collector) and the real `ioc-agent enroll`.

What stands in: every path points into a tmp dir standing in for / (install, config, state,
systemd unit and Prometheus directories); the services run as root without a system user
(`*_create_user: false`), and `*_service_manager: none` because systemd is not PID 1 here:
the test starts the installed binaries itself, with the installed configuration files,
exactly as the units' ExecStart= lines do.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, inspect, make_url, text

from collector.config import load_config
from tests.ansible.conftest import PlaybookRun, free_port, run_playbook
from tests.conftest import TEST_DATABASE, require_binary
from tests.peers.alertmanager import Alertmanager
from tests.peers.pki import CA, ServerCert, issue_server, make_ca
from tests.peers.prometheus import Prometheus, wait_for
from tests.peers.site import login

# The first test carries the roll-out (wheelhouse, two roles, two site runs): ~2-4 min.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

COMMUNE = "00070"  # Phường Hoàn Kiếm, Hà Nội


def _inventory(
    path: Path,
    prefix: Path,
    wheelhouse: Path,
    *,
    collector_port: int,
    collector_url: str,
    commune: str = COMMUNE,
    province: str = "01",
    code: str = "",
    overrides: Path | None = None,
    tls: tuple[CA, ServerCert] | None = None,
    postgresql_url: str = "",
) -> Path:
    """A one-province inventory (collector + one agent) with every path under ``prefix``;
    with ``tls``, the collector serves HTTPS with that certificate of that CA; with
    ``postgresql_url``, it stores in that PostgreSQL database instead of its SQLite file."""
    # What a Debian / stands in for has: the systemd unit directory.
    (prefix / "etc/systemd/system").mkdir(parents=True, exist_ok=True)
    common = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "ioc_become": False,
    }
    collector = {
        "ioc_collector_listen": f"127.0.0.1:{collector_port}",
        "ioc_collector_wheelhouse_archive": str(wheelhouse),
        "ioc_collector_python": sys.executable,
        "ioc_collector_install_dir": str(prefix / "opt/ioc-collector"),
        "ioc_collector_config_dir": str(prefix / "etc/ioc-collector"),
        "ioc_collector_state_dir": str(prefix / "var/lib/ioc-collector"),
        "ioc_collector_systemd_dir": str(prefix / "etc/systemd/system"),
        "ioc_collector_prometheus_config_dir": str(prefix / "etc/prometheus"),
        "ioc_collector_prometheus_labels": {"centre": "ha-noi"},
        "ioc_collector_prometheus_group": "root",
        "ioc_collector_create_user": False,
        "ioc_collector_system_user": "root",
        "ioc_collector_system_group": "root",
        "ioc_collector_service_manager": "none",
        # No reevaluation thread: the summary is computed on request anyway.
        "ioc_collector_reevaluate_every_s": 0,
        "ioc_collector_catalogue_overrides": str(overrides or ""),
        # Alerting: Alertmanager's package is installed already (.ci/run); every secret is
        # one a province keeps in its vault, and none may show in Ansible's output.
        "ioc_collector_alertmanager_install": False,
        "ioc_collector_alertmanager_config_dir": str(prefix / "etc/prometheus"),
        "ioc_collector_alertmanager_defaults_file": str(
            prefix / "etc/default/prometheus-alertmanager"
        ),
        "ioc_collector_alertmanager_group": "root",
        "ioc_collector_alert_smtp": {
            "smarthost": "127.0.0.1:2525",
            "from": "canhbao-ioc@hanoi.gov.vn",
            "auth_username": "canhbao-ioc",
            "require_tls": False,
        },
        "ioc_collector_alert_smtp_password": SMTP_PASSWORD,
        "ioc_collector_alert_telegram_bot_token": BOT_TOKEN,
        "ioc_collector_alert_centre": {"emails": ["truc-ioc@hanoi.gov.vn"], "zalo": True},
        "ioc_collector_alert_provinces": {
            "01": {
                "emails": ["ioc@hanoi.gov.vn"],
                "telegram_chat_ids": [-1001000000001],
                "zalo": True,
            }
        },
        "ioc_collector_zalo_enabled": True,
        "ioc_collector_zalo_access_token": ZALO_TOKEN,
        "ioc_collector_zalo_recipients": {"province-01": ["zalo-user-hanoi"]},
        # LDAP login: the section without its password, the password from the vault.
        "ioc_collector_ldap": LDAP,
        "ioc_collector_ldap_bind_password": LDAP_PASSWORD,
    }
    if postgresql_url:
        collector |= {
            "ioc_collector_database": "postgresql",
            "ioc_collector_postgresql_url": postgresql_url,
        }
    agent = {
        "ioc_agent_commune_code": commune,
        "ioc_agent_enrollment_code": code,
        "ioc_agent_wheelhouse_archive": str(wheelhouse),
        "ioc_agent_python": sys.executable,
        "ioc_agent_install_dir": str(prefix / "opt/ioc-agent"),
        "ioc_agent_config_dir": str(prefix / "etc/ioc-agent"),
        "ioc_agent_state_dir": str(prefix / "var/lib/ioc-agent"),
        "ioc_agent_systemd_dir": str(prefix / "etc/systemd/system"),
        "ioc_agent_create_user": False,
        "ioc_agent_system_user": "root",
        "ioc_agent_system_group": "root",
        "ioc_agent_service_manager": "none",
        "ioc_agent_preflight_timeout_s": 3,
        "ioc_agent_tcp_targets": [f"127.0.0.1:{collector_port}"],
        # Only loopback targets in tests: no public DNS name, no public portal.
        "ioc_agent_checks_extra": {"net.dns": {"enabled": False}, "net.portal": {"enabled": False}},
    }
    if tls is not None:
        ca, server = tls
        collector |= {
            "ioc_collector_tls_cert": str(server.cert_file),
            "ioc_collector_tls_key": str(server.key_file),
            "ioc_collector_tls_ca": str(ca.pem),
            # Short enough for the test's Prometheus to scrape a few times.
            "ioc_collector_prometheus_scrape_interval": "2s",
            "ioc_collector_prometheus_scrape_timeout": "2s",
        }
        agent["ioc_agent_ca_file"] = str(ca.pem)
    inventory = {
        "all": {
            "vars": common,
            "children": {
                "ioc_collectors": {"hosts": {"collector-hanoi": collector}},
                "ioc_agents": {
                    "children": {
                        f"province_{province}": {
                            "vars": {
                                "ioc_agent_province_code": province,
                                "ioc_agent_collector_url": collector_url,
                            },
                            "children": {
                                f"commune_{commune}": {"hosts": {"agent-hoankiem": agent}}
                            },
                        }
                    }
                },
            },
        }
    }
    path.write_text(json.dumps(inventory, indent=2))  # JSON is YAML
    return path


#: A province's catalogue overrides, deployed by the collector role.
OVERRIDES = "profile: ha-noi\ncriteria:\n  - id: NET-02\n    severity: critical\n"
#: The PostgreSQL password in the role's database URL (never in Ansible's output).
DB_PASSWORD = "vault-Secret-7x"
#: Alerting secrets of the province's vault (never in Ansible's output either).
SMTP_PASSWORD = "vault-Smtp-3k"
BOT_TOKEN = "123456789:vault-Telegram-9q"
LDAP_PASSWORD = "vault-Ldap-7w"
LDAP = {
    "url": "ldap://127.0.0.1:1389",
    "bind_dn": "cn=ioc-collector,ou=services,dc=hanoi,dc=gov,dc=vn",
    "user_base": "ou=people,dc=hanoi,dc=gov,dc=vn",
    "groups": [
        {"dn": "cn=ioc-01,ou=groups,dc=hanoi,dc=gov,dc=vn", "role": "operator", "provinces": ["01"]}
    ],
}
ZALO_TOKEN = "vault-Zalo-5w"


def _assert_ok(run: PlaybookRun) -> None:
    assert run.rc == 0, run.output[-6000:]


@dataclass
class Rollout:
    prefix: Path
    tmp: Path
    inventory: Path
    url: str
    code: str
    first_site_run: PlaybookRun
    second_site_run: PlaybookRun
    agent_once: subprocess.CompletedProcess[str]
    summary_before: dict[str, Any]
    summary_after: dict[str, Any]
    commune_after: dict[str, Any]
    #: The province's CA (PEM file), which the collector's certificate is issued by.
    ca_pem: Path
    #: The collector role's first run (collector.yml).
    collector_run: PlaybookRun
    #: The database the collector stores in, on PostgreSQL (the backend under test; its URL
    #: carries a password); empty on SQLite, the role's default.
    postgresql_url: str


def _wait_http(
    url: str, proc: subprocess.Popen[str], log: Path, verify: ssl.SSLContext, deadline_s: float = 60
) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"collector exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1, verify=verify).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {deadline_s} s")


@pytest.fixture(scope="module")
def rollout(
    wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Rollout]:
    tmp = tmp_path_factory.mktemp("rollout")
    # The backend under test: on PostgreSQL the role is given a database URL, with a password
    # as a province's vault holds it (the throwaway server trusts loopback and ignores it).
    postgresql_url = ""
    if TEST_DATABASE == "postgresql":
        db_url = make_url(request.getfixturevalue("postgres_server").create_database())
        postgresql_url = db_url.set(password=DB_PASSWORD).render_as_string(hide_password=False)
    prefix = tmp / "root"
    port = free_port()
    # HTTPS, as a province deploys it: a certificate for 127.0.0.1 from the province's CA,
    # which the agent, Prometheus and this test trust.
    (tmp / "pki").mkdir()
    ca = make_ca(tmp / "pki", "Province CA")
    tls = (ca, issue_server(ca, tmp / "pki"))
    trust = ssl.create_default_context(cafile=str(ca.pem))
    url = f"https://127.0.0.1:{port}"
    inventory = tmp / "hosts.yml"
    overrides = tmp / "tinh-overrides.yaml"
    overrides.write_text(OVERRIDES, encoding="utf-8")

    # 1. The collector role, then the installed collector, started as its unit would.
    _inventory(
        inventory,
        prefix,
        wheelhouse,
        collector_port=port,
        collector_url=url,
        overrides=overrides,
        tls=tls,
        postgresql_url=postgresql_url,
    )
    # With --diff and -v, as an operator previews a change: what would print a secret does.
    collector_run = run_playbook("collector.yml", inventory, tmp, ["--diff", "-v"])
    _assert_ok(collector_run)
    collector_bin = prefix / "opt/ioc-collector/venv/bin/ioc-collector"
    collector_cfg = prefix / "etc/ioc-collector/collector.yaml"
    log = (tmp / "collector.log").open("w")
    proc = subprocess.Popen(
        [
            str(collector_bin),
            "serve",
            "--migrate",
            "--config",
            str(collector_cfg),
            "--log-level",
            "warning",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_http(f"{url}/api/v1/time", proc, tmp / "collector.log", trust)
        # The readiness API needs a user: one made with the installed CLI.
        subprocess.run(
            [
                str(collector_bin),
                "user",
                "add",
                "--config",
                str(collector_cfg),
                "--username",
                "ops",
                "--role",
                "viewer",
                "--password-stdin",
            ],
            input="ops-pass-1\n",
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        reader = login(url, "ops", "ops-pass-1", verify=trust)
        summary_before = reader.get("/api/v1/summary", timeout=30).json()

        # 2. A one-time code from the installed CLI, on the installed configuration.
        issued = subprocess.run(
            [
                str(collector_bin),
                "enrollment-code",
                "--config",
                str(collector_cfg),
                "--commune",
                COMMUNE,
                "--json",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        code = json.loads(issued.stdout)[0]["code"]

        # 3. The whole site: collector (unchanged) then the agent, which enrolls.
        _inventory(
            inventory,
            prefix,
            wheelhouse,
            collector_port=port,
            collector_url=url,
            code=code,
            overrides=overrides,
            tls=tls,
            postgresql_url=postgresql_url,
        )
        first = run_playbook("site.yml", inventory, tmp)
        _assert_ok(first)

        # 4. The installed agent, with the installed configuration: one cycle.
        agent_once = subprocess.run(
            [
                str(prefix / "opt/ioc-agent/venv/bin/ioc-agent"),
                "run",
                "--once",
                "--config",
                str(prefix / "etc/ioc-agent/agent.yaml"),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        summary_after = reader.get("/api/v1/summary", timeout=30).json()
        commune_after = reader.get(f"/api/v1/communes/{COMMUNE}", timeout=30).json()

        # 5. Again: nothing may change.
        second = run_playbook("site.yml", inventory, tmp)
        yield Rollout(
            prefix,
            tmp,
            inventory,
            url,
            code,
            first,
            second,
            agent_once,
            summary_before,
            summary_after,
            commune_after,
            ca.pem,
            collector_run,
            postgresql_url,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_installed_agent_enrolls_and_reports(rollout: Rollout) -> None:
    state = json.loads((rollout.prefix / "var/lib/ioc-agent/agent.json").read_text())
    assert state["commune_code"] == COMMUNE
    # The one-time code never appears in Ansible's output (no_log).
    assert "Enroll with the collector" in rollout.first_site_run.output
    assert rollout.code not in rollout.first_site_run.output
    assert rollout.agent_once.returncode == 0, rollout.agent_once.stderr[-3000:]
    assert "sent 1" in rollout.agent_once.stdout, rollout.agent_once.stdout


def test_the_collectors_database_setting_stays_private(rollout: Rollout) -> None:
    """The collector's configuration names its database and is readable by the collector's
    group only; on PostgreSQL its URL carries a password, which no run of the roles prints
    (not even the collector's with --diff -v)."""
    config = rollout.prefix / "etc/ioc-collector/collector.yaml"
    assert config.stat().st_mode & 0o777 == 0o640
    if rollout.postgresql_url:
        assert f"db: {rollout.postgresql_url}" in config.read_text()
        for run in (rollout.collector_run, rollout.first_site_run, rollout.second_site_run):
            assert DB_PASSWORD not in run.output
    else:
        db_file = rollout.prefix / "var/lib/ioc-collector/ioc.db"
        assert f"db: {db_file}" in config.read_text()


def test_report_reaches_the_collector_summary(rollout: Rollout) -> None:
    before, after = rollout.summary_before, rollout.summary_after
    assert before["grey"] == before["communes"] == 3321
    assert after["grey"] == 3320, after
    hanoi = next(p for p in after["by_province"] if p["code"] == "01")
    assert hanoi["grey"] == hanoi["communes"] - 1
    assert rollout.commune_after["colour"] != "grey", rollout.commune_after


def test_second_run_changes_nothing(rollout: Rollout) -> None:
    run = rollout.second_site_run
    _assert_ok(run)
    recap = run.recap()
    assert set(recap) == {"collector-hanoi", "agent-hoankiem"}, run.output[-3000:]
    for host, counters in recap.items():
        assert counters["changed"] == 0, (host, run.output[-6000:])
        assert counters["failed"] == 0


def test_installed_files(rollout: Rollout) -> None:
    root = rollout.prefix
    agent_yaml = (root / "etc/ioc-agent/agent.yaml").read_text()
    assert agent_yaml.startswith("#")
    assert "Ansible managed" in agent_yaml
    assert f"url: {rollout.url}" in agent_yaml
    assert "Phường Hoàn Kiếm" in agent_yaml
    unit = (root / "etc/systemd/system/ioc-agent.service").read_text()
    for line in (
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "Restart=always",
        f"ReadWritePaths={root / 'var/lib/ioc-agent'}",
    ):
        assert line in unit
    assert unit.startswith("#")
    collector_unit = (root / "etc/systemd/system/ioc-collector.service").read_text()
    assert "ProtectSystem=strict" in collector_unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in collector_unit
    # The unit migrates the database as it starts (the test's `serve` above does the same).
    assert (
        f"ExecStart={root / 'opt/ioc-collector/venv/bin/ioc-collector'} serve --migrate "
        f"--config {root / 'etc/ioc-collector/collector.yaml'}"
    ) in collector_unit
    # The overrides were checked by the installed CLI, deployed and named in the config.
    deployed = root / "etc/ioc-collector/catalogue-overrides.yaml"
    assert deployed.read_text() == OVERRIDES
    assert (
        f"catalogue_overrides: {deployed}"
        in (root / "etc/ioc-collector/collector.yaml").read_text()
    )
    checked = subprocess.run(
        [
            str(root / "opt/ioc-collector/venv/bin/ioc-collector"),
            "catalogue",
            "check",
            "--overrides",
            str(deployed),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0 and checked.stdout.startswith("OK: profile ha-noi,")
    if rollout.postgresql_url:  # the installed collector created its schema there
        assert not (root / "var/lib/ioc-collector/ioc.db").exists()
        engine = create_engine(rollout.postgresql_url)
        try:
            with engine.connect() as conn:
                tables = set(inspect(conn).get_table_names())
                assert {"agents", "reports", "alembic_version"} <= tables
                agents = conn.execute(text("SELECT commune_code, host FROM agents")).all()
        finally:
            engine.dispose()
        assert [a.commune_code for a in agents] == [COMMUNE]
    else:
        assert (root / "var/lib/ioc-collector/ioc.db").exists()
    # HTTPS: the certificate and its key deployed (the key not world-readable) and named in
    # the configuration; the agent trusts the province's CA.
    config_dir = root / "etc/ioc-collector"
    collector_yaml = (config_dir / "collector.yaml").read_text()
    assert f"tls_cert_file: {config_dir / 'tls.crt'}" in collector_yaml
    assert f"tls_key_file: {config_dir / 'tls.key'}" in collector_yaml
    assert (config_dir / "tls.key").stat().st_mode & 0o777 == 0o640
    assert "ca_file: " in agent_yaml
    # The wheelhouse was copied; the target installed from it with --no-index.
    assert list((root / "opt/ioc-agent/wheelhouse").glob("commune_ioc-*.whl"))


def test_prometheus_configuration_is_valid(rollout: Rollout) -> None:
    promtool = require_binary("promtool")
    config = rollout.prefix / "etc/prometheus/prometheus.yml"
    rules = sorted((rollout.prefix / "etc/prometheus/rules/ioc").glob("*.yml"))
    shipped = sorted((Path(__file__).parents[2] / "dashboards/prometheus/rules").glob("*.yml"))
    assert [p.name for p in rules] == [p.name for p in shipped]
    check = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "centre: ha-noi" in config.read_text()


def test_prometheus_scrapes_the_collector_over_https(rollout: Rollout) -> None:
    """The real Prometheus, with the scrape job the role wrote (HTTPS, the province's CA
    copied where Prometheus can read it), scrapes the running collector."""
    config = yaml.safe_load((rollout.prefix / "etc/prometheus/prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["scheme"] == "https"
    assert Path(job["tls_config"]["ca_file"]).read_bytes() == rollout.ca_pem.read_bytes()
    # The scrape token Prometheus sends is the collector's.
    token = Path(job["authorization"]["credentials_file"])
    assert token.read_text() == (rollout.prefix / "etc/ioc-collector/metrics-token").read_text()
    assert len(token.read_text().strip()) == 43
    job["static_configs"][0]["targets"] = [rollout.url.removeprefix("https://")]
    work = rollout.tmp / "prometheus"
    work.mkdir(exist_ok=True)
    prom = Prometheus(require_binary("prometheus"), work, [], scrape_configs=[job])
    try:
        wait_for(lambda: prom.query('up{job="ioc-collector"} == 1'), 60, "a scrape over HTTPS")
        [grey] = wait_for(
            lambda: prom.query('sum(ioc_commune_colour{colour="grey"})'),
            30,
            "the communes' colours",
        )
        assert float(grey["value"][1]) == 3320  # every commune but the one that reported
    finally:
        prom.stop()


def test_alertmanager_and_the_zalo_bridge_are_installed(rollout: Rollout) -> None:
    """The role built alertmanager.yml with the installed CLI; amtool and the real
    Alertmanager accept it; Prometheus sends to it; the Zalo bridge's unit and files are
    written; no secret shows in any playbook's output."""
    root = rollout.prefix
    am_config = root / "etc/prometheus/alertmanager.yml"
    assert am_config.stat().st_mode & 0o777 == 0o640
    config = yaml.safe_load(am_config.read_text())
    check = subprocess.run(
        [require_binary("amtool"), "check-config", str(am_config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert {r["name"] for r in config["receivers"]} == {"ioc-centre", "province-01"}
    [r01] = [r for r in config["receivers"] if r["name"] == "province-01"]
    assert r01["email_configs"][0]["auth_password_file"] == str(
        root / "etc/prometheus/alertmanager-smtp-password"
    )
    assert r01["telegram_configs"][0]["chat_id"] == -1001000000001
    assert r01["webhook_configs"][0]["url"] == "http://127.0.0.1:9095/alertmanager"
    templates = root / "etc/prometheus/alertmanager_templates/ioc"
    assert config["templates"] == [f"{templates}/*.tmpl"]
    assert (templates / "ioc.tmpl").exists()
    password = root / "etc/prometheus/alertmanager-smtp-password"
    assert password.read_text() == SMTP_PASSWORD
    assert password.stat().st_mode & 0o777 == 0o640
    assert (root / "etc/ioc-collector/alerting.yaml").stat().st_mode & 0o777 == 0o600
    args = (root / "etc/default/prometheus-alertmanager").read_text()
    assert "--web.listen-address=127.0.0.1:9093 --cluster.listen-address=" in args
    prom = yaml.safe_load((root / "etc/prometheus/prometheus.yml").read_text())
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:9093"
    ]
    # The real Alertmanager loads what the role wrote.
    work = rollout.tmp / "alertmanager"
    work.mkdir(exist_ok=True)
    am = Alertmanager(
        require_binary("prometheus-alertmanager"), work, am_config.read_text(encoding="utf-8")
    )
    am.stop()
    bridge = yaml.safe_load((root / "etc/ioc-collector/zalo-bridge.yaml").read_text())
    assert bridge["recipients"] == {"province-01": ["zalo-user-hanoi"]}
    assert bridge["access_token_file"] == str(root / "etc/ioc-collector/zalo-access-token")
    assert (root / "etc/ioc-collector/zalo-access-token").read_text() == ZALO_TOKEN
    unit = (root / "etc/systemd/system/ioc-zalo-bridge.service").read_text()
    assert "ProtectSystem=strict" in unit
    assert f"zalo-bridge --config {root / 'etc/ioc-collector/zalo-bridge.yaml'}" in unit
    for run in (rollout.collector_run, rollout.first_site_run, rollout.second_site_run):
        for secret in (SMTP_PASSWORD, BOT_TOKEN, ZALO_TOKEN):
            assert secret not in run.output


def test_ldap_login_is_configured_with_its_password_in_a_file(rollout: Rollout) -> None:
    """collector.yaml carries the directory's section and points at the password file the
    role wrote (0640, the collector's group); the password is in neither the configuration
    nor any playbook's output, and the collector reads it from the file."""
    root = rollout.prefix
    config_file = root / "etc/ioc-collector/collector.yaml"
    written = yaml.safe_load(config_file.read_text())
    password_file = root / "etc/ioc-collector/ldap-bind-password"
    assert written["ldap"] == LDAP | {"bind_password_file": str(password_file)}
    assert password_file.stat().st_mode & 0o777 == 0o640
    assert LDAP_PASSWORD not in config_file.read_text()
    assert load_config(config_file).ldap.password() == LDAP_PASSWORD  # type: ignore[union-attr]
    for run in (rollout.collector_run, rollout.first_site_run, rollout.second_site_run):
        assert LDAP_PASSWORD not in run.output


@pytest.mark.any_engine  # stops before the agent is installed: no database is involved
@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("bad-commune", "ioc_agent_commune_code=99999 is not an official commune code"),
        ("unreachable", "is not reachable from agent-hoankiem"),
        ("wrong-province", "belongs to province 01, not to ioc_agent_province_code=79"),
    ],
)
def test_wrong_inventory_stops_in_preflight(
    wheelhouse: Path, tmp_path: Path, case: str, message: str
) -> None:
    prefix = tmp_path / "root"
    closed = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{closed}"
    kwargs: dict[str, Any] = {"code": "AAAA-BBBB-CCCC"}
    if case == "bad-commune":
        kwargs["commune"] = "99999"
    elif case == "wrong-province":
        kwargs["province"] = "79"
    inventory = _inventory(
        tmp_path / "hosts.yml",
        prefix,
        wheelhouse,
        collector_port=closed,
        collector_url=url,
        **kwargs,
    )
    run = run_playbook("agents.yml", inventory, tmp_path)
    assert run.rc != 0
    assert message in " ".join(run.output.split()), run.output[-4000:]
    assert "TASK [ioc_agent : Create the install directory]" not in run.output
    assert not (prefix / "opt").exists()
    assert not (prefix / "etc/ioc-agent").exists()
    assert not (prefix / "var").exists()


@pytest.mark.any_engine  # refused on the controller, before a database is configured
def test_a_broken_catalogue_override_stops_the_collector_play(
    wheelhouse: Path, tmp_path: Path
) -> None:
    """A province's typo is refused on the controller's run, with its line, before the
    collector could see the file."""
    prefix = tmp_path / "root"
    overrides = tmp_path / "tinh-overrides.yaml"
    overrides.write_text("criteria:\n  - id: NET-02\n    severity: urgent\n", encoding="utf-8")
    port = free_port()
    inventory = _inventory(
        tmp_path / "hosts.yml",
        prefix,
        wheelhouse,
        collector_port=port,
        collector_url=f"http://127.0.0.1:{port}",
        overrides=overrides,
    )
    run = run_playbook("collector.yml", inventory, tmp_path)
    assert run.rc != 0
    text = " ".join(run.output.split())
    assert "Copy the province's catalogue overrides" in text
    assert "line 3" in text and "severity" in text, run.output[-4000:]
    assert not (prefix / "etc/ioc-collector/catalogue-overrides.yaml").exists()
    assert not (prefix / "etc/ioc-collector/collector.yaml").exists()
