"""One typed codec per stored form: what a JSON column holds, and how to read it back.

The stored shapes are compact lists (a national database holds millions of them); only
these functions know the positions. Everything else handles the named tuples.

==========================  ===================================================
``agents.latest``           {"check<TAB>target": LatestResult as a list}
``agents.findings``         ``criteria.engine.HostFindings.to_json()``
``agents.verdict``          ``fingerprint:rules:checks`` (``criteria.engine``)
``commune_status.statuses`` {criterion_id: CriterionState as a list}
``commune_details.criteria`` {criterion_id: outcome JSON with "since"}
==========================  ===================================================
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from checks.messages import stored
from collector.domain.wire import AnyResult


def as_utc(dt: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def aware(dt: datetime | None) -> datetime | None:
    return None if dt is None else as_utc(dt)


class LatestResult(NamedTuple):
    """One (check, target)'s latest result on a host, as ``agents.latest`` keeps it."""

    check: str
    target: str
    category: str
    status: str
    message: str
    observed_at: str  # ISO 8601, UTC
    seq: int
    figures: dict[str, list[Any]]  # value name -> [value, unit]
    #: The message by id, [id, params] (checks/messages.py); None from an older agent, and
    #: absent from entries stored before it was kept.
    msg: list[Any] | None = None

    @classmethod
    def of(cls, result: AnyResult, seq: int, now: datetime) -> LatestResult:
        """The entry for ``result`` of the report numbered ``seq``, received at ``now``
        (:meth:`entry`'s fields as a tuple)."""
        return cls(*cls.entry(result, seq, now))

    @staticmethod
    def entry(result: AnyResult, seq: int, now: datetime) -> list[Any]:
        """``encode_latest``'s form of :meth:`of`'s entry, made directly: what ingest merges
        into a host's latest results as stored, without a LatestResult between."""
        observed = result.observed_at
        msg = stored(result.msg)
        out: list[Any] = [
            result.check,
            result.target,
            # _value_, not .value: the enum's property costs more than the rest.
            result.category._value_,
            result.status._value_,
            result.message,
            # An agent's clock may run ahead: never look fresher than now.
            (now if observed > now else observed).isoformat(),
            seq,
            {k: [v.value, v.unit] for k, v in result.values.items()},
        ]
        if msg is not None:
            out.append(msg)
        return out

    def values(self) -> dict[str, float]:
        return {k: v[0] for k, v in self.figures.items()}

    def units(self) -> dict[str, str]:
        return {k: v[1] for k, v in self.figures.items() if len(v) > 1 and v[1]}


def latest_key(check: str, target: str) -> str:
    return f"{check}\t{target}"


def decode_latest(data: dict[str, list[Any]] | None) -> dict[str, LatestResult]:
    """As stored; an entry written before messages had ids has no ``msg``."""
    make = LatestResult._make
    return {k: make(v) if len(v) == 9 else LatestResult(*v) for k, v in (data or {}).items()}


def encode_latest(latest: dict[str, LatestResult]) -> dict[str, list[Any]]:
    """Without ``msg`` when there is none (the stored form of an older agent's results)."""
    return {k: list(v) if v.msg is not None else list(v)[:8] for k, v in latest.items()}


class CriterionState(NamedTuple):
    """A criterion's status in ``commune_status.statuses``, with when it entered it."""

    status: str
    severity: str
    since: str | None  # ISO 8601; None in rows written before it was kept


def decode_statuses(stored: dict[str, list[str]] | None) -> dict[str, CriterionState]:
    new = tuple.__new__  # not CriterionState(...): a commune's every criterion, every group
    return {
        cid: new(CriterionState, (st[0], st[1], st[2] if len(st) > 2 else None))
        for cid, st in (stored or {}).items()
    }


def encode_statuses(states: dict[str, CriterionState]) -> dict[str, list[str | None]]:
    return {cid: list(st) for cid, st in states.items()}


def since(previous: CriterionState | None, status: str, stamp: str) -> str:
    """When a criterion entered ``status``: kept from ``previous`` while unchanged."""
    if previous is not None and previous.since is not None and previous.status == status:
        return previous.since
    return stamp
