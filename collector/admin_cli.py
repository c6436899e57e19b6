"""``ioc-collector agents list|revoke`` and ``ioc-collector audit``: enrolled agents and the
audit log (enrollments, revocations, attestations, waivers, users, logins), for administrators
at a shell. The same audit log is on the ``/admin/users`` page."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click

from collector.store import as_utc


def cli_actor() -> str:
    """Who acts from the command line: the operating-system account, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli"


@click.group("agents")
def agents() -> None:
    """Enrolled agents: list them, revoke a token."""


@agents.command("list")
@click.option("--db", help="SQLite file path or database URL.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--commune", help="Only the agents of this commune.")
@click.option("--json", "as_json", is_flag=True)
def list_agents(
    db: str | None, config_file: Path | None, commune: str | None, as_json: bool
) -> None:
    """Agents whose token is valid, with their host and when they last reported."""
    from collector.assembly import open_store
    from collector.cli import _config, _user_errors

    with _user_errors():
        store = open_store(_config(config_file, db=db))
        rows = [r for r in store.agent_rows() if commune is None or r.commune_code == commune]
    out = [
        {
            "agent_id": r.agent_id,
            "commune": r.commune_code,
            "host": r.host,
            "agent_version": r.agent_version,
            "last_seen_at": as_utc(r.last_seen_at).isoformat() if r.last_seen_at else None,
        }
        for r in rows
    ]
    if as_json:
        click.echo(json.dumps(out))
        return
    for a in out:
        click.echo(f"{a['agent_id']}  {a['commune']}  {a['host']:<24} {a['last_seen_at'] or '-'}")


@agents.command("revoke")
@click.argument("agent_id")
@click.option("--db", help="SQLite file path or database URL.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reason", default="", help="Why (kept in the audit log).")
def revoke(db: str | None, config_file: Path | None, agent_id: str, reason: str) -> None:
    """Revoke an agent's token: it can no longer send, and its results stop counting. The
    machine enrolls again with a new code."""
    from collector.assembly import open_store
    from collector.cli import _config, _user_errors

    with _user_errors():
        store = open_store(_config(config_file, db=db))
        done = store.revoke_agent(agent_id, actor=cli_actor(), reason=reason)
    if not done:
        raise click.ClickException(f"no agent {agent_id!r} with a valid token")
    click.echo(f"agent {agent_id} revoked")


@click.command("audit")
@click.option("--db", help="SQLite file path or database URL.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--target", help="Only entries about this commune code or username.")
@click.option("--action", "prefix", help="Only actions starting with this, e.g. enroll.")
@click.option("--json", "as_json", is_flag=True)
def audit(
    db: str | None,
    config_file: Path | None,
    limit: int,
    target: str | None,
    prefix: str | None,
    as_json: bool,
) -> None:
    """The audit log, newest first: enrollment codes issued, used and refused, agents
    revoked, attestations, waivers, user changes and logins."""
    from collector.assembly import open_store
    from collector.auth import Accounts
    from collector.cli import _config, _user_errors

    with _user_errors():
        store = open_store(_config(config_file, db=db))
        rows = Accounts(store.engine).audit_entries(
            limit=limit, target=target, action_prefix=prefix
        )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        detail = json.dumps(r["detail"], ensure_ascii=False, sort_keys=True)
        click.echo(
            f"{r['at'][:19]}  {r['actor']:<20} {r['action']:<20} {r['target']:<12} {detail}"
        )
