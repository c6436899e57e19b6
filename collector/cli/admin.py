"""``ioc-collector enrollment-code``, ``agents list|revoke`` and ``audit``: enrolled agents
and the audit log (enrollments, revocations, attestations, waivers, users, logins), for
administrators at a shell. The same audit log is on the ``/admin/users`` page."""

from __future__ import annotations

import json

import click

from collector.cli.common import CliContext, cli_actor, pass_cli, shared_options, user_errors


@click.command("enrollment-code")
@shared_options
@click.option(
    "--commune",
    "communes",
    multiple=True,
    required=True,
    help="Five-digit commune code; repeat for several.",
)
@click.option(
    "--ttl-days",
    default=7,
    show_default=True,
    type=click.IntRange(1, 90),
    help="Days before an unused code expires.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the codes as JSON.")
@pass_cli
def enrollment_code(
    obj: CliContext, communes: tuple[str, ...], ttl_days: int, as_json: bool
) -> None:
    """Issue single-use enrollment codes for communes (give one to each commune's IT staff:
    `ioc-agent enroll --collector URL --code CODE`)."""
    from datetime import timedelta

    with user_errors():
        services = obj.open_services()
        pairs = services.identities.create_enrollment_codes(
            communes, ttl=timedelta(days=ttl_days), actor=cli_actor()
        )
    if as_json:
        click.echo(json.dumps([{"commune": c, "code": k} for c, k in pairs]))
        return
    for c, k in pairs:
        click.echo(f"{c}  {services.units.communes[c].name}: {k}")


@click.group("agents")
def agents() -> None:
    """Enrolled agents: list them, revoke a token."""


@agents.command("list")
@shared_options
@click.option("--commune", help="Only the agents of this commune.")
@click.option("--json", "as_json", is_flag=True, help="Print the agents as JSON.")
@pass_cli
def list_agents(obj: CliContext, commune: str | None, as_json: bool) -> None:
    """Agents whose token is valid, with their host and when they last reported."""
    from collector.storage.codecs import as_utc

    with user_errors():
        services = obj.open_services()
        rows = [
            r
            for r in services.readiness.agent_rows()
            if commune is None or r.commune_code == commune
        ]
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
@shared_options
@click.option("--reason", default="", help="Why (kept in the audit log).")
@pass_cli
def revoke(obj: CliContext, agent_id: str, reason: str) -> None:
    """Revoke an agent's token: it can no longer send, and its results stop counting. The
    machine enrolls again with a new code."""
    with user_errors():
        services = obj.open_services()
        done = services.identities.revoke_agent(agent_id, actor=cli_actor(), reason=reason)
    if not done:
        raise click.ClickException(f"no agent {agent_id!r} with a valid token")
    click.echo(f"agent {agent_id} revoked")


@click.command("audit")
@shared_options
@click.option(
    "--limit",
    default=100,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Newest entries to show.",
)
@click.option("--target", help="Only entries about this commune code or username.")
@click.option("--action", "prefix", help="Only actions starting with this, e.g. enroll.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@pass_cli
def audit(
    obj: CliContext, limit: int, target: str | None, prefix: str | None, as_json: bool
) -> None:
    """The audit log, newest first: enrollment codes issued, used and refused, agents
    revoked, attestations, waivers, user changes and logins."""

    with user_errors():
        services = obj.open_services()
        rows = services.accounts.audit_entries(limit=limit, target=target, action_prefix=prefix)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        detail = json.dumps(r["detail"], ensure_ascii=False, sort_keys=True)
        click.echo(f"{r['at'][:19]}  {r['actor']:<20} {r['action']:<20} {r['target']:<12} {detail}")
