"""``ioc-collector dashboards push``: the operations centre's Grafana dashboards."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def dashboards() -> None:
    """Grafana dashboards of the operations centre (dashboards/generated/*.json)."""


@dashboards.command("push")
@click.option("--url", required=True, help="Grafana base URL, e.g. https://grafana.example:3000")
@click.option(
    "--token",
    required=True,
    envvar="GRAFANA_TOKEN",
    help="Service-account token with the Editor role (or env GRAFANA_TOKEN).",
)
@click.option("--folder", default=None, help="Folder to save into (created if missing).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of dashboard JSON files (default: the generated dashboards).",
)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per HTTP request.")
def dashboards_push(
    url: str, token: str, folder: str | None, directory: Path | None, timeout: float
) -> None:
    """Create or update every dashboard in Grafana (idempotent: overwrite by uid)."""
    from dashboards.push import DEFAULT_FOLDER, GENERATED, PushError, push_dashboards

    try:
        pushed = push_dashboards(
            url, token, folder or DEFAULT_FOLDER, directory or GENERATED, timeout_s=timeout
        )
    except PushError as exc:
        raise click.ClickException(str(exc)) from None
    for p in pushed:
        click.echo(f"{p.uid}  v{p.version}  {p.title}  {p.url}")
