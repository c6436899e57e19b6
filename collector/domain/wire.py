"""The report batch an agent pushes, decoded on the collector's hot path with msgspec.

``checks.model.ReportBatch`` is the wire format's definition, shared with the agent; pydantic,
validating it by its annotations, is the judge of every refusal and its message. This module decodes
the same JSON into plain structs with the same field names, types and bounds, about five times
faster: an ingest request spends its time storing the report, not validating it. It is strict where
pydantic is lenient (RFC 3339 timestamps only, no numbers written as strings, no NUL character), and
says None for anything it does not take: the caller then validates the body with pydantic, which
accepts it or refuses it with its usual message. So what is accepted, and every error an agent
reads, are pydantic's; only the speed differs. ``tests/collector/domain/test_wire.py`` holds the two
decoders to the same result.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from checks.model import (
    CHECK_ID_RE,
    MAX_MESSAGE_CHARS,
    MAX_MESSAGE_PARAMS,
    MAX_PARAM_CHARS,
    MAX_REPORTS_PER_BATCH,
    MAX_RESULTS_PER_REPORT,
    MAX_VALUES_PER_RESULT,
    MESSAGE_ID_RE,
    UNITS,
    VALUE_NAME_RE,
    AgentReport,
    Category,
    CheckResult,
    Status,
)

_FINITE = Meta(ge=-1.7976931348623157e308, le=1.7976931348623157e308)  # no inf (1e999)
_UNITS = frozenset(UNITS)

Name = Annotated[str, Meta(max_length=64)]  # its pattern: _names_ok
Finite = Annotated[float, _FINITE]


class Value(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    value: Finite
    unit: str = ""  # one of UNITS: _names_ok


class Msg(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    id: Annotated[str, Meta(max_length=64)]  # its pattern: _names_ok
    params: Annotated[
        dict[Name, Finite | Annotated[str, Meta(max_length=MAX_PARAM_CHARS)]],
        Meta(max_length=MAX_MESSAGE_PARAMS),
    ] = {}


def _now() -> datetime:
    return datetime.now(UTC)


# The fields in CheckResult's order (kw_only: a field with a default may come first), so
# that results_json writes what pydantic writes. gc=False: no struct refers to another
# cyclically, and a report makes about a hundred of them.
class Result(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, gc=False):
    check: Annotated[str, Meta(max_length=64)]  # its pattern: _names_ok
    category: Category
    target: Annotated[str, Meta(max_length=256)] = ""
    status: Status
    values: Annotated[dict[Name, Value], Meta(max_length=MAX_VALUES_PER_RESULT)] = {}
    message: Annotated[str, Meta(max_length=MAX_MESSAGE_CHARS)] = ""
    msg: Msg | None = None
    duration_s: Annotated[float, Meta(ge=0, le=1.7976931348623157e308)] = 0.0
    observed_at: Annotated[datetime, Meta(tz=True)] = msgspec.field(default_factory=_now)


class Report(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # \Z, not $: Python's $ also matches before a final line break, pydantic-core's not.
    agent_id: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+\Z")]
    seq: Annotated[int, Meta(ge=1, le=2**62)]
    commune_code: Annotated[str, Meta(pattern=r"^[0-9]{5}\Z")]
    host: Annotated[str, Meta(min_length=1, max_length=253)]
    observed_at: Annotated[datetime, Meta(tz=True)]
    agent_version: Annotated[str, Meta(max_length=64)] = ""
    results: Annotated[list[Result], Meta(max_length=MAX_RESULTS_PER_REPORT)] = []


class Batch(msgspec.Struct, forbid_unknown_fields=True):
    reports: Annotated[list[Report], Meta(min_length=1, max_length=MAX_REPORTS_PER_BATCH)]


#: A report as the ingest path takes it: decoded here, or validated by pydantic.
AnyReport = AgentReport | Report
AnyResult = CheckResult | Result


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)  # OverflowError past year 9999: refused, pydantic says why


_DECODER = msgspec.json.Decoder(Batch)
_ENCODER = msgspec.json.Encoder()


def decode_batch(body: bytes) -> list[Report] | None:
    """The batch's reports, or None when this decoder does not take the body (pydantic
    then decides). A body with an escaped NUL is left to pydantic, which replaces it."""
    if b"\\u0000" in body:
        return None
    try:
        reports = _DECODER.decode(body).reports
        for r in reports:
            if not _names_ok(r.results):
                return None
            # In UTC, as pydantic gives them ("Z" is decoded as UTC already).
            if r.observed_at.tzinfo is not UTC:
                r.observed_at = _utc(r.observed_at)
            for res in r.results:
                if res.observed_at.tzinfo is not UTC:
                    res.observed_at = _utc(res.observed_at)
    except (msgspec.DecodeError, msgspec.ValidationError, OverflowError):
        return None
    return reports


#: Check ids and value names seen to match their patterns: agents use a few hundred, so a
#: set look-up replaces a regular expression (msgspec's patterns run Python's re, once per
#: string: slower than pydantic-core's). Bounded: emptied when full.
_CHECKS_SEEN: set[str] = set()
_IDS_SEEN: set[str] = set()
_NAMES_SEEN: set[str] = set()
_SEEN_MAX = 20_000


def _matches(name: str, pattern: re.Pattern[str], seen: set[str]) -> bool:
    """``name`` matches the model's ``pattern`` whole (fullmatch: its $ does not let a final
    line break through, as pydantic-core's does not)."""
    if name in seen:
        return True
    if not pattern.fullmatch(name):
        return False
    if len(seen) >= _SEEN_MAX:
        seen.clear()
    seen.add(name)
    return True


def _names_ok(results: list[Result]) -> bool:
    """Every check id and value name matches its pattern, every unit is one of _UNITS."""
    for res in results:
        if not _matches(res.check, CHECK_ID_RE, _CHECKS_SEEN):
            return False
        for name, v in res.values.items():
            if v.unit not in _UNITS or not _matches(name, VALUE_NAME_RE, _NAMES_SEEN):
                return False
        msg = res.msg
        if msg is not None and not (
            _matches(msg.id, MESSAGE_ID_RE, _IDS_SEEN)
            and all(_matches(k, VALUE_NAME_RE, _NAMES_SEEN) for k in msg.params)
        ):
            return False
    return True


def results_json(results: list[Result]) -> str:
    """A report's results as ``checks.model.CheckResult`` writes them in JSON (the form
    ``reports.results`` stores)."""
    return _ENCODER.encode(results).decode()
