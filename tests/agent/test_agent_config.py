import logging
from pathlib import Path

import pytest

from agent.config import (
    AgentConfig,
    ConfigError,
    default_state_dir,
    load_config,
    load_config_apart,
    parse_config,
)
from checks.network.basic import HttpConfig


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_defaults(state_dir):
    config = load_config(None)
    assert config.collector.url is None
    assert config.interval_s is None
    assert config.spool.max_age_s == 8 * 86400 and config.spool.max_bytes == 256 * 2**20
    assert config.state_dir == state_dir  # IOC_AGENT_STATE_DIR
    ids = [c.id for c in config.enabled_checks()]
    assert "host.disk" in ids and "net.portal" in ids


def test_default_state_dir_without_env(monkeypatch):
    monkeypatch.delenv("IOC_AGENT_STATE_DIR")
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert default_state_dir() == Path.home() / ".local/state/ioc-agent"
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert default_state_dir() == Path("/var/lib/ioc-agent")


def test_full_file(tmp_path):
    path = write(
        tmp_path,
        """
collector:
  url: https://ioc.hanoi.gov.vn:8443/
  verify_tls: true
interval_s: 30
checks:
  host.disk: {paths: [/, /data], warn_free_ratio: 0.3, fail_free_ratio: 0.15}  # ignored
  net.dns: {enabled: false}
  svc.http:
    targets:
      - {name: LGSP, url: "https://lgsp.hanoi.gov.vn/health", expect: OK}
  net.http:
    targets: ["http://127.0.0.1:8080/"]
""",
    )
    config = load_config(path)
    assert config.collector.url == "https://ioc.hanoi.gov.vn:8443"
    disk = config.checks.for_check("host.disk")
    # Thresholds are the catalogue's now: an old file's threshold options are ignored.
    assert disk.paths == ["/", "/data"] and not hasattr(disk, "warn_free_ratio")
    http = config.checks.for_check("net.http")
    assert isinstance(http, HttpConfig) and http.targets[0].url == "http://127.0.0.1:8080/"
    ids = [c.id for c in config.enabled_checks()]
    assert "net.dns" not in ids and "svc.http" in ids


def test_empty_file_is_defaults(tmp_path):
    assert load_config(write(tmp_path, "")) == AgentConfig()


def test_typo_top_level_hint(tmp_path):
    path = write(tmp_path, "intervl_s: 30\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg and "intervl_s" in msg and "did you mean 'interval_s'" in msg


def test_typo_in_check_id_and_option(tmp_path):
    hint = "checks.net.htp: unknown option; did you mean 'net.http'"
    with pytest.raises(ConfigError, match=hint):
        load_config(write(tmp_path, "checks:\n  net.htp: {}\n"))
    with pytest.raises(ConfigError, match=r"checks.host.disk.pathz: .*did you mean 'paths'"):
        load_config(write(tmp_path, "checks:\n  host.disk: {pathz: [/]}\n"))


def test_bad_type_names_the_path(tmp_path):
    path = write(
        tmp_path,
        """
checks:
  net.http:
    targets:
      - url: https://ok.example/
      - url: ftp://files.example/
""",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert "checks.net.http.targets[1].url" in msg
    assert "http:// or https://" in msg and "ftp://files.example/" in msg


def test_bad_number(tmp_path):
    with pytest.raises(ConfigError, match=r"spool.max_bytes: .*valid integer.*'lots'"):
        load_config(write(tmp_path, "spool: {max_bytes: lots}\n"))


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"line 2.*not valid YAML"):
        load_config(write(tmp_path, "a: 1\n  b: [\n"))
    with pytest.raises(ConfigError, match="mapping"):
        parse_config(["a"], "x.yaml")


def test_shipped_example_config_is_valid():
    example = Path(__file__).resolve().parents[2] / "docs" / "agent.example.yaml"
    config = load_config(example)
    assert config.collector.url == "https://ioc.hanoi.gov.vn:8443"
    assert [t.name for t in config.checks.for_check("svc.http").targets][0] == (
        "Thư điện tử công vụ"
    )


# ------------------------------------------------------------------ validated apart


PIN = ":".join(["AB"] * 32)  # a certificate's SHA-256 fingerprint, as openssl writes it
FULL = """
collector: {url: "https://ioc.hanoi.gov.vn:8443/", cert_sha256: "PIN"}
interval_s: 30
checks:
  host.disk: {paths: [/, /data], warn_free_ratio: 0.3}
  net.dns: {enabled: false}
  ssh.command:
    targets:
      - {host: 127.0.0.1, user: ioc, key_file: /k, known_hosts: /kh, passphrase: "s3cret-pass"}
""".replace("PIN", PIN)


def test_apart_gives_the_same_records_as_in_process(tmp_path, caplog):
    """``ioc-agent run``'s loader: validated in a child interpreter, the same records come
    back (a secret included, still hidden), and the child's warning is logged here."""
    path = write(tmp_path, FULL)
    caplog.set_level(logging.WARNING)
    apart = load_config_apart(path)
    assert "ignored: warn_free_ratio" in caplog.text  # said by the child, logged here
    assert apart == load_config(path)
    assert apart.collector.url == "https://ioc.hanoi.gov.vn:8443"
    assert [c.id for c in apart.enabled_checks()] == [
        c.id for c in load_config(path).enabled_checks()
    ]
    (ssh,) = apart.checks.for_check("ssh.command").targets
    assert ssh.passphrase.get_secret_value() == "s3cret-pass"
    assert "s3cret-pass" not in repr(apart)


@pytest.mark.parametrize(
    "text",
    [
        "intervl_s: 30\n",
        "checks:\n  host.disk: {pathz: [/]}\n",
        "spool: {max_bytes: lots}\n",
        "a: 1\n  b: [\n",
        "- a\n",
    ],
)
def test_apart_refuses_with_the_same_message(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as here:
        load_config(path)
    with pytest.raises(ConfigError) as apart:
        load_config_apart(path)
    assert str(apart.value) == str(here.value)


def test_apart_without_a_child_validates_here(tmp_path, monkeypatch):
    """No interpreter to start (a host process without python beside it): the file is
    validated in this process, with the same result."""
    path = write(tmp_path, FULL)
    monkeypatch.setattr("agent.config._python", lambda: str(tmp_path / "no-python"))
    assert load_config_apart(path) == load_config(path)
    assert load_config_apart(None) == AgentConfig()


def test_the_child_interpreter_beside_a_service_host(tmp_path, monkeypatch):
    """Under pywin32's service host (``pythonservice.exe``) the child is the ``python.exe``
    of the same installation; from a plain interpreter, that interpreter."""
    from agent import config as cfg

    monkeypatch.setattr(cfg.sys, "executable", "/opt/py/bin/python3.11")
    assert cfg._python() == "/opt/py/bin/python3.11"
    home = tmp_path / "ioc-agent" / "python"
    host = home / "Lib" / "site-packages" / "win32" / "pythonservice.exe"
    beside = home / ("python.exe" if cfg.os.name == "nt" else "bin/python3")
    beside.parent.mkdir(parents=True)
    beside.write_text("")
    monkeypatch.setattr(cfg.sys, "executable", str(host))
    monkeypatch.setattr(cfg.sys, "exec_prefix", str(home))
    assert cfg._python() == str(beside)
