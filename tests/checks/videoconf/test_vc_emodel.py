"""ITU-T G.107 E-model (simplified) against published reference points."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.videoconf.emodel import (
    G711,
    R_DEFAULT,
    delay_impairment,
    effective_equipment_impairment,
    effective_latency,
    mos_from_r,
    r_factor,
)


def test_default_r_gives_mos_4_41():
    # G.107 §7: all default values give R = 93.2, which Annex B maps to MOS 4.41.
    assert r_factor(0.0, 0.0, 0.0, codec_delay_s=0.0) == pytest.approx(R_DEFAULT)
    assert mos_from_r(93.2) == pytest.approx(4.41, abs=0.005)


@pytest.mark.parametrize(
    ("r", "mos"),
    [
        (-5, 1.0),
        (0, 1.0),
        (50, 2.575),
        (60, 3.1),
        (70, 3.6),
        (80, 4.02),
        (90, 4.34),
        (100, 4.5),
        (120, 4.5),
    ],
)
def test_mos_from_r_annex_b(r, mos):
    # G.107 Annex B eq. B-4, and the G.109 user-satisfaction boundaries (R 60/70/80/90).
    assert mos_from_r(r) == pytest.approx(mos, abs=0.01)


def test_delay_impairment_g107_idd():
    assert delay_impairment(0.0) == 0.0 and delay_impairment(0.100) == 0.0
    # X = log2(Ta/100 ms): 200 ms -> X = 1 -> Idd = 3.04; 400 ms -> X = 2 -> Idd = 24.07.
    assert delay_impairment(0.200) == pytest.approx(3.04, abs=0.01)
    assert delay_impairment(0.400) == pytest.approx(24.07, abs=0.05)


def test_packet_loss_g711_with_plc():
    # G.113 App. I: G.711 + PLC, Ie = 0, Bpl = 25.1; Ie-eff = 95 Ppl / (Ppl + Bpl).
    assert effective_equipment_impairment(0.0, G711) == 0.0
    assert effective_equipment_impairment(0.01, G711) == pytest.approx(95 / 26.1, rel=1e-6)
    assert effective_equipment_impairment(0.05, G711) == pytest.approx(95 * 5 / 30.1)
    assert effective_equipment_impairment(1.0, G711) == pytest.approx(95 * 100 / 125.1)


def test_effective_latency_adds_jitter_buffer_and_codec():
    assert effective_latency(0.100, 0.010, 0.010) == pytest.approx(0.050 + 0.020 + 0.010)


@given(rtt=st.floats(0, 2), jitter=st.floats(0, 0.5), loss=st.floats(0, 1))
def test_r_and_mos_stay_in_range_and_worsen_with_impairment(rtt, jitter, loss):
    r = r_factor(rtt, jitter, loss)
    assert 0 <= r <= 100 and 1 <= mos_from_r(r) <= 4.5
    assert r_factor(rtt + 0.1, jitter, loss) <= r + 1e-9
    assert r_factor(rtt, jitter, min(1.0, loss + 0.01)) <= r + 1e-9
