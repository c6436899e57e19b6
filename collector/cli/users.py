"""``ioc-collector user add|list|scope|disable|enable|reset-password|end-sessions``: accounts
for the web pages and reports. Every change is audited (actor ``cli``); a password is never
given on the command line, and a generated one is printed once, never logged. A user is
national, or scoped to the provinces given with ``--province`` (repeatable)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

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
    "--province",
    "provinces",
    multiple=True,
    metavar="CODE",
    help="A province the user may see and act in (two digits, e.g. 04); repeat for more. "
    "None: a national user, who sees every province.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (first line) instead of prompting.",
)
@pass_cli
def add(
    obj: CliContext, username: str, role: str, provinces: tuple[str, ...], password_stdin: bool
) -> None:
    """Add a user; the password is asked for (never given on the command line)."""
    from collector.service.accounts import AuthError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with user_errors():
        services = obj.open_services()
        try:
            u = services.accounts.add_user(
                username, password, role, actor="cli", provinces=provinces
            )
        except AuthError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"user {u.username} added with role {u.role.value}, scope {u.scope.label()}")


@user.command("list")
@shared_options
@click.option("--json", "as_json", is_flag=True, help="Print the users as JSON.")
@pass_cli
def list_users(obj: CliContext, as_json: bool) -> None:
    """List users, their roles and their scopes (the provinces, or national)."""

    with user_errors():
        services = obj.open_services()
        rows = services.accounts.list_users()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        flag = "  (disabled)" if r["disabled"] else ""
        scope = ",".join(r["provinces"]) or "national"
        click.echo(f"{r['username']:<24} {r['role']:<9} {scope:<12} {r['created_at'][:19]}{flag}")


def _change(action: str, username: str, run: Callable[[], object]) -> None:
    """Run one audited change, a refusal (unknown user, short password) as one clean line."""
    from collector.service.accounts import AuthError

    with user_errors():
        try:
            run()
        except AuthError as exc:
            raise click.ClickException(f"{action} {username}: {exc}") from None


@user.command("scope")
@shared_options
@click.argument("username")
@click.option(
    "--province",
    "provinces",
    multiple=True,
    metavar="CODE",
    help="A province the user may see and act in (repeat for more).",
)
@click.option("--national", is_flag=True, help="Make the user national (every province).")
@pass_cli
def scope(obj: CliContext, username: str, provinces: tuple[str, ...], national: bool) -> None:
    """Set the provinces of a user (--province, repeatable) or make them --national; their
    sessions end, so the next login carries the new scope."""
    if bool(provinces) == national:
        raise click.UsageError("give --province CODE (one or more) or --national")
    got: list[str] = []
    _change(
        "scope",
        username,
        lambda: got.append(
            obj.open_services().accounts.set_scope(username, provinces, actor="cli").label()
        ),
    )
    click.echo(f"phạm vi của {username}: {got[0]} / scope of {username}: {got[0]}")


@user.command("disable")
@shared_options
@click.argument("username")
@pass_cli
def disable(obj: CliContext, username: str) -> None:
    """Disable a user: they cannot log in, and their sessions end at once."""
    _change(
        "disable",
        username,
        lambda: obj.open_services().accounts.set_disabled(username, True, actor="cli"),
    )
    click.echo(f"đã khoá người dùng {username} / user {username} disabled")


@user.command("enable")
@shared_options
@click.argument("username")
@pass_cli
def enable(obj: CliContext, username: str) -> None:
    """Enable a disabled user again (with the password they had)."""
    _change(
        "enable",
        username,
        lambda: obj.open_services().accounts.set_disabled(username, False, actor="cli"),
    )
    click.echo(f"đã mở khoá người dùng {username} / user {username} enabled")


@user.command("end-sessions")
@shared_options
@click.argument("username")
@pass_cli
def end_sessions(obj: CliContext, username: str) -> None:
    """End every session of a user: they must log in again."""
    ended: list[int] = []
    _change(
        "end-sessions",
        username,
        lambda: ended.append(obj.open_services().accounts.end_sessions(username, actor="cli")),
    )
    n = ended[0]
    click.echo(f"đã kết thúc {n} phiên của {username} / {n} session(s) of {username} ended")


@user.command("reset-password")
@shared_options
@click.argument("username")
@click.option("--prompt", "ask", is_flag=True, help="Ask for the new password (twice).")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the new password from this file (its first line).",
)
@pass_cli
def reset_password(obj: CliContext, username: str, ask: bool, password_file: Path | None) -> None:
    """Set a new password and end the user's sessions. Without --prompt or
    --password-file a random password is generated and printed once."""
    if ask and password_file is not None:
        raise click.UsageError("--prompt or --password-file, not both")
    password: str | None = None
    if password_file is not None:
        try:
            password = password_file.read_text("utf-8").splitlines()[0:1][0]
        except (OSError, UnicodeDecodeError, IndexError) as exc:
            why = getattr(exc, "strerror", None) or "empty or unreadable"
            raise click.ClickException(
                f"không đọc được tệp mật khẩu / cannot read the password file "
                f"{password_file}: {why}"
            ) from None
    elif ask:
        password = click.prompt(
            "Mật khẩu mới / New password", hide_input=True, confirmation_prompt=True
        )
    got: list[str] = []
    _change(
        "reset-password",
        username,
        lambda: got.append(
            obj.open_services().accounts.reset_password(username, password, actor="cli")
        ),
    )
    click.echo(
        f"đã đặt lại mật khẩu của {username}, các phiên đã kết thúc / "
        f"password of {username} reset, sessions ended"
    )
    if password is None:
        click.echo(f"mật khẩu mới (chỉ hiện một lần) / new password (shown once): {got[0]}")
