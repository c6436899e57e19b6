"""``ioc-collector report`` and ``summary``: the readiness of the nation, a province or a
commune, as a report file or the national summary."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from collector.cli.common import CliContext, pass_cli, shared_options, user_errors

SCOPES = ("national", "province", "commune")  # collector.reports.model.SCOPES, without its imports


@click.command("report")
@shared_options
@click.option(
    "--scope",
    type=click.Choice(SCOPES),
    default="national",
    show_default=True,
    help="national, or province / commune followed by its CODE.",
)
@click.argument("code", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pdf", "xlsx", "csv", "json"]),
    help="Output format (default: from the -o file's extension).",
)
@click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default="vi",
    show_default=True,
    help="Language of the report.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write ('-' for standard output).",
)
@pass_cli
def report(
    obj: CliContext,
    scope: str,
    code: str | None,
    fmt: str | None,
    lang: str,
    output: Path,
) -> None:
    """Write a readiness report (PDF, XLSX, CSV or JSON), the same data as the web pages.

    The PDF is a briefing under the letterhead of `reports:` in --config (agency,
    parent_agency, place, signer_title, signer_name).

    \b
    ioc-collector report --db ioc.db --scope national --format pdf -o nation.pdf
    ioc-collector report --db ioc.db --scope province 04 --format xlsx -o cao-bang.xlsx
    ioc-collector report --db ioc.db --scope commune 00070 --format csv -o hoan-kiem.csv
    """
    from collector.reports import build_report, render
    from collector.reports.fmt import percent
    from collector.reports.model import ReportError

    if fmt is None:
        suffix = output.suffix.lstrip(".").lower()
        if suffix not in ("pdf", "xlsx", "csv", "json"):
            raise click.UsageError(
                "give --format pdf|xlsx|csv|json (or an -o file with that suffix)"
            )
        fmt = suffix
    started = time.monotonic()
    with user_errors():
        services = obj.open_services()
        try:
            rep = build_report(services, scope, code, lang="en" if lang == "en" else "vi")
        except ReportError as exc:
            raise click.UsageError(str(exc)) from None
        data = render(rep, fmt, obj.config.reports)
    if str(output) == "-":
        sys.stdout.buffer.write(data)
    else:
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise click.ClickException(f"-o {output}: {exc.strerror}") from None
    click.echo(
        f"{rep.scope_label}: {rep.totals.communes} communes, {rep.totals.green} green "
        f"({percent(rep.totals.green_ratio, rep.lang)}) -> {output} ({len(data)} bytes, "
        f"{time.monotonic() - started:.1f} s)",
        err=True,
    )


@click.command()
@shared_options
@pass_cli
def summary(obj: CliContext) -> None:
    """Print the national summary JSON from a database (read only: nothing is written)."""
    with user_errors():
        services = obj.open_services()
        click.echo(json.dumps(services.readiness.summary(), ensure_ascii=False, indent=2))
