"""Hostile output from a real sshd that tests/ssh does not cover yet: a never-ending stderr
stream, a trickle that never ends, output without a newline, NULs and control characters,
invalid UTF-8 shaped like the real commands' output; and hypothesis over the Linux command
set's parsers with any bytes. Each gives ``unknown`` (or the figures that are readable) with
a clear message, in bounded time, never an exception.
"""

# The sshd fixtures are imported from tests/checks/ssh/test_ssh_sshd.py; their names as test
# arguments look like redefinitions to ruff.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.base import CheckContext
from checks.model import Category, CheckResult, Status
from checks.runner import run_check
from checks.ssh.check import SshCheck, SshConfig
from checks.ssh.client import CommandOutput, SshFailure, SshOutcome, SshTimeouts, run_commands
from checks.ssh.commands import COMMAND_SETS, CommandSet, read_linux
from tests.checks.ssh.test_ssh_parsers import evaluate
from tests.checks.ssh.test_ssh_sshd import keys, pinned, spec, sshd, target  # noqa: F401

LINUX = COMMAND_SETS["linux"].commands


def run_set(
    sshd: Any, keys: Any, pinned: Any, *commands: str, timeout_s: float = 3.0
) -> tuple[CheckResult, float]:
    junk = CommandSet("junk", Category.HOST, commands, read_linux)
    config = SshConfig.model_validate(
        {"command_timeout_s": timeout_s, "targets": [target(sshd, keys, pinned)]}
    )
    check = SshCheck(config, command_sets={"linux": junk})
    start = time.monotonic()
    [result] = asyncio.run(run_check(check, CheckContext(host="t")))
    return result, time.monotonic() - start


@pytest.mark.integration
def test_never_ending_stderr_is_cut_at_the_command_timeout(sshd, keys, pinned) -> None:
    """The read loop looks at its deadline on every pass, also while stderr keeps coming
    (stderr is kept to its first 4 kB, so a flood is never "over the output cap")."""
    start = time.monotonic()
    outcome = run_commands(
        spec(sshd, keys, pinned), ("cat /dev/zero >&2",), SshTimeouts(command_s=2.0)
    )
    [out] = outcome.outputs
    assert out.timed_out and time.monotonic() - start < 2.0 + 2.0
    assert len(out.stderr) <= 64 * 1024
    result, elapsed = run_set(sshd, keys, pinned, "cat /dev/zero >&2", timeout_s=2.0)
    assert result.status is Status.UNKNOWN and "did not finish within" in result.message
    assert elapsed < 2.0 + 3.0


@pytest.mark.integration
def test_trickle_that_never_ends_is_cut_at_the_command_timeout(sshd, keys, pinned) -> None:
    result, elapsed = run_set(
        sshd, keys, pinned, "while true; do printf x; sleep 0.05; done", timeout_s=2.0
    )
    assert result.status is Status.UNKNOWN and "did not finish within" in result.message
    assert elapsed < 2.0 + 3.0


@pytest.mark.integration
@pytest.mark.parametrize(
    "shell",
    [
        r"printf 'Filesystem 1024-blocks Used Available Capacity Mounted on'",  # no newline
        r"printf '\000\001\033[2J\377\376/dev/sda1 100 50 50 50%% /\000\n'",  # NULs, escapes
        r"printf 'MemTotal: \377\377 kB\nMemAvailable:\n'",  # invalid UTF-8 in a number
        r"head -c 200000 /dev/urandom | tr -d '\n'",  # one 200 kB line
    ],
)
def test_garbage_shaped_like_the_commands_output_is_unknown(sshd, keys, pinned, shell) -> None:
    result, elapsed = run_set(sshd, keys, pinned, shell, shell, shell)
    assert result.status is Status.UNKNOWN, result
    assert result.message and len(result.message) <= 1000
    assert elapsed < 10


@settings(max_examples=200, deadline=None, database=None)
@given(
    outputs=st.lists(
        st.binary(max_size=400) | st.text(max_size=200).map(str.encode),
        min_size=len(LINUX),
        max_size=len(LINUX),
    ),
    statuses=st.lists(
        st.none() | st.integers(min_value=-1, max_value=255),
        min_size=len(LINUX),
        max_size=len(LINUX),
    ),
)
def test_linux_set_parsers_with_any_bytes(outputs: list[bytes], statuses: list[Any]) -> None:
    outcome = SshOutcome(
        "h:22",
        SshFailure.NONE,
        "",
        0.05,
        tuple(
            CommandOutput(
                command=c,
                stdout=o,
                stderr=b"\xff\x00",
                exit_status=s,
                elapsed_s=0.01,
                timed_out=False,
                truncated=False,
            )
            for c, o, s in zip(LINUX, outputs, statuses, strict=True)
        ),
    )
    result = evaluate(outcome)
    CheckResult.model_validate(result.model_dump())
    assert result.status in set(Status) and result.message
