"""A host's findings are judged with their Vietnamese reasons written out at once; they
were kept as catalogue messages and written when the commune's details were read. Both ways
give the same texts, byte for byte (docs/MESSAGES.md, "Kept messages")."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from checks.equipment.ups import UpsSection, evaluate_ups
from checks.messages import kept, kept_figure, render_id
from collector.criteria import engine
from collector.criteria.catalogue import load_catalogue
from collector.criteria.engine import (
    CommuneEvaluation,
    HostFindings,
    Observation,
    evaluate_findings,
    host_findings,
)
from collector.criteria.rules import Rules
from collector.demo.simulator import FAULTS, CommunePlan, office_results, simulated_results
from collector.service.evaluation import observations
from collector.storage.codecs import LatestResult

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
#: Its states a list of kept messages; no runtime, so the UPS rule quotes its message.
UPS_ON_BATTERY = UpsSection(output_source=5, battery_status=3, charge_percent=9)
RULES = Rules.of(load_catalogue())


def _hosts(faults: tuple[str, ...], seed: int) -> dict[str, list[Observation]]:
    """A commune as the simulator makes it: its PASC machine with ``faults``, two office
    PCs, and a UPS on battery whose states are kept messages inside one parameter."""
    rng = random.Random(seed)
    plan = CommunePlan("00001", "01", False, faults)
    hosts = {"pasc-1": simulated_results(plan, rng), "pc-1": office_results(rng)}
    hosts["pc-2"] = office_results(rng) + [evaluate_ups(UPS_ON_BATTERY, "ups-1")]
    return {
        host: observations(host, {f"{r.check}|{r.target}": LatestResult.of(r, 1, NOW) for r in rs})
        for host, rs in hosts.items()
    }


def _stored(hosts: dict[str, list[Observation]]) -> list[HostFindings]:
    """Each host's findings judged in full, as stored and read back."""
    return [
        HostFindings.from_json(orjson.loads(orjson.dumps(host_findings(RULES, obs).to_json())))
        for _, obs in sorted(hosts.items())
    ]


def _vi_texts(found: list[HostFindings]) -> list[str]:
    return [f[2] for h in found for fs in h.rules.values() for f in fs]


def _kept_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine as it was: Vietnamese reasons, check messages and figures kept as
    catalogue messages, written when read (English as it is)."""

    def said(id: str, params: Any, lang: str, fallback: str = "", **_: Any) -> str:
        return kept(id, params, fallback) if lang == "vi" else render_id(id, params, lang, fallback)

    monkeypatch.setattr(engine, "render_id", said)
    monkeypatch.setattr(engine, "write", said)
    monkeypatch.setattr(engine, "figure", lambda v, unit, name, lang: kept_figure(v, unit, name))


CASES = [(), *((f,) for f in sorted(FAULTS)), tuple(sorted(FAULTS))]


@pytest.mark.parametrize("faults", CASES, ids=lambda f: "+".join(f) or "ready")
def test_reasons_written_at_once_are_the_reasons_kept_and_written_when_read(
    faults: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    for seed in (1, 2):
        hosts = _hosts(faults, seed)
        now_found = _stored(hosts)
        with monkeypatch.context() as m:
            _kept_way(m)
            kept_found = _stored(hosts)
        # The two ways differ in what is stored (else this test would compare one with itself)...
        assert not any("\x1e" in t for t in _vi_texts(now_found))
        assert any("\x1e" in t for t in _vi_texts(kept_found))
        # ...and not in what a reader is shown: every criterion's reasons and evidence.
        now_ev = evaluate_findings(RULES, "xã", now_found, now=NOW)
        kept_ev = evaluate_findings(RULES, "xã", kept_found, now=NOW)
        assert isinstance(now_ev, CommuneEvaluation)
        assert now_ev == kept_ev
        assert all("\x1e" not in o.reason_vi for o in now_ev.criteria.values())


def test_reasons_show_figures_and_nested_states_in_vietnamese() -> None:
    """What the comparison above covers is really there: a figure with its unit, a kept
    list of states from the agent written out inside a reason."""
    found = _stored(_hosts(("disk_full", "ups_weak"), 1))
    ev = evaluate_findings(RULES, "xã", found, now=NOW)
    eq01, eq03 = ev.criteria["EQ-01"].reason_vi, ev.criteria["EQ-03"].reason_vi
    assert "dung lượng đĩa còn trống" in eq01 and "%, dưới mức 10 %" in eq01
    assert "đang chạy bằng pin, pin yếu, pin còn 9 %" in eq03
