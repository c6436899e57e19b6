"""``ioc-collector zalo-bridge`` and ``ioc-collector alerting build``: notifying the
operations centre (docs/ALERTING.md)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from collector.cli.common import LOG_FORMAT


@click.command("zalo-bridge")
@click.option(
    "--config",
    "config_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML file: listen, api_base_url, access_token_file, recipients, queue.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    default="info",
    show_default=True,
    help="How much the bridge logs on stderr (never the access token).",
)
def zalo_bridge(config_file: Path, log_level: str) -> None:
    """Receive Alertmanager's webhook and send Zalo Official Account messages; every
    acknowledged alert is queued on disk first and sent again after a restart.

    Nhận webhook của Alertmanager và gửi tin nhắn Zalo OA; cảnh báo đã nhận được ghi vào
    hàng đợi trên đĩa trước và được gửi lại sau khi khởi động lại."""
    from collector.notify.zalo import BridgeConfigError, load_config, serve

    try:
        config = load_config(config_file)
    except BridgeConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logging.basicConfig(level=log_level.upper(), format=LOG_FORMAT)
    try:
        serve(config)
    except OSError as exc:
        raise click.ClickException(
            f"không chạy được cầu nối Zalo / the Zalo bridge cannot run: {exc.strerror or exc}"
        ) from None


@click.group()
def alerting() -> None:
    """Alertmanager configuration of the operations centre (cấu hình Alertmanager)."""


@alerting.command("build")
@click.option(
    "--settings",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Alerting settings (YAML, as dashboards/alertmanager/example.yaml).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="alertmanager.yml to write (mode 0640).",
)
def alerting_build(settings: Path, out: Path) -> None:
    """Write alertmanager.yml from the settings (tạo alertmanager.yml từ tệp cấu hình)."""
    from dashboards.alerting import SettingsError, load_settings, render

    try:
        text = render(load_settings(settings), settings.name)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    current = out.exists() and out.read_text(encoding="utf-8") == text
    if not current:
        out.write_text(text, encoding="utf-8")
    out.chmod(0o640)
    click.echo(f"{out}: {'không đổi / unchanged' if current else 'đã ghi / written'}")
