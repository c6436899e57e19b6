from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.readiness_fixtures import Site, open_site


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Hà Nội (01, all green) and Cao Bằng (04, far behind), simulated once per session."""
    yield from open_site(tmp_path_factory.mktemp("web") / "ioc.db", {"01", "04"})
