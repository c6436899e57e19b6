"""``ioc-collector catalogue check``: validate a criteria catalogue before `serve` loads it;
``ioc-collector catalogue levels``: the levels it gives agents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from collector.cli.common import user_errors

if TYPE_CHECKING:
    from collector.criteria.catalogue import Catalogue

F = TypeVar("F", bound=Callable[..., Any])


def catalogue_source(f: F) -> F:
    """FILE and --overrides: the catalogue as `serve` would load it."""
    f = click.option(
        "--overrides",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A province's overrides file, merged over FILE (or over the built-in catalogue).",
    )(f)
    return click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))(
        f
    )


def load_source(file: Path | None, overrides: Path | None) -> Catalogue:
    """The catalogue of FILE and --overrides, or exit 1 with every error."""
    from collector.config import CollectorConfig

    with user_errors():
        return CollectorConfig(catalogue=file, catalogue_overrides=overrides).load_catalogue()


@click.group()
def catalogue() -> None:
    """The criteria catalogue (the built-in decree118, or a province's file and overrides)."""


@catalogue.command("check")
@catalogue_source
def catalogue_check(file: Path | None, overrides: Path | None) -> None:
    """Validate a catalogue FILE (and --overrides) as `serve` would load it, without
    touching a running collector: exit 0 and a summary, or exit 1 and every error with its
    line and field. Check before copying a file where `serve` reloads it."""
    from collector.criteria.catalogue import Kind
    from collector.criteria.rules import fingerprint_of

    cat = load_source(file, overrides)
    automated = sum(1 for c in cat.criteria if c.kind is Kind.AUTOMATED)
    click.echo(
        f"OK: profile {cat.profile}, {len(cat.criteria)} criteria ({automated} automated, "
        f"{len(cat.criteria) - automated} attested), stale after {cat.stale_after_s} s, "
        f"rules fingerprint {fingerprint_of(cat)}"
    )


@catalogue.command("levels")
@catalogue_source
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the JSON to this file instead of printing it.",
)
def catalogue_levels(file: Path | None, overrides: Path | None, output: Path | None) -> None:
    """Print every level the catalogue judges reported values with, as JSON: what agents
    receive from GET /api/v1/levels. An agent installed without a link to the collector
    judges `ioc-agent check` with the built-in catalogue's levels, written by this command
    to agent/default_levels.json."""
    import json

    from collector.criteria.rules import Rules

    rules = Rules.of(load_source(file, overrides))
    text = json.dumps(rules.levels_body(), indent=2)
    if output is None:
        click.echo(text)
        return
    try:
        output.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{output}: cannot write: {exc.strerror}") from None
    click.echo(f"{output}: levels of version {rules.fingerprint} written")
