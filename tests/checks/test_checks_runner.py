import asyncio
import time
from typing import ClassVar

from checks.base import Check, CheckConfig, CheckContext
from checks.model import Category, CheckResult, Status
from checks.runner import run_checks, scrub


class Sleepy(Check):
    id = "test.sleepy"
    category = Category.HOST

    def targets(self) -> list[str]:
        return ["a", "b"]

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        await asyncio.sleep(1.0)
        return []


class SleepyThread(Check):
    """Blocks a worker thread, the way a psutil or socket call would."""

    id = "test.sleepy_thread"
    category = Category.HOST

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        await asyncio.to_thread(time.sleep, 1.0)
        return [CheckResult(check=self.id, category=self.category, status=Status.OK)]


class Boom(Check):
    id = "test.boom"
    category = Category.NETWORK

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        raise RuntimeError("password=hunter2 rejected by s3cr3t-token")


class Leaky(Check):
    id = "test.leaky"
    category = Category.NETWORK

    async def run(self, ctx: CheckContext) -> list[CheckResult]:
        return [
            CheckResult(
                check=self.id,
                category=self.category,
                status=Status.FAIL,
                target="snmp://s3cr3t-token@10.0.0.1",
                message="community s3cr3t-token refused",
            )
        ]


def _cfg(timeout: float) -> CheckConfig:
    return CheckConfig(timeout_s=timeout)


def test_checks_run_concurrently_under_their_deadline():
    checks = [Sleepy(_cfg(0.3)), Sleepy(_cfg(0.3)), Sleepy(_cfg(0.3))]
    start = time.monotonic()
    results = asyncio.run(run_checks(checks, CheckContext(host="h")))
    elapsed = time.monotonic() - start
    assert elapsed < 0.9
    assert len(results) == 6  # one unknown per target
    assert {r.status for r in results} == {Status.UNKNOWN}
    assert results[0].message == "no answer within 0.3 s"
    assert [r.target for r in results[:2]] == ["a", "b"]


def test_three_one_second_checks_take_about_one_second():
    checks = [SleepyThread(_cfg(5)), SleepyThread(_cfg(5)), SleepyThread(_cfg(5))]
    start = time.monotonic()
    results = asyncio.run(run_checks(checks, CheckContext(host="h")))
    elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 1.8
    assert [r.status for r in results] == [Status.OK] * 3


def test_exception_becomes_unknown_with_type_and_scrubbed_secret():
    ctx = CheckContext(host="h", secrets=("s3cr3t-token", "hunter2"))
    (result,) = asyncio.run(run_checks([Boom()], ctx))
    assert result.status is Status.UNKNOWN
    assert result.check == "test.boom"
    assert result.message == "RuntimeError: password=*** rejected by ***"


def test_secrets_scrubbed_from_check_messages_and_targets():
    ctx = CheckContext(host="h", secrets=("s3cr3t-token",))
    (result,) = asyncio.run(run_checks([Leaky()], ctx))
    assert "s3cr3t" not in result.message and "s3cr3t" not in result.target
    assert result.status is Status.FAIL


def test_one_failing_check_does_not_hide_the_others():
    class Fine(Check):
        id = "test.fine"
        category = Category.HOST
        Config: ClassVar[type[CheckConfig]] = CheckConfig

        async def run(self, ctx: CheckContext) -> list[CheckResult]:
            return [CheckResult(check=self.id, category=self.category, status=Status.OK)]

    results = asyncio.run(run_checks([Boom(), Fine(), Sleepy(_cfg(0.1))], CheckContext("h")))
    assert [r.check for r in results] == ["test.boom", "test.fine", "test.sleepy", "test.sleepy"]
    assert results[1].status is Status.OK


def test_scrub():
    assert scrub("token abcd and abcdef", ["abcd", "abcdef", ""]) == "token *** and ***"
    assert scrub("nothing here", []) == "nothing here"


def test_scrub_masks_whole_tokens_only():
    assert scrub("community=s3cret, t-s3cret.", ["s3cret"]) == "community=***, t-***."
    # Inside a longer word the secret is not the token: the word stays whole.
    assert scrub("s3crets and xs3cret", ["s3cret"]) == "s3crets and xs3cret"


def test_scrub_leaves_short_secrets_and_published_defaults_alone():
    message = "public-printer.invalid: no answer (1 tries), community public"
    assert scrub(message, ["public", "1", "ab"]) == message
    assert scrub("Private and private", ["private"]) == "Private and private"
