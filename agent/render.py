"""Show check results to a person (rich table) or a program (JSON)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from agent.i18n import Lang, check_title, t
from checks import fmt
from checks.levels import LevelTable, crossing
from checks.messages import figure, render, render_id
from checks.model import CheckResult, Remedy, Status, Value

#: From this console width on, the table has a column each for the target and the values.
WIDE = 120

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


def format_value(value: Value, lang: Lang = "vi", name: str = "") -> str:
    """A value with its unit in the locale (Babel): 164,8 Mbit/s, 31 %, 2 giờ 17 phút."""
    v = value.value
    if value.unit == "percent":
        return f"{fmt.number(v, lang, 0)} %"
    if value.unit == "celsius":
        return f"{fmt.number(v, lang)} °C"
    if value.unit == "volts":
        return f"{fmt.number(v, lang)} V"
    if value.unit == "seconds" and v < 0:  # a clock ahead: the sign matters
        return "-" + figure(-v, value.unit, name, lang)
    if not value.unit and not name:
        return fmt.number(v, lang, 2)
    return figure(v, value.unit, name, lang)


def format_values(values: dict[str, Value], lang: Lang = "vi") -> str:
    return ", ".join(f"{name}={format_value(v, lang, name)}" for name, v in values.items())


def reason(result: CheckResult, lang: Lang = "vi", levels: LevelTable | None = None) -> str:
    """A result's message in ``lang`` (from its id, else as sent) with each level of the
    collector's catalogue its values cross, in words ("còn 8 %, dưới mức 10 %")."""
    if result.msg is None:
        return result.message  # an older result, judged in English already
    parts = [render(result.msg, lang, result.message)]
    for name, b in (levels or {}).get(result.check, {}).items():
        value = result.values.get(name)
        hit = value and crossing(
            value.value, b.fail_below, b.fail_above, b.warn_below, b.warn_above
        )
        if not value or not hit:
            continue
        _, bound, side = hit
        said = {
            "name": name,
            "figure": figure(value.value, value.unit, name, lang),
            "bound": figure(bound, value.unit, name, lang),
        }
        parts.append(render_id(f"reason.crossed_{side}", said, lang))
    return "; ".join(p for p in parts if p)


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
    levels: LevelTable | None = None,
) -> None:
    """The results as a table. Narrower than :data:`WIDE` columns (a commune PC's 80-column
    console), three columns: the check over its target, the status, the reason over the
    values; words wrap whole (only a word longer than its column, a URL, is folded)."""
    wide = console.width >= WIDE
    table = Table(title=title, show_lines=not wide, expand=not wide)
    table.add_column(t(lang, "col.check"), overflow="fold", ratio=2)
    if wide:
        table.add_column(t(lang, "col.target"), overflow="fold", ratio=2)
    table.add_column(t(lang, "col.status"), no_wrap=True)
    if wide:
        table.add_column(t(lang, "col.values"), overflow="fold", ratio=2)
    table.add_column(t(lang, "col.reason"), overflow="fold", ratio=4)
    for r in sort_results(results):
        status = Text(t(lang, "status." + r.status.value), style=STATUS_STYLE[r.status])
        said, values, target = reason(r, lang, levels), format_values(r.values, lang), r.target
        if wide:
            texts = [check_title(lang, r.check), target or "—", values, said]
        else:
            check = check_title(lang, r.check) + (f"\n{target}" if target else "")
            texts = [check, said + (f"\n{values}" if values else "")]
        # plain text, never markup: a message may hold brackets
        cells = [Text(c) for c in texts]
        table.add_row(*cells[: -2 if wide else -1], status, *cells[-2 if wide else -1 :])
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
