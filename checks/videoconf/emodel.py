"""ITU-T G.107 E-model, simplified: transmission rating R and estimated MOS from measured
network figures (one-way delay, jitter, packet loss). Pure functions, no I/O.

Reference: ITU-T Recommendation G.107 (06/2015) "The E-model: a computational model for use
in transmission planning"; codec impairment values from ITU-T G.113 (11/2007) Appendix I.

Simplifications, each stated where it is made:

* R = Ro - Is - Id - Ie-eff + A (G.107 eq. 7-1). With every parameter at its G.107 default
  value (Table 1) Ro - Is = 93.2 (G.107 §7, "default values ... yields R = 93.2"); A = 0
  (advantage factor of a wired connection, G.107 Table 3).
* Id: only the delay term Idd (G.107 eq. 7-27/7-28) of the *effective* one-way latency;
  the echo terms Idte/Idle are taken as 0 (modern endpoints cancel echo; G.107 default
  TELR = 65 dB makes them small).
* Effective latency = RTT / 2 + jitter-buffer delay (2 x jitter, a common adaptive-buffer
  sizing) + codec/packetisation delay (default 10 ms): a network-only probe cannot see the
  endpoint's actual buffer, so this is an estimate, labelled as such.
* Ie-eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl) (G.107 eq. 7-29), random loss
  (BurstR = 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Ro - Is with all G.107 default values (G.107 §7, Table 1).
R_DEFAULT = 93.2


@dataclass(frozen=True)
class Codec:
    """Equipment impairment Ie and packet-loss robustness Bpl of a codec (G.113 App. I)."""

    name: str
    ie: float
    bpl: float


#: G.711 with packet-loss concealment: Ie = 0, Bpl = 25.1 (G.113 Appendix I, Table I.3).
G711 = Codec("g711", ie=0.0, bpl=25.1)
#: Opus is not tabulated by ITU-T. Its PLC and in-band FEC are at least as robust as G.711
#: with PLC, so we use G.711's figures as a conservative stand-in (a proposal, not a value
#: from the standard): the estimate errs on the pessimistic side.
OPUS = Codec("opus", ie=0.0, bpl=25.1)
CODECS = {c.name: c for c in (G711, OPUS)}


def delay_impairment(ta_s: float) -> float:
    """Idd of G.107 eq. 7-27/7-28 for an absolute one-way delay ``ta_s`` (seconds), mA = 100.

    Idd = 0 for Ta <= 100 ms, else 25 * ((1 + X^6)^(1/6) - 3 * (1 + (X/3)^6)^(1/6) + 2)
    with X = log2(Ta / 100 ms).
    """
    ta_ms = max(0.0, ta_s * 1000.0)
    if ta_ms <= 100.0:
        return 0.0
    x = math.log2(ta_ms / 100.0)
    return 25.0 * ((1 + x**6) ** (1 / 6) - 3 * (1 + (x / 3) ** 6) ** (1 / 6) + 2)


def effective_equipment_impairment(
    loss_ratio: float, codec: Codec = G711, burst_r: float = 1.0
) -> float:
    """Ie-eff of G.107 eq. 7-29; ``loss_ratio`` 0..1 (Ppl is in percent in the standard)."""
    ppl = min(max(loss_ratio, 0.0), 1.0) * 100.0
    return codec.ie + (95.0 - codec.ie) * ppl / (ppl / burst_r + codec.bpl)


def effective_latency(rtt_s: float, jitter_s: float, codec_delay_s: float = 0.010) -> float:
    """Estimated mouth-to-ear delay (s): half the round trip, a 2 x jitter buffer, the codec."""
    return max(0.0, rtt_s) / 2 + 2 * max(0.0, jitter_s) + max(0.0, codec_delay_s)


def r_factor(
    rtt_s: float,
    jitter_s: float,
    loss_ratio: float,
    codec: Codec = G711,
    codec_delay_s: float = 0.010,
    advantage: float = 0.0,
) -> float:
    """Transmission rating R (0..100) of a call over a path with these figures."""
    ta = effective_latency(rtt_s, jitter_s, codec_delay_s)
    r = R_DEFAULT - delay_impairment(ta) - effective_equipment_impairment(loss_ratio, codec)
    return min(100.0, max(0.0, r + advantage))


def mos_from_r(r: float) -> float:
    """Estimated MOS-CQE from R (G.107 Annex B, eq. B-4)."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    # The B-4 polynomial dips just under 1 for 0 < R < 6.5; MOS has 1 as its floor.
    return max(1.0, 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6)
