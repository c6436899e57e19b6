"""Command-set parsers against recorded outputs (tests/fixtures/ssh), and the SSH evaluation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.levels import built_in_levels
from checks.levels import judge
from checks.messages import render, text_of
from checks.model import Category, Status
from checks.ssh.check import SshConfig, SshTarget, evaluate_ssh
from checks.ssh.client import CommandOutput, SshFailure, SshOutcome
from checks.ssh.commands import (
    COMMAND_SETS,
    ROUTEROS_INTERFACES,
    ROUTEROS_RESOURCE,
    parse_df,
    parse_free,
    parse_proc_uptime,
    parse_routeros_interfaces,
    parse_routeros_resource,
    routeros_duration,
    routeros_size,
)
from tests import paths

FIX = paths.FIXTURES / "ssh"
ROOT = paths.ROOT


def fx(name: str) -> str:
    return (FIX / name).read_text()


def out(command: str, text: str | bytes, status: int | None = 0, **kw: object) -> CommandOutput:
    data = text.encode() if isinstance(text, str) else text
    return CommandOutput(command, data, b"", status, 0.01, **kw)  # type: ignore[arg-type]


def linux_outcome(df: str, free: str, uptime: str) -> SshOutcome:
    return SshOutcome(
        "h:22",
        SshFailure.NONE,
        "",
        0.05,
        (out("df -P", df), out("free -b", free), out("cat /proc/uptime", uptime)),
    )


def evaluate(outcome: SshOutcome, set_name: str = "linux"):
    return evaluate_ssh(
        outcome,
        COMMAND_SETS[set_name],
        label=f"h/{set_name}",
        max_output_bytes=1 << 20,
    )


def judged(outcome: SshOutcome, set_name: str = "linux"):
    """The result as the catalogue's levels judge it (the check itself judges no level)."""
    return judge(evaluate(outcome, set_name), built_in_levels().table)


def test_df_recorded_and_mountpoint_with_spaces():
    fss = parse_df(fx("linux_df_P_full.txt"))
    assert fss[-1].mountpoint == "/srv/Ho so mot cua"
    root = next(f for f in fss if f.mountpoint == "/")
    assert root.size == 102626232 * 1024 and root.available == 540904 * 1024
    assert parse_df(fx("linux_df_P.txt"))


def test_free_new_and_old_procps():
    new = parse_free(fx("linux_free_b.txt"))
    assert new.total > 0 and 0 < new.available <= new.total
    old = parse_free(fx("linux_free_b_old.txt"))
    assert old.total == 4102225920 and old.available == 236068864  # 'free' column


def test_proc_uptime():
    assert parse_proc_uptime(fx("linux_proc_uptime.txt")) > 0
    with pytest.raises(ValueError):
        parse_proc_uptime("garbage")


def test_linux_set_recorded_ok():
    result = evaluate(
        linux_outcome(fx("linux_df_P.txt"), fx("linux_free_b.txt"), fx("linux_proc_uptime.txt"))
    )
    assert result.status is Status.OK, result.message
    assert result.category is Category.HOST
    assert result.values["disk_free_ratio"].unit == "ratio"
    assert result.values["memory_available"].unit == "bytes"
    assert result.values["uptime"].unit == "seconds"


def test_linux_set_full_disk_fails_and_names_the_mountpoint():
    outcome = linux_outcome(fx("linux_df_P_full.txt"), fx("linux_free_b_old.txt"), "100.0 50.0\n")
    measured = evaluate(outcome)
    assert measured.status is Status.OK  # a measurement: the catalogue judges it
    assert measured.message == "disk / 0.5 % free; memory 5.8 % available"
    assert text_of(measured, "vi") == "ổ đĩa / còn trống 0,5 %; bộ nhớ còn dùng được 5,8 %"
    result = judged(outcome)
    assert result.status is Status.FAIL
    assert "disk_min_free_ratio 1% < 5%" in result.message
    assert "memory_available_ratio 6% < 10%" in result.message


def test_linux_set_partial_output_degrades():
    outcome = SshOutcome(
        "h:22",
        SshFailure.NONE,
        "",
        0.05,
        (
            out("df -P", fx("linux_df_P.txt")),
            out("free -b", "free: command not found", 127),
            out("cat /proc/uptime", "not a number"),
        ),
    )
    result = evaluate(outcome)
    assert result.value("disk_free_ratio") is not None and result.value("memory_total") is None
    assert "exited 127" in result.message


def test_garbage_and_binary_output_is_unknown():
    junk = bytes(range(256)) * 10
    outcome = SshOutcome(
        "h:22",
        SshFailure.NONE,
        "",
        0.05,
        (out("df -P", junk), out("free -b", "\x1b[2J???"), out("cat /proc/uptime", "")),
    )
    result = evaluate(outcome)
    assert result.status is Status.UNKNOWN


def test_cut_output_is_unknown():
    outcome = SshOutcome(
        "h:22", SshFailure.NONE, "", 0.05, (out("df -P", "x" * 100, None, truncated=True),)
    )
    result = evaluate(outcome)
    assert result.status is Status.UNKNOWN
    assert result.message == "output of 'df -P' over 1,048,576 bytes"
    assert text_of(result, "vi") == "kết quả của lệnh 'df -P' dài quá 1.048.576 byte"


@pytest.mark.parametrize(
    ("outputs", "status", "message"),
    [
        (
            (
                CommandOutput("df -P", b"", b"", None, 10.0, timed_out=True),
                out("free -b", fx("linux_free_b.txt")),
            ),
            Status.UNKNOWN,
            "'df -P' did not finish within 10 s",
        ),
        (
            (
                out(
                    "df -P",
                    "Filesystem 1024-blocks Used Available Capacity Mounted on\n"
                    "tmpfs 100 0 100 0% /run\n",
                ),
                out("free -b", fx("linux_free_b.txt")),
                out("cat /proc/uptime", "12.5 3.0\n"),
            ),
            Status.OK,
            "memory 94.3 % available; not parsed: disk (no real filesystem)",
        ),
        (
            (),
            Status.UNKNOWN,
            "not parsed: disk (no output), memory (no output), uptime (no output)",
        ),
        (
            (CommandOutput("df -P", b"", b"df: boom\nsecond line\n", 1, 0.01),),
            Status.UNKNOWN,
            "'df -P' exited 1: second line",
        ),
        ((CommandOutput("df -P", b"", b"", 1, 0.01),), Status.UNKNOWN, "'df -P' exited 1"),
    ],
)
def test_session_outputs(outputs, status, message):  # type: ignore[no-untyped-def]
    result = evaluate(SshOutcome("h:22", SshFailure.NONE, "", 0.05, outputs))
    assert (result.status, result.message) == (status, message)
    assert result.duration_s == pytest.approx(0.05 + sum(o.elapsed_s for o in outputs))


def test_session_failure_without_detail_names_the_failure():
    result = evaluate(SshOutcome("h:22", SshFailure.PROTOCOL, "", 0.05))
    assert (result.status, result.message) == (Status.FAIL, "protocol")
    assert result.values["ssh_up"].value == 0.0 and result.duration_s == 0.05


def test_classify_every_exception_family():
    import errno
    import socket

    import paramiko

    from checks.ssh.client import UnknownHostKeyError, _classify

    class Key:
        def __init__(self, fingerprint: str) -> None:
            self.fingerprint = fingerprint

        def get_name(self) -> str:
            return "ssh-ed25519"

    def timed_out_banner() -> paramiko.SSHException:
        try:
            try:
                raise TimeoutError("timed out")
            except TimeoutError as exc:
                raise paramiko.SSHException("Error reading SSH protocol banner") from exc
        except paramiko.SSHException as exc:
            return exc

    no_valid = paramiko.ssh_exception.NoValidConnectionsError
    cases = [
        (
            UnknownHostKeyError("h", "ssh-ed25519", "SHA256:new"),
            SshFailure.UNKNOWN_HOST_KEY,
            "host key of h (ssh-ed25519 SHA256:new) is not in the known_hosts file",
        ),
        (
            paramiko.BadHostKeyException("h", Key("SHA256:got"), Key("SHA256:pinned")),
            SshFailure.CHANGED_HOST_KEY,
            "host key of h CHANGED: got ssh-ed25519 SHA256:got, pinned SHA256:pinned; refusing "
            "(possible man-in-the-middle, or the device was reinstalled: verify, then update "
            "the known_hosts file)",
        ),
        (
            paramiko.AuthenticationException("Authentication failed."),
            SshFailure.AUTH,
            "authentication refused: Authentication failed.",
        ),
        (
            no_valid(
                {
                    ("10.0.0.1", 22): ConnectionRefusedError(),
                    ("::1", 22, 0, 0): OSError(errno.ECONNREFUSED, "Connection refused"),
                }
            ),
            SshFailure.REFUSED,
            "connection refused",
        ),
        (
            no_valid({("10.0.0.1", 22): OSError(errno.EHOSTUNREACH, "No route to host")}),
            SshFailure.PROTOCOL,
            "unreachable: [Errno None] Unable to connect to port 22 on 10.0.0.1",
        ),
        (
            socket.gaierror(-2, "Name or service not known"),
            SshFailure.RESOLVE,
            "cannot resolve host: Name or service not known",
        ),
        (socket.gaierror(), SshFailure.RESOLVE, "cannot resolve host: "),
        (ConnectionRefusedError(), SshFailure.REFUSED, "connection refused"),
        (TimeoutError(), SshFailure.TIMEOUT, "timeout"),
        (timed_out_banner(), SshFailure.TIMEOUT, "timeout: Error reading SSH protocol banner"),
        (
            paramiko.SSHException("Incompatible ssh peer"),
            SshFailure.PROTOCOL,
            "Incompatible ssh peer",
        ),
        (
            OSError(errno.ENETUNREACH, "Network is unreachable"),
            SshFailure.PROTOCOL,
            "OSError: Network is unreachable",
        ),
        (OSError("weird"), SshFailure.PROTOCOL, "OSError: weird"),
        (RuntimeError("boom"), SshFailure.PROTOCOL, "RuntimeError: boom"),
    ]
    for exc, failure, message in cases:
        kind, said = _classify(exc)
        assert (kind, render(said, "en")) == (failure, message), exc
        assert render(said, "vi") not in ("", message), exc  # said in Vietnamese too
    _, said = _classify(cases[1][0])
    assert render(said, "vi").startswith("khóa nhận dạng (host key) của h ĐÃ THAY ĐỔI: ")
    _, said = _classify(socket.gaierror(-2, "Name or service not known"))
    assert render(said, "vi") == (
        "không tìm được địa chỉ của máy (phân giải tên): Name or service not known"
    )


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (SshFailure.UNKNOWN_HOST_KEY, Status.UNKNOWN),
        (SshFailure.AUTH, Status.UNKNOWN),
        (SshFailure.KEY, Status.UNKNOWN),
        (SshFailure.RESOLVE, Status.UNKNOWN),
        (SshFailure.CHANGED_HOST_KEY, Status.FAIL),
        (SshFailure.REFUSED, Status.FAIL),
        (SshFailure.TIMEOUT, Status.FAIL),
    ],
)
def test_session_failures(failure, status):
    result = evaluate(SshOutcome("h:22", failure, "why"))
    assert result.status is status and result.message == "why"


def test_routeros_units():
    assert routeros_size("191.4MiB") == pytest.approx(191.4 * 1024**2)
    assert routeros_duration("3w2d4h11m6s") == 3 * 604800 + 2 * 86400 + 4 * 3600 + 11 * 60 + 6
    with pytest.raises(ValueError):
        routeros_duration("soon")


def test_router_set_recorded():
    res = parse_routeros_resource(fx("routeros_system_resource_print.txt"))
    assert res.board == "hAP ac^2" and res.cpu_load_ratio == pytest.approx(0.07)
    ifaces = parse_routeros_interfaces(fx("routeros_interface_print_terse.txt"))
    assert [i.name for i in ifaces] == ["ether1", "ether2", "ether3", "wlan1", "bridge"]
    outcome = SshOutcome(
        "r:22",
        SshFailure.NONE,
        "",
        0.05,
        (
            out(ROUTEROS_RESOURCE, fx("routeros_system_resource_print.txt")),
            out(ROUTEROS_INTERFACES, fx("routeros_interface_print_terse.txt")),
        ),
    )
    result = evaluate(outcome, "router")
    assert result.status is Status.OK and result.category is Category.NETWORK
    assert result.value("interfaces_enabled") == 4 and result.value("interfaces_running") == 3
    assert "down: ether3" in result.message


def test_router_low_memory_warns():
    outcome = SshOutcome(
        "r:22",
        SshFailure.NONE,
        "",
        0.05,
        (
            out(ROUTEROS_RESOURCE, fx("routeros_system_resource_print_lowmem.txt")),
            out(ROUTEROS_INTERFACES, fx("routeros_interface_print_terse.txt")),
        ),
    )
    assert evaluate(outcome, "router").status is Status.OK
    result = judged(outcome, "router")
    assert result.status is Status.WARN and "memory_available_ratio" in result.message


def test_target_label_and_unknown_set():
    files = {"key_file": Path("k"), "known_hosts": Path("kh")}
    t = SshTarget(host="10.0.0.1", user="u", set="router", **files)
    assert t.label == "10.0.0.1/router"
    assert SshTarget(host="::1", port=2222, user="u", **files).label == "[::1]:2222/linux"
    with pytest.raises(ValueError, match="unknown command set"):
        SshConfig.model_validate(
            {
                "targets": [
                    {"host": "h", "user": "u", "key_file": "k", "known_hosts": "kh", "set": "cisco"}
                ]
            }
        )


def test_no_auto_add_or_warning_host_key_policy_anywhere():
    """Host keys are pinned: no code may accept an unknown key (grep the whole tree)."""
    banned = re.compile("Auto" + "AddPolicy|Warning" + "Policy|load_system" + "_host_keys")
    hits = []
    for folder in ("checks", "agent", "collector", "tests", "bench", "ansible"):
        for path in (ROOT / folder).rglob("*.py"):
            if banned.search(path.read_text(errors="replace")):
                hits.append(str(path.relative_to(ROOT)))
    assert hits == []


def test_paramiko_not_imported_without_ssh_targets():
    import subprocess
    import sys

    code = (
        "import sys, asyncio; from checks.ssh.check import SshCheck; "
        "from checks.signature.certificate import CertificateCheck; "
        "from checks.base import CheckContext; "
        "asyncio.run(SshCheck().run(CheckContext(host='t'))); "
        "asyncio.run(CertificateCheck().run(CheckContext(host='t'))); "
        "from checks.check_list import default_registry; "
        "print('paramiko' in sys.modules, 'cryptography' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    # cryptography may come with another check's imports (SNMPv3); paramiko never.
    assert done.stdout.split()[0] == "False"


@pytest.mark.parametrize(
    ("outputs", "vi"),
    [
        (
            (),
            "không đọc được: ổ đĩa (lệnh không trả về gì), bộ nhớ (lệnh không trả về gì), "
            "thời gian máy đã chạy (lệnh không trả về gì)",
        ),
        (
            (CommandOutput("df -P", b"", b"df: boom\nsecond line\n", 1, 0.01),),
            "lệnh 'df -P' kết thúc với mã lỗi 1: second line",
        ),
        (
            (CommandOutput("df -P", b"\x00\x01", b"", 0, 0.01),),
            "kết quả của lệnh 'df -P' không phải văn bản",
        ),
        (
            (CommandOutput("df -P", b"", b"", None, 10.0, timed_out=True),),
            "lệnh 'df -P' chưa chạy xong sau 10 giây",
        ),
    ],
)
def test_session_findings_are_said_in_vietnamese(outputs, vi):  # type: ignore[no-untyped-def]
    result = evaluate(SshOutcome("h:22", SshFailure.NONE, "", 0.05, outputs))
    assert text_of(result, "vi") == vi


def test_router_findings_are_said_in_vietnamese():
    outcome = SshOutcome(
        "r:22",
        SshFailure.NONE,
        "",
        0.05,
        (
            out(ROUTEROS_RESOURCE, fx("routeros_system_resource_print.txt")),
            out(ROUTEROS_INTERFACES, fx("routeros_interface_print_terse.txt")),
        ),
    )
    said = text_of(evaluate(outcome, "router"), "vi")
    assert said.startswith("bộ nhớ còn trống ")
    assert said.endswith("; 3/4 cổng mạng đang chạy (mất kết nối: ether3)")
    assert "RouterOS" in said  # the board and version, the device's own words


def test_many_findings_that_do_not_fit_a_parameter_are_said_in_english_not_cut():
    """A parameter holds 512 characters: the last findings are written in English until
    the whole fits, never a kept message cut in its middle."""
    from checks.messages import joined, kept, written

    parts = [kept("ssh.cmd.not_text", {"command": f"command-{n:02d}"}) for n in range(12)]
    text = joined(parts)
    assert len(text) <= 512
    vi = written(text, "vi")
    assert vi.startswith("kết quả của lệnh 'command-00' không phải văn bản; ")
    assert vi.endswith("; 'command-11' output is not text")
    assert "\x1e" not in vi and "\x1f" not in vi
