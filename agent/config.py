"""Agent configuration: one YAML file, validated once at load time.

Everything has a default, so the agent runs with no file at all. Errors name the file, the
option path (``checks.net.http.targets[1].url``), what was expected, and suggest the closest
known option for a typo::

    collector:
      url: https://ioc.province.gov.vn:8443
      ca_file: /etc/ioc-agent/ca.pem
    interval_s: 60
    spool: {max_age_s: 691200, max_bytes: 268435456}
    checks:
      host.disk: {paths: [/, /data]}
      net.dns: {enabled: false}
      svc.http:
        targets:
          - {name: LGSP, url: https://lgsp.province.gov.vn/health}
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args, get_origin
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from agent.paths import config_file_for, state_dir_for
from checks.base import Check, CheckConfig
from checks.check_list import default_registry
from checks.registry import Registry
from checks.tls import Pinned, TLSVerify, normalise_fingerprint


class ConfigError(Exception):
    """The configuration file cannot be used; the message is meant for the operator."""


def default_state_dir() -> Path:
    """Where enrollment state and the spool live (``IOC_AGENT_STATE_DIR`` overrides;
    agent/paths.py has the table per platform)."""
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    return Path(state_dir_for(sys.platform, os.environ, is_root=is_root, home=Path.home()))


def default_config_file() -> Path | None:
    """The configuration file read when none is given: on Windows
    ``%ProgramData%\\ioc-agent\\agent.yaml`` when it exists (install.ps1 writes it)."""
    path = config_file_for(sys.platform, os.environ)
    if path is None or not Path(path).is_file():
        return None
    return Path(path)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UplinkConfig(_Strict):
    """How this agent reaches the province's collector (the ``collector:`` section)."""

    url: str | None = Field(default=None, description="https://collector:port of the province")
    ca_file: Path | None = Field(
        default=None,
        description="CA bundle for a private PKI: the ONLY CA trusted (the system store is "
        "not used), for enrollment and for sending",
    )
    cert_sha256: str | None = Field(
        default=None,
        description="SHA-256 fingerprint of the collector's certificate, required in "
        "addition to the CA check (openssl x509 -noout -fingerprint -sha256)",
    )
    verify_tls: bool = True
    timeout_s: float = Field(default=10.0, gt=0, le=120)

    @field_validator("cert_sha256")
    @classmethod
    def _fingerprint(cls, v: str | None) -> str | None:
        return None if v is None else normalise_fingerprint(v)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL, got {v!r}")
        return v.rstrip("/")

    @property
    def verify(self) -> TLSVerify:
        """What to trust (checks/tls.py): the pin with the CA file, the CA file alone, or
        the flag (True: the system store; False: no verification at all)."""
        if self.cert_sha256 is not None:
            ca = str(self.ca_file) if self.ca_file else None
            return Pinned(self.cert_sha256, ca, chain=self.verify_tls)
        if not self.verify_tls:
            return False
        return str(self.ca_file) if self.ca_file else True


class SpoolConfig(_Strict):
    #: 8 days at 60 s = 11,520 reports: more than the 7 days docs/ARCHITECTURE.md asks.
    max_age_s: float = Field(default=8 * 86400, gt=0)
    max_bytes: int = Field(default=256 * 1024 * 1024, gt=0)
    batch_size: int = Field(default=50, ge=1, le=200)
    #: Pause between two batches while draining a backlog (jittered 50-100 %).
    batch_pause_s: float = Field(default=1.0, ge=0, le=60)


class SenderConfig(_Strict):
    backoff_base_s: float = Field(default=2.0, gt=0)
    backoff_cap_s: float = Field(default=300.0, gt=0)


def _checks_model(registry: Registry) -> type[BaseModel]:
    """A model with one optional section per registered check, keyed by the check id."""
    fields: dict[str, Any] = {
        cls.id.replace(".", "_"): (cls.Config, Field(default_factory=cls.Config, alias=cls.id))
        for cls in registry
    }
    return create_model(
        "ChecksConfig",
        __config__=ConfigDict(extra="forbid", frozen=True),
        **fields,
    )


class ChecksConfigBase(BaseModel):
    def for_check(self, check_id: str) -> CheckConfig:
        value: CheckConfig = getattr(self, check_id.replace(".", "_"))
        return value


if TYPE_CHECKING:
    ChecksConfig = ChecksConfigBase
else:
    ChecksConfig = _checks_model(default_registry())
    ChecksConfig.for_check = ChecksConfigBase.for_check


class AgentConfig(_Strict):
    collector: UplinkConfig = Field(default_factory=UplinkConfig)
    state_dir: Path = Field(default_factory=default_state_dir)
    host: str = Field(default_factory=socket.gethostname, min_length=1, max_length=253)
    #: None = the interval the collector gave at enrollment, else 60 s.
    interval_s: float | None = Field(default=None, ge=5, le=86400)
    spool: SpoolConfig = Field(default_factory=SpoolConfig)
    sender: SenderConfig = Field(default_factory=SenderConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)

    def enabled_checks(self, registry: Registry | None = None) -> list[Check]:
        """Instances of every enabled check, configured from this file."""
        out: list[Check] = []
        for cls in registry or default_registry():
            # A check from another registry has no section here: its defaults apply.
            try:
                cfg = self.checks.for_check(cls.id)
            except AttributeError:
                cfg = cls.Config()
            if cfg.enabled:
                out.append(cls(cfg))
        return out


# --------------------------------------------------------------------------- errors


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _unwrap(annotation: Any) -> Any:
    """Reach the model inside Optional[...], list[...] and dict[str, ...]."""
    while True:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
        args = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) is dict and len(args) == 2:
            annotation = args[1]
        elif args:
            annotation = args[0]
        else:
            return None


def _keys_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Option names allowed where ``loc`` points (for "did you mean")."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        fields = current.model_fields
        match = next((f for name, f in fields.items() if part in (name, f.alias)), None)
        current = _unwrap(match.annotation) if match is not None else None
    if current is None:
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _describe(source: str, exc: ValidationError) -> str:
    import difflib  # only for a bad configuration: not resident in a running agent

    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = _path(loc)
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            known = _keys_at(AgentConfig, loc[:-1])
            hint = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            msg = f"{where}: unknown option"
            if hint:
                msg += f"; did you mean {hint[0]!r}?"
            elif known:
                msg += f"; expected one of: {', '.join(sorted(known))}"
        else:
            got = err.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            text = str(err["msg"]).removeprefix("Value error, ")
            msg = f"{where}: {text}{shown}"
        lines.append(msg)
    return f"{source}: " + (
        "\n  ".join(lines) if len(lines) == 1 else "invalid configuration:\n  " + "\n  ".join(lines)
    )


def parse_config(data: Any, source: str = "configuration") -> AgentConfig:
    """Validate already-loaded YAML data; raise :class:`ConfigError` naming ``source``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of options at the top level")
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(source, exc)) from None


def load_config(path: Path | None) -> AgentConfig:
    """Load and validate the YAML file at ``path``; ``None`` gives all defaults."""
    if path is None:
        return AgentConfig()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{where}: not valid YAML: {problem}") from None
    return parse_config(data, str(path))
