"""The ``ioc-collector`` group: its shared options, and every command added from the module
of its family. This module imports the command modules; they import only
:mod:`collector.cli.common`, never this one."""

from __future__ import annotations

import click

from collector.cli.admin import agents, audit, enrollment_code
from collector.cli.catalogue import catalogue
from collector.cli.common import CliContext, shared_options
from collector.cli.dashboards import dashboards
from collector.cli.database import migrate
from collector.cli.hosts import host
from collector.cli.notify import alerting, zalo_bridge
from collector.cli.reports import report, summary
from collector.cli.retention import prune, rollup
from collector.cli.serving import demo, serve
from collector.cli.tokens import token
from collector.cli.users import user


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="commune-ioc")
@shared_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """commune-ioc collector: stores agent reports, colours every commune green / yellow /
    red / grey against the Decree-118 criteria, and exposes Prometheus metrics.

    --db, --config and --log-level may be given here, before the command, or after it
    (`ioc-collector --db ioc.db summary` = `ioc-collector summary --db ioc.db`); a value
    after the command wins. A new or upgraded collector's database is brought to its
    schema version by `ioc-collector migrate` (or `serve --migrate`); every other command
    checks the version and refuses, with what to do, a database that is older or newer.
    """
    ctx.ensure_object(CliContext)


for command in (
    serve,
    demo,
    migrate,
    enrollment_code,
    agents,
    host,
    audit,
    user,
    token,
    report,
    summary,
    rollup,
    prune,
    catalogue,
    dashboards,
    alerting,
    zalo_bridge,
):
    main.add_command(command)
