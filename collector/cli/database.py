"""``ioc-collector migrate``: bring the database to this version's schema."""

from __future__ import annotations

import click

from collector.cli.common import CliContext, pass_cli, shared_options, user_errors


@click.command("migrate")
@shared_options
@click.option(
    "--wait-db",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="Seconds to wait for a database that does not answer yet, retrying with a "
    "growing pause (default: 0, exit 1 at once; as `serve --wait-db`).",
)
@pass_cli
def migrate(obj: CliContext, wait_db: float) -> None:
    """Create the collector's tables in a new database, or upgrade an older one to this
    version's schema (the Alembic migrations shipped with it), and say what was done: from
    which schema version to which, or that it was already current (exit 0).

    Run it once after installing or upgrading, before `serve` (or give `serve --migrate`).
    The other commands never change the schema: they check its version and refuse an older
    database (run this) or a newer one (a later collector wrote it: this one refuses to
    touch it, exit 2). Running it again changes nothing; two at once on one PostgreSQL
    database run one after the other.
    """
    from collector.storage.connect import (
        describe_revision,
        display_url,
        make_engine,
        migrate_schema,
        wait_for_database,
    )

    obj.setup_logging()
    with user_errors():
        cfg = obj.config
        engine = make_engine(cfg.db, busy_timeout_s=cfg.db_busy_timeout_s)
        try:
            wait_for_database(engine, wait_db)
            done = migrate_schema(engine)
        finally:
            engine.dispose()
    where = f"database {display_url(cfg.db)}"
    after = describe_revision(done.after)
    if done.adopted:
        click.echo(f"{where}: tables made without migrations, adopted as schema version {after}")
    elif done.before is None:
        click.echo(f"{where}: schema created, version {after}")
    elif done.changed:
        click.echo(
            f"{where}: migrated from schema version {describe_revision(done.before)} to {after}"
        )
    else:
        click.echo(f"{where}: already at the current schema version {after}; nothing to do")
