"""Zabbix server 6.0 beside the collector: the same reports, the same connections, the same
time, on the same two cores, with what each side used of them.

Zabbix side (Debian ``zabbix-server-pgsql`` and ``zabbix-frontend-php`` 6.0): a database on
a throwaway PostgreSQL 15 with the schema, images and data Debian ships; the frontend's
``api_jsonrpc.php`` served by ``php -S`` on loopback from a copy of the frontend whose
configuration file points at that database (Debian's frontend reads
``/etc/zabbix/zabbix.conf.php``: the copy reads its own, and no system file is touched);
through that API one template with a trapper item per value a report carries and one host
per simulated agent linked to it; then ``zabbix_server`` with a configuration of its own on a
loopback port, fed with the sender protocol (``ZBXD`` header and a JSON ``sender data``
request: one host's values a request, one TCP connection a request as Zabbix's trapper
closes it after answering) by a Python generator (processes of threads on blocking sockets)
whose own CPU is measured.
What reached ``history`` is counted after the load stops, until the count stops growing.

Collector side: ``ioc-collector serve`` (1 process) on SQLite and on the same PostgreSQL
server, driven by ``wrk`` exactly as section 1 does, with the CPU of the collector and of its
PostgreSQL read before and after the load.

Everything runs on loopback; every wait and every load is bounded in time.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.common import (
    Sample,
    collector_process,
    free_port,
    median,
    peak_rss_mib,
    per_step_cpu_ms,
    percentile,
    progress,
    sample,
    stop,
    wait_http,
    write_collector_config,
)
from checks.model import CheckResult

SCHEMA = Path("/usr/share/zabbix-server-pgsql")
FRONTEND = Path("/usr/share/zabbix")
GROUP = "commune-ioc bench"
TEMPLATE = "commune-ioc bench report"
#: Zabbix's own account on a fresh database.
ADMIN = ("Admin", "zabbix")
#: The sender protocol's header: "ZBXD", flags 1, then two little-endian 32-bit lengths.
HEADER = b"ZBXD\x01"
PROCESSED = re.compile(rb"processed: (\d+); failed: (\d+)")
#: Hosts per ``host.create`` call.
BATCH = 250


def item_key(res: CheckResult, name: str) -> str:
    """A Zabbix item key for one value of a check result: ``check.value[target]``, the
    target quoted (backslashes turned to slashes: a quoted parameter cannot end in one)."""
    key = f"{res.check}.{name}"
    if not res.target:
        return key
    target = res.target.replace("\\", "/").replace('"', "")
    return f'{key}["{target}"]'


def zabbix_workload(hosts: int, values: int = 30) -> list[tuple[str, dict[str, float]]]:
    """Per simulated agent, its host name and its first report's values by item key: the
    same communes, names and values as the collector's ingest workload (bench/ingest.py)."""
    from bench.ingest import _trim
    from collector.demo.simulator import plan_nation, simulated_results
    from collector.domain.units import load_units

    plans = plan_nation(load_units())
    codes = sorted(plans)
    rng = random.Random(7)
    out = []
    for n in range(hosts):
        code = codes[n % len(codes)]
        k = n // len(codes)
        host = f"bench-{code}" + (f"-{k}" if k else "")
        results = _trim(simulated_results(plans[code], rng), values)
        out.append(
            (
                host,
                {
                    item_key(r, name): float(v.value)
                    for r in results
                    for name, v in r.values.items()
                },
            )
        )
    return out


def sender_frame(host: str, values: dict[str, float]) -> bytes:
    """One sender-protocol request: the host's values, one per trapper item."""
    body = json.dumps(
        {
            "request": "sender data",
            "data": [{"host": host, "key": k, "value": repr(v)} for k, v in values.items()],
        }
    ).encode()
    return frame(body)


def processed(answer: bytes) -> tuple[int, int]:
    """``processed`` and ``failed`` of a trapper's answer (an error if it has neither)."""
    m = PROCESSED.search(answer)
    if m is None:
        raise ValueError(f"not a sender answer: {answer[:200]!r}")
    return int(m.group(1)), int(m.group(2))


def frame(payload: bytes) -> bytes:
    """A payload in Zabbix's framing: ``ZBXD``, flags 1, its length, 4 reserved bytes."""
    return HEADER + len(payload).to_bytes(4, "little") + bytes(4) + payload


def send(port: int, request: bytes, timeout_s: float = 30) -> bytes:
    """One framed request to a Zabbix server's trapper or agent on ``port`` (a connection of
    its own: both close it after answering); the answer's payload."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    if data[:4] != b"ZBXD" or len(data) < 13:
        raise ValueError(f"not a Zabbix answer: {data[:100]!r}")
    return data[13 : 13 + int.from_bytes(data[5:9], "little")]


@dataclass
class SenderLoad:
    """What the load generator saw: requests answered, values the server said it processed
    (and failed), connection errors, latencies, and its own CPU."""

    requests: int = 0
    processed: int = 0
    failed: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    generator_cpu_s: float = 0.0

    def add(self, other: SenderLoad) -> None:
        self.requests += other.requests
        self.processed += other.processed
        self.failed += other.failed
        self.errors += other.errors
        self.seconds = max(self.seconds, other.seconds)
        self.latencies += other.latencies


def _drive(frames: list[bytes], port: int, workers: int, duration_s: float) -> SenderLoad:
    """``workers`` threads, each sending its own hosts' ``frames`` in turn, one request at a
    time, for ``duration_s`` (blocking sockets: cheaper per request than asyncio's streams).

    A host is one thread's, as an agent is one wrk thread's in section 1: two requests for
    one host at once could be stamped with the same clock and nanoseconds by two trappers,
    and ``history``'s primary key (itemid, clock, ns) keeps only one of those values."""
    load = SenderLoad()
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + duration_s

    def worker(first: int) -> None:
        mine = SenderLoad()
        own = frames[first::workers]
        i = 0
        while time.monotonic() < deadline:
            request = own[i % len(own)]
            i += 1
            t = time.perf_counter()
            try:
                ok, failed = processed(send(port, request))
            except (OSError, ValueError):
                mine.errors += 1
                time.sleep(0.01)
                continue
            mine.latencies.append(time.perf_counter() - t)
            mine.requests += 1
            mine.processed += ok
            mine.failed += failed
        with lock:
            load.add(mine)

    workers = min(workers, len(frames))
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration_s + 60)
    load.seconds = time.monotonic() - started
    return load


def drive(
    port: int, frames: list[bytes], connections: int, duration_s: float, processes: int = 2
) -> SenderLoad:
    """``connections`` senders spread over ``processes`` processes (each process its share
    of the hosts, each sender its share of those), for ``duration_s``; the generator's CPU
    is its processes' (reaped children's) user + system time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        parts = pool.starmap(
            _drive,
            [
                (frames[p::processes], port, max(1, connections // processes), duration_s)
                for p in range(processes)
            ],
        )
        pool.close()
        pool.join()  # reaped: their CPU is in RUSAGE_CHILDREN
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = SenderLoad()
    for part in parts:
        load.add(part)
    load.generator_cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return load


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process, its live descendants and its reaped ones."""
    proc = psutil.Process(pid)
    t = proc.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in proc.children(recursive=True):
        try:
            c = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += c.user + c.system
    return total


def postmaster_pid(data_dir: Path) -> int:
    """The PostgreSQL server's process id, from its data directory."""
    return int((data_dir / "postmaster.pid").read_text(encoding="ascii").splitlines()[0])


def _psql(port: int, database: str, sql: bytes) -> None:
    out = subprocess.run(
        ["psql", "-q", "-X", "-1", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(port)]
        + ["-U", "postgres", "-d", database],
        input=sql,
        capture_output=True,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.decode(errors='replace')[-500:]}")


def zabbix_database(pg: Any) -> str:
    """A new database on ``pg`` (tests/peers/prometheus.py's Postgres) with Debian's Zabbix
    schema, images and data; returns its name."""
    name = pg.create_database().rsplit("/", 1)[1]
    for part in ("schema", "images", "data"):
        _psql(pg.port, name, gzip.decompress((SCHEMA / f"{part}.sql.gz").read_bytes()))
    return name


class HistoryCount:
    """Counts the rows of ``history`` and ``history_uint`` (every value Zabbix stored) over
    one connection, whose server process is known so that its CPU can be left out of
    Zabbix's."""

    def __init__(self, pg_port: int, database: str) -> None:
        import psycopg

        self.conn = psycopg.connect(
            host="127.0.0.1",
            port=pg_port,
            user="postgres",
            dbname=database,
            connect_timeout=10,
            autocommit=True,
        )
        row = self.conn.execute("SELECT pg_backend_pid()").fetchone()
        self.backend = psutil.Process(int(row[0]) if row else 0)

    def __call__(self) -> int:
        row = self.conn.execute(
            "SELECT (SELECT count(*) FROM history) + (SELECT count(*) FROM history_uint)"
        ).fetchone()
        return int(row[0]) if row else 0

    def analyze(self) -> None:
        """Fresh planner statistics for the whole database."""
        self.conn.execute("ANALYZE")

    def cpu_s(self) -> float:
        """CPU seconds its server process has used counting."""
        t = self.backend.cpu_times()
        return float(t.user + t.system)

    def close(self) -> None:
        self.conn.close()


def wait_stored(
    count: HistoryCount,
    cpu: Callable[[], float],
    quiet_s: float = 3.0,
    timeout_s: float = 120.0,
) -> tuple[int, float, float]:
    """Poll the stored count until it has not grown for ``quiet_s`` (bounded by
    ``timeout_s``); returns it, the seconds until it last grew and ``cpu()`` read then."""
    started = time.monotonic()
    last = count()
    grew_at, cpu_then = started, cpu()
    while time.monotonic() - grew_at < quiet_s and time.monotonic() - started < timeout_s:
        time.sleep(0.5)
        now = count()
        if now != last:
            last, grew_at, cpu_then = now, time.monotonic(), cpu()
    return last, grew_at - started, cpu_then


def zabbix_port() -> int:
    """A free loopback port Zabbix accepts (its ``ListenPort`` is at most 32767, below the
    kernel's ephemeral range)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randint(20_000, 32_767)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port between 20000 and 32767")


def frontend_copy(work: Path, pg_port: int, database: str, server_port: int) -> Path:
    """A copy of Debian's Zabbix frontend reading its own configuration file (pointing at
    ``database``) instead of ``/etc/zabbix/zabbix.conf.php``; returns its document root."""
    if not (FRONTEND / "api_jsonrpc.php").exists():
        raise RuntimeError(
            "the Zabbix frontend is not installed (apt-get install zabbix-frontend-php php-pgsql)"
        )
    root = work / "frontend"
    shutil.copytree(FRONTEND, root, symlinks=True)
    conf = root / "conf" / "zabbix.conf.php"
    conf.write_text(
        f"""<?php
$DB['TYPE'] = 'POSTGRESQL';
$DB['SERVER'] = '127.0.0.1';
$DB['PORT'] = '{pg_port}';
$DB['DATABASE'] = '{database}';
$DB['USER'] = 'postgres';
$DB['PASSWORD'] = '';
$DB['SCHEMA'] = '';
$DB['ENCRYPTION'] = false;
$DB['KEY_FILE'] = '';
$DB['CERT_FILE'] = '';
$DB['CA_FILE'] = '';
$DB['VERIFY_HOST'] = false;
$DB['CIPHER_LIST'] = '';
$DB['VAULT_URL'] = '';
$DB['VAULT_DB_PATH'] = '';
$DB['VAULT_TOKEN'] = '';
$DB['DOUBLE_IEEE754'] = true;
$ZBX_SERVER = '127.0.0.1';
$ZBX_SERVER_PORT = '{server_port}';
$ZBX_SERVER_NAME = 'commune-ioc bench';
$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
""",
        encoding="utf-8",
    )
    cls = root / "include" / "classes" / "core" / "CConfigFile.php"
    text = cls.read_text(encoding="utf-8")
    patched = text.replace("'/etc/zabbix/zabbix.conf.php'", f"'{conf}'")
    if patched == text:
        raise RuntimeError(f"{cls}: the configuration file's path was not found to replace")
    cls.write_text(patched, encoding="utf-8")
    return root


@contextmanager
def frontend_process(root: Path) -> Iterator[str]:
    """``php -S`` serving the frontend copy on a loopback port; yields the API's URL."""
    port = free_port()
    log = (root.parent / "php.log").open("a", encoding="utf-8")
    proc = subprocess.Popen(
        ["php", "-S", f"127.0.0.1:{port}", "-t", str(root)], stdout=log, stderr=log
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api_jsonrpc.php", proc=proc)
        yield f"http://127.0.0.1:{port}/api_jsonrpc.php"
    finally:
        stop(proc)
        log.close()


class ZabbixApi:
    """The JSON-RPC API of Zabbix 6.0 (``user.login`` with ``username``, ``auth`` in the
    request)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(timeout=300)
        self.auth: str | None = None
        self._id = 0

    def call(self, method: str, params: Any) -> Any:
        self._id += 1
        request = {"jsonrpc": "2.0", "method": method, "params": params, "id": self._id}
        if self.auth is not None:
            request["auth"] = self.auth
        response = self.client.post(self.url, json=request)
        try:
            answer = response.json()
        except ValueError:  # PHP's own error page (a missing extension, a bad configuration)
            raise RuntimeError(
                f"Zabbix API {method}: HTTP {response.status_code}, not JSON: "
                f"{response.text[:300]!r}"
            ) from None
        if "error" in answer:
            raise RuntimeError(f"Zabbix API {method}: {answer['error']}")
        return answer["result"]

    def login(self) -> None:
        self.auth = self.call("user.login", {"username": ADMIN[0], "password": ADMIN[1]})

    def close(self) -> None:
        self.client.close()


def provision(
    api: ZabbixApi,
    workload: list[tuple[str, dict[str, float]]],
    analyze: Callable[[], None] = lambda: None,
) -> int:
    """A host group, a template with a trapper item (float, Zabbix's default history and
    trends) per item key of the workload, and one host per agent linked to the template, in
    batches (``analyze`` after each); returns the number of items the hosts got."""
    api.login()
    # The database's own host ("Zabbix server", its health template) would store values too.
    others = [
        {"hostid": h["hostid"], "status": 1} for h in api.call("host.get", {"output": ["hostid"]})
    ]
    if others:
        api.call(
            "host.massupdate", {"hosts": [{"hostid": h["hostid"]} for h in others], "status": 1}
        )
    gid = api.call("hostgroup.create", {"name": GROUP})["groupids"][0]
    tid = api.call("template.create", {"host": TEMPLATE, "groups": [{"groupid": gid}]})[
        "templateids"
    ][0]
    keys = sorted({k for _, values in workload for k in values})
    api.call(
        "item.create",
        [{"hostid": tid, "name": k, "key_": k, "type": 2, "value_type": 0} for k in keys],
    )
    for i in range(0, len(workload), BATCH):
        api.call(
            "host.create",
            [
                {"host": host, "groups": [{"groupid": gid}], "templates": [{"templateid": tid}]}
                for host, _ in workload[i : i + BATCH]
            ],
        )
        # Fresh statistics: planned on an empty database, host.create slows 30-fold.
        analyze()
        progress(f"zabbix: {min(i + BATCH, len(workload)):,} of {len(workload):,} hosts created")
    return len(keys) * len(workload)


#: zabbix_server's settings beyond its files, ports and database: trappers for the load,
#: no pollers (nothing is polled: every item is a trapper item), caches sized for the hosts'
#: items (the defaults make the server exit at ~60,000 items), no housekeeping during a run.
SERVER_SETTINGS = {
    "StartTrappers": 16,
    "StartPreprocessors": 3,
    "StartDBSyncers": 4,
    "StartPollers": 0,
    "StartPollersUnreachable": 0,
    "StartPingers": 0,
    "StartDiscoverers": 0,
    "StartHTTPPollers": 0,
    "StartLLDProcessors": 1,
    "CacheSize": "256M",
    "HistoryCacheSize": "256M",
    "HistoryIndexCacheSize": "64M",
    "TrendCacheSize": "64M",
    "ValueCacheSize": "64M",
    "HousekeepingFrequency": 0,
    "Timeout": 4,
    "LogSlowQueries": 0,
}


def server_config(work: Path, port: int, pg_port: int, database: str) -> Path:
    """zabbix_server's configuration: loopback port, its own pid, log and socket files."""
    settings: dict[str, object] = {
        "ListenIP": "127.0.0.1",
        "ListenPort": port,
        "PidFile": work / "zabbix_server.pid",
        "LogType": "file",
        "LogFile": work / "zabbix_server.log",
        "LogFileSize": 0,
        "SocketDir": work,
        "DBHost": "127.0.0.1",
        "DBPort": pg_port,
        "DBName": database,
        "DBUser": "postgres",
        **SERVER_SETTINGS,
    }
    if os.geteuid() == 0:
        # As root the server would switch to the zabbix user, who cannot write here.
        settings["AllowRoot"] = 1
    path = work / "zabbix_server.conf"
    path.write_text("".join(f"{k}={v}\n" for k, v in settings.items()), encoding="utf-8")
    return path


def _wait_trapper(port: int, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    """Until a trapper answers a sender request (for an item no host has: nothing stored)."""
    probe = sender_frame("commune-ioc bench probe", {"probe": 0.0})
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            tail = "".join(
                f.read_text(errors="replace")[-1000:]
                for f in (log, log.with_suffix(".out"))
                if f.exists()
            )
            raise RuntimeError(f"zabbix_server exited ({proc.returncode}): {tail}")
        try:
            processed(send(port, probe, timeout_s=5))
            return
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"zabbix_server not answering on port {port}") from None
            time.sleep(0.2)


@contextmanager
def server_process(config: Path, port: int, timeout_s: float = 120) -> Iterator[psutil.Process]:
    """``zabbix_server -f`` (foreground) with ``config``; yields its main process once a
    trapper answers. On exit, SIGTERM to it, then SIGKILL to whatever of it is left (its
    HA manager child can outlive a failed start)."""
    exe = shutil.which("zabbix_server") or "/usr/sbin/zabbix_server"
    out = config.with_name("zabbix_server.out").open("ab")
    proc = subprocess.Popen([exe, "-f", "-c", str(config)], stdout=out, stderr=out)
    main = psutil.Process(proc.pid)
    try:
        _wait_trapper(port, proc, config.with_name("zabbix_server.log"), timeout_s)
        yield main
    finally:
        out.close()
        try:
            family = [main, *main.children(recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        stop(proc, timeout_s=30)
        for p in family:
            with suppress(psutil.NoSuchProcess):
                p.kill()


def _load_figures(
    prefix: str, load: SenderLoad, stored: int, settle_s: float, cpu_s: float
) -> dict[str, Any]:
    """The sender load's figures; values/s stored count the load and the flush after it."""
    return {
        f"{prefix}_requests": load.requests,
        f"{prefix}_errors": load.errors,
        f"{prefix}_processed": load.processed,
        f"{prefix}_failed": load.failed,
        f"{prefix}_stored": stored,
        f"{prefix}_seconds": round(load.seconds, 2),
        f"{prefix}_requests_s": round(load.requests / load.seconds),
        f"{prefix}_values_s": round(load.processed / load.seconds),
        f"{prefix}_stored_values_s": round(stored / (load.seconds + settle_s)),
        f"{prefix}_p50_ms": round(median(load.latencies) * 1000, 1),
        f"{prefix}_p99_ms": round(percentile(load.latencies, 0.99) * 1000, 1),
        f"{prefix}_cpu_s": round(cpu_s, 1),
        f"{prefix}_values_per_core_s": round(stored / cpu_s) if cpu_s else None,
        f"{prefix}_generator_cpu_s": round(load.generator_cpu_s, 1),
    }


def zabbix_side(
    work: Path,
    pg: Any,
    hosts: int,
    connections: int,
    duration_s: float,
    values: int = 30,
    generators: int = 2,
) -> dict[str, Any]:
    """Zabbix server on a new database of ``pg``, ``hosts`` hosts provisioned through the
    API, then ``duration_s`` of sender load over ``connections``: its figures."""
    work.mkdir(parents=True, exist_ok=True)
    workload = zabbix_workload(hosts, values)
    progress(f"zabbix: schema into a new database, {hosts:,} hosts through the API")
    database = zabbix_database(pg)
    port = zabbix_port()
    started = time.monotonic()
    with frontend_process(frontend_copy(work, pg.port, database, port)) as url:
        api = ZabbixApi(url)
        count = HistoryCount(pg.port, database)
        try:
            items = provision(api, workload, count.analyze)
        finally:
            count.close()
            api.close()
    provision_s = time.monotonic() - started
    frames = [sender_frame(host, vals) for host, vals in workload]
    with server_process(server_config(work, port, pg.port, database), port) as server:
        pg_pid = postmaster_pid(pg.data)
        count = HistoryCount(pg.port, database)
        try:

            def cpu() -> float:
                """Zabbix's and its PostgreSQL's CPU, but for the counting connection's."""
                return tree_cpu_s(server.pid) + tree_cpu_s(pg_pid) - count.cpu_s()

            base, _, _ = wait_stored(count, cpu, quiet_s=1.0)
            cpu0 = cpu()
            progress(f"zabbix: {connections} senders for {duration_s:g} s")
            load = drive(port, frames, connections, duration_s, generators)
            stored, settle_s, cpu1 = wait_stored(count, cpu)
        finally:
            count.close()
    out = _load_figures("zbx", load, stored - base, settle_s, cpu1 - cpu0)
    out.update(
        zbx_hosts=hosts,
        zbx_items=items,
        zbx_values_per_request=round(sum(len(v) for _, v in workload) / len(workload), 1),
        zbx_provision_s=round(provision_s, 1),
        zbx_settle_s=round(settle_s, 1),
        zbx_generators=generators,
        zbx_trappers=SERVER_SETTINGS["StartTrappers"],
        zbx_syncers=SERVER_SETTINGS["StartDBSyncers"],
    )
    return out


def collector_side(
    work: Path,
    db_url: str,
    prefix: str,
    agents: int,
    connections: int,
    duration_s: float,
    values: int = 30,
    pg_pid: int | None = None,
) -> dict[str, Any]:
    """``ioc-collector serve`` (1 process) on ``db_url`` loaded by wrk as in section 1, with
    the CPU the collector (and ``pg_pid``'s PostgreSQL) used during the load and wrk's own."""
    from bench.ingest import _values_per_report, stored_reports, wrk, wrk_workload

    work.mkdir(parents=True, exist_ok=True)
    reports, data = wrk_workload(work, prefix, db_url, agents, values, once=True)
    cfg = write_collector_config(work / f"collector-{prefix}.yaml", db_url)
    with collector_process(cfg) as (url, proc):
        pids = [proc.pid] + ([pg_pid] if pg_pid else [])
        cpu0 = sum(tree_cpu_s(p) for p in pids)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load = wrk(url, data, connections, duration_s)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = sum(tree_cpu_s(p) for p in pids) - cpu0
    per_report = _values_per_report(reports)
    stored = stored_reports(db_url)
    values_s = load.rate * per_report
    return {
        f"{prefix}_requests": load.requests,
        f"{prefix}_failed": load.failed,
        f"{prefix}_stored": stored,
        f"{prefix}_requests_s": round(load.rate),
        f"{prefix}_values_s": round(values_s),
        f"{prefix}_stored_values_s": round(values_s),  # answered after commit: stored
        f"{prefix}_p50_ms": round(load.p50_s * 1000, 1),
        f"{prefix}_p99_ms": round(load.p99_s * 1000, 1),
        f"{prefix}_cpu_s": round(cpu_s, 1),
        f"{prefix}_values_per_core_s": round(load.requests * per_report / cpu_s) if cpu_s else None,
        f"{prefix}_generator_cpu_s": round(
            (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1
        ),
    }


def bench_zabbix(
    work: Path,
    pg: Any,
    agents: int,
    connections: int,
    duration_s: float,
    values: int = 30,
) -> dict[str, Any]:
    """The collector on SQLite, then on PostgreSQL, then Zabbix server on PostgreSQL (the
    same server, a database each), each loaded for ``duration_s``: every figure of the
    section."""
    out: dict[str, Any] = {
        "agents": agents,
        "connections": connections,
        "duration_s": duration_s,
        "values": values,
    }
    progress(f"zabbix: the collector on SQLite, {agents:,} agents, {duration_s:g} s")
    out.update(
        collector_side(
            work / "sqlite", str(work / "sqlite.db"), "ioc", agents, connections, duration_s, values
        )
    )
    progress(f"zabbix: the collector on PostgreSQL 15, {agents:,} agents, {duration_s:g} s")
    out.update(
        collector_side(
            work / "pg",
            pg.create_database(),
            "pg",
            agents,
            connections,
            duration_s,
            values,
            pg_pid=postmaster_pid(pg.data),
        )
    )
    out.update(zabbix_side(work / "zabbix", pg, agents, connections, duration_s, values))
    return out


#: What a Zabbix server asks an agent like ours for, once an interval (passive checks).
AGENT2_ITEMS = (
    "agent.ping",
    "system.cpu.load[all,avg1]",
    "system.cpu.util",
    "vm.memory.size[available]",
    "vm.memory.size[total]",
    "vfs.fs.size[/,free]",
    "vfs.fs.size[/,pfree]",
    "system.uptime",
)


def passive_check(port: int, key: str, timeout_s: float = 10) -> str:
    """One passive check on the agent at ``port``: its answer (``ZBX_NOTSUPPORTED...`` for a
    key it does not support)."""
    return send(port, frame(key.encode()), timeout_s).decode(errors="replace")


class Agent2Watch:
    """Debian's ``zabbix_agent2`` with a minimal configuration (passive checks on a loopback
    port, no active checks, no server needed), asked :data:`AGENT2_ITEMS` once an interval
    by a thread of its own and sampled (psutil) after each round."""

    def __init__(self, work: Path, interval_s: float) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.port = zabbix_port()
        self.interval_s = interval_s
        conf = work / "zabbix_agent2.conf"
        conf.write_text(
            f"Server=127.0.0.1\nListenIP=127.0.0.1\nListenPort={self.port}\nServerActive=\n"
            f"Hostname=bench-agent2\nPidFile={work}/zabbix_agent2.pid\nLogType=file\n"
            f"LogFile={work}/zabbix_agent2.log\nControlSocket={work}/zabbix_agent2.sock\n",
            encoding="utf-8",
        )
        exe = shutil.which("zabbix_agent2") or "/usr/sbin/zabbix_agent2"
        self.proc = subprocess.Popen(
            [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.ps = psutil.Process(self.proc.pid)
        self.rounds: list[Sample] = []
        self.unsupported: list[str] = []
        self._stop = threading.Event()
        self._wait_ready()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _wait_ready(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"zabbix_agent2 exited ({self.proc.returncode})")
            try:
                if passive_check(self.port, "agent.ping", timeout_s=2) == "1":
                    return
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"zabbix_agent2 not answering on port {self.port}")
            time.sleep(0.1)

    def _poll(self) -> None:
        while not self._stop.is_set():
            for key in AGENT2_ITEMS:
                try:
                    if passive_check(self.port, key).startswith("ZBX_NOTSUPPORTED"):
                        self.unsupported.append(key)
                except (OSError, ValueError):
                    self.unsupported.append(key)
            try:
                self.rounds.append(sample(self.ps))
            except psutil.NoSuchProcess:
                return
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        stop(self.proc)

    def figures(self) -> dict[str, Any]:
        """RSS (median of the rounds after the first), peak, USS and CPU per round."""
        if len(self.rounds) < 3:
            raise RuntimeError(f"zabbix_agent2: {len(self.rounds)} rounds of passive checks")
        steady = self.rounds[1:]
        cpu = (steady[-1].cpu_s - steady[0].cpu_s) * 1000 / (len(steady) - 1)
        return {
            "agent2_rounds": len(steady) - 1,
            "agent2_items": len(AGENT2_ITEMS),
            "agent2_unsupported": sorted(set(self.unsupported)),
            "agent2_rss_mib": round(median([s.rss_mib for s in steady]), 1),
            "agent2_peak_rss_mib": round(peak_rss_mib(self.proc.pid), 1),
            "agent2_uss_mib": round(self.ps.memory_full_info().uss / 2**20, 1),
            "agent2_cpu_ms_per_round": round(cpu, 1),
            "agent2_cpu_ms_max_round": round(max(per_step_cpu_ms(steady)), 1),
        }


@contextmanager
def agent2_beside(work: Path, interval_s: float) -> Iterator[Agent2Watch]:
    """Zabbix agent 2 running, polled once an interval, for as long as the block runs."""
    watch = Agent2Watch(work, interval_s)
    try:
        yield watch
    finally:
        watch.stop()
