"""TLS between agent and collector: the collector serves HTTPS with its certificate; the real
agent verifies it (system store by default, ONLY ``collector.ca_file`` when given, optionally
a SHA-256 fingerprint pin) for enrollment and for sending, and refuses any other server with
a one-line reason, keeping its reports."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from agent.config import parse_config
from agent.daemon import Agent
from agent.enroll import EnrollError, enroll
from checks.tls import Pinned, httpx_verify
from collector.service import Services
from collector.storage import schema as db
from tests.peers.pki import issue_server
from tests.security.conftest import BIN, HK, PKI, agent_config, cli_env, free_port, wait_http

# TLS between agent and collector: the database is only the store behind it, the same on either
# engine (any_engine: the PostgreSQL pass leaves it out).
pytestmark = pytest.mark.any_engine


def stored_reports(services: Services) -> int:
    with services.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(db.reports)).scalar_one())


def one_cycle(config: dict[str, Any]) -> tuple[Any, list[int]]:
    """Run one real agent cycle; returns (flush result, seqs still in the spool)."""

    async def go() -> tuple[Any, list[int]]:
        agent = Agent(parse_config(config))
        try:
            cycle = await agent.run_cycle()
            return cycle.flush, [r.seq for r in agent.spool.pending(100)]
        finally:
            await agent.aclose()

    return asyncio.run(go())


def enrolled(services: Services, url: str, state_dir: Path, verify: Any) -> None:
    [(_, code)] = services.identities.create_enrollment_codes([HK])
    enroll(url, code, state_dir, host="pasc-pc-1", verify=verify)


def test_agent_enrolls_and_delivers_over_https_trusting_only_the_province_ca(
    pki: PKI, https_collector, services: Services, tmp_path: Path
) -> None:
    url = https_collector(pki.good)
    assert url.startswith("https://127.0.0.1:")
    config = agent_config(url, tmp_path / "agent", ca_file=str(pki.ca.pem))
    verify = parse_config(config).collector.verify
    assert verify == str(pki.ca.pem)
    enrolled(services, url, tmp_path / "agent", verify)

    flush, pending = one_cycle(config)
    assert flush.error is None and flush.sent == 1
    assert pending == [] and stored_reports(services) == 1

    # ca_file is the ONLY trust anchor: the context holds that CA and nothing else.
    ctx = httpx_verify(verify)
    assert not isinstance(ctx, bool)
    subjects = [str(c["subject"]) for c in ctx.get_ca_certs()]
    assert len(subjects) == 1 and "IOC province CA" in subjects[0]


def test_server_of_another_ca_is_refused_and_the_report_stays_in_the_spool(
    pki: PKI, https_collector, services: Services, tmp_path: Path
) -> None:
    good = https_collector(pki.good)
    enrolled(services, good, tmp_path / "agent", str(pki.ca.pem))
    # The agent is told to trust another CA (or the system store): same server, refused.
    for collector_opts in ({"ca_file": str(pki.other_ca.pem)}, {}):
        flush, pending = one_cycle(agent_config(good, tmp_path / "agent", **collector_opts))
        assert flush.sent == 0
        assert "TLS certificate is not trusted" in flush.error
        assert "unable to get local issuer certificate" in flush.error
        assert "Traceback" not in flush.error
        assert pending, "the report must stay in the spool"
    assert stored_reports(services) == 0
    # Trusting the right CA again delivers the whole backlog.
    flush, pending = one_cycle(agent_config(good, tmp_path / "agent", ca_file=str(pki.ca.pem)))
    assert flush.error is None and flush.sent == 3 and pending == []
    assert stored_reports(services) == 3


@pytest.mark.parametrize(
    ("cert_kw", "reason"),
    [
        (
            {"valid_from": timedelta(days=-30), "valid_to": timedelta(days=-1)},
            "certificate has expired",
        ),
        ({"ip": "127.0.0.2"}, "IP address mismatch"),
    ],
    ids=["expired", "other-address"],
)
def test_expired_or_mismatched_certificate_is_refused(
    pki: PKI,
    https_collector,
    services: Services,
    tmp_path: Path,
    cert_kw: dict[str, Any],
    reason: str,
) -> None:
    bad = https_collector(pki.server(stem=f"bad-{reason[:7]}", **cert_kw))
    [(_, code)] = services.identities.create_enrollment_codes([HK])
    with pytest.raises(EnrollError) as err:
        enroll(bad, code, tmp_path / "agent", verify=str(pki.ca.pem))
    assert reason in str(err.value) and "not trusted" in str(err.value)
    assert not (tmp_path / "agent" / "agent.json").exists()

    # An agent enrolled elsewhere and pointed at this server keeps its report.
    good = https_collector(pki.good)
    enrolled(services, good, tmp_path / "agent2", str(pki.ca.pem))
    flush, pending = one_cycle(agent_config(bad, tmp_path / "agent2", ca_file=str(pki.ca.pem)))
    assert reason in flush.error and flush.sent == 0 and len(pending) == 1
    assert stored_reports(services) == 0


def test_fingerprint_pin(pki: PKI, https_collector, services: Services, tmp_path: Path) -> None:
    url = https_collector(pki.good)
    colon = ":".join(pki.good.sha256[i : i + 2] for i in range(0, 64, 2)).upper()
    config = agent_config(url, tmp_path / "agent", ca_file=str(pki.ca.pem), cert_sha256=colon)
    verify = parse_config(config).collector.verify
    assert verify == Pinned(pki.good.sha256, str(pki.ca.pem))
    enrolled(services, url, tmp_path / "agent", verify)  # synchronous client: pinned too
    flush, pending = one_cycle(config)
    assert flush.error is None and flush.sent == 1 and pending == []

    # Same CA, another certificate (a second server of the province): the pin refuses it.
    other = https_collector(pki.server(stem="other-server"))
    wrong = agent_config(other, tmp_path / "agent", ca_file=str(pki.ca.pem), cert_sha256=colon)
    flush, pending = one_cycle(wrong)
    assert "is not the pinned" in flush.error and flush.sent == 0 and len(pending) == 1
    [(_, code)] = services.identities.create_enrollment_codes([HK])
    with pytest.raises(EnrollError, match="is not the pinned"):
        enroll(other, code, tmp_path / "agent3", verify=parse_config(wrong).collector.verify)

    # The pin alone (verify_tls: false) vouches for a server no CA of ours signed, and
    # still refuses any other.
    foreign_cert = issue_server(pki.other_ca, pki.dir, stem="foreign")
    foreign = https_collector(foreign_cert)
    pin_only = agent_config(
        foreign, tmp_path / "agent4", verify_tls=False, cert_sha256=foreign_cert.sha256
    )
    enrolled(services, foreign, tmp_path / "agent4", parse_config(pin_only).collector.verify)
    flush, pending = one_cycle(pin_only)
    assert flush.error is None and flush.sent == 1 and pending == []
    pin_only["collector"]["cert_sha256"] = pki.good.sha256
    flush, pending = one_cycle(pin_only)
    assert "is not the pinned" in flush.error and len(pending) == 1


def test_bad_fingerprint_option_is_a_clear_configuration_error(tmp_path: Path) -> None:
    from agent.config import ConfigError

    with pytest.raises(ConfigError, match="collector.cert_sha256: expected the certificate's"):
        parse_config(agent_config("https://127.0.0.1:1", tmp_path, cert_sha256="abc"))


def test_serve_https_from_the_cli_and_enroll_with_the_cli(
    pki: PKI, new_database, tmp_path: Path
) -> None:
    port = free_port()
    cfg = tmp_path / "collector.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "db": new_database("serve.db"),
                "listen": f"127.0.0.1:{port}",
                "reflector_port": 0,
            }
        )
    )
    proc = subprocess.Popen(
        [
            str(BIN / "ioc-collector"),
            "serve",
            "--config",
            str(cfg),
            "--migrate",
            "--tls-cert",
            str(pki.good.cert_file),
            "--tls-key",
            str(pki.good.key_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli_env(),
    )
    url = f"https://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", proc, verify=httpx_verify(str(pki.ca.pem)))
        code = subprocess.run(
            [
                str(BIN / "ioc-collector"),
                "enrollment-code",
                "--config",
                str(cfg),
                "--commune",
                HK,
                "--json",
            ],
            capture_output=True,
            text=True,
            env=cli_env(),
            timeout=60,
            check=True,
        )
        [issued] = yaml.safe_load(code.stdout)
        agent_cfg = tmp_path / "agent.yaml"

        def agent_enroll(**collector: Any) -> subprocess.CompletedProcess[str]:
            agent_cfg.write_text(yaml.safe_dump(agent_config(url, tmp_path / "st", **collector)))
            return subprocess.run(
                [
                    str(BIN / "ioc-agent"),
                    "enroll",
                    "--config",
                    str(agent_cfg),
                    "--code",
                    issued["code"],
                ],
                capture_output=True,
                text=True,
                env=cli_env(),
                timeout=60,
            )

        refused = agent_enroll(ca_file=str(pki.other_ca.pem))
        assert refused.returncode == 1
        assert "TLS certificate is not trusted" in refused.stderr
        assert "Traceback" not in refused.stderr + refused.stdout
        ok = agent_enroll(ca_file=str(pki.ca.pem))
        assert ok.returncode == 0, ok.stderr
        assert "Enrolled as a-" in ok.stdout
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"collector listening on https://127.0.0.1:{port}" in out


def test_serve_refuses_a_certificate_and_key_that_do_not_match(pki: PKI, tmp_path: Path) -> None:
    other = pki.server(stem="mismatch")
    run = subprocess.run(
        [
            str(BIN / "ioc-collector"),
            "serve",
            "--db",
            str(tmp_path / "x.db"),
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--tls-cert",
            str(pki.good.cert_file),
            "--tls-key",
            str(other.key_file),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert run.returncode == 1
    assert "TLS: cannot use certificate" in run.stderr and "Traceback" not in run.stderr
    half = subprocess.run(
        [
            str(BIN / "ioc-collector"),
            "serve",
            "--db",
            str(tmp_path / "x.db"),
            "--tls-cert",
            str(pki.good.cert_file),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert half.returncode == 1 and "tls_cert_file and tls_key_file go together" in half.stderr
