"""``ioc-collector``: serve the collector, run the national demo, issue enrollment codes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from collector.config import CollectorConfig, ConfigError, load_config, parse_listen
from collector.criteria.catalogue import CatalogueError
from collector.db import SchemaError
from collector.server import ServerError
from collector.units import UnknownUnitError

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one clean line, never a traceback."""
    try:
        yield
    except (ConfigError, CatalogueError, ServerError, SchemaError) as exc:
        raise click.ClickException(str(exc)) from None
    except UnknownUnitError as exc:
        raise click.ClickException(str(exc)) from None
    except ArgumentError:
        # Not the parser's message: it quotes the whole URL, password included.
        raise click.ClickException(
            "--db: not a database URL or path (expected a file path or "
            "postgresql+psycopg://USER:PASSWORD@HOST/NAME)"
        ) from None
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        raise click.ClickException(f"database error: {orig}") from None


def _config(config_file: Path | None, **overrides: Any) -> CollectorConfig:
    return load_config(config_file, **overrides)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="commune-ioc")
def main() -> None:
    """commune-ioc collector: stores agent reports, colours every commune green / yellow /
    red / grey against the Decree-118 criteria, and exposes Prometheus metrics."""


@main.command()
@click.option("--db", help="SQLite file path or database URL (default: ioc-collector.db).")
@click.option("--listen", help="HOST:PORT to listen on (default: 127.0.0.1:8321).")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML configuration file (db, listen, catalogue, catalogue_overrides, ...).",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@click.option(
    "--catalogue",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Criteria catalogue file (or `catalogue` in --config; default: built-in decree118). "
    "Reloaded when it changes and on SIGHUP; a broken file is refused, the old one kept.",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM certificate (chain) to serve HTTPS with; needs --tls-key (or tls_cert_file).",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM private key of --tls-cert (or tls_key_file).",
)
@click.option(
    "--reuse-port",
    is_flag=True,
    default=None,
    help="Share --listen with other `serve` processes (SO_REUSEPORT; or reuse_port): run "
    "one per core on the same database to use every core.",
)
def serve(
    db: str | None,
    listen: str | None,
    config_file: Path | None,
    log_level: str,
    tls_cert: Path | None,
    tls_key: Path | None,
    catalogue: Path | None = None,
    reuse_port: bool | None = None,
) -> None:
    """Run the collector until interrupted (Ctrl-C); HTTPS with a certificate and key."""
    from collector.assembly import build_app, open_store, settle_gc
    from collector.db import display_url
    from collector.server import TLSFiles, check_port_free, make_server, shared_socket

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with _user_errors():
        cfg = _config(
            config_file, db=db, listen=listen, tls_cert_file=tls_cert, tls_key_file=tls_key,
            catalogue=catalogue, reuse_port=reuse_port,
        )
        host, port = parse_listen(cfg.listen)
        tls = None
        if cfg.tls_cert_file is not None and cfg.tls_key_file is not None:
            password = cfg.tls_key_password
            tls = TLSFiles(
                cfg.tls_cert_file,
                cfg.tls_key_file,
                password.get_secret_value() if password is not None else None,
            )
            tls.check()
        store = open_store(cfg)
        sock = shared_socket(host, port) if cfg.reuse_port else None
        if sock is None:
            check_port_free(host, port)
        app = build_app(store, cfg)
        scheme = "https" if tls else "http"
        click.echo(
            f"collector listening on {scheme}://{host}:{port} (database: {display_url(cfg.db)})",
            err=True,
        )
        if cfg.reflector_port:
            click.echo(f"UDP reflector for vc.quality on {host}:{cfg.reflector_port}", err=True)
        from collector.criteria.reload import watch_catalogue

        # SIGHUP or a changed file: reload, or keep the old one (and say so on /metrics)
        watch_catalogue(store, cfg, app.state.catalogue_metrics)
        settle_gc()
        make_server(app, host, port, log_level=log_level, tls=tls).run(
            sockets=None if sock is None else [sock]
        )


@main.command()
@click.option("--once", is_flag=True, help="Print the national summary and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (with --once).")
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Demo database file (default: .demo/ioc-demo.db, recreated at each run).",
)
@click.option("--listen", default="127.0.0.1:8321", show_default=True, help="HOST:PORT.")
@click.option("--seed", default=1, show_default=True, help="Seed of the simulated nation.")
@click.option(
    "--commune",
    default="00070",
    show_default=True,
    help="Commune this machine's own agent reports for.",
)
@click.option("--no-local-agent", is_flag=True, help="Do not run this machine's agent.")
def demo(
    once: bool,
    as_json: bool,
    db: Path | None,
    listen: str,
    seed: int,
    commune: str,
    no_local_agent: bool,
) -> None:
    """Start a collector on SQLite, run this machine's agent once against it, and simulate
    agents for all 3,321 communes through the real HTTP API; then print the national
    summary and the URLs to open. Without --once the collector keeps serving (and the
    simulated agents keep reporting every minute) until Ctrl-C."""
    from collector.demo import run_demo

    with _user_errors():
        code = run_demo(
            db=db,
            listen=listen,
            once=once,
            as_json=as_json,
            seed=seed,
            commune=commune,
            local_agent=not no_local_agent,
        )
    raise SystemExit(code)


@main.command("enrollment-code")
@click.option("--db", help="SQLite file path or database URL.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path))
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
@click.option("--json", "as_json", is_flag=True)
def enrollment_code(
    db: str | None,
    config_file: Path | None,
    communes: tuple[str, ...],
    ttl_days: int,
    as_json: bool,
) -> None:
    """Issue single-use enrollment codes for communes (give one to each commune's IT staff:
    `ioc-agent enroll --collector URL --code CODE`)."""
    from datetime import timedelta

    from collector.admin_cli import cli_actor
    from collector.assembly import open_store

    with _user_errors():
        store = open_store(_config(config_file, db=db))
        pairs = store.create_enrollment_codes(
            communes, ttl=timedelta(days=ttl_days), actor=cli_actor()
        )
    if as_json:
        click.echo(json.dumps([{"commune": c, "code": k} for c, k in pairs]))
        return
    for c, k in pairs:
        click.echo(f"{c}  {store.units.communes[c].name}: {k}")


@main.command()
@click.option("--db", help="SQLite file path or database URL.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path))
def summary(db: str | None, config_file: Path | None) -> None:
    """Print the national summary JSON from a database."""
    from collector.assembly import open_store

    with _user_errors():
        store = open_store(_config(config_file, db=db))
        click.echo(json.dumps(store.summary(), ensure_ascii=False, indent=2))


def _add_commands() -> None:
    """Commands kept in their own modules: readiness reports, user accounts, agents and
    the audit log."""
    from collector.admin_cli import agents, audit
    from collector.auth_cli import user
    from collector.report_cli import report

    main.add_command(report)
    main.add_command(user)
    main.add_command(agents)
    main.add_command(audit)


_add_commands()


@main.group()
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


@main.group()
def catalogue() -> None:
    """The criteria catalogue (the built-in decree118, or a province's file and overrides)."""


@catalogue.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--overrides",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A province's overrides file, merged over FILE (or over the built-in catalogue).",
)
def catalogue_check(file: Path | None, overrides: Path | None) -> None:
    """Validate a catalogue FILE (and --overrides) as `serve` would load it, without
    touching a running collector: exit 0 and a summary, or exit 1 and every error with its
    line and field. Check before copying a file where `serve` reloads it."""
    from collector.criteria.catalogue import Kind
    from collector.criteria.rules import fingerprint_of

    with _user_errors():
        cat = CollectorConfig(catalogue=file, catalogue_overrides=overrides).load_catalogue()
    automated = sum(1 for c in cat.criteria if c.kind is Kind.AUTOMATED)
    click.echo(
        f"OK: profile {cat.profile}, {len(cat.criteria)} criteria ({automated} automated, "
        f"{len(cat.criteria) - automated} attested), stale after {cat.stale_after_s} s, "
        f"rules fingerprint {fingerprint_of(cat)}"
    )
