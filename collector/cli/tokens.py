"""``ioc-collector token create|list|revoke``: reader tokens, the read-only bearer tokens a
script or the national system uses on the JSON API and the report downloads. A token reads
what its user reads (role and provinces); it is printed once, stored only as its SHA-256,
expires, and every change is audited (actor ``cli``)."""

from __future__ import annotations

import json

import click

from collector.cli.common import CliContext, pass_cli, shared_options, user_errors


@click.group("token")
def token() -> None:
    """Reader tokens for scripts and the national system (read-only, per user)."""


@token.command("create")
@shared_options
@click.option("--user", "username", required=True, help="The user the token reads as.")
@click.option(
    "--days",
    type=int,
    default=None,
    help="Validity in days (default: reader_token_days of the configuration, 90; at most "
    "reader_token_max_days, 366).",
)
@click.option("--name", default="", help="What the token is for, e.g. 'he-thong-quoc-gia'.")
@pass_cli
def create(obj: CliContext, username: str, days: int | None, name: str) -> None:
    """Make a reader token for a user; it is printed once and never again."""
    from collector.service.accounts import AuthError

    with user_errors():
        config = obj.config
        services = obj.open_services()
        try:
            token_id, secret = services.readers.create(
                username,
                config.reader_token_days if days is None else days,
                name,
                actor="cli",
                max_days=config.reader_token_max_days,
            )
        except AuthError as exc:
            raise click.ClickException(f"token create: {exc}") from None
    click.echo(
        f"mã đọc {token_id} của {username} (chỉ hiện một lần) / "
        f"reader token {token_id} of {username} (shown once):",
        err=True,
    )
    click.echo(secret)


@token.command("list")
@shared_options
@click.option("--user", "username", default=None, help="Only the tokens of this user.")
@click.option("--json", "as_json", is_flag=True, help="Print the tokens as JSON.")
@pass_cli
def list_tokens(obj: CliContext, username: str | None, as_json: bool) -> None:
    """List reader tokens (never the tokens themselves): id, user, name, expiry, state."""
    with user_errors():
        rows = obj.open_services().readers.tokens(username)
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        state = "revoked" if r["revoked"] else ("active" if r["active"] else "expired")
        click.echo(
            f"{r['id']:>5} {r['username']:<24} {r['name'][:24]:<24} {r['expires_at'][:10]} {state}"
        )


@token.command("revoke")
@shared_options
@click.argument("token_id", type=int)
@pass_cli
def revoke(obj: CliContext, token_id: int) -> None:
    """Revoke a reader token by its id (see `token list`); it stops working at once."""
    from collector.service.accounts import AuthError

    with user_errors():
        try:
            username = obj.open_services().readers.revoke(token_id, actor="cli")
        except AuthError as exc:
            raise click.ClickException(f"token revoke: {exc}") from None
    click.echo(
        f"đã thu hồi mã đọc {token_id} của {username} / "
        f"reader token {token_id} of {username} revoked"
    )
