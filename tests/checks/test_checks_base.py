"""checks.base.Check: run() is fetch -> parse -> evaluate; "could not measure" is unknown."""

from __future__ import annotations

import asyncio

import pytest

from checks.backend import BackendError
from checks.base import CannotMeasure, Check, CheckContext
from checks.model import Category, CheckResult, Status

CTX = CheckContext(host="h")


class Doubler(Check):
    id = "test.doubler"
    category = Category.HOST

    def __init__(self, raw: object = 21, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.raw = raw

    def targets(self) -> list[str]:
        return ["a", "b"]

    async def fetch(self, ctx: CheckContext) -> int:
        if isinstance(self.raw, Exception):
            raise self.raw
        return int(self.raw)  # type: ignore[call-overload]

    def parse(self, raw: int) -> int:
        return raw * 2

    def evaluate(self, section: int) -> list[CheckResult]:
        return [self.result(Status.OK, f"{section}", target="a")]


def test_run_chains_fetch_parse_evaluate():
    [r] = asyncio.run(Doubler().run(CTX))
    assert (r.check, r.category, r.status, r.message, r.target) == (
        "test.doubler",
        Category.HOST,
        Status.OK,
        "42",
        "a",
    )


def test_cannot_measure_is_unknown_for_every_target_or_the_one_named():
    results = asyncio.run(Doubler(CannotMeasure("nothing configured")).run(CTX))
    assert [(r.target, r.status, r.message) for r in results] == [
        ("a", Status.UNKNOWN, "nothing configured"),
        ("b", Status.UNKNOWN, "nothing configured"),
    ]
    [one] = asyncio.run(Doubler(CannotMeasure("down", target="x")).run(CTX))
    assert (one.target, one.status, one.values) == ("x", Status.UNKNOWN, {})
    backend = asyncio.run(Doubler(BackendError("not on this platform")).run(CTX))
    assert {r.message for r in backend} == {"not on this platform"}


def test_backend_is_injected_or_taken_lazily(monkeypatch):
    fake = object()
    assert Doubler(backend=fake).backend is fake  # type: ignore[arg-type]
    calls = []
    monkeypatch.setattr("checks.base.get_backend", lambda: calls.append(1) or "platform")
    check = Doubler()
    assert calls == []
    assert check.backend == "platform" and check.backend == "platform" and calls == [1]


def test_a_check_must_implement_the_steps():
    with pytest.raises(TypeError, match="fetch"):

        class Half(Check):  # noqa: F841
            id = "test.half"
            category = Category.HOST

            def evaluate(self, section: object) -> list[CheckResult]:
                return []
