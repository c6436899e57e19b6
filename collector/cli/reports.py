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
    "--from",
    "start",
    metavar="YYYY-MM-DD",
    help="Period report: first day (with --to), a calendar day in Viet Nam time.",
)
@click.option("--to", "end", metavar="YYYY-MM-DD", help="Period report: last day, included.")
@click.option(
    "--period",
    "kind",
    type=click.Choice(["month", "quarter"]),
    help="Period report of a calendar month or quarter: the one --of names, else the last "
    "complete one.",
)
@click.option(
    "--of",
    metavar="YYYY-MM | YYYY-QN",
    help="With --period: which month (2026-11) or quarter (2026-Q4).",
)
@click.option(
    "--ready-share",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    help="Period report: a working day is ready when green for at least this share of its "
    "working time (default: reports.ready_share of --config, 0.9).",
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
    start: str | None,
    end: str | None,
    kind: str | None,
    of: str | None,
    ready_share: float | None,
    output: Path,
) -> None:
    """Write a readiness report (PDF, XLSX, CSV or JSON), the same data as the web pages.

    Without --from/--to or --period: the state now. With them: a period report, read from
    the daily roll-ups: per commune its working days, the days it was ready (green for at
    least --ready-share of that day's working time), its availability (green time over
    working time) and the criteria it failed most; per province and nation the green
    coverage of each working day (the share of communes ready that day). Days are calendar
    days in Viet Nam time, both ends included; a period may not end after today.

    The PDF is a briefing under the letterhead of `reports:` in --config (agency,
    parent_agency, place, signer_title, signer_name).

    \b
    ioc-collector report --db ioc.db --scope national --format pdf -o nation.pdf
    ioc-collector report --db ioc.db --scope province 04 --format xlsx -o cao-bang.xlsx
    ioc-collector report --db ioc.db --scope commune 00070 --format csv -o hoan-kiem.csv
    ioc-collector report --db ioc.db --from 2026-11-01 --to 2026-11-30 -o nov.pdf
    ioc-collector report --db ioc.db --period month --of 2026-11 -o nov.xlsx
    ioc-collector report --db ioc.db --period quarter -o last-quarter.pdf
    """
    if fmt is None:
        suffix = output.suffix.lstrip(".").lower()
        if suffix not in ("pdf", "xlsx", "csv", "json"):
            raise click.UsageError(
                "give --format pdf|xlsx|csv|json (or an -o file with that suffix)"
            )
        fmt = suffix
    if start or end or kind or of:
        _period_report(obj, scope, code, fmt, lang, (start, end, kind, of), ready_share, output)
        return
    _readiness_report(obj, scope, code, fmt, lang, output)


def _write(output: Path, data: bytes) -> None:
    if str(output) == "-":
        sys.stdout.buffer.write(data)
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise click.ClickException(f"-o {output}: {exc.strerror}") from None


def _period_report(
    obj: CliContext,
    scope: str,
    code: str | None,
    fmt: str,
    lang: str,
    options: tuple[str | None, str | None, str | None, str | None],
    ready_share: float | None,
    output: Path,
) -> None:
    """A period report (see ``report --help``): bad dates are a usage error, never a
    traceback."""
    from collector.domain.periods import PeriodError, resolve
    from collector.reports import build_period_report, render_period
    from collector.reports.fmt import TIME_ZONE, percent
    from collector.reports.model import ReportError

    started = time.monotonic()
    with user_errors():
        services = obj.open_services()
        today = services.clock().astimezone(TIME_ZONE).date()
        try:
            period = resolve(today, *options)
            rep = build_period_report(
                services,
                scope,
                code,
                period,
                lang="en" if lang == "en" else "vi",
                ready_share=ready_share or obj.config.reports.ready_share,
            )
        except (PeriodError, ReportError) as exc:
            raise click.UsageError(str(exc)) from None
        data = render_period(rep, fmt, obj.config.reports)
    _write(output, data)
    ratio = rep.total.ready_ratio
    click.echo(
        f"{rep.scope_label}, {period.label()}: {len(rep.days)} working days, "
        f"{rep.total.ready_days}/{rep.total.working_days} commune-days ready "
        f"({'-' if ratio is None else percent(ratio, rep.lang)}) -> {output} "
        f"({len(data)} bytes, {time.monotonic() - started:.1f} s)",
        err=True,
    )


def _readiness_report(
    obj: CliContext, scope: str, code: str | None, fmt: str, lang: str, output: Path
) -> None:
    """The readiness report of now."""
    from collector.reports import build_report, render
    from collector.reports.fmt import percent
    from collector.reports.model import ReportError

    started = time.monotonic()
    with user_errors():
        services = obj.open_services()
        try:
            rep = build_report(services, scope, code, lang="en" if lang == "en" else "vi")
        except ReportError as exc:
            raise click.UsageError(str(exc)) from None
        data = render(rep, fmt, obj.config.reports)
    _write(output, data)
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
