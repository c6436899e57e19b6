import json

from click.testing import CliRunner

from agent.cli import main
from tests.agent.agent_fixtures import ENROLL_OK

# No external name resolves under the test guard, so the default DNS and portal checks
# answer fail/unknown without leaving the machine.


def invoke(*args: str, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


def test_check_json_without_config():
    result = invoke("check", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"host", "results"}
    by_check = {r["check"]: r for r in data["results"]}
    assert {"host.cpu", "host.memory", "host.disk", "net.portal", "svc.http"} <= set(by_check)
    for r in data["results"]:
        assert set(r) == {"check", "category", "target", "status", "values", "message"}
        for v in r["values"].values():
            assert set(v) == {"value", "unit"}
    assert by_check["host.clock"]["status"] == "unknown"
    assert by_check["host.clock"]["message"] == "no collector configured"
    assert by_check["svc.http"]["status"] == "unknown"
    assert by_check["host.memory"]["values"]["memory_total"]["unit"] == "bytes"


def test_check_table_vietnamese_default_and_english(tmp_path):
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("checks:\n  net.dns: {enabled: false}\n  net.portal: {enabled: false}\n")
    vi = invoke("check", "--config", str(cfg))
    assert vi.exit_code == 0
    assert "KẾT LUẬN" in vi.output and "Không rõ" in vi.output
    en = invoke("check", "--config", str(cfg), "--lang", "en")
    assert "VERDICT" in en.output and "Unknown" in en.output
    assert "Memory" in en.output


def test_check_judges_with_the_collectors_levels_not_ready_items_first(tmp_path):
    """`check` judges with the levels the collector sent (kept in the state directory):
    levels under which no disk can pass make the disk fail, and it is listed first."""
    state = tmp_path / "st"
    state.mkdir()
    strict = {"host.disk": {"disk_free_ratio": {"fail_below": 1.01}}}
    (state / "levels.json").write_text(json.dumps({"version": "v-test", "levels": strict}))
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(
        f"state_dir: {state}\n"
        "checks:\n  net.dns: {enabled: false}\n  net.portal: {enabled: false}\n"
    )
    out = invoke("check", "--config", str(cfg), "--lang", "en").output
    assert out.index("Disk space") < out.index("Memory")
    body = json.loads(invoke("check", "--config", str(cfg), "--json").output)
    [disk] = [r for r in body["results"] if r["check"] == "host.disk"]
    assert disk["status"] == "fail" and "disk_free_ratio" in disk["message"]
    # Without the collector's copy, the built-in catalogue's levels judge (20 % / 10 %).
    (state / "levels.json").unlink()
    body = json.loads(invoke("check", "--config", str(cfg), "--json").output)
    [disk] = [r for r in body["results"] if r["check"] == "host.disk"]
    free = disk["values"]["disk_free_ratio"]["value"]
    assert disk["status"] == ("ok" if free >= 0.2 else "warn" if free >= 0.1 else "fail")


def test_bad_config_is_a_clean_usage_error(tmp_path):
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("checks:\n  host.disk: {pathz: [/]}\n")
    result = CliRunner().invoke(main, ["check", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "did you mean 'paths'" in result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # click's clean exit, not a crash


def test_missing_config_file(tmp_path):
    result = CliRunner().invoke(main, ["check", "--config", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "not found" in result.output


def test_enroll_command(tmp_path, collector):
    collector.script.append((201, {}, ENROLL_OK))
    result = invoke(
        "enroll",
        "--collector",
        collector.base,
        "--code",
        "CODE-1234-ABCD",
        "--state-dir",
        str(tmp_path / "st"),
    )
    assert result.exit_code == 0, result.output
    assert "agt-0001" in result.output and "Phường Hoàn Kiếm" in result.output
    assert (tmp_path / "st" / "agent.json").exists()


def test_enroll_refused_is_one_line(tmp_path, collector):
    collector.script.append((410, {}, {"detail": "code expired"}))
    result = CliRunner().invoke(
        main, ["enroll", "--collector", collector.base, "--code", "CODE-1234-ABCD"]
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: collector refused the enrollment code (HTTP 410): code expired"
    )


def test_enroll_needs_a_collector():
    result = CliRunner().invoke(main, ["enroll", "--code", "CODE-1234-ABCD"])
    assert result.exit_code == 2 and "--collector" in result.output


def test_run_without_enrollment_is_clean():
    result = CliRunner().invoke(main, ["run", "--once"])
    assert result.exit_code == 1 and "not enrolled" in result.output


def test_run_once_sends_a_report(tmp_path, collector):
    collector.script.append((201, {}, ENROLL_OK))
    invoke("enroll", "--collector", collector.base, "--code", "CODE-1234-ABCD")
    cfg = tmp_path / "agent.yaml"
    cfg.write_text("checks:\n  net.dns: {enabled: false}\n  net.portal: {enabled: false}\n")
    result = invoke("run", "--once", "--config", str(cfg))
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    posted = [r for r in collector.requests if r[1] == "/api/v1/reports"]
    assert len(posted) == 1
    report = posted[0][3]["reports"][0]
    assert report["agent_id"] == "agt-0001" and report["commune_code"] == "00070"
    clock = [r for r in report["results"] if r["check"] == "host.clock"][0]
    assert clock["status"] == "ok"  # measured against the stand-in collector


def test_probe_tcp(collector, closed_port):
    port = collector.server_address[1]
    ok = invoke("probe", "tcp", f"127.0.0.1:{port}", "--json")
    assert ok.exit_code == 0 and json.loads(ok.output)["status"] == "ok"
    bad = CliRunner().invoke(main, ["probe", "tcp", f"127.0.0.1:{closed_port}", "--lang", "en"])
    assert bad.exit_code == 1 and "connection refused" in bad.output


def test_probe_tcp_bad_target():
    result = CliRunner().invoke(main, ["probe", "tcp", "no-port"])
    assert result.exit_code == 2 and "missing port" in result.output


def test_probe_http(collector):
    result = CliRunner().invoke(
        main,
        ["probe", "http", collector.base + "/api/v1/time", "--json", "--expect", "server_time"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["values"]["http_status"]["value"] == 200
    bad = CliRunner().invoke(main, ["probe", "http", "ftp://x"])
    assert bad.exit_code == 2


def test_help_texts():
    for cmd in (
        ["--help"],
        ["check", "--help"],
        ["enroll", "--help"],
        ["run", "--help"],
        ["probe", "tcp", "--help"],
        ["probe", "http", "--help"],
    ):
        result = invoke(*cmd)
        assert result.exit_code == 0 and "Usage" in result.output


def test_probe_unknown_check_lists_the_known_ones():
    result = CliRunner().invoke(main, ["probe", "ping", "x"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "unknown check 'ping'" in result.output and "tcp (net.tcp)" in result.output
    cpu = CliRunner().invoke(main, ["probe", "host.cpu"])
    assert cpu.exit_code == 2 and "has no probe" in cpu.output


def test_probe_by_check_id_and_help_lists_every_probe(collector):
    port = collector.server_address[1]
    ok = invoke("probe", "net.tcp", f"127.0.0.1:{port}", "--json")
    assert ok.exit_code == 0 and json.loads(ok.output)["check"] == "net.tcp"
    listed = invoke("probe", "--help").output
    for name, check_id in (
        ("tcp", "net.tcp"),
        ("snmp", "eq.snmp"),
        ("udp", "vc.quality"),
        ("throughput", "net.throughput"),
    ):
        assert name in listed and check_id in listed
    assert "net.http" in invoke("probe", "http", "--help").output


def test_check_says_what_to_do_under_a_failing_result(tmp_path):
    """The levels body carries each check's criteria and their remediation: under the
    verdict, `check` lists the steps of the criteria its failing results feed, in the
    chosen language, each criterion once; none when every result is ok."""
    from collector.criteria.catalogue import load_catalogue
    from collector.criteria.rules import Rules

    body = Rules.of(load_catalogue()).levels_body()
    body["levels"] = {"host.disk": {"disk_free_ratio": {"fail_below": 1.01}}}
    state = tmp_path / "st"
    state.mkdir()
    (state / "levels.json").write_text(json.dumps(body))
    cfg = tmp_path / "agent.yaml"
    cfg.write_text(
        f"state_dir: {state}\nchecks:\n"
        + "".join(
            f"  {c}: {{enabled: false}}\n"
            for c in ("net.dns", "net.portal", "host.clock", "svc.http", "host.cpu")
        )
    )
    guidance = load_catalogue().guidance["EQ-01"].remediation
    vi = " ".join(invoke("check", "--config", str(cfg), env={"COLUMNS": "80"}).output.split())
    assert "Việc cần làm" in vi and "Tiêu chí EQ-01 — Máy tính của cán bộ hoạt động tốt" in vi
    assert f"1. {' '.join(guidance.vi[0].split())}" in vi
    assert vi.count("Tiêu chí EQ-01") == 1
    assert guidance.en[0] not in vi
    en = " ".join(invoke("check", "--config", str(cfg), "--lang", "en").output.split())
    assert "What to do" in en and "Criterion EQ-01 — Officials' computers healthy" in en
    assert f"1. {' '.join(guidance.en[0].split())}" in en


def test_remediation_lists_each_criterion_once_and_nothing_when_ready():
    from agent.render import todo
    from checks.model import Category, CheckResult, Remedy, Status

    remedy = Remedy(id="EQ-01", title={"vi": "Máy", "en": "PC"}, steps={"vi": ["a"], "en": ["b"]})
    table = {"host.disk": [remedy], "host.memory": [remedy]}

    def res(check: str, status: Status) -> CheckResult:
        return CheckResult(check=check, category=Category.HOST, status=status)

    assert todo([res("host.disk", Status.OK), res("host.memory", Status.OK)], table) == []
    found = todo([res("host.memory", Status.WARN), res("host.disk", Status.FAIL)], table)
    assert found == [(remedy, ["host.disk", "host.memory"])]
