"""Evidence entered by people: attestations (criteria of kind ``attested``) and waivers.

Each entry is written with its audit-log line in one transaction, then the commune is
re-evaluated so its colour reflects it at once. An expired attestation or waiver stops
counting (the criteria engine compares ``expires_at`` with the evaluation time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select

from collector import db
from collector.auth import audit
from collector.criteria.catalogue import Kind
from collector.store import Store, StoreError, as_utc

#: Largest evidence file an operator may upload (a scanned decision, a photo).
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_WAIVER_DAYS = 365
_ALLOWED_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "text/plain",
}


@dataclass(frozen=True)
class EvidenceFile:
    filename: str
    content_type: str
    data: bytes


def _pk(stmt: Any, conn: Connection) -> int:
    """Run an INSERT and return the new row's integer id."""
    key = conn.execute(stmt).inserted_primary_key
    assert key is not None
    return int(key[0])


def _check_commune_criterion(store: Store, commune: str, criterion: str) -> Any:
    store.units.commune(commune)  # UnknownUnitError for a bad code
    c = store.catalogue.by_id().get(criterion)
    if c is None:
        raise StoreError(f"{criterion!r} is not a criterion of the catalogue")
    return c


def record_attestation(
    store: Store,
    *,
    commune: str,
    criterion: str,
    status: str,
    evidence: str,
    actor: str,
    valid_days: int | None = None,
    file: EvidenceFile | None = None,
) -> int:
    """Store an attestation (with an optional evidence file) and re-evaluate the commune."""
    c = _check_commune_criterion(store, commune, criterion)
    if c.kind is not Kind.ATTESTED or c.validity_days is None:
        raise StoreError(
            f"{criterion} is measured automatically; only attested criteria take evidence"
        )
    if status not in ("pass", "fail"):
        raise StoreError("attestation status must be 'pass' or 'fail'")
    evidence = evidence.strip()
    if not evidence:
        raise StoreError("evidence text is required (what document, who checked, where it is kept)")
    days = valid_days if valid_days is not None else c.validity_days
    if not 1 <= days <= c.validity_days:
        raise StoreError(f"validity must be 1 to {c.validity_days} days for {criterion}")
    if file is not None:
        _check_file(file)
    now = store.clock()
    with store.engine.begin() as conn:
        att_id = _pk(
            db.attestations.insert().values(
                commune_code=commune,
                criterion_id=criterion,
                status=status,
                evidence=evidence,
                entered_by=actor,
                entered_at=now,
                expires_at=now + timedelta(days=days),
            ),
            conn,
        )
        file_id = None
        if file is not None:
            file_id = _pk(
                db.evidence_files.insert().values(
                    attestation_id=att_id,
                    filename=file.filename,
                    content_type=file.content_type,
                    size=len(file.data),
                    data=file.data,
                ),
                conn,
            )
        audit(
            conn,
            actor,
            "attestation.add",
            commune,
            criterion=criterion,
            status=status,
            valid_days=days,
            attestation_id=att_id,
            file_id=file_id,
        )
    store.reevaluate([commune])
    return att_id


def _check_file(file: EvidenceFile) -> None:
    if len(file.data) > MAX_FILE_BYTES:
        raise StoreError(
            f"file {file.filename!r} is {len(file.data)} bytes, over the "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MiB limit"
        )
    if not file.data:
        raise StoreError(f"file {file.filename!r} is empty")
    if file.content_type not in _ALLOWED_TYPES:
        raise StoreError(
            f"file type {file.content_type!r} not accepted: PDF, JPEG, PNG or plain text"
        )


def record_waiver(
    store: Store,
    *,
    commune: str,
    criterion: str,
    reason: str,
    actor: str,
    valid_days: int,
) -> int:
    """Waive a criterion for a commune until an expiry; the reason and who are shown everywhere."""
    _check_commune_criterion(store, commune, criterion)
    reason = reason.strip()
    if not reason:
        raise StoreError("a waiver needs a reason")
    if not 1 <= valid_days <= MAX_WAIVER_DAYS:
        raise StoreError(f"waiver validity must be 1 to {MAX_WAIVER_DAYS} days")
    now = store.clock()
    with store.engine.begin() as conn:
        wid = _pk(
            db.waivers.insert().values(
                commune_code=commune,
                criterion_id=criterion,
                reason=reason,
                granted_by=actor,
                granted_at=now,
                expires_at=now + timedelta(days=valid_days),
            ),
            conn,
        )
        audit(
            conn,
            actor,
            "waiver.add",
            commune,
            criterion=criterion,
            valid_days=valid_days,
            waiver_id=wid,
        )
    store.reevaluate([commune])
    return wid


def attestations(store: Store, communes: list[str] | None = None) -> list[dict[str, Any]]:
    """Attestations, newest first, each with ``active`` and its evidence file (if any)."""
    a, f = db.attestations, db.evidence_files
    q = (
        select(a, f.c.id.label("file_id"), f.c.filename, f.c.size)
        .outerjoin(f, f.c.attestation_id == a.c.id)
        .order_by(a.c.entered_at.desc(), a.c.id.desc())
    )
    if communes is not None:
        q = q.where(a.c.commune_code.in_(communes))
    now = store.clock()
    with store.engine.connect() as conn:
        return [
            {
                "id": r.id,
                "commune_code": r.commune_code,
                "criterion_id": r.criterion_id,
                "status": r.status,
                "evidence": r.evidence,
                "entered_by": r.entered_by,
                "entered_at": as_utc(r.entered_at),
                "expires_at": as_utc(r.expires_at),
                "active": as_utc(r.expires_at) > now,
                "file_id": r.file_id,
                "filename": r.filename,
                "file_size": r.size,
            }
            for r in conn.execute(q)
        ]


def waivers(
    store: Store, communes: list[str] | None = None, active_only: bool = False
) -> list[dict[str, Any]]:
    w = db.waivers
    q = select(w).order_by(w.c.granted_at.desc(), w.c.id.desc())
    if communes is not None:
        q = q.where(w.c.commune_code.in_(communes))
    now = store.clock()
    if active_only:
        q = q.where(w.c.expires_at > now)
    with store.engine.connect() as conn:
        return [
            {
                "id": r.id,
                "commune_code": r.commune_code,
                "criterion_id": r.criterion_id,
                "reason": r.reason,
                "granted_by": r.granted_by,
                "granted_at": as_utc(r.granted_at),
                "expires_at": as_utc(r.expires_at),
                "active": as_utc(r.expires_at) > now,
            }
            for r in conn.execute(q)
        ]


def evidence_file(store: Store, file_id: int) -> tuple[EvidenceFile, str] | None:
    """The file and the commune whose attestation it belongs to."""
    f, a = db.evidence_files, db.attestations
    with store.engine.connect() as conn:
        row = conn.execute(
            select(f.c.filename, f.c.content_type, f.c.data, a.c.commune_code)
            .join(a, a.c.id == f.c.attestation_id)
            .where(f.c.id == file_id)
        ).first()
    if row is None:
        return None
    return EvidenceFile(row.filename, row.content_type, bytes(row.data)), row.commune_code
