"""Show check results to a person (rich table) or a program (JSON)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from agent.i18n import Lang, check_title, t
from checks.model import CheckResult, Remedy, Status, Value

#: Not-ready items first: what the commune IT staff must fix is at the top.
STATUS_ORDER = {Status.FAIL: 0, Status.WARN: 1, Status.UNKNOWN: 2, Status.OK: 3}
STATUS_STYLE = {
    Status.OK: "bold green",
    Status.WARN: "bold yellow",
    Status.FAIL: "bold red",
    Status.UNKNOWN: "bold bright_black",
}


def results_json(host: str, results: list[CheckResult]) -> dict[str, Any]:
    return {
        "host": host,
        "results": [
            {
                "check": r.check,
                "category": r.category.value,
                "target": r.target,
                "status": r.status.value,
                "values": {k: {"value": v.value, "unit": v.unit} for k, v in r.values.items()},
                "message": r.message,
            }
            for r in results
        ],
    }


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def _seconds(v: float, lang: Lang) -> str:
    if abs(v) < 1:
        return f"{v * 1000:.0f} ms"
    if abs(v) >= 86400:
        return f"{v / 86400:.1f} {t(lang, 'unit.days')}"
    if abs(v) >= 3600:
        return f"{v / 3600:.1f} h"
    return f"{v:.2f} s"


#: How a value of each unit is written; a unit not listed is a plain number.
_FORMATS: dict[str, Callable[[float, Lang], str]] = {
    "bytes": lambda v, _: _bytes(v),
    "ratio": lambda v, _: f"{v:.0%}",
    "seconds": _seconds,
    "days": lambda v, lang: f"{v:.0f} {t(lang, 'unit.days')}",
    "bits_per_second": lambda v, _: f"{v / 1e6:.1f} Mbit/s",
    "percent": lambda v, _: f"{v:.0f} %",
    "celsius": lambda v, _: f"{v:.1f} °C",
}


def format_value(value: Value, lang: Lang = "vi") -> str:
    fmt = _FORMATS.get(value.unit)
    if fmt is not None:
        return fmt(value.value, lang)
    v = value.value
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.2f}"


def format_values(values: dict[str, Value], lang: Lang = "vi") -> str:
    return ", ".join(f"{name}={format_value(v, lang)}" for name, v in values.items())


def sort_results(results: list[CheckResult]) -> list[CheckResult]:
    return sorted(results, key=lambda r: STATUS_ORDER[r.status])


def verdict(results: list[CheckResult], lang: Lang = "vi") -> tuple[str, str]:
    """(text, style) of the one-line verdict."""
    counts = Counter(r.status for r in results)
    args = {
        "total": len(results),
        "fail": counts[Status.FAIL],
        "warn": counts[Status.WARN],
        "unknown": counts[Status.UNKNOWN],
    }
    if counts[Status.FAIL]:
        return t(lang, "verdict.not_ready", **args), "bold red"
    if counts[Status.UNKNOWN]:
        return t(lang, "verdict.incomplete", **args), "bold yellow"
    if counts[Status.WARN]:
        return t(lang, "verdict.warn", **args), "bold yellow"
    return t(lang, "verdict.ready", **args), "bold green"


def print_table(
    console: Console,
    title: str,
    results: list[CheckResult],
    lang: Lang = "vi",
    *,
    with_verdict: bool = True,
    remediation: dict[str, list[Remedy]] | None = None,
) -> None:
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column(t(lang, "col.check"), overflow="fold")
    table.add_column(t(lang, "col.target"), overflow="fold")
    table.add_column(t(lang, "col.status"), no_wrap=True)
    table.add_column(t(lang, "col.values"), overflow="fold")
    table.add_column(t(lang, "col.reason"), overflow="fold")
    for r in sort_results(results):
        table.add_row(
            check_title(lang, r.check),
            r.target or "—",
            f"[{STATUS_STYLE[r.status]}]{t(lang, 'status.' + r.status.value)}[/]",
            format_values(r.values, lang),
            r.message,
        )
    console.print(table)
    if with_verdict:
        text, style = verdict(results, lang)
        console.print(f"[{style}]{text}[/]")
    print_remediation(console, results, remediation or {}, lang)


def todo(
    results: list[CheckResult], remediation: dict[str, list[Remedy]]
) -> list[tuple[Remedy, list[str]]]:
    """The criteria fed by a result that is not ok, each once, with the checks that feed it,
    in the order of the results (failing first)."""
    found: dict[str, tuple[Remedy, list[str]]] = {}
    for r in sort_results(results):
        if r.status is Status.OK:
            continue
        for remedy in remediation.get(r.check, []):
            checks = found.setdefault(remedy.id, (remedy, []))[1]
            if r.check not in checks:
                checks.append(r.check)
    return list(found.values())


def print_remediation(
    console: Console,
    results: list[CheckResult],
    remediation: dict[str, list[Remedy]],
    lang: Lang = "vi",
) -> None:
    """Under the verdict: for each criterion a failing result feeds, its steps, numbered."""
    items = todo(results, remediation)
    if not items:
        return
    console.print(f"\n[bold]{t(lang, 'title.todo')}[/]")
    for remedy, checks in items:
        title = remedy.title.get(lang) or remedy.title.get("vi", "")
        names = ", ".join(check_title(lang, c) for c in checks)
        console.print(
            f"[bold]{escape(t(lang, 'todo.criterion', id=remedy.id, title=title))}[/] "
            f"{escape(t(lang, 'todo.fed_by', checks=names))}"
        )
        for i, step in enumerate(remedy.steps.get(lang) or remedy.steps.get("vi", []), 1):
            # indented as a whole, wrapped lines too (a step is plain text, not markup)
            console.print(Padding(Text(f"{i}. {step}"), (0, 0, 0, 2), expand=False))
