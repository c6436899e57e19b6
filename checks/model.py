"""The result model shared by the agent and the collector, and the wire protocol between them.

A check measures one thing on one target and returns :class:`CheckResult` objects; the agent
wraps the results of one cycle into an :class:`AgentReport`, and sends reports in a
:class:`ReportBatch` to ``POST /api/v1/reports``. Everything here is validated with pydantic
so that both ends refuse the same bad input with the same message.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

#: Upper bounds that keep one report, and one batch, small enough for the request size limit.
MAX_RESULTS_PER_REPORT = 500
MAX_VALUES_PER_RESULT = 64
MAX_REPORTS_PER_BATCH = 200
MAX_MESSAGE_CHARS = 1000
MAX_MESSAGE_PARAMS = 16
MAX_PARAM_CHARS = 512

#: A message id of the catalogue (checks/messages.yaml): dotted lower-case words.
MESSAGE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
CHECK_ID_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
VALUE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: Official administrative-unit codes: provinces are two digits, communes (wards) five.
COMMUNE_CODE_RE = re.compile(r"^\d{5}$")

#: A value's name: snake_case, at most 64 characters (checked by pydantic-core itself: a
#: Python validator here was a tenth of the collector's time parsing a report).
ValueName = Annotated[str, Field(pattern=VALUE_NAME_RE.pattern, max_length=64)]

#: Units are Prometheus base units (https://prometheus.io/docs/practices/naming/#base-units);
#: the empty string is a plain count or a state (1/0).
UNITS: tuple[str, ...] = ("", "seconds", "bytes", "ratio", "bits_per_second", "celsius")
UNITS += ("volts", "percent", "days", "count")
Unit = Annotated[str, Field(pattern=f"^({'|'.join(UNITS)})$")]


def error_message(err: Any) -> str:
    """One pydantic error of a report in words: the check id and value name patterns are
    checked by pydantic-core, whose message only quotes the regular expression."""
    loc, kind, given = err.get("loc", ()), err.get("type", ""), err.get("input")
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "check":
        return f"check id {given!r} must be dotted lower-case words, e.g. 'host.disk'"
    if kind in ("string_pattern_mismatch", "string_too_long") and loc and loc[-1] == "[key]":
        return f"value name {given!r} must be snake_case, at most 64 characters"
    return str(err.get("msg", ""))


def _without_nul(v: str) -> str:
    """NUL characters become U+FFFD: PostgreSQL refuses them in text and JSON, and a
    report is worth more than the one character (a message quoting a device's raw output)."""
    return v.replace("\x00", "\ufffd")


#: Free text that is stored as sent (messages, targets, host names, versions).
Text = Annotated[str, AfterValidator(_without_nul)]


class Status(StrEnum):
    """Outcome of one check. ``unknown`` means "could not measure", never "bad"."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    UNKNOWN = "unknown"


class Category(StrEnum):
    HOST = "host"
    NETWORK = "network"
    VIDEOCONF = "videoconf"
    EQUIPMENT = "equipment"
    SERVICES = "services"
    SECURITY = "security"


class Value(BaseModel):
    """One measured figure, always with its unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float = Field(allow_inf_nan=False)
    unit: Unit = ""


def utcnow() -> datetime:
    return datetime.now(UTC)


#: A message parameter: a figure (formatted in the reader's locale) or a short text.
MessageParam = (
    Annotated[float, Field(allow_inf_nan=False)]
    | Annotated[Text, Field(max_length=MAX_PARAM_CHARS)]
)


class MessageRef(BaseModel):
    """A message of the catalogue (``checks/messages.yaml``) by id, with its parameters:
    rendered in Vietnamese or English where it is shown (:func:`checks.messages.render`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(max_length=64, pattern=MESSAGE_ID_RE.pattern)
    params: dict[ValueName, MessageParam] = Field(
        default_factory=dict, max_length=MAX_MESSAGE_PARAMS
    )


class CheckResult(BaseModel):
    """What one check observed about one target at one moment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str = Field(
        max_length=64,
        pattern=CHECK_ID_RE.pattern,
        description="check id: dotted lower-case words, e.g. 'host.disk'",
    )
    category: Category
    target: Text = Field(default="", max_length=256)
    status: Status
    values: dict[ValueName, Value] = Field(default_factory=dict, max_length=MAX_VALUES_PER_RESULT)
    message: Text = Field(default="", max_length=MAX_MESSAGE_CHARS)
    #: The message by id and parameters, rendered where it is shown; ``message`` is its
    #: English text, for readers that do not know the id (older collectors, logs).
    #: Absent from an older agent's results: ``message`` is shown as it is.
    msg: MessageRef | None = None
    duration_s: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    observed_at: datetime = Field(default_factory=utcnow)

    @field_validator("observed_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        return _require_tz(v)

    def value(self, name: str) -> float | None:
        item = self.values.get(name)
        return None if item is None else item.value

    @classmethod
    def unknown(
        cls,
        check: str,
        category: Category,
        reason: str,
        *,
        target: str = "",
        duration_s: float = 0.0,
        msg: MessageRef | None = None,
    ) -> CheckResult:
        """ "Could not measure": status ``unknown``, no values, ``reason`` as the message
        (``msg``: the same by id, see :mod:`checks.messages`)."""
        return cls(
            check=check,
            category=category,
            target=target,
            status=Status.UNKNOWN,
            message=reason[:MAX_MESSAGE_CHARS],
            msg=msg,
            duration_s=duration_s,
        )


def _require_tz(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("timestamp must carry a time zone, e.g. '2025-07-01T08:00:00Z'")
    try:
        return v.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59 is past the calendar in UTC
        raise ValueError(f"timestamp {v.isoformat()} is out of range in UTC") from None


class AgentReport(BaseModel):
    """One agent cycle: every result the agent measured on its host at ``observed_at``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    seq: int = Field(ge=1, le=2**62, description="monotonically increasing per agent")
    commune_code: str = Field(description="official five-digit commune/ward code")
    host: Text = Field(min_length=1, max_length=253)
    observed_at: datetime
    agent_version: Text = Field(default="", max_length=64)
    results: list[CheckResult] = Field(default_factory=list, max_length=MAX_RESULTS_PER_REPORT)

    @field_validator("commune_code")
    @classmethod
    def _commune(cls, v: str) -> str:
        if not COMMUNE_CODE_RE.match(v):
            raise ValueError(
                f"commune_code {v!r} must be the five-digit official code, e.g. '00070'"
            )
        return v

    @field_validator("observed_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        return _require_tz(v)


class ReportBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: list[AgentReport] = Field(min_length=1, max_length=MAX_REPORTS_PER_BATCH)


class IngestResponse(BaseModel):
    accepted: int = Field(description="reports stored by this request")
    duplicates: int = Field(description="reports already stored earlier (same agent_id and seq)")
    acked_seqs: list[int] = Field(description="seq of every report now durably stored")
    server_time: datetime
    levels_version: str | None = Field(
        default=None,
        description="version of the catalogue's levels (GET /api/v1/levels): an agent "
        "whose copy is another version fetches them again",
    )


class Remedy(BaseModel):
    """A criterion a check feeds and what to do when it is not met, in both languages."""

    id: str
    title: dict[str, str] = Field(description="vi and en")
    steps: dict[str, list[str]] = Field(description="vi and en: the remediation steps")


class LevelsResponse(BaseModel):
    """The levels the collector's catalogue judges reported values with."""

    version: str = Field(description="changes whenever a level (or a criterion) changes")
    levels: dict[str, dict[str, dict[str, float]]] = Field(
        description="check id -> value name -> fail_below/fail_above/warn_below/warn_above"
    )
    remediation: dict[str, list[Remedy]] = Field(
        default_factory=dict,
        description="check id -> the criteria it feeds, each with the steps commune IT staff "
        "take when it is not met (shown under a failing result by `ioc-agent check`)",
    )


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=8, max_length=64)
    host: Text = Field(min_length=1, max_length=253)
    agent_version: Text = Field(default="", max_length=64)


class EnrollResponse(BaseModel):
    agent_id: str
    token: str
    commune_code: str
    province_code: str
    commune_name: str
    report_interval_s: int


class TimeResponse(BaseModel):
    server_time: datetime
