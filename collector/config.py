"""Collector configuration: a YAML file validated once, overridden by command-line options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from collector.criteria.catalogue import Catalogue, CatalogueError, load_catalogue, merge


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the option."""


class CollectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    db: str = Field(default="ioc-collector.db", description="SQLite file path or database URL")
    listen: str = Field(default="127.0.0.1:8321", description="HOST:PORT to serve on")
    catalogue: Path | None = Field(default=None, description="catalogue file; built-in decree118")
    catalogue_overrides: Path | None = Field(
        default=None, description="a province's overrides, merged by criterion id"
    )
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    reevaluate_every_s: float = Field(default=60.0, ge=0)
    reflector_port: int = Field(
        default=8322, ge=0, le=65535,
        description="UDP port of the reflector for the agents' vc.quality probe (0 = off); "
        "it listens on the --listen host",
    )
    metrics_host_values: list[str] = Field(
        default_factory=list,
        description="check values exposed per host on /metrics besides the default set "
        "(e.g. sip_response_time); each adds one series per host and target",
    )

    def load_catalogue(self) -> Catalogue:
        cat = load_catalogue(self.catalogue)
        if self.catalogue_overrides is not None:
            path = self.catalogue_overrides
            try:
                data = yaml.safe_load(path.read_text("utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise CatalogueError(f"{path}: cannot read overrides: {exc}") from None
            if not isinstance(data, dict):
                raise CatalogueError(f"{path}: expected a mapping with 'criteria'")
            cat = merge(cat, data, str(path))
        return cat


def load_config(path: Path | None, **overrides: Any) -> CollectorConfig:
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text("utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of options")
        data.update(loaded or {})
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return CollectorConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        where = f"{path}: " if path else ""
        raise ConfigError(f"{where}option {loc!r}: {err['msg']}") from None


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8321")
    return host.strip("[]") or "127.0.0.1", int(port)
