"""The SNMP devices in the agent: configuration, the ``probe snmp`` command, and the promise
that an agent without SNMP devices never imports pysnmp."""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.config import ConfigError, parse_config
from checks.equipment.snmp_checks import SnmpCheck
from checks.secrets import check_secrets
from tests.fresh import run_python


def _devices(*devices: dict) -> dict:  # type: ignore[type-arg]
    return {"checks": {"eq.snmp": {"devices": list(devices)}}}


def test_config_devices_validated_and_secret():
    config = parse_config(
        _devices(
            {"name": "printer", "host": "192.168.1.20", "community": "congdong-ro"},
            {
                "name": "ups",
                "host": "192.168.1.30",
                "kind": "ups",
                "version": 3,
                "user": "ioc",
                "auth_key": "auth-secret-1",
                "priv_key": "priv-secret-1",
                "auth_proto": "SHA256",
                "priv_proto": "AES256",
            },
        )
    )
    check = next(c for c in config.enabled_checks() if isinstance(c, SnmpCheck))
    assert check.targets() == ["printer", "ups"]
    assert check.config.devices[1].version == "3"
    assert set(check_secrets([check])) == {"congdong-ro", "auth-secret-1", "priv-secret-1"}
    assert "congdong-ro" not in repr(config) and "auth-secret-1" not in str(config)


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ({"name": "p", "host": "h"}, "version 2c needs a community"),
        ({"name": "p", "host": "h", "version": "3"}, "version 3 needs a user"),
        (
            {"name": "p", "host": "h", "version": "3", "user": "u", "auth_key": "short"},
            "at least 8 characters",
        ),
        ({"name": "p", "host": "h", "community": "c", "kind": "fax"}, "kind"),
        ({"name": "p", "host": "h", "comunity": "c"}, "did you mean 'community'?"),
    ],
)
def test_config_errors_name_the_option(device, expected):  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="checks.eq.snmp.devices") as err:
        parse_config(_devices(device), "agent.yaml")
    assert expected in str(err.value)


def test_duplicate_device_names_refused():
    with pytest.raises(ConfigError, match="used twice"):
        parse_config(
            _devices(
                {"name": "p", "host": "a", "community": "c"},
                {"name": "p", "host": "b", "community": "c"},
            )
        )


LAZY = textwrap.dedent("""
    import asyncio, ipaddress, resource, socket, sys

    _real = socket.getaddrinfo

    def guarded(host, *a, **kw):  # tests reach loopback only
        try:
            ok = host in (None, "localhost") or ipaddress.ip_address(str(host)).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise socket.gaierror(socket.EAI_NONAME, "test guard")
        return _real(host, *a, **kw)

    socket.getaddrinfo = guarded

    class Guarded(socket.socket):
        def sendto(self, data, *args):
            address = args[-1]
            if not ipaddress.ip_address(address[0]).is_loopback:
                return len(data)  # swallowed: no packet leaves the machine
            return super().sendto(data, *args)

    socket.socket = Guarded

    from agent.config import AgentConfig
    from checks.base import CheckContext
    from checks.runner import run_checks

    checks = AgentConfig().enabled_checks()
    assert any(c.id == "eq.snmp" for c in checks)
    results = asyncio.run(run_checks(checks, CheckContext(host="h")))
    assert not [r for r in results if r.check.startswith("eq.snmp")]
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("pysnmp", "pyasn1"))
    print(len(results), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, leaked)
""")


def test_agent_without_snmp_devices_never_imports_pysnmp(tmp_path):  # type: ignore[no-untyped-def]
    out = run_python(LAZY, env={"IOC_AGENT_STATE_DIR": str(tmp_path), "HOME": str(tmp_path)})
    count, _max_rss_kib, leaked = out.split(" ", 2)
    assert int(count) > 0
    assert leaked.strip() == "[]"


# ------------------------------------------------------------------ probe snmp (integration)


@pytest.mark.integration
def test_probe_snmp_json_ups(snmpsim):  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(
        main,
        ["probe", "snmp", f"127.0.0.1:{snmpsim.port}", "--community", "ups-eaton-93e-80", "--json"],
    )
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    assert body["device_kind"] == "ups" and body["check"] == "eq.ups"
    assert body["values"]["ups_on_line"]["value"] == 1.0
    assert "on line" in body["message"]


@pytest.mark.integration
def test_probe_snmp_table_printer(snmpsim):  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(
        main,
        ["probe", "snmp", f"127.0.0.1:{snmpsim.port}", "--lang", "en"],
        env={"IOC_SNMP_COMMUNITY": "printer-hp-m479", "COLUMNS": "200"},
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith("device_kind: printer")
    assert "black toner 12 %" in res.output


@pytest.mark.integration
def test_probe_snmp_silent_device_exit_1(silent_udp):  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(
        main,
        [
            "probe",
            "snmp",
            f"127.0.0.1:{silent_udp.port}",
            "--community",
            "secret-community",
            "--timeout",
            "0.3",
            "--retries",
            "0",
            "--json",
        ],
    )
    assert res.exit_code == 1
    body = json.loads(res.output)
    assert body["device_kind"] == "unknown" and body["status"] == "unknown"
    assert "no answer within 0.3 s" in body["message"]
    assert "secret-community" not in res.output


def test_probe_snmp_needs_one_credential():
    res = CliRunner().invoke(main, ["probe", "snmp", "127.0.0.1"])
    assert res.exit_code == 2 and "--community" in res.output
