"""``ioc-collector user add|list``: accounts for the web pages and reports."""

from __future__ import annotations

import json
import sys

import click

from collector.cli.common import CliContext, pass_cli, shared_options, user_errors


@click.group("user")
def user() -> None:
    """Manage the people who log in to the pages (roles: viewer, operator, admin)."""


@user.command("add")
@shared_options
@click.option("--username", required=True, help="The login name.")
@click.option(
    "--role",
    type=click.Choice(["viewer", "operator", "admin"]),
    required=True,
    help="viewer reads; operator also enters attestations and waivers; admin manages users.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (first line) instead of prompting.",
)
@pass_cli
def add(obj: CliContext, username: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password is asked for (never given on the command line)."""
    from collector.service.accounts import AuthError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with user_errors():
        services = obj.open_services()
        try:
            u = services.accounts.add_user(username, password, role, actor="cli")
        except AuthError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"user {u.username} added with role {u.role.value}")


@user.command("list")
@shared_options
@click.option("--json", "as_json", is_flag=True, help="Print the users as JSON.")
@pass_cli
def list_users(obj: CliContext, as_json: bool) -> None:
    """List users and their roles."""

    with user_errors():
        services = obj.open_services()
        rows = services.accounts.list_users()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        flag = "  (disabled)" if r["disabled"] else ""
        click.echo(f"{r['username']:<24} {r['role']:<9} {r['created_at'][:19]}{flag}")
