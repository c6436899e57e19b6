"""``ioc-collector user add|list``: accounts for the web pages and reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group("user")
def user() -> None:
    """Manage the people who log in to the pages (roles: viewer, operator, admin)."""


@user.command("add")
@click.option("--db", help="SQLite file path or database URL.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--username", required=True)
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
def add(
    db: str | None, config_file: Path | None, username: str, role: str, password_stdin: bool
) -> None:
    """Add a user; the password is asked for (never given on the command line)."""
    from collector.assembly import open_store
    from collector.auth import Accounts, AuthError
    from collector.cli import _config, _user_errors

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _user_errors():
        store = open_store(_config(config_file, db=db))
        try:
            u = Accounts(store.engine).add_user(username, password, role, actor="cli")
        except AuthError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"user {u.username} added with role {u.role.value}")


@user.command("list")
@click.option("--db", help="SQLite file path or database URL.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def list_users(db: str | None, config_file: Path | None, as_json: bool) -> None:
    """List users and their roles."""
    from collector.assembly import open_store
    from collector.auth import Accounts
    from collector.cli import _config, _user_errors

    with _user_errors():
        store = open_store(_config(config_file, db=db))
        rows = Accounts(store.engine).list_users()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        flag = "  (disabled)" if r["disabled"] else ""
        click.echo(f"{r['username']:<24} {r['role']:<9} {r['created_at'][:19]}{flag}")
