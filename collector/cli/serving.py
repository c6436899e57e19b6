"""``ioc-collector serve`` and ``ioc-collector demo``: run a collector."""

from __future__ import annotations

from pathlib import Path

import click

from collector.cli.common import CliContext, db_option, pass_cli, shared_options, user_errors
from collector.demo import DEFAULT_DAYS, MAX_DAYS

REFLECTOR_PORT_HELP = (
    "UDP port of the reflector that answers the agents' vc.quality probe (round-trip time, "
    "jitter, loss), on the --listen host; 0 turns it off (default: 8322, or reflector_port "
    "in --config). If it cannot be opened the collector serves on and says what is lost."
)
WAIT_DB_HELP = (
    "Seconds to wait for a database that does not answer (server down, not yet started), "
    "retrying after 1 s, 2 s, 4 s ... up to 30 s apart with one WARNING line each "
    "(default: until it answers; 0: give up at once, exit 1)."
)


@click.command()
@shared_options
@click.option("--listen", help="HOST:PORT to listen on (default: 127.0.0.1:8321).")
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
@click.option(
    "--migrate",
    "migrate",
    is_flag=True,
    help="Bring the database to this version's schema before serving (as `ioc-collector "
    "migrate`, once the database answers); without it an empty or older database is "
    "refused (exit 2).",
)
@click.option("--wait-db", type=click.FloatRange(min=0), metavar="SECONDS", help=WAIT_DB_HELP)
@click.option(
    "--reflector-port", type=click.IntRange(0, 65535), metavar="PORT", help=REFLECTOR_PORT_HELP
)
@pass_cli
def serve(
    obj: CliContext,
    listen: str | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    catalogue: Path | None,
    reuse_port: bool | None,
    migrate: bool,
    wait_db: float | None,
    reflector_port: int | None,
) -> None:
    """Run the collector until interrupted (Ctrl-C); HTTPS with a certificate and key.

    A database that does not answer yet is waited for (see --wait-db); its schema must be
    this version's: run `ioc-collector migrate` first, or give --migrate.
    """
    from collector.api.app import create_app
    from collector.api.server import TLSFiles, check_port_free, make_server, shared_socket
    from collector.assembly import open_services, settle_gc
    from collector.config import parse_listen
    from collector.storage.connect import display_url

    log_level = obj.setup_logging("info")
    with user_errors():
        obj.override(
            listen=listen,
            tls_cert_file=tls_cert,
            tls_key_file=tls_key,
            catalogue=catalogue,
            reuse_port=reuse_port,
            reflector_port=reflector_port,
        )
        cfg = obj.config
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
        if not cfg.reuse_port:  # before waiting for the database: a mistake to say at once
            check_port_free(host, port)
        services = open_services(cfg, migrate=migrate, wait_s=wait_db)
        sock = shared_socket(host, port) if cfg.reuse_port else None
        if sock is None:
            check_port_free(host, port)
        app = create_app(services, cfg)
        scheme = "https" if tls else "http"
        click.echo(
            f"collector listening on {scheme}://{host}:{port} (database: {display_url(cfg.db)})",
            err=True,
        )
        if cfg.reflector_port:
            click.echo(f"UDP reflector for vc.quality on {host}:{cfg.reflector_port}", err=True)
        from collector.service.reload import watch_catalogue

        # SIGHUP or a changed file: reload, or keep the old one (and say so on /metrics)
        watch_catalogue(services.rules, services.evaluation, cfg, app.state.catalogue_metrics)
        settle_gc()
        make_server(app, host, port, log_level=log_level, tls=tls).run(
            sockets=None if sock is None else [sock]
        )


@click.command()
@click.option("--once", is_flag=True, help="Print the national summary and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (with --once).")
@db_option(help="Demo database file (default: .demo/ioc-demo.db, recreated at each run).")
@click.option("--listen", default="127.0.0.1:8321", show_default=True, help="HOST:PORT.")
@click.option("--seed", default=1, show_default=True, help="Seed of the simulated nation.")
@click.option(
    "--commune",
    default="00070",
    show_default=True,
    help="Commune this machine's own agent reports for.",
)
@click.option("--no-local-agent", is_flag=True, help="Do not run this machine's agent.")
@click.option(
    "--reflector-port", type=click.IntRange(0, 65535), metavar="PORT", help=REFLECTOR_PORT_HELP
)
@click.option(
    "--days",
    type=click.IntRange(0, MAX_DAYS),
    default=DEFAULT_DAYS,
    show_default=True,
    metavar="N",
    help=f"Days of history simulated before now, time-compressed (0 to {MAX_DAYS}; 0: none, "
    "only now): the simulated agents report in working time only (not at night, at weekends "
    "or on public holidays), and the coverage history gets a point every evening.",
)
@pass_cli
def demo(
    obj: CliContext,
    once: bool,
    as_json: bool,
    listen: str,
    seed: int,
    commune: str,
    no_local_agent: bool,
    reflector_port: int | None,
    days: int,
) -> None:
    """Start a collector on SQLite and simulate agents for all 3,321 communes: they enroll
    through the real HTTP API, then live --days days before now, time-compressed (they
    report at simulated instants of working time, through the collector's own ingest; a
    month takes about a minute), so that /history shows a trend. Then this machine's agent
    runs once against the collector, every simulated agent reports now over HTTP, and the
    national summary and the URLs to open are printed. Without --once the collector keeps
    serving (and the simulated agents keep reporting every minute) until Ctrl-C. The demo
    makes its own database (its schema included): --config does not apply."""
    from collector.demo.run import run_demo

    with user_errors():
        code = run_demo(
            db=Path(obj.db) if obj.db else None,
            listen=listen,
            once=once,
            as_json=as_json,
            seed=seed,
            commune=commune,
            local_agent=not no_local_agent,
            reflector_port=reflector_port,
            days=days,
        )
    raise SystemExit(code)
