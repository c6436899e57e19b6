from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.peers.site import Site, database_for, open_site


@pytest.fixture(scope="session")
def site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    """Hà Nội (01, all green) and Cao Bằng (04, far behind), simulated once per session."""
    db = database_for(request, tmp_path_factory.mktemp("web"))
    yield from open_site(db, {"01", "04"})
