"""The result model shared by the agent and the collector, and the wire protocol between them.

A check measures one thing on one target and returns :class:`CheckResult` objects; the agent
wraps the results of one cycle into an :class:`AgentReport`, and sends reports in a
:class:`ReportBatch` to ``POST /api/v1/reports``. The records are frozen dataclasses
(:mod:`checks.schema`): an agent builds and encodes them without pydantic; where they come
from outside (a request body on the collector) pydantic validates them with the rules
written in their annotations, so that both ends refuse the same bad input with the same
message. Building a result checks what would make a collector refuse it (see
:meth:`CheckResult.__post_init__`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from annotated_types import Ge, Le, MaxLen, MinLen

from checks.schema import FINITE, STRICT, After, Doc, Pattern, Record

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
ValueName = Annotated[str, Pattern(VALUE_NAME_RE.pattern), MaxLen(64)]

#: Units are Prometheus base units (https://prometheus.io/docs/practices/naming/#base-units);
#: the empty string is a plain count or a state (1/0).
UNITS: tuple[str, ...] = ("", "seconds", "bytes", "ratio", "bits_per_second", "celsius")
UNITS += ("volts", "percent", "days", "count")
_UNITS = frozenset(UNITS)
Unit = Annotated[str, Pattern(f"^({'|'.join(UNITS)})$")]


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
Text = Annotated[str, After(_without_nul)]


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


@dataclass(frozen=True, kw_only=True)
class Value(Record):
    """One measured figure, always with its unit."""

    __pydantic_config__ = STRICT

    value: Annotated[float, FINITE]
    unit: Unit = ""


def utcnow() -> datetime:
    return datetime.now(UTC)


#: A message parameter: a figure (formatted in the reader's locale) or a short text.
MessageParam = (
    Annotated[float, FINITE] | Annotated[str, MaxLen(MAX_PARAM_CHARS), After(_without_nul)]
)


@dataclass(frozen=True, kw_only=True)
class MessageRef(Record):
    """A message of the catalogue (``checks/messages.yaml``) by id, with its parameters:
    rendered in Vietnamese or English where it is shown (:func:`checks.messages.render`)."""

    __pydantic_config__ = STRICT

    id: Annotated[str, MaxLen(64), Pattern(MESSAGE_ID_RE.pattern)]
    params: Annotated[dict[ValueName, MessageParam], MaxLen(MAX_MESSAGE_PARAMS)] = field(
        default_factory=dict
    )


def _require_tz(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("timestamp must carry a time zone, e.g. '2025-07-01T08:00:00Z'")
    try:
        return v.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59 is past the calendar in UTC
        raise ValueError(f"timestamp {v.isoformat()} is out of range in UTC") from None


@dataclass(frozen=True, kw_only=True)
class CheckResult(Record):
    """What one check observed about one target at one moment."""

    __pydantic_config__ = STRICT

    check: Annotated[
        str,
        MaxLen(64),
        Pattern(CHECK_ID_RE.pattern),
        Doc("check id: dotted lower-case words, e.g. 'host.disk'"),
    ]
    category: Category
    target: Annotated[str, MaxLen(256), After(_without_nul)] = ""
    status: Status
    values: Annotated[dict[ValueName, Value], MaxLen(MAX_VALUES_PER_RESULT)] = field(
        default_factory=dict
    )
    message: Annotated[str, MaxLen(MAX_MESSAGE_CHARS), After(_without_nul)] = ""
    #: The message by id and parameters, rendered where it is shown; ``message`` is its
    #: English text, for readers that do not know the id (older collectors, logs).
    #: Absent from an older agent's results: ``message`` is shown as it is.
    msg: MessageRef | None = None
    duration_s: Annotated[float, Ge(0), FINITE] = 0.0
    observed_at: Annotated[datetime, After(_require_tz)] = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        """A result built in code is held to what a collector checks, so that a check's
        mistake becomes that check's ``unknown`` (the runner catches the error) instead of
        a batch every collector refuses. Status and category given as text become enums."""
        if type(self.status) is not Status:
            object.__setattr__(self, "status", Status(self.status))
        if type(self.category) is not Category:
            object.__setattr__(self, "category", Category(self.category))
        problem = _result_problem(self)
        if problem:
            raise ValueError(f"result of {self.check!r}: {problem}")

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


def _result_problem(r: CheckResult) -> str:
    """What in ``r`` a collector would refuse, or "" (the rules of the annotations above,
    checked cheaply: a cycle builds about thirty results)."""
    if not CHECK_ID_RE.match(r.check) or len(r.check) > 64:
        return "check id must be dotted lower-case words, at most 64 characters"
    if len(r.message) > MAX_MESSAGE_CHARS:
        return f"message longer than {MAX_MESSAGE_CHARS} characters"
    if len(r.target) > 256:
        return "target longer than 256 characters"
    if not 0 <= r.duration_s < _INF:
        return "duration_s must be a finite number >= 0"
    if r.observed_at.tzinfo is None:
        return "observed_at must carry a time zone"
    return _values_problem(r.values)


def _values_problem(values: dict[str, Value]) -> str:
    if len(values) > MAX_VALUES_PER_RESULT:
        return f"more than {MAX_VALUES_PER_RESULT} values"
    for name, item in values.items():
        if not isinstance(item, Value):
            return f"value {name!r} is not a Value"
        if len(name) > 64 or not VALUE_NAME_RE.match(name):
            return f"value name {name!r} must be snake_case, at most 64 characters"
        if item.unit not in _UNITS:
            return f"value {name!r}: unknown unit {item.unit!r}"
        if item.value != item.value or item.value in (_INF, -_INF):
            return f"value {name!r} is not a finite number"
    return ""


_INF = float("inf")


def _commune(v: str) -> str:
    if not COMMUNE_CODE_RE.match(v):
        raise ValueError(f"commune_code {v!r} must be the five-digit official code, e.g. '00070'")
    return v


@dataclass(frozen=True, kw_only=True)
class AgentReport(Record):
    """One agent cycle: every result the agent measured on its host at ``observed_at``."""

    __pydantic_config__ = STRICT

    agent_id: Annotated[str, MinLen(1), MaxLen(64), Pattern(r"^[A-Za-z0-9_.-]+$")]
    seq: Annotated[int, Ge(1), Le(2**62), Doc("monotonically increasing per agent")]
    commune_code: Annotated[str, After(_commune), Doc("official five-digit commune/ward code")]
    host: Annotated[str, MinLen(1), MaxLen(253), After(_without_nul)]
    observed_at: Annotated[datetime, After(_require_tz)]
    agent_version: Annotated[str, MaxLen(64), After(_without_nul)] = ""
    results: Annotated[list[CheckResult], MaxLen(MAX_RESULTS_PER_REPORT)] = field(
        default_factory=list
    )


@dataclass(kw_only=True)
class ReportBatch(Record):
    __pydantic_config__ = STRICT

    reports: Annotated[list[AgentReport], MinLen(1), MaxLen(MAX_REPORTS_PER_BATCH)]


@dataclass(frozen=True, kw_only=True)
class IngestResponse(Record):
    accepted: Annotated[int, Doc("reports stored by this request")]
    duplicates: Annotated[int, Doc("reports already stored earlier (same agent_id and seq)")]
    acked_seqs: Annotated[list[int], Doc("seq of every report now durably stored")]
    server_time: datetime
    levels_version: Annotated[
        str | None,
        Doc(
            "version of the catalogue's levels (GET /api/v1/levels): an agent "
            "whose copy is another version fetches them again"
        ),
    ] = None


@dataclass(frozen=True, kw_only=True)
class Remedy(Record):
    """A criterion a check feeds and what to do when it is not met, in both languages."""

    id: str
    title: Annotated[dict[str, str], Doc("vi and en")]
    steps: Annotated[dict[str, list[str]], Doc("vi and en: the remediation steps")]


@dataclass(frozen=True, kw_only=True)
class LevelsResponse(Record):
    """The levels the collector's catalogue judges reported values with."""

    version: Annotated[str, Doc("changes whenever a level (or a criterion) changes")]
    levels: Annotated[
        dict[str, dict[str, dict[str, float]]],
        Doc("check id -> value name -> fail_below/fail_above/warn_below/warn_above"),
    ]
    remediation: Annotated[
        dict[str, list[Remedy]],
        Doc(
            "check id -> the criteria it feeds, each with the steps commune IT staff "
            "take when it is not met (shown under a failing result by `ioc-agent check`)"
        ),
    ] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EnrollRequest(Record):
    __pydantic_config__ = STRICT

    code: Annotated[str, MinLen(8), MaxLen(64)]
    host: Annotated[str, MinLen(1), MaxLen(253), After(_without_nul)]
    agent_version: Annotated[str, MaxLen(64), After(_without_nul)] = ""


@dataclass(frozen=True, kw_only=True)
class EnrollResponse(Record):
    agent_id: str
    token: str
    commune_code: str
    province_code: str
    commune_name: str
    report_interval_s: int


@dataclass(frozen=True, kw_only=True)
class TimeResponse(Record):
    server_time: datetime


def batch_json(reports: list[AgentReport]) -> bytes:
    """The body of ``POST /api/v1/reports`` for ``reports``. Without ``"msg": null``: a
    result with no message id reads as an older agent's, which every collector accepts
    (docs/MESSAGES.md)."""
    import msgspec

    data = msgspec.to_builtins(ReportBatch(reports=reports))
    for report in data["reports"]:
        for result in report["results"]:
            if result.get("msg", 0) is None:
                del result["msg"]
    return msgspec.json.encode(data)
