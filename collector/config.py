"""Collector configuration: a YAML file validated once, overridden by command-line options."""

from __future__ import annotations

import hashlib
import re
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from collector.criteria.catalogue import (
    Catalogue,
    CatalogueError,
    load_catalogue,
    merge,
    parse_overrides,
)
from collector.domain.calendar import (
    CIVIL_SERVICE_WEEK,
    DEFAULT_TIMEZONE,
    ROUND_THE_CLOCK,
    OfficeCalendar,
    Session,
    WorkingCalendar,
)

_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
#: A scrape token shorter than this is refused (the Ansible role makes 43 characters).
MIN_METRICS_TOKEN_LEN = 16


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the option."""


class LdapGroup(BaseModel):
    """A directory group and what its members get: a role, and provinces (none: national)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dn: str = Field(min_length=3, description="the group's DN, e.g. cn=ioc-04,ou=groups,...")
    role: str = Field(pattern="^(viewer|operator|admin)$")
    provinces: list[Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]] = Field(
        default_factory=list, description="province codes; none: the members are national"
    )


class LdapConfig(BaseModel):
    """Login against a directory (ldap3): the user is found under ``user_base`` with
    ``user_filter`` by the service account ``bind_dn`` (anonymous when empty), their
    password checked by binding as them, their role and provinces read from the ``groups``
    they are a member of (member, uniqueMember or memberUid)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^ldaps?://", description="ldap://host:389 or ldaps://host:636")
    bind_dn: str = ""
    bind_password: SecretStr | None = Field(default=None, description="never logged")
    bind_password_file: Path | None = Field(
        default=None, description="file whose first line is bind_password"
    )
    user_base: str = Field(min_length=3)
    user_filter: str = Field(
        default="(uid={username})", description="{username}: the login name, escaped"
    )
    groups: list[LdapGroup] = Field(min_length=1)
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    #: local users (a password kept by the collector) log in before the directory is asked
    local_first: bool = True

    def password(self) -> str:
        if self.bind_password_file is not None:
            try:
                lines = self.bind_password_file.read_text("utf-8").splitlines()
            except OSError as exc:
                raise ConfigError(
                    f"ldap.bind_password_file {self.bind_password_file}: {exc.strerror}"
                ) from None
            return lines[0] if lines else ""
        return self.bind_password.get_secret_value() if self.bind_password else ""


class ReportsConfig(BaseModel):
    """The letterhead of PDF readiness reports: who issues them, where, who signs; and the
    share of a working day green that makes it a ready day in period reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency: str = Field(
        default="TRUNG TÂM GIÁM SÁT SẴN SÀNG CẤP XÃ",
        max_length=200,
        description="issuing agency, top left (e.g. SỞ KHOA HỌC VÀ CÔNG NGHỆ TỈNH CAO BẰNG)",
    )
    parent_agency: str = Field(
        default="", max_length=200, description="the agency above it, printed over it (optional)"
    )
    place: str = Field(default="Hà Nội", max_length=80, description="place in the date line")
    signer_title: str = Field(default="NGƯỜI LẬP BÁO CÁO", max_length=120)
    signer_name: str = Field(default="", max_length=120, description="empty: a blank to sign")
    ready_share: float = Field(
        default=0.9,
        gt=0.0,
        le=1.0,
        description="period reports: a working day is ready when the commune was green for at "
        "least this share of its working time (docs/ARCHITECTURE.md, 'Period reports')",
    )


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SESSION = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$")


def parse_sessions(items: list[str]) -> tuple[Session, ...]:
    """``["07:30-11:30", "13:30-17:00"]`` -> sessions, in order and not overlapping."""
    out: list[Session] = []
    for item in items:
        m = _SESSION.match(item.strip())
        if m is None:
            raise ValueError(f"session {item!r}: expected HH:MM-HH:MM, e.g. 07:30-11:30")
        opens = time(int(m.group(1)), int(m.group(2)))
        closes = time.max if m.group(3) == "24:00" else time(int(m.group(4)), int(m.group(5)))
        if closes <= opens:
            raise ValueError(f"session {item!r}: it must close after it opens")
        if out and opens < out[-1][1]:
            raise ValueError(f"session {item!r}: sessions must be in order and not overlap")
        out.append((opens, closes))
    return tuple(out)


class ProvinceCalendarSpec(BaseModel):
    """A province's own working time: weekdays given replace the default's sessions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: dict[Weekday, list[str]] = Field(
        default_factory=dict,
        description="sessions per weekday, e.g. sat: [07:30-11:30] for a one-stop shop "
        "open on Saturday mornings; [] closes that day",
    )
    days_off: list[date] = Field(
        default_factory=list, description="extra days off besides the public holidays"
    )
    working_days: list[date] = Field(
        default_factory=list, description="make-up working days (Monday's sessions)"
    )

    @field_validator("hours")
    @classmethod
    def _sessions(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for items in v.values():
            parse_sessions(items)
        return v

    def office(self, base: OfficeCalendar) -> OfficeCalendar:
        week = tuple(
            parse_sessions(self.hours[d]) if d in self.hours else base.week[i]
            for i, d in enumerate(WEEKDAYS)
        )
        return OfficeCalendar(
            week=week,
            timezone=base.timezone,
            days_off=base.days_off | frozenset(self.days_off),
            working_days=base.working_days | frozenset(self.working_days),
            public_holidays=base.public_holidays,
        )


class CalendarSpec(ProvinceCalendarSpec):
    """The working calendar (docs/CRITERIA.md, "Working time"): the default for every
    province, and each province's own changes to it."""

    timezone: str = Field(default=DEFAULT_TIMEZONE, description="IANA time zone of the hours")
    round_the_clock: bool = Field(
        default=False,
        description="every hour of every day is working time (no office hours, no holidays): "
        "a commune turns grey whenever it is silent",
    )
    provinces: dict[str, ProvinceCalendarSpec] = Field(
        default_factory=dict, description="province code (2 digits) -> its own hours and days"
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}, e.g. {DEFAULT_TIMEZONE}") from None
        return v

    @field_validator("provinces")
    @classmethod
    def _codes(cls, v: dict[str, ProvinceCalendarSpec]) -> dict[str, ProvinceCalendarSpec]:
        for code in v:
            if not re.fullmatch(r"\d{2}", code):
                raise ValueError(f"provinces: {code!r} is not a 2-digit province code")
        return v

    def working_calendar(self) -> WorkingCalendar:
        if self.round_the_clock:
            return WorkingCalendar(default=ROUND_THE_CLOCK)
        base = self.office(OfficeCalendar(week=CIVIL_SERVICE_WEEK, timezone=self.timezone))
        return WorkingCalendar(
            default=base, provinces={c: p.office(base) for c, p in self.provinces.items()}
        )


class RetentionConfig(BaseModel):
    """How long the collector keeps each kind of data (docs/ARCHITECTURE.md, "Retention
    and roll-ups")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reports_days: int = Field(
        default=14,
        ge=9,
        le=3660,
        description="whole days raw reports (and the change log) are kept once rolled up; "
        "more than the agents' spool age (8 days), so that a resent report is still known",
    )
    rollup_years: int = Field(
        default=5, ge=1, le=50, description="years the daily roll-ups of each commune are kept"
    )
    coverage_detail_days: int = Field(
        default=30,
        ge=1,
        le=3660,
        description="days the coverage history keeps every point (15 min); one a day after",
    )
    batch: int = Field(
        default=5000,
        ge=100,
        le=100_000,
        description="rows one pruning transaction deletes (ingest waits at most one batch)",
    )


class CollectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    db: str = Field(default="ioc-collector.db", description="SQLite file path or database URL")
    db_busy_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="how long a write waits for a database lock held elsewhere before the "
        "API answers 503 with Retry-After (keep it under the agents' request timeout)",
    )
    retry_after_s: int = Field(
        default=10,
        ge=1,
        le=3600,
        description="Retry-After of a 503 answered while the database is unavailable",
    )
    listen: str = Field(default="127.0.0.1:8321", description="HOST:PORT to serve on")
    reuse_port: bool = Field(
        default=False,
        description="listen with SO_REUSEPORT, so that several `serve` processes on one "
        "machine share --listen (the kernel spreads connections over them): one per core",
    )
    catalogue: Path | None = Field(default=None, description="catalogue file; built-in decree118")
    catalogue_overrides: Path | None = Field(
        default=None, description="a province's overrides, merged by criterion id"
    )
    catalogue_reload_s: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="how often `serve` looks for a changed catalogue or overrides file and "
        "reloads it (0 = only on SIGHUP); a broken file is refused and the old one stays",
    )
    calendar: CalendarSpec = Field(
        default_factory=CalendarSpec,
        description="working time: office hours, holidays, days off and make-up days; "
        "outside it a commune keeps its colour and is never grey",
    )
    host_retire_after_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="working days a silent host's last findings keep counting in its commune "
        "before it is retired for silence (holidays and weekends do not count)",
    )
    retention: RetentionConfig = Field(
        default_factory=RetentionConfig,
        description="how long raw reports, the change log, roll-ups and the coverage "
        "history are kept: reports_days, rollup_years, coverage_detail_days, batch",
    )
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    reevaluate_every_s: float = Field(default=60.0, ge=0)
    reflector_port: int = Field(
        default=8322,
        ge=0,
        le=65535,
        description="UDP port of the reflector for the agents' vc.quality probe (0 = off); "
        "it listens on the --listen host",
    )
    metrics_host_values: list[str] = Field(
        default_factory=list,
        description="check values exposed per host on /metrics besides the default set "
        "(e.g. sip_response_time); each adds one series per host and target",
    )
    max_ingest_inflight: int = Field(
        default=64,
        ge=0,
        le=100_000,
        description="report requests in progress at once before the collector sheds load "
        "(503 with a Retry-After spread over 1-3 x retry_after_s; 0 = no limit)",
    )
    max_ingest_inflight_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=0,
        description="report bytes (Content-Length) in progress at once before the collector "
        "sheds load the same way: a drain of big batches is limited by size (0 = no limit)",
    )
    max_ingest_wait_s: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="longest a report request may be expected to wait behind those in "
        "progress (their bytes at the measured commit rate) before the collector sheds "
        "load the same way; keep it under the agents' request timeout (0 = no limit)",
    )
    # Rate limits (collector/api/ratelimit.py), per collector process: with N replicas behind a
    # load balancer the effective limit is N times these figures. 0 turns a limit off.
    ingest_rate_per_s: float = Field(
        default=1.0,
        ge=0,
        description="report requests per second each agent may send, sustained",
    )
    ingest_burst: int = Field(
        default=60,
        ge=1,
        le=100_000,
        description="report requests an agent may send at once (draining a backlog)",
    )
    auth_failures_per_min: float = Field(
        default=10.0,
        ge=0,
        description="failed enrollments or logins per minute and client "
        "address, sustained, before 429",
    )
    auth_failures_burst: int = Field(default=10, ge=1, le=10_000)
    auth_failures_per_account_per_min: float = Field(
        default=1.0,
        ge=0,
        description="failed logins per minute to one account, from any address, sustained, "
        "once the burst is spent, before 429 (an address the account logged in from lately "
        "is not held by it)",
    )
    auth_failures_per_account_burst: int = Field(default=10, ge=1, le=10_000)
    # Who may read /metrics (every commune's colour, hosts and agent ids): a scraper with
    # one of these bearer tokens, unless metrics_open.
    metrics_open: bool = Field(
        default=False,
        description="serve /metrics to anyone, without a token (only where the port is "
        "reachable from the Prometheus host alone)",
    )
    metrics_token_file: Path | None = Field(
        default=None,
        description="file whose first line is the scrape token Prometheus sends "
        "(`authorization: credentials_file` naming the same file)",
    )
    metrics_token_hashes: list[str] = Field(
        default_factory=list,
        description="SHA-256 (hex) of further scrape tokens accepted on /metrics "
        "(what `sha256sum` prints for the token without its newline)",
    )
    reader_token_days: int = Field(
        default=90, ge=1, description="validity of a reader token when none is asked for, days"
    )
    reader_token_max_days: int = Field(
        default=366, ge=1, le=3660, description="the longest validity a reader token may have"
    )
    ldap: LdapConfig | None = Field(
        default=None, description="log officials in against a directory (see LdapConfig)"
    )
    api_docs: bool = Field(
        default=False,
        description="serve the API documentation (/docs, /redoc, /openapi.json) to anyone; "
        "off by default",
    )
    # HTTPS (uvicorn's ssl options): both files, or neither for plain HTTP (behind a proxy).
    tls_cert_file: Path | None = Field(
        default=None, description="PEM certificate chain of the collector (serve HTTPS)"
    )
    tls_key_file: Path | None = Field(default=None, description="PEM private key of it")
    tls_key_password: SecretStr | None = Field(
        default=None, description="password of an encrypted private key"
    )
    reports: ReportsConfig = Field(
        default_factory=ReportsConfig,
        description="letterhead of PDF reports: agency, parent_agency, place, signer_title, "
        "signer_name",
    )

    @model_validator(mode="after")
    def _tls_pair(self) -> CollectorConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError(
                "tls_cert_file and tls_key_file go together: give both to serve HTTPS, "
                "or neither for plain HTTP"
            )
        for path in (self.tls_cert_file, self.tls_key_file):
            if path is not None and not path.is_file():
                raise ValueError(f"{path}: no such file")
        return self

    @model_validator(mode="after")
    def _metrics_tokens(self) -> CollectorConfig:
        for h in self.metrics_token_hashes:
            if not _SHA256_HEX.match(h):
                raise ValueError(
                    f"metrics_token_hashes: {h[:8]}...: expected 64 hexadecimal digits "
                    "(SHA-256 of the token)"
                )
        if self.metrics_token_file is not None and not self.metrics_token_file.is_file():
            raise ValueError(f"metrics_token_file {self.metrics_token_file}: no such file")
        return self

    def metrics_scrape_hashes(self) -> frozenset[str]:
        """SHA-256 (hex) of every token accepted on /metrics; reads metrics_token_file."""
        hashes = {h.lower() for h in self.metrics_token_hashes}
        if self.metrics_token_file is not None:
            try:
                token = self.metrics_token_file.read_text("utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"metrics_token_file {self.metrics_token_file}: cannot read: {exc}"
                ) from None
            if len(token) < MIN_METRICS_TOKEN_LEN:
                raise ConfigError(
                    f"metrics_token_file {self.metrics_token_file}: the token is too short "
                    f"(at least {MIN_METRICS_TOKEN_LEN} characters)"
                )
            hashes.add(hashlib.sha256(token.encode("utf-8")).hexdigest())
        return frozenset(hashes)

    def load_catalogue(self) -> Catalogue:
        cat = load_catalogue(self.catalogue)
        if self.catalogue_overrides is not None:
            path = self.catalogue_overrides
            try:
                text = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CatalogueError(f"{path}: cannot read overrides: {exc}") from None
            data, root = parse_overrides(text, str(path))
            cat = merge(cat, data, str(path), root)
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
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where}option {loc!r}: {msg}" if loc else f"{where}{msg}") from None


def parse_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--listen {listen!r}: expected HOST:PORT, e.g. 127.0.0.1:8321")
    return host.strip("[]") or "127.0.0.1", int(port)
