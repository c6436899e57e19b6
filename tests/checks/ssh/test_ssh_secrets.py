"""Key passphrases and PKCS#12 passwords reach the runner's scrub list, and never a message
or a log line."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import ClassVar

from agent.config import parse_config
from agent.daemon import Agent
from agent.state import AgentState
from checks.base import Check, CheckContext
from checks.model import Category, CheckResult, Status
from checks.runner import run_check, run_checks
from checks.secrets import check_secrets
from checks.signature.certificate import CertificateCheck
from checks.ssh.check import SshCheck
from tests.peers.sshd import keygen

PASSPHRASE = "ssh-Passphrase-7Qx!"
P12_PASSWORD = "p12-Password-Zt3%"


def config(tmp_path: Path, key: Path, p12: Path):
    return parse_config(
        {
            "state_dir": str(tmp_path / "state"),
            "checks": {
                "ssh.command": {
                    "targets": [
                        {
                            "host": "127.0.0.1",
                            "port": 1,
                            "user": "monitor",
                            "key_file": str(key),
                            "passphrase": PASSPHRASE,
                            "known_hosts": str(tmp_path / "known_hosts"),
                        }
                    ]
                },
                "sig.certificate": {"certificates": [{"path": str(p12), "password": P12_PASSWORD}]},
            },
        }
    )


def files(tmp_path: Path) -> tuple[Path, Path]:
    from checks.model import utcnow
    from tests.peers.certs import days_from, encode

    key = keygen(tmp_path / "id_ed25519", passphrase="another-passphrase")  # != configured
    p12 = tmp_path / "chu-ky.p12"
    p12.write_bytes(encode(days_from(utcnow(), 90), "p12", "the-real-password"))
    (tmp_path / "known_hosts").write_text("")
    return key, p12


class Leaky(Check):
    """A buggy check that puts configured secrets in its message."""

    id = "test.leaky"
    category: ClassVar[Category] = Category.HOST

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        return [
            CheckResult(
                check=self.id,
                category=self.category,
                status=Status.FAIL,
                target=f"t-{PASSPHRASE}",
                message=f"oops {PASSPHRASE} and {P12_PASSWORD}",
            )
        ]


def test_agent_scrub_list_holds_the_configured_secrets(tmp_path):
    key, p12 = files(tmp_path)
    cfg = config(tmp_path, key, p12)
    state = AgentState(
        agent_id="a1",
        token="tok-secret-1",
        commune_code="00070",
        province_code="01",
        commune_name="x",
        collector_url="http://127.0.0.1:9",
        report_interval_s=60,
    )
    agent = Agent(cfg, state=state)
    assert {"tok-secret-1", PASSPHRASE, P12_PASSWORD} <= set(agent.ctx.secrets)
    [leak] = asyncio.run(run_check(Leaky(), agent.ctx))
    assert leak.message == "oops *** and ***" and leak.target == "t-***"
    # Not in the configuration's repr either (SecretStr).
    assert PASSPHRASE not in repr(cfg) and P12_PASSWORD not in repr(cfg)


def test_wrong_secrets_never_reach_messages_or_logs(tmp_path, caplog):
    key, p12 = files(tmp_path)
    cfg = config(tmp_path, key, p12)
    checks = [
        SshCheck(cfg.checks.for_check("ssh.command")),
        CertificateCheck(cfg.checks.for_check("sig.certificate")),
    ]
    ctx = CheckContext(host="t", secrets=check_secrets(checks))
    with caplog.at_level(logging.DEBUG):
        results = asyncio.run(run_checks(checks, ctx))
    assert [r.status for r in results] == [Status.UNKNOWN, Status.UNKNOWN]
    assert "cannot load private key" in results[0].message
    assert "wrong password" in results[1].message
    dumped = " ".join(r.model_dump_json() for r in results) + caplog.text
    assert PASSPHRASE not in dumped and P12_PASSWORD not in dumped
