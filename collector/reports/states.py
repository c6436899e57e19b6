"""Every commune's colour and criterion statuses, without the evidence (fast for the nation)."""

from __future__ import annotations

from collector.store import CommuneState, Store


def light_states(store: Store, province_code: str | None = None) -> list[CommuneState]:
    """Like :meth:`Store.commune_states`, but without each criterion's reasons and evidence
    (~15 kB a commune: decoding them for the nation took most of a national report)."""
    return store.commune_states(province_code, detail=False)
