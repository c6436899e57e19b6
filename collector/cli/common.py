"""What every ``ioc-collector`` command shares: the options of the group (``--db``,
``--config``, ``--log-level``) and the context object they fill, the one configuration
loaded from them, the store, and the errors a user can cause turned into one clean line.

The command modules import this module; it imports none of them.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from collector.config import CollectorConfig, ConfigError, load_config

if TYPE_CHECKING:
    from collector.service import Services

F = TypeVar("F", bound=Callable[..., Any])

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

DB_HELP = "SQLite file path or database URL (default: ioc-collector.db, or `db` in --config)."
CONFIG_HELP = "YAML configuration file (db, listen, catalogue, catalogue_overrides, ...)."
LOG_LEVEL_HELP = "Log level (default: info for `serve`, warning otherwise)."


class SchemaRefused(click.ClickException):
    """A database this collector will not use as it is (its schema older than the code,
    to migrate; or newer, from a later version): exit 2, as a usage error."""

    exit_code = 2


@dataclass
class CliContext:
    """``ctx.obj`` of every command: the shared options as given, on the group or after
    the subcommand, and the configuration loaded from them once, when first asked for."""

    db: str | None = None
    config_file: Path | None = None
    log_level: str | None = None
    #: Options of one command that override the file (``serve --listen``, ...).
    overrides: dict[str, Any] = field(default_factory=dict)
    _config: CollectorConfig | None = None

    def override(self, **options: Any) -> None:
        """Options of the command that take precedence over the configuration file; given
        before the configuration is first loaded."""
        if self._config is not None:
            raise RuntimeError("the configuration is already loaded")
        self.overrides.update({k: v for k, v in options.items() if v is not None})

    @property
    def config(self) -> CollectorConfig:
        """The one ``CollectorConfig``: --config's file, --db and the command's overrides
        over it (a :class:`ConfigError` for a bad file or value)."""
        if self._config is None:
            self._config = load_config(self.config_file, db=self.db, **self.overrides)
        return self._config

    def open_services(self) -> Services:
        """The store on the configured database, its schema version checked, never
        migrated (`ioc-collector migrate` does that); logging set up first."""
        from collector.assembly import open_services

        self.setup_logging()
        return open_services(self.config)

    def setup_logging(self, default: str = "warning") -> str:
        """Log to stderr at --log-level (or ``default``); returns the level used."""
        level = self.log_level or default
        logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
        return level


def cli_context(ctx: click.Context) -> CliContext:
    """This command's :class:`CliContext` (made when a command runs without the group, as
    a test may invoke it)."""
    return ctx.ensure_object(CliContext)


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def _store_option(attr: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None:  # given here: it wins over the group's
            setattr(cli_context(ctx), attr, value)

    return callback


def db_option(help: str = DB_HELP) -> Callable[[F], F]:
    """``--db``, written into ``ctx.obj``: on the group, and after a subcommand as well
    (``ioc-collector summary --db X``, the spelling of earlier versions)."""
    return click.option("--db", expose_value=False, callback=_store_option("db"), help=help)


def config_option(f: F) -> F:
    """``--config``, written into ``ctx.obj``, on the group and after a subcommand."""
    return click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False, path_type=Path),
        expose_value=False,
        callback=_store_option("config_file"),
        help=CONFIG_HELP,
    )(f)


def log_level_option(f: F) -> F:
    """``--log-level``, written into ``ctx.obj``, on the group and after a subcommand."""
    return click.option(
        "--log-level",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        expose_value=False,
        callback=_store_option("log_level"),
        help=LOG_LEVEL_HELP,
    )(f)


def shared_options(f: F) -> F:
    """The options of the group, accepted after a subcommand too."""
    return db_option()(config_option(log_level_option(f)))


def cli_actor() -> str:
    """Who acts from the command line: the operating-system account, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli"


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into one clean line, never a traceback: exit 2 for
    a database whose schema this collector will not use, 1 for the others."""
    from collector.api.server import ServerError
    from collector.criteria.catalogue import CatalogueError
    from collector.domain.units import UnknownUnitError
    from collector.storage.connect import DatabaseUnavailable, SchemaError, SchemaMismatch

    try:
        yield
    except SchemaMismatch as exc:
        raise SchemaRefused(str(exc)) from None
    except (
        ConfigError,
        CatalogueError,
        ServerError,
        SchemaError,
        UnknownUnitError,
        DatabaseUnavailable,
    ) as exc:
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
