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

import dataclasses
import logging
import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

import yaml
from annotated_types import Ge, Gt, Le, MaxLen, MinLen

from agent.paths import config_file_for, state_dir_for
from checks.base import Check, CheckConfig
from checks.check_list import default_registry
from checks.registry import Registry
from checks.schema import STRICT, After, Doc, Record
from checks.tls import Pinned, TLSVerify, normalise_fingerprint

if TYPE_CHECKING:
    from pydantic import ValidationError

log = logging.getLogger(__name__)


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


def _fingerprint(v: str | None) -> str | None:
    return None if v is None else normalise_fingerprint(v)


def _url(v: str | None) -> str | None:
    if v is None:
        return v
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {v!r}")
    return v.rstrip("/")


@dataclass(frozen=True, kw_only=True)
class UplinkConfig(Record):
    """How this agent reaches the province's collector (the ``collector:`` section)."""

    __pydantic_config__ = STRICT

    url: Annotated[str | None, After(_url), Doc("https://collector:port of the province")] = None
    ca_file: Annotated[
        Path | None,
        Doc(
            "CA bundle for a private PKI: the ONLY CA trusted (the system store is "
            "not used), for enrollment and for sending"
        ),
    ] = None
    cert_sha256: Annotated[
        str | None,
        After(_fingerprint),
        Doc(
            "SHA-256 fingerprint of the collector's certificate, required in "
            "addition to the CA check (openssl x509 -noout -fingerprint -sha256)"
        ),
    ] = None
    verify_tls: bool = True
    timeout_s: Annotated[float, Gt(0), Le(120)] = 10.0

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


@dataclass(frozen=True, kw_only=True)
class SpoolConfig(Record):
    __pydantic_config__ = STRICT

    #: 8 days at 60 s = 11,520 reports: more than the 7 days docs/ARCHITECTURE.md asks.
    max_age_s: Annotated[float, Gt(0)] = 8 * 86400
    max_bytes: Annotated[int, Gt(0)] = 256 * 1024 * 1024
    batch_size: Annotated[int, Ge(1), Le(200)] = 50
    #: Pause between two batches while draining a backlog (jittered 50-100 %).
    batch_pause_s: Annotated[float, Ge(0), Le(60)] = 1.0


@dataclass(frozen=True, kw_only=True)
class SenderConfig(Record):
    __pydantic_config__ = STRICT

    backoff_base_s: Annotated[float, Gt(0)] = 2.0
    backoff_cap_s: Annotated[float, Gt(0)] = 300.0


class ChecksConfig:
    """The ``checks:`` section: every registered check's options by its id, the defaults
    for a check the file does not name. pydantic validates it as a mapping of check ids
    (an unknown id is an unknown option) to each check's ``Config``."""

    __slots__ = ("_sections",)

    def __init__(self, sections: Mapping[str, CheckConfig] | None = None) -> None:
        given = dict(sections or {})
        self._sections: dict[str, CheckConfig] = {
            cls.id: given.pop(cls.id) if cls.id in given else cls.Config()
            for cls in default_registry()
        }
        self._sections.update(given)

    def for_check(self, check_id: str) -> CheckConfig:
        """The options of ``check_id`` (AttributeError for an id no check has)."""
        try:
            return self._sections[check_id]
        except KeyError:
            raise AttributeError(f"no check {check_id!r} in this configuration") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChecksConfig) and other._sections == self._sections

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ChecksConfig({self._sections!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ChecksConfig, (self._sections,))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        fields = {
            check.id: {
                "type": "typed-dict-field",
                "schema": handler.generate_schema(check.Config),
                "required": False,
            }
            for check in default_registry()
        }
        return {
            "type": "function-after",
            "function": {"type": "no-info", "function": cls},
            "schema": {"type": "typed-dict", "fields": fields, "extra_behavior": "forbid"},
        }


@dataclass(frozen=True, kw_only=True)
class AgentConfig(Record):
    __pydantic_config__ = STRICT

    collector: UplinkConfig = field(default_factory=UplinkConfig)
    state_dir: Path = field(default_factory=default_state_dir)
    host: Annotated[str, MinLen(1), MaxLen(253)] = field(default_factory=socket.gethostname)
    #: None = the interval the collector gave at enrollment, else 60 s.
    interval_s: Annotated[float | None, Ge(5), Le(86400)] = None
    spool: SpoolConfig = field(default_factory=SpoolConfig)
    sender: SenderConfig = field(default_factory=SenderConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)

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
    """Reach the record inside Optional[...], list[...] and dict[str, ...]."""
    while True:
        if isinstance(annotation, type) and (
            dataclasses.is_dataclass(annotation) or annotation is ChecksConfig
        ):
            return annotation
        args = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) is dict and len(args) == 2:
            annotation = args[1]
        elif args:
            annotation = args[0]
        else:
            return None


def options_of(record: Any) -> dict[str, Any]:
    """Option name -> annotation, of a record or of the ``checks:`` section."""
    if record is ChecksConfig:
        return {cls.id: cls.Config for cls in default_registry()}
    hints = get_type_hints(record)
    return {f.name: hints[f.name] for f in dataclasses.fields(record)}


def _keys_at(record: type, loc: tuple[int | str, ...]) -> list[str]:
    """Option names allowed where ``loc`` points (for "did you mean")."""
    current: Any = record
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        annotation = options_of(current).get(str(part))
        current = _unwrap(annotation) if annotation is not None else None
    if current is None:
        return []
    return list(options_of(current))


def _describe(source: str, exc: ValidationError) -> str:
    import difflib  # only for a bad configuration: not resident in a running agent

    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = _path(loc)
        if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
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
    from pydantic import ValidationError

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


# ------------------------------------------------------------------ validated apart

#: ``python -m agent.configcheck`` exits with this when the file is refused.
REFUSED = 2


def _python() -> str:
    """The interpreter to validate with: this one, or ``python.exe`` beside it when this
    process is a host such as pywin32's ``pythonservice.exe``."""
    exe = sys.executable
    if exe and Path(exe).stem.lower().startswith("python") and "service" not in exe.lower():
        return exe
    beside = Path(sys.exec_prefix) / ("python.exe" if os.name == "nt" else "bin/python3")
    return str(beside) if beside.is_file() else exe


def load_config_apart(path: Path | None, timeout_s: float = 120.0) -> AgentConfig:
    """:func:`load_config` with the validation in a child interpreter, for the long-running
    agent: pydantic (about 12 MiB resident) is loaded there, never in this process, which
    receives the validated records. Same result, same :class:`ConfigError` messages; the
    child's warnings (retired options) are logged here. When no child can be started, the
    file is validated in this process."""
    if path is None:
        return AgentConfig()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    try:
        proc = subprocess.run(
            [_python(), "-m", "agent.configcheck", str(path)],
            capture_output=True,
            timeout=timeout_s,
            env=env,
            check=False,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # Windows: no console
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.info("configuration validated in this process (no child interpreter: %s)", exc)
        return load_config(path)
    said = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode == REFUSED:
        raise ConfigError(said)
    if proc.returncode != 0:
        log.info("configuration validated in this process (child exited %s)", proc.returncode)
        return load_config(path)
    for line in said.splitlines():
        log.warning("%s", line)
    config = pickle.loads(proc.stdout)  # noqa: S301 (our own child's answer, on its pipe)
    if not isinstance(config, AgentConfig):
        return load_config(path)
    return config
