"""``ioc-collector host list|retire``: a commune's hosts as its evaluation counts them
(fresh, stale or retired, since when) and retiring a silent one, so that its last findings
stop counting (docs/CRITERIA.md, "Silent hosts"). A retirement is audited (actor: the
shell user, ``cli:NAME``); a retired host that reports again is active again."""

from __future__ import annotations

import json

import click

from collector.cli.common import CliContext, cli_actor, pass_cli, shared_options, user_errors

_STATE_VI = {"fresh": "đang báo cáo", "stale": "số liệu cũ", "retired": "ngừng theo dõi"}
_COMMUNE_HELP = "Five-digit commune code."


@click.group("host")
def host() -> None:
    """A commune's hosts: fresh, stale or retired; retire a silent one."""


@host.command("list")
@shared_options
@click.option("--commune", required=True, help=_COMMUNE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the hosts as JSON.")
@pass_cli
def list_hosts(obj: CliContext, commune: str, as_json: bool) -> None:
    """Every host of a commune (revoked ones left out): fresh (reporting), stale (silent
    in working time, its last findings still counting, since its last report) or retired
    (no longer counting, since when)."""
    with user_errors():
        hosts = obj.open_services().hosts.of_commune(commune)
    if as_json:
        click.echo(json.dumps([h.to_json() for h in hosts]))
        return
    if not hosts:
        click.echo(f"xã {commune} chưa có máy nào / commune {commune} has no host")
    for h in hosts:
        since = h.since.isoformat(timespec="seconds") if h.since else "-"
        state = f"{_STATE_VI[h.state]} / {h.state}"
        click.echo(f"{h.host:<24} {h.agent_id:<36} {state:<30} {since}")


@host.command("retire")
@shared_options
@click.option("--commune", required=True, help=_COMMUNE_HELP)
@click.option(
    "--host",
    "name",
    required=True,
    help="The host's name, or its agent id (see `host list`) when two hosts share a name.",
)
@pass_cli
def retire(obj: CliContext, commune: str, name: str) -> None:
    """Retire a silent (stale) host of a commune: its last findings stop counting and the
    commune is evaluated again at once; audited. A host that reports again is active
    again. A fresh host cannot be retired (revoke its token with `agents revoke`)."""
    from collector.domain.errors import DomainError

    with user_errors():
        try:
            h = obj.open_services().hosts.retire(commune, name, actor=cli_actor())
        except DomainError as exc:
            raise click.ClickException(f"host retire: {exc.message}") from None
    click.echo(
        f"đã ngừng theo dõi máy {h.host} ({h.agent_id}) của xã {commune} / "
        f"host {h.host} ({h.agent_id}) of commune {commune} retired"
    )
