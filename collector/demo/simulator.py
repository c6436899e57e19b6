"""Simulated agents for all 3,321 communes, talking to a collector over its real HTTP API.

Deterministic for a seed. Fault profiles follow the picture reported under Plan 02-KH/BCĐTW
on 31 July 2025 (docs/CRITERIA.md): about 60 % of communes fully ready nationally, eight provinces
at 100 %, mountainous border provinces far behind (Cao Bằng 5.36 %, Lai Châu 7.89 %), and a
few communes whose agent is silent.

The simulator issues enrollment codes and enters attestations the way an administrator and an
operator would (through the collector's services: the attestations are validated and
audited like an operator's form, signed by an operator account that exists before them),
then every simulated agent enrolls and reports through HTTP, exactly as a real agent does.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from checks.messages import msg, said
from checks.model import (
    AgentReport,
    Category,
    CheckResult,
    MessageRef,
    ReportBatch,
    Status,
    Value,
    utcnow,
)
from collector.domain.units import Units
from collector.service import Services
from collector.service.accounts import AuthError, Role
from collector.service.attestations import AttestationEntry

#: Share of fully ready communes per province; provinces not named get a seeded share
#: between 0.35 and 0.8. Values for 04 and 12 are the reported figures of 31 July 2025.
PROVINCE_READINESS: dict[str, float] = {
    "01": 1.0,
    "22": 1.0,
    "24": 1.0,
    "31": 1.0,
    "46": 1.0,
    "48": 1.0,
    "79": 1.0,
    "92": 1.0,
    "04": 0.0536,
    "12": 0.0789,
    "11": 0.2,
    "14": 0.25,
    "15": 0.3,
    "08": 0.35,
}
#: Share of communes whose agent never reports (grey).
SILENT_SHARE = 0.015
#: Among communes that are not ready, the share with a critical fault (red).
CRITICAL_SHARE = 0.3

CORE_SYSTEMS = (
    "email",
    "lgsp",
    "document-management",
    "tthc",
    "e-portal",
    "reporting",
    "video-call",
)

# name -> (criterion it breaks, critical?)
FAULTS: dict[str, tuple[str, bool]] = {
    "link_down": ("NET-01", True),
    "no_signature": ("SIG-01", True),
    "meeting_unreachable": ("VC-01", True),
    "not_staffed": ("ATT-02", True),
    "low_bandwidth": ("NET-02", False),
    "poor_video": ("VC-02", False),
    "no_camera": ("VC-03", False),
    "disk_full": ("EQ-01", False),
    "toner_low": ("EQ-02", False),
    "ups_weak": ("EQ-03", False),
    "queue_machine_down": ("EQ-04", False),
    "system_unreachable": ("SYS-01", False),
    "updates_old": ("SEC-01", False),
    "layout_not_attested": ("ATT-03", False),
}


@dataclass(frozen=True)
class CommunePlan:
    code: str
    province_code: str
    silent: bool
    faults: tuple[str, ...]

    @property
    def expected_colour(self) -> str:
        if self.silent:
            return "grey"
        if any(FAULTS[f][1] for f in self.faults):
            return "red"
        return "yellow" if self.faults else "green"


def plan_nation(units: Units, seed: int = 1) -> dict[str, CommunePlan]:
    """Decide, deterministically, which communes are silent and which faults each has."""
    rng = random.Random(seed)
    readiness = {
        p: PROVINCE_READINESS.get(p, round(rng.uniform(0.35, 0.8), 3))
        for p in sorted(units.provinces)
    }
    critical = [f for f, (_, crit) in FAULTS.items() if crit]
    minor = [f for f, (_, crit) in FAULTS.items() if not crit]
    plans: dict[str, CommunePlan] = {}
    for pcode in sorted(units.by_province):
        communes = list(units.by_province[pcode])
        n = len(communes)
        # Exactly round(share * n) ready communes, so a province's figure matches its share.
        order = communes[:]
        rng.shuffle(order)
        ready = set(order[: round(readiness[pcode] * n)])
        for code in communes:
            if code not in ready and rng.random() < SILENT_SHARE / max(1e-9, 1 - readiness[pcode]):
                plans[code] = CommunePlan(code, pcode, True, ())
                continue
            if code in ready:
                plans[code] = CommunePlan(code, pcode, False, ())
                continue
            faults = [rng.choice(minor)]
            if rng.random() < 0.3:
                faults.append(rng.choice(minor))
            if rng.random() < CRITICAL_SHARE:
                faults.append(rng.choice(critical))
            plans[code] = CommunePlan(code, pcode, False, tuple(sorted(set(faults))))
    return plans


def _r(
    check: str,
    cat: Category,
    target: str,
    status: Status,
    message: str | MessageRef = "",
    **values: tuple[float, str],
) -> CheckResult:
    return CheckResult(
        check=check,
        category=cat,
        target=target,
        status=status,
        values={k: Value(value=v, unit=u) for k, (v, u) in values.items()},
        **said(message),
        duration_s=0.05,
    )


@dataclass(frozen=True)
class _Machine:
    """What kind of PC a simulated host is: its memory, disk and how long it stays up."""

    memory_gib: tuple[float, float]  # available, from-to
    total_gib: int
    disk_gib: int
    uptime_days: int
    clock_offset_s: float


PASC_PC = _Machine((2, 5), 8, 256, 30, 0.08)
OFFICE_PC = _Machine((1, 3), 4, 128, 10, 0.05)


def _host_results(f: set[str], rng: random.Random, pc: _Machine = PASC_PC) -> list[CheckResult]:
    H = Category.HOST
    ok, fail = Status.OK, Status.FAIL
    gib = 1024**3
    free = rng.uniform(0.02, 0.07) if "disk_full" in f else rng.uniform(0.3, 0.7)
    offset = pc.clock_offset_s
    return [
        _r(
            "host.cpu",
            H,
            "",
            ok,
            cpu_usage=(rng.uniform(0.05, 0.4), "ratio"),
            load1=(rng.uniform(0.1, 1.5), ""),
        ),
        _r(
            "host.memory",
            H,
            "",
            ok,
            memory_available=(rng.uniform(*pc.memory_gib) * gib, "bytes"),
            memory_available_ratio=(rng.uniform(0.25, 0.6), "ratio"),
            memory_total=(pc.total_gib * gib, "bytes"),
        ),
        _r(
            "host.disk",
            H,
            "C:\\",
            fail if free < 0.1 else ok,
            "ổ đĩa gần đầy" if free < 0.1 else "",
            disk_free=(free * pc.disk_gib * gib, "bytes"),
            disk_free_ratio=(free, "ratio"),
            disk_size=(pc.disk_gib * gib, "bytes"),
        ),
        _r("host.uptime", H, "", ok, uptime=(rng.uniform(3600, pc.uptime_days * 86400), "seconds")),
        _r(
            "host.clock",
            H,
            "collector",
            ok,
            clock_offset=(rng.uniform(-offset, offset), "seconds"),
            clock_offset_abs=(rng.uniform(0, offset), "seconds"),
        ),
    ]


def _basic_network(rng: random.Random) -> list[CheckResult]:
    """The gateway and DNS results every machine has."""
    N, ok = Category.NETWORK, Status.OK
    return [
        _r("net.gateway", N, "192.0.2.1", ok, gateway_present=(1, ""), gateway_reachable=(1, "")),
        _r(
            "net.dns",
            N,
            "dichvucong.gov.vn",
            ok,
            dns_resolve_time=(rng.uniform(0.005, 0.05), "seconds"),
            dns_addresses=(2, ""),
        ),
    ]


def _network_results(f: set[str], rng: random.Random) -> list[CheckResult]:
    N = Category.NETWORK
    ok, fail = Status.OK, Status.FAIL
    out = _basic_network(rng)
    if "link_down" in f:
        out.append(
            _r(
                "net.dedicated",
                N,
                "provincial-gateway:443",
                fail,
                msg("net.timeout"),
                tcp_up=(0, ""),
            )
        )
    else:
        out.append(
            _r(
                "net.dedicated",
                N,
                "provincial-gateway:443",
                ok,
                tcp_up=(1, ""),
                tcp_connect_time=(rng.uniform(0.005, 0.03), "seconds"),
            )
        )
    bw = rng.uniform(8e6, 18e6) if "low_bandwidth" in f else rng.uniform(120e6, 195e6)
    out.append(
        _r(
            "net.throughput",
            N,
            "collector",
            ok,
            download_bandwidth=(bw, "bits_per_second"),
            upload_bandwidth=(bw * 0.8, "bits_per_second"),
        )
    )
    out.append(
        _r(
            "net.portal",
            N,
            "https://dichvucong.gov.vn/",
            ok,
            http_status=(200, ""),
            http_response_time=(rng.uniform(0.2, 1.2), "seconds"),
            http_up=(1, ""),
            tls_cert_days_left=(rng.uniform(60, 300), "days"),
        )
    )
    return out


def _meeting_results(f: set[str], rng: random.Random) -> list[CheckResult]:
    V = Category.VIDEOCONF
    ok, warn, fail = Status.OK, Status.WARN, Status.FAIL
    out: list[CheckResult] = []
    if "meeting_unreachable" in f:
        out.append(
            _r(
                "vc.sip",
                V,
                "sip:mcu.province",
                fail,
                msg("vc.no_answer", detail="SIP OPTIONS"),
                sip_up=(0, ""),
            )
        )
        out.append(
            _r(
                "vc.stun",
                V,
                "stun:turn.province:3478",
                fail,
                msg("vc.no_answer", detail="STUN Binding"),
                stun_up=(0, ""),
            )
        )
    else:
        out.append(
            _r(
                "vc.sip",
                V,
                "sip:mcu.province",
                ok,
                sip_up=(1, ""),
                sip_response_time=(rng.uniform(0.01, 0.05), "seconds"),
            )
        )
    poor = "poor_video" in f
    out.append(
        _r(
            "vc.quality",
            V,
            "mcu.province",
            warn if poor else ok,
            rtt=(rng.uniform(0.18, 0.28) if poor else rng.uniform(0.015, 0.06), "seconds"),
            jitter=(rng.uniform(0.035, 0.05) if poor else rng.uniform(0.001, 0.01), "seconds"),
            loss=(rng.uniform(0.015, 0.04) if poor else rng.uniform(0, 0.004), "ratio"),
        )
    )
    out.append(
        _r(
            "vc.devices",
            V,
            "",
            fail if "no_camera" in f else ok,
            camera_count=(0 if "no_camera" in f else 1, "count"),
            microphone_count=(1, "count"),
            speaker_count=(1, "count"),
        )
    )
    return out


def _equipment_results(f: set[str], rng: random.Random) -> list[CheckResult]:
    E = Category.EQUIPMENT
    ok, warn, fail = Status.OK, Status.WARN, Status.FAIL
    out: list[CheckResult] = []
    toner = rng.uniform(0.02, 0.08) if "toner_low" in f else rng.uniform(0.25, 0.95)
    out.append(
        _r(
            "eq.printer",
            E,
            "printer-1",
            warn if toner < 0.1 else ok,
            supply_level_min=(toner, "ratio"),
        )
    )
    runtime = rng.uniform(300, 800) if "ups_weak" in f else rng.uniform(1900, 3600)
    out.append(
        _r(
            "eq.ups",
            E,
            "ups-1",
            ok,
            ups_on_line=(1, ""),
            ups_runtime=(runtime, "seconds"),
            battery_charge=(rng.uniform(0.8, 1.0), "ratio"),
        )
    )
    for dev in ("queue-machine", "satisfaction-terminal", "camera-1"):
        down = "queue_machine_down" in f and dev == "queue-machine"
        out.append(
            _r(
                "eq.device",
                E,
                dev,
                fail if down else ok,
                msg("eq.device.refused", kind=dev.split("-")[0]) if down else "",
                device_up=(0 if down else 1, ""),
                response_time=(rng.uniform(0.002, 0.05), "seconds"),
            )
        )
    if "no_signature" in f:
        out.append(
            _r(
                "sig.token",
                E,
                "usb-token",
                fail,
                msg("sig.token.absent", wanted="USB token"),
                token_present=(0, ""),
            )
        )
        out.append(
            _r(
                "sig.certificate",
                E,
                "signing-cert",
                fail,
                msg("sig.cert.expired_short"),
                cert_days_left=(-rng.randint(1, 60), "days"),
            )
        )
    else:
        out.append(_r("sig.token", E, "usb-token", ok, token_present=(1, "")))
        out.append(
            _r(
                "sig.certificate",
                E,
                "signing-cert",
                ok,
                cert_days_left=(rng.randint(60, 700), "days"),
            )
        )
    return out


def _service_results(f: set[str], rng: random.Random) -> list[CheckResult]:
    S = Category.SERVICES
    ok, _warn, fail = Status.OK, Status.WARN, Status.FAIL
    out: list[CheckResult] = []
    broken = rng.choice(CORE_SYSTEMS) if "system_unreachable" in f else None
    for name in CORE_SYSTEMS:
        if name == broken:
            out.append(
                _r(
                    "svc.http",
                    S,
                    name,
                    fail,
                    "HTTP 502",
                    http_status=(502, ""),
                    http_up=(0, ""),
                    http_response_time=(rng.uniform(0.1, 0.5), "seconds"),
                )
            )
        else:
            out.append(
                _r(
                    "svc.http",
                    S,
                    name,
                    ok,
                    http_status=(200, ""),
                    http_up=(1, ""),
                    http_response_time=(rng.uniform(0.05, 0.9), "seconds"),
                )
            )
    return out


def _security_results(f: set[str], rng: random.Random) -> list[CheckResult]:
    H, X = Category.HOST, Category.SECURITY
    ok, _warn, _fail = Status.OK, Status.WARN, Status.FAIL
    out: list[CheckResult] = []
    out.append(_r("sec.antivirus", X, "", ok, antivirus_running=(1, "")))
    out.append(_r("sec.firewall", X, "", ok, firewall_enabled=(1, "")))
    age = rng.uniform(70, 120) if "updates_old" in f else rng.uniform(1, 20)
    out.append(_r("sec.updates", X, "", ok, updates_age=(age, "days")))
    # The agent's own spool: a commune whose link is down keeps its reports waiting.
    backlog = rng.randint(5, 60) if "link_down" in f else 0
    out.append(
        _r(
            "agent.spool",
            H,
            "",
            ok,
            spool_pending=(backlog, "count"),
            spool_dropped=(0, "count"),
        )
    )
    return out


def simulated_results(plan: CommunePlan, rng: random.Random) -> list[CheckResult]:
    """One cycle's results for the PASC machine of a commune with the given faults (the
    parts in this order: the random draws, and so the demo's nation, depend on it)."""
    f = set(plan.faults)
    return [
        *_host_results(f, rng),
        *_network_results(f, rng),
        *_meeting_results(f, rng),
        *_equipment_results(f, rng),
        *_service_results(f, rng),
        *_security_results(f, rng),
    ]


def office_results(rng: random.Random) -> list[CheckResult]:
    """One cycle's results for an ordinary office PC of a commune (beside the PASC machine):
    the host, security and basic network checks, all healthy, so that extra hosts add
    realistic load without changing the commune's planned colour."""
    ok, X = Status.OK, Category.SECURITY
    return [
        *_host_results(set(), rng, OFFICE_PC),
        *_basic_network(rng),
        _r("sec.antivirus", X, "", ok, antivirus_running=(1, "")),
        _r("sec.firewall", X, "", ok, firewall_enabled=(1, "")),
        _r("sec.updates", X, "", ok, updates_age=(rng.uniform(1, 10), "days")),
    ]


#: Who enters the simulated attestations (shown on the commune pages and in the audit log).
DEMO_OPERATOR = "demo-operator"


def attestations_for(
    plans: dict[str, CommunePlan], operator: str = DEMO_OPERATOR
) -> list[AttestationEntry]:
    """Evidence an operator would enter for each commune (ATT-01..03)."""
    items: list[AttestationEntry] = []
    for code, plan in plans.items():
        if plan.silent:
            continue
        staffed = "not_staffed" not in plan.faults
        items.append(
            AttestationEntry(
                code, "ATT-01", "pass", "Quyết định thành lập Trung tâm PVHCC (mô phỏng)", operator
            )
        )
        items.append(
            AttestationEntry(
                code,
                "ATT-02",
                "pass" if staffed else "fail",
                "Báo cáo nhân sự quầy một cửa (mô phỏng)",
                operator,
            )
        )
        if "layout_not_attested" not in plan.faults:
            items.append(
                AttestationEntry(
                    code, "ATT-03", "pass", "Biên bản kiểm tra bố trí (mô phỏng)", operator
                )
            )
    return items


#: How long before its first report a simulated commune's dedicated link went down.
LINK_DOWN_FOR = timedelta(minutes=6)


@dataclass
class SimAgent:
    plan: CommunePlan
    agent_id: str = ""
    token: str = ""
    seq: int = 0
    rng: random.Random = field(default_factory=random.Random)


@dataclass
class SimStats:
    enrolled: int = 0
    reports_sent: int = 0
    errors: list[str] = field(default_factory=list)


class Simulator:
    """Enrolls one simulated agent per (non-silent) commune and sends their reports."""

    def __init__(
        self,
        base_url: str,
        services: Services,
        seed: int = 1,
        concurrency: int = 16,
        progress: Callable[[str, int, int], None] | None = None,
        provinces: set[str] | None = None,
        operator: str = DEMO_OPERATOR,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.operator = operator
        self.services = services
        self.seed = seed
        self.concurrency = concurrency
        # The plan is always drawn for the whole nation, so a commune's faults do not depend
        # on which provinces a run simulates.
        self.plans = {
            code: plan
            for code, plan in plan_nation(services.units, seed).items()
            if provinces is None or plan.province_code in provinces
        }
        self.agents: dict[str, SimAgent] = {}
        self.stats = SimStats()
        self.progress = progress or (lambda _phase, _done, _total: None)

    async def setup(self, client: httpx.AsyncClient) -> None:
        active = [p for p in self.plans.values() if not p.silent]
        codes = await asyncio.to_thread(
            self.services.identities.create_enrollment_codes, [p.code for p in active]
        )
        await asyncio.to_thread(self._enter_attestations)
        sem = asyncio.Semaphore(self.concurrency)
        done = 0

        async def one(commune: str, code: str) -> None:
            nonlocal done
            async with sem:
                resp = await client.post(
                    f"{self.base_url}/api/v1/enroll",
                    json={"code": code, "host": f"pasc-{commune}", "agent_version": "sim-0.1"},
                )
            if resp.status_code != 201:
                self.stats.errors.append(f"enroll {commune}: {resp.status_code} {resp.text}")
                return
            body = resp.json()
            self.agents[commune] = SimAgent(
                plan=self.plans[commune],
                agent_id=body["agent_id"],
                token=body["token"],
                rng=random.Random(f"{self.seed}-{commune}"),
            )
            self.stats.enrolled += 1
            done += 1
            if done % 250 == 0 or done == len(codes):
                self.progress("enroll", done, len(codes))

        await asyncio.gather(*(one(c, code) for c, code in codes))

    def _operator_account(self) -> str:
        """The operator who signs the attestations: an existing account with the operator
        role (or above), made now (audited, with a random password) when there is none."""
        accounts = self.services.accounts
        user = accounts.user(self.operator)
        if user is None:
            try:
                user = accounts.add_user(
                    self.operator, secrets.token_urlsafe(12), Role.OPERATOR.value, actor="demo"
                )
            except AuthError:  # made meanwhile (another simulator on the same database)
                user = accounts.user(self.operator)
        if user is None or not user.role.allows(Role.OPERATOR):
            role = user.role.value if user else "disabled account"
            raise ValueError(f"{self.operator} is a {role}: attestations need an operator")
        return user.username

    def _enter_attestations(self) -> None:
        """Every commune's attestations, as its operator would enter them, after the
        operator's account exists: validated and audited by the attestation service."""
        operator = self._operator_account()
        self.services.attestations.record(
            attestations_for(self.plans, operator), only_reported=True
        )

    async def round(self, client: httpx.AsyncClient, observed_at: datetime | None = None) -> None:
        """Every simulated agent sends one report (one batch of one report)."""
        sem = asyncio.Semaphore(self.concurrency)
        agents = list(self.agents.values())
        done = 0

        async def one(a: SimAgent) -> None:
            nonlocal done
            when = observed_at or utcnow()
            reports = []
            if a.seq == 0 and "link_down" in a.plan.faults:
                # Its link has been down for a while: the first batch drains the spool, a
                # report measured LINK_DOWN_FOR earlier first (NET-01 counts an outage once
                # it has lasted 5 minutes).
                spooled = random.Random(f"{self.seed}-{a.plan.code}-spooled")
                reports.append(_next_report(a, when - LINK_DOWN_FOR, spooled))
            reports.append(_next_report(a, when, a.rng))
            body = ReportBatch(reports=reports).model_dump_json()
            async with sem:
                resp = await client.post(
                    f"{self.base_url}/api/v1/reports",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {a.token}",
                        "Content-Type": "application/json",
                    },
                )
            if resp.status_code != 200:
                self.stats.errors.append(f"report {a.plan.code}: {resp.status_code} {resp.text}")
                return
            self.stats.reports_sent += 1
            done += 1
            if done % 250 == 0 or done == len(agents):
                self.progress("report", done, len(agents))

        await asyncio.gather(*(one(a) for a in agents))

    def client(self) -> httpx.AsyncClient:
        """An HTTP client for the simulated agents (as many connections as they use)."""
        limits = httpx.Limits(max_connections=self.concurrency)
        return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30.0))

    async def run(self, rounds: int = 1, every_s: float = 0.0) -> SimStats:
        async with self.client() as client:
            await self.setup(client)
            for i in range(rounds):
                if i:
                    await asyncio.sleep(every_s)
                await self.round(client)
        return self.stats


def expected_summary(plans: dict[str, CommunePlan]) -> dict[str, int]:
    out = {"green": 0, "yellow": 0, "red": 0, "grey": 0}
    for p in plans.values():
        out[p.expected_colour] += 1
    return out


__all__ = [
    "FAULTS",
    "CommunePlan",
    "Simulator",
    "expected_summary",
    "office_results",
    "plan_nation",
    "simulated_results",
]


def _next_report(a: SimAgent, observed_at: datetime, rng: random.Random) -> AgentReport:
    """The agent's next report (its seq advanced), measured at ``observed_at``."""
    a.seq += 1
    return AgentReport(
        agent_id=a.agent_id,
        seq=a.seq,
        commune_code=a.plan.code,
        host=f"pasc-{a.plan.code}",
        observed_at=observed_at,
        agent_version="sim-0.1",
        results=simulated_results(a.plan, rng),
    )
