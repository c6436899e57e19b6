"""Online-meeting readiness: SIP, H.323, STUN reachability, A/V devices, the E-model."""
