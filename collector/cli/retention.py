"""``ioc-collector rollup`` and ``prune``: the daily roll-ups and retention by hand
(docs/ARCHITECTURE.md, "Retention and roll-ups"). The serving collector does both by itself
in its periodic pass; these commands catch up after an outage, redo a day, or prune a
database at once. Progress goes to stderr, the summary to stdout; Vietnamese by default."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import click

from collector.cli.common import CliContext, pass_cli, shared_options, user_errors

_LANG = click.option(
    "--lang",
    type=click.Choice(["vi", "en"]),
    default="vi",
    show_default=True,
    help="Language of the progress and the summary.",
)
#: The longest span one `rollup --from --to` takes (a year and a day).
MAX_SPAN_DAYS = 367


def _say(lang: str, vi: str, en: str) -> str:
    return en if lang == "en" else vi


def _n(value: float, lang: str, decimals: int = 0) -> str:
    """A figure in the reader's locale (12.345 and 1,5 in Vietnamese)."""
    from collector.reports.fmt import number

    return number(value, lang, decimals)


def _days(day: date | None, first: date | None, last: date | None) -> list[date] | None:
    """The days asked for: one, a span, or None (every day not rolled up yet)."""
    if day is not None and (first or last):
        raise click.UsageError("--day goes alone, or --from with --to")
    if day is not None:
        return [day]
    if (first is None) != (last is None):
        raise click.UsageError("--from and --to go together")
    if first is None or last is None:
        return None
    if last < first:
        raise click.UsageError(f"--to {last} is before --from {first}")
    if (last - first).days >= MAX_SPAN_DAYS:
        raise click.UsageError(f"at most {MAX_SPAN_DAYS} days at once")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command("rollup")
@shared_options
@click.option("--day", type=_DATE, help="Roll up this day (YYYY-MM-DD) again.")
@click.option("--from", "first", type=_DATE, help="First day of a span (YYYY-MM-DD).")
@click.option("--to", "last", type=_DATE, help="Last day of the span, included.")
@_LANG
@pass_cli
def rollup(
    obj: CliContext,
    day: datetime | None,
    first: datetime | None,
    last: datetime | None,
    lang: str,
) -> None:
    """Roll up days: per commune, the working seconds in each colour, and per criterion
    the working seconds assessed and passed (tables commune_days, criterion_days).

    Without options, every complete day not rolled up yet (what the serving collector
    does each night). With --day or --from/--to, those days again, each replacing its
    rows in one transaction: the numbers are the same however often it runs. A day is
    the calendar day in Asia/Ho_Chi_Minh; today cannot be rolled up before it ends, nor a
    rolled-up day whose raw data retention has pruned.
    """
    from collector.domain.errors import DomainError

    days = _days(
        *(d.date() if d is not None else None for d in (day, first, last))  # datetimes
    )
    started = time.monotonic()
    with user_errors():
        rollups = obj.open_services().rollups
        try:
            todo = rollups.pending_days() if days is None else days
            for d in todo:
                rollups.check_day(d)
            for d in todo:
                n = rollups.roll_day(d)
                click.echo(
                    _say(
                        lang,
                        f"{d}: đã tổng hợp {_n(n, lang)} xã",
                        f"{d}: {_n(n, lang)} communes rolled up",
                    ),
                    err=True,
                )
        except DomainError as exc:
            raise click.ClickException(f"rollup: {exc.message}") from None
    elapsed = time.monotonic() - started
    if not todo:
        click.echo(_say(lang, "không có ngày nào cần tổng hợp", "no day to roll up"))
        return
    span = f"{todo[0]} .. {todo[-1]}" if len(todo) > 1 else str(todo[0])
    click.echo(
        _say(
            lang,
            f"đã tổng hợp {len(todo)} ngày ({span}) trong {_n(elapsed, lang, 1)} giây",
            f"{len(todo)} days rolled up ({span}) in {_n(elapsed, lang, 1)} s",
        )
    )


@click.command("prune")
@shared_options
@_LANG
@pass_cli
def prune(obj: CliContext, lang: str) -> None:
    """Delete what retention no longer keeps (`retention:` in --config): raw reports and
    the change log older than reports_days whole days (never a day not rolled up yet: run
    `rollup` first), roll-ups older than rollup_years, and coverage history points older
    than coverage_detail_days but the last of each day. In batches of `batch` rows, each
    its own transaction: a serving collector keeps taking reports meanwhile, and an
    interrupted prune is finished by the next one.
    """
    names = {
        "reports": ("báo cáo gốc", "raw reports"),
        "changes": ("thay đổi trạng thái", "state changes"),
        "roll-ups": ("dòng tổng hợp", "roll-up rows"),
        "coverage": ("điểm lịch sử độ phủ", "coverage points"),
    }

    def progress(line: str) -> None:
        kind, _, count = line.partition(": ")
        vi, en = names.get(kind, (kind, kind))
        n = _n(int(count), lang)
        click.echo(_say(lang, f"đã xoá {n} {vi}", f"{n} {en} deleted"), err=True)

    started = time.monotonic()
    with user_errors():
        done = obj.open_services().rollups.prune(progress=progress)
    elapsed = time.monotonic() - started
    counts = (done.reports, done.changes, done.rollups, done.coverage)
    vi = "; ".join(f"{_n(n, lang)} {v}" for n, (v, _) in zip(counts, names.values(), strict=True))
    en = ", ".join(f"{_n(n, lang)} {e}" for n, (_, e) in zip(counts, names.values(), strict=True))
    click.echo(
        _say(
            lang,
            f"đã xoá: {vi} ({_n(elapsed, lang, 1)} giây)",
            f"deleted: {en} ({_n(elapsed, lang, 1)} s)",
        )
    )
    if done.waiting:
        click.echo(
            _say(
                lang,
                f"{_n(done.waiting, lang)} ngày chưa được tổng hợp: dữ liệu gốc từ ngày đầu "
                "tiên trong số đó được giữ lại; chạy `ioc-collector rollup` trước",
                f"{_n(done.waiting, lang)} days not rolled up yet: raw data from the first of "
                "them is kept; run `ioc-collector rollup` first",
            )
        )
