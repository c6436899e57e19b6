"""No secret ever appears in a log line, an error, an HTTP answer, the spool, /metrics, an
export or the database: a real collector and a real agent run with DEBUG logging, with every
kind of secret configured, through the error paths (wrong password, unknown token, used code,
revoked agent, unreachable collector, failing SNMP and SSH checks); then everything they wrote
or answered is searched for each secret."""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import zlib
from pathlib import Path

import httpx
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select

from agent.spool import SPOOL_FILE, Spool
from collector.storage import schema as db
from collector.storage.connect import display_url, make_engine
from tests.security.conftest import BIN, HK, agent_config, cli_env, free_port, wait_http


def secret(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(8)}"


def ssh_key(path: Path, passphrase: str) -> Path:
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
    )
    path.chmod(0o600)
    return path


def login_form(client: httpx.Client) -> str:
    page = client.get("/login")
    return page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=180,
        input=stdin,
    )


def test_no_secret_in_logs_errors_answers_spool_metrics_exports_or_database(
    new_database, tmp_path: Path
) -> None:
    s = {
        "user password": secret("pw"),
        "wrong password tried": secret("guess"),
        "bogus bearer token": secret("tok"),
        "SNMP community": secret("comm"),
        "SNMPv3 auth key": secret("authkey"),
        "SNMPv3 priv key": secret("privkey"),
        "SSH key passphrase": secret("phrase"),
        "metrics scrape token": secret("scrape"),
    }
    db_url = new_database("leak.db")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cfg = tmp_path / "collector.yaml"
    scrape_token = tmp_path / "metrics-token"
    scrape_token.write_text(s["metrics scrape token"] + "\n")
    cfg.write_text(
        yaml.safe_dump(
            {
                "db": db_url,
                "listen": f"127.0.0.1:{port}",
                "reflector_port": 0,
                "metrics_token_file": str(scrape_token),
            }
        )
    )
    collected: list[tuple[str, str]] = []  # (where, text) to search

    def keep(
        where: str, proc: subprocess.CompletedProcess[str]
    ) -> subprocess.CompletedProcess[str]:
        collected.append((where, proc.stdout + proc.stderr))
        return proc

    migrated = keep("migrate", run("ioc-collector", "migrate", "--config", str(cfg)))
    assert migrated.returncode == 0, migrated.stderr
    added = keep(
        "user add",
        run(
            "ioc-collector",
            "user",
            "add",
            "--config",
            str(cfg),
            "--username",
            "canbo",
            "--role",
            "viewer",
            "--password-stdin",
            stdin=s["user password"] + "\n",
        ),
    )
    assert added.returncode == 0, added.stderr
    issued = keep(
        "enrollment-code",
        run("ioc-collector", "enrollment-code", "--config", str(cfg), "--commune", HK, "--json"),
    )
    code = json.loads(issued.stdout)[0]["code"]
    collected.pop()  # that output is meant to show the code, once, to the administrator
    s["enrollment code"] = code

    log_file = tmp_path / "collector.log"
    with log_file.open("w") as log:
        collector = subprocess.Popen(
            [str(BIN / "ioc-collector"), "serve", "--config", str(cfg), "--log-level", "debug"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=cli_env(),
        )
    try:
        wait_http(f"{url}/healthz", collector)

        # ---- the agent, with every kind of secret in its configuration
        state = tmp_path / "agent"
        closed_udp, closed_tcp = free_port(), free_port()
        conf = agent_config(url, state)
        conf["checks"]["eq.snmp"] = {
            "timeout_s": 5,
            "devices": [
                {
                    "name": "may-in",
                    "host": "127.0.0.1",
                    "port": closed_udp,
                    "kind": "printer",
                    "community": s["SNMP community"],
                    "timeout_s": 0.3,
                    "retries": 0,
                },
                {
                    "name": "ups",
                    "host": "127.0.0.1",
                    "port": closed_udp,
                    "kind": "ups",
                    "version": "3",
                    "user": "monitor",
                    "auth_key": s["SNMPv3 auth key"],
                    "priv_key": s["SNMPv3 priv key"],
                    "timeout_s": 0.3,
                    "retries": 0,
                },
            ],
        }
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text("")
        conf["checks"]["ssh.command"] = {
            "targets": [
                {
                    "host": "127.0.0.1",
                    "port": closed_tcp,
                    "user": "monitor",
                    "key_file": str(ssh_key(tmp_path / "id_ok", s["SSH key passphrase"])),
                    "passphrase": s["SSH key passphrase"],
                    "known_hosts": str(known_hosts),
                },
                {
                    "host": "127.0.0.1",
                    "port": closed_tcp,
                    "user": "monitor",
                    "set": "linux",
                    "key_file": str(ssh_key(tmp_path / "id_other", "not-the-configured-one")),
                    "passphrase": s["SSH key passphrase"],
                    "known_hosts": str(known_hosts),
                },
            ]
        }
        agent_yaml = tmp_path / "agent.yaml"
        agent_yaml.write_text(yaml.safe_dump(conf))

        enrolled = keep(
            "agent enroll", run("ioc-agent", "enroll", "--config", str(agent_yaml), "--code", code)
        )
        assert enrolled.returncode == 0, enrolled.stderr
        s["agent token"] = json.loads((state / "agent.json").read_text())["token"]
        checked = keep(
            "agent check", run("ioc-agent", "check", "--json", "--config", str(agent_yaml))
        )
        assert checked.returncode == 0, checked.stderr
        statuses = {r["check"]: r["status"] for r in json.loads(checked.stdout)["results"]}
        assert statuses["ssh.command"] != "ok"  # the failing checks did fail

        once = keep(
            "agent run 1", run("ioc-agent", "run", "--once", "-v", "--config", str(agent_yaml))
        )
        assert once.returncode == 0 and "sent 1" in once.stdout, once.stdout + once.stderr
        assert "DEBUG" in once.stderr  # debug logging really was on

        # ---- people and callers making mistakes
        scrape = {"Authorization": f"Bearer {s['metrics scrape token']}"}
        with httpx.Client(base_url=url, timeout=30) as web:
            for who, password in (
                ("canbo", s["wrong password tried"]),
                ("nobody", s["wrong password tried"]),
                ("canbo", s["user password"]),
            ):
                r = web.post(
                    "/login",
                    data={
                        "csrf": login_form(web),
                        "username": who,
                        "password": password,
                        "next": "/",
                    },
                )
                collected.append((f"login {who}", r.text + str(r.headers)))
            assert "ioc_session" in web.cookies  # the right password did log in
            for path in (
                "/api/v1/summary",
                f"/api/v1/communes/{HK}",
                "/",
                f"/commune/{HK}",
                "/metrics",
            ):
                r = web.get(path, headers=scrape if path == "/metrics" else None)
                assert r.status_code == 200, path
                collected.append((path, r.text))
            for scope, code_arg in (("commune", HK), ("province", "01"), ("national", "")):
                for fmt in ("json", "csv"):
                    r = web.get(
                        "/reports", params={"scope": scope, "code": code_arg, "format": fmt}
                    )
                    assert r.status_code == 200, (scope, fmt, r.text[:200])
                    collected.append((f"export {scope} {fmt}", r.text))
        for name, request in {
            "bogus token": lambda: httpx.post(
                f"{url}/api/v1/reports",
                json={"reports": []},
                headers={"Authorization": f"Bearer {s['bogus bearer token']}"},
            ),
            "token on a reader endpoint": lambda: httpx.get(
                f"{url}/api/v1/summary", headers={"Authorization": f"Bearer {s['agent token']}"}
            ),
            "used code": lambda: httpx.post(
                f"{url}/api/v1/enroll", json={"code": code, "host": "x"}
            ),
            "malformed enrollment": lambda: httpx.post(
                f"{url}/api/v1/enroll", json={"code": code, "host": "", "extra": 1}
            ),
            "report for another commune": lambda: httpx.post(
                f"{url}/api/v1/reports",
                headers={"Authorization": f"Bearer {s['agent token']}"},
                json={
                    "reports": [
                        {
                            "agent_id": "x",
                            "seq": 1,
                            "commune_code": "00073",
                            "host": "h",
                            "observed_at": "2026-01-01T00:00:00Z",
                            "results": [],
                        }
                    ]
                },
            ),
        }.items():
            r = request()
            assert r.status_code >= 400, name
            collected.append((name, r.text + str(r.headers)))

        # ---- the collector unreachable, then the agent revoked: reports stay in the spool
        down = dict(conf, collector=dict(conf["collector"], url=f"http://127.0.0.1:{free_port()}"))
        agent_down = tmp_path / "agent-down.yaml"
        agent_down.write_text(yaml.safe_dump(down))
        keep("agent run 2", run("ioc-agent", "run", "--once", "-v", "--config", str(agent_down)))
        agent_id = json.loads((state / "agent.json").read_text())["agent_id"]
        keep("revoke", run("ioc-collector", "agents", "revoke", agent_id, "--config", str(cfg)))
        third = keep(
            "agent run 3", run("ioc-agent", "run", "--once", "-v", "--config", str(agent_yaml))
        )
        assert "HTTP 401" in third.stdout + third.stderr
        audit = keep("audit", run("ioc-collector", "audit", "--json", "--config", str(cfg)))
        assert {e["action"] for e in json.loads(audit.stdout)} >= {
            "enroll.code_issued",
            "enroll",
            "enroll.refused",
            "login",
            "login.failed",
            "agent.revoke",
            "user.add",
        }
    finally:
        collector.terminate()
        collector.wait(timeout=30)

    # ---- everything written: logs, spool (decompressed and raw), database rows
    collected.append(("collector log", log_file.read_text()))
    with Spool(state / SPOOL_FILE) as spool:
        pending = spool.pending(1000)
        assert len(pending) == 2  # kept while the collector was down / refused the token
        collected.append(("spool", "".join(r.model_dump_json() for r in pending)))
    for f in state.glob(f"{SPOOL_FILE}*"):
        raw = f.read_bytes()
        collected.append((f"raw {f.name}", raw.decode("latin-1")))
        collected.append((f"inflated {f.name}", _inflate_all(raw)))
    engine = make_engine(db_url)
    with engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in conn.execute(select(table))]
            # json, not str(row): SQLAlchemy's repr of a row cuts long values short.
            collected.append(
                (f"table {table.name}", json.dumps(rows, default=str, ensure_ascii=False))
            )
    engine.dispose()

    # Positive controls: the search really covers the failing checks' results, in each place.
    texts = dict(collected)
    for where in ("spool", "table reports", "agent check", "export commune json"):
        assert "may-in" in texts[where], f"the SNMP result is missing from {where}"
    assert any("may-in" in t for w, t in collected if w.startswith("inflated spool.db"))
    assert agent_id in texts["collector log"] or agent_id in texts["audit"]
    assert len(collected) > 30
    leaks = [
        f"{kind} in {where}"
        for where, text in collected
        for kind, value in s.items()
        if value in text
        # The agent's own state file holds its token by design (0600) and is not searched;
        # an answer may name the enrollment code's owner but never the code.
    ]
    assert leaks == [], "secrets leaked:\n" + "\n".join(leaks)


def _inflate_all(raw: bytes) -> str:
    """Every zlib stream found in a file (the spool compresses report bodies)."""
    out: list[str] = []
    for header in (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda"):  # zlib levels
        start = raw.find(header)
        while start != -1:
            with contextlib.suppress(zlib.error):
                out.append(zlib.decompressobj().decompress(raw[start:]).decode("utf-8", "replace"))
            start = raw.find(header, start + 1)
    return "\n".join(out)


def test_database_password_never_shown(tmp_path: Path) -> None:
    password = secret("dbpw")
    url = f"postgresql+psycopg://ioc:{password}@127.0.0.1:{free_port()}/ioc"
    assert password not in display_url(url) and "***" in display_url(url)
    # serve waits for a database that does not answer (one WARNING line per attempt, with
    # the URL): here 1.5 s, then gives up.
    for args in (
        ["serve", "--db", url, "--listen", f"127.0.0.1:{free_port()}", "--wait-db", "1.5"],
        ["summary", "--db", url],
        ["migrate", "--db", url],
        ["summary", "--db", f"no-such-dialect://u:{password}@x/"],
    ):
        r = run("ioc-collector", *args)
        assert r.returncode == 1, r.stderr
        assert password not in r.stdout + r.stderr and "Traceback" not in r.stderr
        if args[0] == "serve":
            assert "WARNING" in r.stderr and "ioc:***@127.0.0.1" in r.stderr
