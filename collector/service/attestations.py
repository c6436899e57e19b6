"""Evidence entered by people: attestations (criteria of kind ``attested``) and waivers.

The one writer of both: officials' forms, the CLI, the demo's simulator and tests all go
through :class:`Attestations`, which validates each entry, writes it with its audit-log
line in one transaction, then re-evaluates the commune so that its colour reflects it at
once. An expired attestation or waiver stops counting (the interpreter compares
``expires_at`` with the evaluation time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from collector.criteria.catalogue import Criterion, Kind
from collector.domain.errors import BadRequestError
from collector.service.audit import Audit
from collector.service.base import Core, Service
from collector.service.evaluation import Evaluation
from collector.storage import schema as db
from collector.storage.codecs import as_utc

#: Largest evidence file an operator may upload (a scanned decision, a photo).
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_WAIVER_DAYS = 365
_ALLOWED_TYPES = {"application/pdf", "image/jpeg", "image/png", "text/plain"}


@dataclass(frozen=True)
class EvidenceFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class AttestationEntry:
    """One attestation as a person enters it."""

    commune: str
    criterion: str
    status: str  # "pass" | "fail": an official may also attest that a condition is NOT met
    evidence: str
    actor: str
    valid_days: int | None = None  # the criterion's validity when not given
    file: EvidenceFile | None = None


def _pk(stmt: Any, conn: Connection) -> int:
    """Run an INSERT and return the new row's integer id."""
    key = conn.execute(stmt).inserted_primary_key
    assert key is not None
    return int(key[0])


def check_file(file: EvidenceFile) -> None:
    if len(file.data) > MAX_FILE_BYTES:
        raise BadRequestError(
            f"file {file.filename!r} is {len(file.data)} bytes, over the "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MiB limit"
        )
    if not file.data:
        raise BadRequestError(f"file {file.filename!r} is empty")
    if file.content_type not in _ALLOWED_TYPES:
        raise BadRequestError(
            f"file type {file.content_type!r} not accepted: PDF, JPEG, PNG or plain text"
        )


class Attestations(Service):
    def __init__(self, core: Core, audit: Audit, evaluation: Evaluation) -> None:
        super().__init__(core)
        self.audit = audit
        self.evaluation = evaluation

    def _criterion(self, commune: str, criterion: str) -> Criterion:
        self.units.commune(commune)  # UnknownUnitError for a bad code
        c = self.rules.current().catalogue.by_id().get(criterion)
        if c is None:
            raise BadRequestError(f"{criterion!r} is not a criterion of the catalogue")
        return c

    def _validated(self, e: AttestationEntry) -> tuple[AttestationEntry, int]:
        """The entry with its evidence trimmed, and its validity in days."""
        c = self._criterion(e.commune, e.criterion)
        if c.kind is not Kind.ATTESTED or c.validity_days is None:
            raise BadRequestError(
                f"{e.criterion} is measured automatically; only attested criteria take evidence"
            )
        if e.status not in ("pass", "fail"):
            raise BadRequestError("attestation status must be 'pass' or 'fail'")
        evidence = e.evidence.strip()
        if not evidence:
            raise BadRequestError(
                "evidence text is required (what document, who checked, where it is kept)"
            )
        days = e.valid_days if e.valid_days is not None else c.validity_days
        if not 1 <= days <= c.validity_days:
            raise BadRequestError(f"validity must be 1 to {c.validity_days} days for {e.criterion}")
        if e.file is not None:
            check_file(e.file)
        return AttestationEntry(
            e.commune, e.criterion, e.status, evidence, e.actor, days, e.file
        ), days

    def record(
        self, entries: Iterable[AttestationEntry], *, only_reported: bool = False
    ) -> list[int]:
        """Store attestations (all or none), each audited as ``attestation.add``, then
        re-evaluate their communes (with ``only_reported``, only those that already have
        an evaluation: a bulk entry for communes that never reported). Returns their ids."""
        checked = [self._validated(e) for e in entries]
        now = self.clock()
        ids = []
        with self.database.write() as conn:
            for e, days in checked:
                ids.append(self._insert(conn, e, days, now))
        touched = {e.commune for e, _ in checked}
        if only_reported:
            self.evaluation.reevaluate_reported(touched)
        elif touched:
            self.evaluation.reevaluate(touched)
        return ids

    def _insert(self, conn: Connection, e: AttestationEntry, days: int, now: datetime) -> int:
        att_id = _pk(
            db.attestations.insert().values(
                commune_code=e.commune,
                criterion_id=e.criterion,
                status=e.status,
                evidence=e.evidence,
                entered_by=e.actor,
                entered_at=now,
                expires_at=now + timedelta(days=days),
            ),
            conn,
        )
        file_id = None
        if e.file is not None:
            file_id = _pk(
                db.evidence_files.insert().values(
                    attestation_id=att_id,
                    filename=e.file.filename,
                    content_type=e.file.content_type,
                    size=len(e.file.data),
                    data=e.file.data,
                ),
                conn,
            )
        self.audit.record(
            conn,
            e.actor,
            "attestation.add",
            e.commune,
            criterion=e.criterion,
            status=e.status,
            valid_days=days,
            attestation_id=att_id,
            file_id=file_id,
        )
        return att_id

    def record_attestation(
        self,
        *,
        commune: str,
        criterion: str,
        status: str,
        evidence: str,
        actor: str,
        valid_days: int | None = None,
        file: EvidenceFile | None = None,
    ) -> int:
        """Store one attestation (with an optional evidence file); see :meth:`record`."""
        [att_id] = self.record(
            [AttestationEntry(commune, criterion, status, evidence, actor, valid_days, file)]
        )
        return att_id

    def record_waiver(
        self, *, commune: str, criterion: str, reason: str, actor: str, valid_days: int
    ) -> int:
        """Waive a criterion for a commune until an expiry; the reason and who are shown
        everywhere. Audited as ``waiver.add``."""
        self._criterion(commune, criterion)
        reason = reason.strip()
        if not reason:
            raise BadRequestError("a waiver needs a reason")
        if not 1 <= valid_days <= MAX_WAIVER_DAYS:
            raise BadRequestError(f"waiver validity must be 1 to {MAX_WAIVER_DAYS} days")
        now = self.clock()
        with self.database.write() as conn:
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
            self.audit.record(
                conn,
                actor,
                "waiver.add",
                commune,
                criterion=criterion,
                valid_days=valid_days,
                waiver_id=wid,
            )
        self.evaluation.reevaluate([commune])
        return wid

    # ---------------------------------------------------------------------- reading
    def attestations(self, communes: list[str] | None = None) -> list[dict[str, Any]]:
        """Attestations, newest first, each with ``active`` and its evidence file (if any)."""
        a, f = db.attestations, db.evidence_files
        q = (
            select(a, f.c.id.label("file_id"), f.c.filename, f.c.size)
            .outerjoin(f, f.c.attestation_id == a.c.id)
            .order_by(a.c.entered_at.desc(), a.c.id.desc())
        )
        if communes is not None:
            q = q.where(a.c.commune_code.in_(communes))
        now = self.clock()
        with self.database.read() as conn:
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
        self, communes: list[str] | None = None, active_only: bool = False
    ) -> list[dict[str, Any]]:
        w = db.waivers
        q = select(w).order_by(w.c.granted_at.desc(), w.c.id.desc())
        if communes is not None:
            q = q.where(w.c.commune_code.in_(communes))
        now = self.clock()
        if active_only:
            q = q.where(w.c.expires_at > now)
        with self.database.read() as conn:
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

    def evidence_file(self, file_id: int) -> tuple[EvidenceFile, str] | None:
        """The file and the commune whose attestation it belongs to."""
        f, a = db.evidence_files, db.attestations
        with self.database.read() as conn:
            row = conn.execute(
                select(f.c.filename, f.c.content_type, f.c.data, a.c.commune_code)
                .join(a, a.c.id == f.c.attestation_id)
                .where(f.c.id == file_id)
            ).first()
        if row is None:
            return None
        return EvidenceFile(row.filename, row.content_type, bytes(row.data)), row.commune_code
