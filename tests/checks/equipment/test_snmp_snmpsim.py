"""Recorded walks of real devices (snmpsim-data) and our printer record, served by snmpsim:
the detected kind and every interpreted figure equal what the dump holds."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from checks.equipment import oids
from checks.equipment.profiles import DeviceKind
from checks.equipment.snmp_checks import poll_device
from checks.equipment.snmp_client import snmp_engine
from checks.model import Status
from tests.peers.snmp import (
    PRINTER_DUMPS,
    ROUTER_DUMPS,
    SWITCH_DUMPS,
    UPS_DUMPS,
    V3_AUTH_KEY,
    V3_PRIV_KEY,
    V3_USER,
    read_snmprec,
)

pytestmark = pytest.mark.integration


def _poll(snmpsim, name, **kw):  # type: ignore[no-untyped-def]
    return asyncio.run(poll_device(snmpsim.target(name, **kw), name))


def _column(rows, column):  # type: ignore[no-untyped-def]
    stem = column + "."
    return {oid[len(stem) :]: v for oid, v in rows if oid.startswith(stem)}


@pytest.mark.parametrize("name", sorted(UPS_DUMPS))
def test_ups_dumps(snmpsim, name):  # type: ignore[no-untyped-def]
    scalars = dict(read_snmprec(UPS_DUMPS[name]))
    polled = _poll(snmpsim, name)
    assert polled.kind is DeviceKind.UPS
    result = polled.result
    assert result.check == "eq.ups" and result.target == name
    source = scalars[oids.UPS_OUTPUT_SOURCE]
    assert result.value("ups_on_line") == (1.0 if source in (3, 4, 6, 7) else 0.0)
    minutes = scalars[oids.UPS_ESTIMATED_MINUTES_REMAINING]
    charge = scalars[oids.UPS_ESTIMATED_CHARGE_REMAINING]
    # RFC 1628 range is 0.. : a recorded -1 is "not measured", never "no runtime left"; nor
    # is 0 minutes at a full charge (Phoenixtec, Ingrasys: the card does not estimate).
    estimated = minutes > 0 or (minutes == 0 and charge != 100)
    assert result.value("ups_runtime") == (minutes * 60.0 if estimated else None)
    assert result.value("battery_charge") == (charge / 100 if 0 <= charge <= 100 else None)
    assert source == 3 and scalars[oids.UPS_BATTERY_STATUS] == 2  # all four recorded on line
    assert result.status is Status.OK
    assert "on line, battery normal" in result.message
    if estimated:
        hours, mins = divmod(minutes, 60)
        assert (f"{hours} h {mins} min left" if hours else f"{mins} min left") in result.message


def _expected_interfaces(rows):  # type: ignore[no-untyped-def]
    types = _column(rows, oids.IF_TYPE)
    admin = _column(rows, oids.IF_ADMIN_STATUS)
    oper = _column(rows, oids.IF_OPER_STATUS)
    ports = [i for i in set(admin) | set(oper) if types.get(i) != 24]
    up = sum(1 for i in ports if oper.get(i) == 1)
    down = sum(1 for i in ports if admin.get(i) == 1 and oper.get(i) in (2, 7))
    errors = sum(
        v
        for col in (oids.IF_IN_ERRORS, oids.IF_OUT_ERRORS)
        for i, v in _column(rows, col).items()
        if i in ports
    )
    return up, down, errors


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        *((n, DeviceKind.SWITCH) for n in sorted(SWITCH_DUMPS)),
        *((n, DeviceKind.ROUTER) for n in sorted(ROUTER_DUMPS)),
    ],
)
def test_switch_and_router_dumps(snmpsim, name, kind):  # type: ignore[no-untyped-def]
    rows = read_snmprec({**SWITCH_DUMPS, **ROUTER_DUMPS}[name])
    polled = _poll(snmpsim, name)
    assert polled.kind is kind
    result = polled.result
    assert result.check == "eq.switch" and result.status is Status.OK
    up, down, errors = _expected_interfaces(rows)
    assert result.value("interfaces_up") == up
    assert result.value("interfaces_down") == down
    assert result.value("if_errors") == errors
    assert result.message.startswith(f"{kind.value}: {up} of ")


def test_printer_record(snmpsim):  # type: ignore[no-untyped-def]
    rows = read_snmprec(PRINTER_DUMPS["printer-hp-m479"])
    levels = _column(rows, oids.PRT_MARKER_SUPPLIES_LEVEL)
    maxima = _column(rows, oids.PRT_MARKER_SUPPLIES_MAX_CAPACITY)
    classes = _column(rows, oids.PRT_MARKER_SUPPLIES_CLASS)
    descr = {i: v.decode() for i, v in _column(rows, oids.PRT_MARKER_SUPPLIES_DESCRIPTION).items()}
    known = {
        i: levels[i] / maxima[i]
        for i in levels
        if levels[i] >= 0 and maxima[i] > 0 and classes[i] == 3
    }

    polled = _poll(snmpsim, "printer-hp-m479")
    assert polled.kind is DeviceKind.PRINTER
    result = polled.result
    assert result.check == "eq.printer" and result.target == "printer-hp-m479"
    assert result.value("supply_level_min") == pytest.approx(min(known.values()))
    black = next(i for i in known if "Black" in descr[i])
    assert result.value("toner_black") == pytest.approx(known[black])
    assert f"black toner {known[black] * 100:.0f} %" in result.message
    some = next(i for i in levels if levels[i] == -3 and classes[i] == 3)
    assert f"{descr[some].split()[0].lower()} toner: some remaining" in result.message
    # hrDeviceStatus warning(3) and hrPrinterDetectedErrorState lowToner: a warning.
    assert _column(rows, oids.HR_DEVICE_STATUS)["1"] == 3
    assert result.status is Status.WARN and "low toner" in result.message


def test_v3_authpriv_context_picks_the_dump(snmpsim):  # type: ignore[no-untyped-def]
    target = snmpsim.target(
        "",
        version="3",
        user=V3_USER,
        auth_key=V3_AUTH_KEY,
        priv_key=V3_PRIV_KEY,
        auth_proto="SHA",
        priv_proto="AES",
        context="ups-eaton-93e-80",
    )
    polled = asyncio.run(poll_device(target, "ups"))
    assert polled.kind is DeviceKind.UPS and polled.result.value("ups_on_line") == 1.0


def test_every_dump_polled_concurrently(snmpsim):  # type: ignore[no-untyped-def]
    """Every device at once on one engine (the check polls its devices in parallel)."""
    names = [*UPS_DUMPS, *SWITCH_DUMPS, *ROUTER_DUMPS, *PRINTER_DUMPS]

    async def all_at_once():  # type: ignore[no-untyped-def]
        async with snmp_engine() as engine:  # shared, as the check does
            return await asyncio.gather(
                *(poll_device(snmpsim.target(n), n, engine=engine) for n in names)
            )

    kinds = Counter(p.kind for p in asyncio.run(all_at_once()))
    assert kinds == Counter(
        {
            DeviceKind.UPS: len(UPS_DUMPS),
            DeviceKind.SWITCH: len(SWITCH_DUMPS),
            DeviceKind.ROUTER: len(ROUTER_DUMPS),
            DeviceKind.PRINTER: 1,
        }
    )


def test_unknown_community_is_unknown_within_budget(snmpsim):  # type: ignore[no-untyped-def]
    import time

    target = snmpsim.target("no-such-community", timeout_s=0.5, retries=1)
    start = time.monotonic()
    polled = asyncio.run(poll_device(target, "x"))
    elapsed = time.monotonic() - start
    assert elapsed < target.budget_s + 1, (elapsed, polled.result.message)
    assert polled.result.status is Status.UNKNOWN
    assert "wrong community" in polled.result.message


# ------------------------------------------------------- the check in the agent, the criteria


def _device(snmpsim, name, **kw):  # type: ignore[no-untyped-def]
    return {
        "name": name,
        "host": "127.0.0.1",
        "port": snmpsim.port,
        "community": name,
        "timeout_s": 2.0,
        "retries": 1,
        **kw,
    }


def test_check_remembers_kind_and_computes_rates(snmpsim, silent_udp):  # type: ignore[no-untyped-def]
    from checks.base import CheckContext
    from checks.equipment.snmp_checks import SnmpCheck, SnmpConfig
    from checks.runner import run_check

    ctx = CheckContext(host="h")
    check = SnmpCheck(
        SnmpConfig.model_validate(
            {
                "devices": [
                    _device(snmpsim, "ups-eaton-93e-80"),
                    _device(snmpsim, "switch-dlink-des3200"),
                ]
            }
        )
    )
    first = {r.target: r for r in asyncio.run(run_check(check, ctx))}
    assert first["ups-eaton-93e-80"].check == "eq.ups"
    assert first["switch-dlink-des3200"].value("if_in_rate") is None  # one poll: no rate yet
    second = {r.target: r for r in asyncio.run(run_check(check, ctx))}
    # A recorded walk does not move: 0 bit/s between two polls, not a wrap or a reset.
    assert second["switch-dlink-des3200"].value("if_in_rate") == 0.0
    # The UPS goes silent: still reported under eq.ups (EQ-03 sees it), as unknown.
    check.config = SnmpConfig.model_validate(
        {
            "devices": [
                {
                    **_device(snmpsim, "ups-eaton-93e-80"),
                    "port": silent_udp.port,
                    "timeout_s": 0.3,
                    "retries": 0,
                }
            ]
        }
    )
    (silent,) = asyncio.run(run_check(check, ctx))
    assert silent.check == "eq.ups" and silent.status is Status.UNKNOWN


def test_results_feed_the_decree118_criteria(snmpsim):  # type: ignore[no-untyped-def]
    """EQ-02, EQ-03 and EQ-04 read our results by check id and value name."""
    from collector.criteria.catalogue import load_catalogue
    from collector.criteria.engine import CriterionStatus, Observation, evaluate_commune
    from collector.criteria.rules import Rules

    names = ["printer-hp-m479", "ups-eaton-93e-80", "ups-phoenixtec", "switch-cisco-c3750"]

    async def all_devices():  # type: ignore[no-untyped-def]
        return await asyncio.gather(*(poll_device(snmpsim.target(n), n) for n in names))

    results = [p.result for p in asyncio.run(all_devices())]
    observations = [
        Observation(
            host="pc",
            check=r.check,
            target=r.target,
            status=r.status.value,
            values={k: v.value for k, v in r.values.items()},
            message=r.message,
            observed_at=r.observed_at,
        )
        for r in results
    ]
    outcome = evaluate_commune(Rules.of(load_catalogue()), "xã", observations).criteria
    # Black toner 12 %: below the 20 % warning line, above the 10 % failure line.
    assert outcome["EQ-02"].status is CriterionStatus.WARN
    # The Phoenixtec card reports 0 minutes of runtime at a full charge while on line: not
    # an estimate, so EQ-03 cannot judge its runtime (unknown), where it used to fail.
    phoenix = dict(read_snmprec(UPS_DUMPS["ups-phoenixtec"]))
    assert phoenix[oids.UPS_ESTIMATED_MINUTES_REMAINING] == 0
    assert phoenix[oids.UPS_ESTIMATED_CHARGE_REMAINING] == 100
    assert outcome["EQ-03"].status is CriterionStatus.UNKNOWN
    assert "ups-phoenixtec" in outcome["EQ-03"].reason_en
