import asyncio

from checks.backend.linux import LinuxBackend, default_route, parse_arp, parse_route
from checks.base import CheckContext
from checks.model import Status
from checks.network.basic import GatewayCheck, evaluate_gateway, parse_gateway
from tests.checks.checks_fixtures import FIXTURES

PROC = FIXTURES / "proc"


def test_parse_route_picks_lowest_metric_default():
    routes = parse_route((PROC / "default_route/net/route").read_text())
    assert len(routes) == 4
    gw = default_route(routes)
    assert gw is not None
    assert (gw.gateway, gw.interface, gw.metric) == ("192.168.1.1", "eth0", 100)


def test_parse_route_without_default():
    assert default_route(parse_route((PROC / "no_route/net/route").read_text())) is None


def test_parse_arp_marks_incomplete_entries():
    neigh = {n.ip: n for n in parse_arp((PROC / "default_route/net/arp").read_text())}
    assert neigh["192.168.1.1"].complete
    assert neigh["192.168.1.1"].mac == "a4:91:b1:3c:7e:02"
    assert not neigh["192.168.1.57"].complete


def test_gateway_reachable_from_recorded_proc():
    backend = LinuxBackend(PROC / "default_route")
    section = parse_gateway(backend.default_gateway(), backend.neighbours())
    result = evaluate_gateway(section)
    assert result.status is Status.OK
    assert result.target == "192.168.1.1"
    assert result.value("gateway_present") == 1 and result.value("gateway_reachable") == 1


def test_gateway_check_fails_without_default_route():
    check = GatewayCheck(backend=LinuxBackend(PROC / "no_route"))
    (result,) = asyncio.run(check.run(CheckContext(host="h")))
    assert result.status is Status.FAIL
    assert result.message == "no default route"
    assert result.value("gateway_present") == 0


def test_gateway_present_but_not_answering():
    route = default_route(parse_route((PROC / "default_route/net/route").read_text()))
    result = evaluate_gateway(parse_gateway(route, []))
    assert result.status is Status.FAIL
    assert result.value("gateway_present") == 1 and result.value("gateway_reachable") == 0


def test_missing_proc_file_is_a_backend_error(tmp_path):
    import pytest

    from checks.backend import BackendError

    with pytest.raises(BackendError, match="cannot read"):
        LinuxBackend(tmp_path).default_gateway()


def test_windows_backend_gateway_from_recorded_powershell():
    from checks.backend.windows import WindowsBackend
    from tests.peers.windows_shell import recorded

    backend = WindowsBackend(recorded())
    (result,) = asyncio.run(GatewayCheck(backend=backend).run(CheckContext(host="h")))
    assert result.status is Status.OK and result.target == "192.168.1.1"
    assert "on Ethernet answers" in result.message
