import asyncio
import random

from agent.sender import Sender, parse_retry_after
from agent.spool import Spool
from tests.agent.agent_fixtures import make_report


class FakeTime:
    """A monotonic clock that moves only when the sender sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_sender(url: str, clock: FakeTime | None = None, **kw) -> Sender:
    clock = clock or FakeTime()
    kw.setdefault("batch_size", 2)
    return Sender(
        url,
        "tok-secret",
        rng=random.Random(1),
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        timeout_s=2,
        **kw,
    )


def fill(spool: Spool, n: int) -> list[int]:
    seqs = []
    for _ in range(n):
        seq = spool.next_seq()
        spool.put(make_report(seq))
        seqs.append(seq)
    return seqs


def run(coro):
    return asyncio.run(coro)


async def flush(sender, spool, **kw):
    try:
        return await sender.flush(spool, **kw)
    finally:
        await sender.aclose()


def test_sends_in_seq_order_with_bearer_and_paces_batches(tmp_path, collector):
    clock = FakeTime()
    with Spool(tmp_path / "s.db") as spool:
        seqs = fill(spool, 5)
        result = run(flush(make_sender(collector.base, clock), spool))
        assert result.sent == 5 and result.batches == 3 and result.error is None
        assert spool.pending() == []
    sent = [[r["seq"] for r in body["reports"]] for _, _, _, body in collector.requests]
    assert sent == [seqs[0:2], seqs[2:4], seqs[4:5]]
    method, path, headers, _ = collector.requests[0]
    assert (method, path) == ("POST", "/api/v1/reports")
    assert headers["Authorization"] == "Bearer tok-secret"
    assert len(clock.sleeps) == 2 and all(0.5 <= s <= 1.0 for s in clock.sleeps)


def test_deletes_only_acked_seqs(tmp_path, collector):
    def ack_first(body):
        seq = body["reports"][0]["seq"]
        return (
            200,
            {},
            {
                "accepted": 1,
                "duplicates": 0,
                "acked_seqs": [seq, 424242],
                "server_time": "2025-07-01T00:00:00Z",
            },
        )

    collector.default = ack_first
    with Spool(tmp_path / "s.db") as spool:
        seqs = fill(spool, 2)
        sender = make_sender(collector.base, batch_size=2)
        result = run(flush(sender, spool, budget_s=0))
        assert result.acked == [seqs[0]]
        assert [r.seq for r in spool.pending()] == [seqs[1]]


def test_503_retry_after_is_honoured_and_data_kept(tmp_path, collector):
    collector.script.append((503, {"Retry-After": "120"}, {"detail": "busy"}))
    clock = FakeTime()
    with Spool(tmp_path / "s.db") as spool:
        fill(spool, 3)
        sender = make_sender(collector.base, clock)
        first = run(sender.flush(spool))
        assert first.sent == 0 and "503" in first.error
        assert 120 <= first.retry_in_s <= 122
        assert len(spool.pending()) == 3
        # Inside the backoff window nothing is sent.
        clock.now += 60
        deferred = run(sender.flush(spool))
        assert deferred.deferred and len(collector.requests) == 1
        clock.now += 65
        later = run(flush(sender, spool))
        assert later.sent == 3 and spool.pending() == []


def test_connection_refused_backs_off_with_full_jitter(tmp_path, closed_port):
    clock = FakeTime()
    with Spool(tmp_path / "s.db") as spool:
        fill(spool, 1)
        sender = make_sender(
            f"http://127.0.0.1:{closed_port}", clock, backoff_base_s=2, backoff_cap_s=10
        )
        delays = []
        for _ in range(6):
            result = run(sender.flush(spool))
            assert "cannot reach collector" in result.error
            delays.append(result.retry_in_s)
            clock.now += result.retry_in_s
        run(sender.aclose())
        assert len(spool.pending()) == 1  # never lost
    ceilings = [2, 4, 8, 10, 10, 10]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings, strict=True))


def test_422_splits_then_quarantines_the_bad_report(tmp_path, collector):
    with Spool(tmp_path / "s.db") as spool:
        seqs = fill(spool, 2)
        bad = seqs[1]

        def refuse_bad(body):
            got = [r["seq"] for r in body["reports"]]
            if bad in got:
                return 422, {}, {"detail": "results[0].check: bad id"}
            return (
                200,
                {},
                {
                    "accepted": len(got),
                    "duplicates": 0,
                    "acked_seqs": got,
                    "server_time": "2025-07-01T00:00:00Z",
                },
            )

        collector.default = refuse_bad
        result = run(flush(make_sender(collector.base, batch_size=2), spool))
        assert result.sent == 1 and result.rejected == 1
        assert spool.pending() == [] and spool.stats().rejected == 1


def test_401_keeps_reports_and_waits_the_cap(tmp_path, collector):
    collector.script.append((401, {}, {"detail": "invalid token"}))
    with Spool(tmp_path / "s.db") as spool:
        fill(spool, 2)
        result = run(flush(make_sender(collector.base, backoff_cap_s=300), spool))
        assert "401" in result.error and "invalid token" in result.error
        assert "enroll" in result.error
        assert result.retry_in_s == 300
        assert len(spool.pending()) == 2


def test_2xx_without_acks_does_not_loop(tmp_path, collector):
    collector.default = lambda body: (
        200,
        {},
        {"accepted": 0, "duplicates": 0, "acked_seqs": [], "server_time": "2025-07-01T00:00:00Z"},
    )
    with Spool(tmp_path / "s.db") as spool:
        fill(spool, 1)
        result = run(flush(make_sender(collector.base), spool))
        assert result.error and len(collector.requests) == 1


def test_budget_limits_a_long_drain(tmp_path, collector):
    clock = FakeTime()
    with Spool(tmp_path / "s.db") as spool:
        fill(spool, 10)
        result = run(
            flush(make_sender(collector.base, clock, batch_pause_s=1.0), spool, budget_s=1.5)
        )
        assert 0 < result.sent < 10


def test_parse_retry_after():
    from datetime import UTC, datetime

    assert parse_retry_after("30") == 30
    now = datetime(2025, 7, 1, 8, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Tue, 01 Jul 2025 08:01:00 GMT", now) == 60
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
