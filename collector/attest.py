"""TRANSITIONAL: see collector.service.attestations."""

from collector.service.attestations import (  # noqa: F401
    MAX_FILE_BYTES,
    MAX_WAIVER_DAYS,
    EvidenceFile,
)


def record_attestation(store, **kw):
    return store.services.attestations.record_attestation(**kw)


def record_waiver(store, **kw):
    return store.services.attestations.record_waiver(**kw)


def attestations(store, communes=None):
    return store.services.attestations.attestations(communes)


def waivers(store, communes=None, active_only=False):
    return store.services.attestations.waivers(communes, active_only)


def evidence_file(store, file_id):
    return store.services.attestations.evidence_file(file_id)
