import pytest

from agent.spool import Spool
from tests.agent.agent_fixtures import make_report


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def test_put_pending_ack_in_seq_order(tmp_path):
    with Spool(tmp_path / "s.db") as spool:
        seqs = [spool.next_seq() for _ in range(3)]
        for seq in reversed(seqs):
            spool.put(make_report(seq))
        assert [r.seq for r in spool.pending(10)] == seqs
        assert [r.seq for r in spool.pending(2)] == seqs[:2]
        assert spool.ack([seqs[0], 999]) == 1
        assert [r.seq for r in spool.pending(10)] == seqs[1:]


def test_survives_reopen_and_seq_stays_monotonic(tmp_path):
    path = tmp_path / "s.db"
    with Spool(path) as spool:
        first = spool.next_seq()
        spool.put(make_report(first))
        second = spool.next_seq()
    with Spool(path) as spool:
        assert [r.seq for r in spool.pending()] == [first]
        back = spool.pending()[0]
        assert (back.agent_id, back.host, back.results[0].target) == ("agt-1", "pc-1", "t0")
        third = spool.next_seq()
    assert first < second < third


def test_fresh_spool_starts_seq_from_the_clock(tmp_path):
    # Losing the spool file must not make the agent re-use seqs the collector holds.
    clock = Clock()
    with Spool(tmp_path / "a.db", now=clock) as spool:
        assert spool.next_seq() == int(clock.now * 1000) + 1


def test_put_keeps_counter_ahead_of_explicit_seq(tmp_path):
    with Spool(tmp_path / "s.db") as spool:
        big = spool.next_seq() + 100
        spool.put(make_report(big))
        assert spool.next_seq() == big + 1


def test_age_bound_drops_oldest_and_counts(tmp_path):
    clock = Clock()
    with Spool(tmp_path / "s.db", max_age_s=3600, now=clock) as spool:
        spool.put(make_report(1))
        clock.now += 1800
        spool.put(make_report(2))
        clock.now += 1801  # report 1 is now older than an hour
        spool.put(make_report(3))
        assert [r.seq for r in spool.pending()] == [2, 3]
        assert spool.stats().dropped == 1
    with Spool(tmp_path / "s.db", max_age_s=3600, now=clock) as spool:
        assert spool.stats().dropped == 1  # persisted


def test_size_bound_drops_oldest_first(tmp_path):
    with Spool(tmp_path / "s.db", max_bytes=10_000) as spool:
        for seq in range(1, 41):
            spool.put(make_report(seq, n_results=20, message=f"x{seq}" * 20))
        stats = spool.stats()
        assert stats.pending_bytes <= 10_000
        kept = [r.seq for r in spool.pending(100)]
        assert kept == list(range(41 - len(kept), 41))  # the newest survive
        assert stats.dropped == 40 - len(kept) > 0


def test_reject_moves_to_quarantine(tmp_path):
    with Spool(tmp_path / "s.db") as spool:
        spool.put(make_report(1))
        spool.put(make_report(2))
        spool.reject([1], "HTTP 422: bad")
        assert [r.seq for r in spool.pending()] == [2]
        assert spool.stats().rejected == 1


def test_stats(tmp_path):
    clock = Clock()
    with Spool(tmp_path / "s.db", now=clock) as spool:
        assert spool.stats().pending == 0 and spool.stats().oldest_age_s is None
        spool.put(make_report(spool.next_seq()))
        clock.now += 10
        stats = spool.stats()
        assert stats.pending == 1 and stats.oldest_age_s == pytest.approx(10)


def test_wal_mode(tmp_path):
    import sqlite3

    with Spool(tmp_path / "s.db"):
        mode = sqlite3.connect(tmp_path / "s.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_spool_file_is_owner_only(tmp_path):
    import os
    import stat

    with Spool(tmp_path / "s.db") as spool:
        spool.put(make_report(spool.next_seq()))
        for name in ("s.db", "s.db-wal"):
            assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600
