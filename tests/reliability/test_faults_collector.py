"""The collector killed with SIGKILL under load.

The collector answers 2xx only after the batch is committed (collector/service/committer.py), so a
kill at any moment may lose answers but never an acknowledged report. Several senders post
batches concurrently to a real ``ioc-collector serve`` process; it is killed mid-load and
restarted on the same database. Every acknowledged (agent_id, seq) must be stored; the
batches whose answer was lost are re-sent, and the collector acknowledges again those it
had committed without storing them twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from checks.model import AgentReport, Category, CheckResult, ReportBatch, Status
from collector.criteria.catalogue import load_catalogue
from collector.domain.units import load_units
from collector.service import services_for
from collector.storage import schema as db
from collector.storage.connect import create_schema, make_engine
from tests.peers.faults import CollectorProcess, record, wait_until

N_SENDERS = 8
BATCH = 10
#: Batches per sender before the kill: within the collector's per-agent burst allowance.
MAX_BATCHES = 40
#: Kill once this many reports are acknowledged (mid-load: senders are still sending).
KILL_AFTER = 600


@dataclass
class Sender:
    agent_id: str
    token: str
    commune: str
    next_seq: int = 1
    acked: set[int] = field(default_factory=set)
    #: Batches without an acknowledgement: to be sent again, as an agent's spool would.
    unacked: list[list[int]] = field(default_factory=list)
    #: Of ``unacked``, the reports whose request had reached the collector when it died.
    in_flight: int = 0
    accepted: int = 0
    duplicates: int = 0
    refused: bool = False

    def batch(self, seqs: list[int]) -> bytes:
        now = datetime.now(UTC)
        reports = [
            AgentReport(
                agent_id=self.agent_id,
                seq=s,
                commune_code=self.commune,
                host="pc-1",
                observed_at=now,
                results=[CheckResult(check="host.cpu", category=Category.HOST, status=Status.OK)],
            )
            for s in seqs
        ]
        return ReportBatch(reports=reports).model_dump_json().encode()

    def post(self, client: httpx.Client, url: str, seqs: list[int]) -> bool:
        try:
            resp = client.post(
                f"{url}/api/v1/reports",
                content=self.batch(seqs),
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Content-Type": "application/json",
                },
            )
        except httpx.ConnectError:  # refused: the collector is down, nothing was sent
            self.refused = True
            return False
        except httpx.HTTPError:  # sent, and the connection died before the answer
            self.in_flight += len(seqs)
            return False
        if resp.status_code != 200:
            return False
        body = resp.json()
        self.acked.update(body["acked_seqs"])
        self.accepted += body["accepted"]
        self.duplicates += body["duplicates"]
        return True

    def run(self, url: str, stop: threading.Event) -> None:
        with httpx.Client(timeout=20) as client:
            for _ in range(MAX_BATCHES):
                if stop.is_set():
                    return
                seqs = list(range(self.next_seq, self.next_seq + BATCH))
                self.next_seq += BATCH
                if not self.post(client, url, seqs):
                    self.unacked.append(seqs)
                if self.refused:  # an agent backs off here: stop until the test resumes
                    return


def _stored(db_url: str) -> list[tuple[str, int]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(db.reports.c.agent_id, db.reports.c.seq)).all()
    finally:
        engine.dispose()
    return [(r.agent_id, r.seq) for r in rows]


def test_sigkill_under_load_keeps_every_acknowledged_report(
    tmp_path: Path, new_database: Callable[[str], str]
) -> None:
    db_url = new_database("collector.db")
    engine = make_engine(db_url)
    create_schema(engine)
    services = services_for(engine, load_catalogue(), load_units())
    communes = sorted(services.units.communes)[:N_SENDERS]
    codes = services.identities.create_enrollment_codes(communes)
    engine.dispose()

    collector = CollectorProcess(db_url, tmp_path)
    try:
        collector.start()
        senders = []
        for commune, code in codes:
            r = httpx.post(
                f"{collector.url}/api/v1/enroll", json={"code": code, "host": "pc-1"}, timeout=10
            )
            assert r.status_code == 201, r.text
            body = r.json()
            senders.append(Sender(body["agent_id"], body["token"], commune))

        stop = threading.Event()
        threads = [threading.Thread(target=s.run, args=(collector.url, stop)) for s in senders]
        began = time.monotonic()
        for t in threads:
            t.start()
        wait_until(
            lambda: sum(len(s.acked) for s in senders) >= KILL_AFTER,
            60,
            f"{KILL_AFTER} acknowledged reports",
        )
        collector.kill()
        killed_at = time.monotonic()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        acked = {(s.agent_id, q) for s in senders for q in s.acked}
        unacked = {(s.agent_id, q) for s in senders for b in s.unacked for q in b}
        assert acked and unacked, "the kill must land while batches are in flight"
        assert not acked & unacked

        restart_s = collector.start()
        stored = _stored(db_url)
        # The guarantee: every report the collector acknowledged survived the SIGKILL.
        assert acked <= set(stored), f"lost {len(acked - set(stored))} acknowledged reports"
        committed_unanswered = unacked & set(stored)
        # Only a request that had reached the collector can have been committed unanswered.
        assert len(committed_unanswered) <= sum(s.in_flight for s in senders)

        # The senders re-send what was not acknowledged, as agents do from their spool.
        before = {s.agent_id: (s.accepted, s.duplicates) for s in senders}
        with httpx.Client(timeout=20) as client:
            for s in senders:
                for seqs in s.unacked:
                    assert s.post(client, collector.url, seqs)
        duplicates = sum(s.duplicates - before[s.agent_id][1] for s in senders)
        accepted = sum(s.accepted - before[s.agent_id][0] for s in senders)
        assert duplicates == len(committed_unanswered)
        assert accepted == len(unacked) - len(committed_unanswered)

        final = _stored(db_url)
        assert len(final) == len(set(final)), "a report was stored twice"
        sent = {(s.agent_id, q) for s in senders for q in range(1, s.next_seq)}
        assert set(final) == sent
    finally:
        collector.stop()

    engine = make_engine(db_url)
    with engine.connect() as conn:
        per_agent: dict[str, int] = dict(
            conn.execute(
                select(db.reports.c.agent_id, func.count()).group_by(db.reports.c.agent_id)
            ).all()
        )
    engine.dispose()
    assert per_agent == {s.agent_id: s.next_seq - 1 for s in senders}
    load_s = killed_at - began
    record(
        "collector_sigkill_under_load",
        senders=N_SENDERS,
        batch_size=BATCH,
        acked_before_kill=len(acked),
        acked_per_s_before_kill=round(len(acked) / load_s),
        in_flight_at_kill=sum(s.in_flight for s in senders),
        unacked_at_kill=len(unacked),
        committed_but_unanswered=len(committed_unanswered),
        lost_acked=0,
        restart_to_healthy_s=round(restart_s, 2),
        stored_total=len(final),
    )
