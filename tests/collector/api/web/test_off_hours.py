"""Pages outside working time: a commune keeps its colour, marked "ngoài giờ làm việc /
outside working hours", over real HTTP with the civil-service calendar and a clock set to
a weekday evening; the next morning, silent in working time, it is grey."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from checks.model import AgentReport
from collector.api.app import create_app
from collector.api.server import BackgroundServer
from collector.criteria.catalogue import load_catalogue
from collector.demo.simulator import CommunePlan, simulated_results
from collector.domain.calendar import WorkingCalendar
from collector.domain.units import load_units
from collector.service import Services, services_for
from collector.storage.connect import create_schema, make_engine
from tests.conftest import Clock, app_config
from tests.peers.site import PASSWORDS, login

HK = "00070"
VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def evening(new_database) -> Iterator[tuple[str, Services, Clock]]:
    clock = Clock(datetime(2026, 12, 4, 16, 59, tzinfo=VN).astimezone(UTC))  # a Friday
    engine = make_engine(new_database("collector.db"))
    create_schema(engine)
    services = services_for(engine, load_catalogue(), load_units(), clock, WorkingCalendar())
    services.accounts.add_user("viewer", PASSWORDS["viewer"], "viewer")
    [(_, code)] = services.identities.create_enrollment_codes([HK])
    ident = services.identities.authenticate(services.identities.enroll(code, "pasc").token)
    assert ident is not None
    results = simulated_results(CommunePlan(HK, "01", False, ("disk_full",)), random.Random(1))
    report = AgentReport(
        agent_id=ident.agent_id,
        seq=1,
        commune_code=HK,
        host="pasc",
        observed_at=clock(),
        agent_version="t",
        results=[r.model_copy(update={"observed_at": clock()}) for r in results],
    )
    services.ingest.ingest(ident, [report])
    clock.advance(hours=4)  # 20:59: the PC is off
    with BackgroundServer(create_app(services, app_config())) as url:
        yield url, services, clock
    engine.dispose()


def test_pages_say_outside_working_hours_and_keep_the_colour(evening) -> None:
    url, _services, clock = evening
    client = login(url, "viewer")
    page = client.get(f"/commune/{HK}").text
    assert 'id="commune-colour">Vàng</span>' in page
    assert 'id="off-hours">ngoài giờ làm việc</span>' in page
    assert "ngoài giờ làm việc" in client.get("/province/01").text
    assert 'id="off-hours"' in client.get("/").text  # every province is off: the notice
    en = client.get(f"/commune/{HK}?lang=en").text
    assert 'id="off-hours">outside working hours</span>' in en
    # Monday 07:33: three minutes of working time without a report: grey, no notice.
    clock.now = datetime(2026, 12, 7, 7, 33, 1, tzinfo=VN).astimezone(UTC)
    client = login(url, "viewer")  # the Friday session has expired
    page = client.get(f"/commune/{HK}?lang=vi").text
    assert 'id="commune-colour">Xám</span>' in page and 'id="off-hours"' not in page
