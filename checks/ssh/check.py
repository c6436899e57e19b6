"""``ssh.command``: run a configured command set on a router or Linux host over SSH.

Target label ``host[:port]/set`` (the port only when it is not 22). Category by set: ``linux``
results are ``host``, ``router`` results ``network``. Configuration::

    checks:
      ssh.command:
        targets:
          - host: 10.10.1.1
            user: monitor
            key_file: /etc/ioc-agent/ssh/id_ed25519
            known_hosts: /etc/ioc-agent/ssh/known_hosts   # pinned: ssh-keyscan, then verify
            set: router
          - {host: 10.10.1.20, port: 2222, user: monitor, key_file: ..., known_hosts: ...}

Status: the set's own thresholds (disk, memory) decide ok/warn/fail; a command that timed out
or whose output was over ``max_output_bytes`` makes the result ``unknown``; an unreachable
server is ``fail``; a host key that is not pinned, a refused key, an unreadable key file
are ``unknown`` (could not measure: configuration); a CHANGED host key is ``fail``, because
the IOC must look at it (a reinstalled device, or someone in the middle).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, ClassVar

from annotated_types import Ge, Gt, Le, MaxLen, MinLen

from checks.backend import Backend
from checks.base import CannotMeasure, Check, CheckConfig, CheckContext, Message
from checks.messages import joined, kept, msg
from checks.model import Category, CheckResult, Status, Value
from checks.resolve import Unresolved, reason_message, resolve
from checks.schema import STRICT, After, Doc, Record, Secret
from checks.ssh.client import (
    CommandOutput,
    SshFailure,
    SshOutcome,
    SshTargetSpec,
    SshTimeouts,
    failed,
    run_commands,
)
from checks.ssh.commands import COMMAND_SETS, CommandSet

_UNKNOWN = {
    SshFailure.RESOLVE,
    SshFailure.KEY,
    SshFailure.KNOWN_HOSTS,
    SshFailure.AUTH,
    SshFailure.UNKNOWN_HOST_KEY,
}


def _command_set(v: str) -> str:
    if v not in COMMAND_SETS:
        raise ValueError(
            f"unknown command set {v!r}; expected one of: " + ", ".join(sorted(COMMAND_SETS))
        )
    return v


@dataclass(frozen=True, kw_only=True)
class SshTarget(Record):
    __pydantic_config__ = STRICT

    host: Annotated[str, MinLen(1), MaxLen(253)]
    port: Annotated[int, Ge(1), Le(65535)] = 22
    user: Annotated[str, MinLen(1), MaxLen(64)]
    key_file: Annotated[Path, Doc("Ed25519/ECDSA/RSA private key (OpenSSH or PEM format)")]
    passphrase: Annotated[Secret | None, Doc("private key passphrase")] = None
    known_hosts: Annotated[Path, Doc("pinned host keys (OpenSSH known_hosts format)")]
    set: Annotated[str, After(_command_set), Doc("command set: " + ", ".join(COMMAND_SETS))] = (
        "linux"
    )

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}{'' if self.port == 22 else f':{self.port}'}/{self.set}"

    def spec(self) -> SshTargetSpec:
        return SshTargetSpec(
            host=self.host,
            port=self.port,
            user=self.user,
            key_file=self.key_file,
            known_hosts=self.known_hosts,
            passphrase=self.passphrase.get_secret_value() if self.passphrase else None,
        )


@dataclass(frozen=True, kw_only=True)
class SshConfig(CheckConfig):
    timeout_s: Annotated[float, Gt(0), Le(300)] = 60.0
    targets: list[SshTarget] = field(default_factory=list)
    connect_timeout_s: Annotated[float, Gt(0), Le(60)] = 5.0
    banner_timeout_s: Annotated[float, Gt(0), Le(60)] = 5.0
    auth_timeout_s: Annotated[float, Gt(0), Le(60)] = 5.0
    command_timeout_s: Annotated[float, Gt(0), Le(120)] = 10.0
    max_output_bytes: Annotated[int, Ge(1024), Le(64 << 20)] = 1 << 20

    def timeouts(self) -> SshTimeouts:
        return SshTimeouts(
            connect_s=self.connect_timeout_s,
            banner_s=self.banner_timeout_s,
            auth_s=self.auth_timeout_s,
            command_s=self.command_timeout_s,
        )


def _decode(data: bytes) -> str | None:
    """Text of a command's output, or None when it is not text (binary garbage)."""
    if b"\x00" in data:
        return None
    text = data.decode("utf-8", errors="replace")
    if text and text.count("\ufffd") > len(text) // 10:
        return None
    return text


def _output_texts(
    outputs: Sequence[CommandOutput], max_output_bytes: int
) -> tuple[dict[str, str], list[str], list[str]]:
    """The text of each command that ran to the end, and why the others gave none: cut
    (timed out, over the size cap) or broken (failed, not text), as kept messages."""
    texts: dict[str, str] = {}
    cut: list[str] = []
    broken: list[str] = []
    for out in outputs:
        command = {"command": out.command}
        if out.timed_out:
            cut.append(kept("ssh.cmd.timeout", command | {"seconds": round(out.elapsed_s, 1)}))
        elif out.truncated:
            cut.append(kept("ssh.cmd.too_long", command | {"limit": max_output_bytes}))
        elif out.exit_status != 0:
            err = (_decode(out.stderr) or "").strip().splitlines()
            code = command | {"code": out.exit_status if out.exit_status is not None else -1}
            if err:
                broken.append(kept("ssh.cmd.exit_detail", code | {"detail": err[-1][:120]}))
            else:
                broken.append(kept("ssh.cmd.exit", code))
        else:
            text = _decode(out.stdout)
            if text is None:
                broken.append(kept("ssh.cmd.not_text", command))
            else:
                texts[out.command] = text
    return texts, cut, broken


def _worst_finding(findings: Sequence[tuple[Status, str]]) -> Status:
    """OK unless a finding warns or fails; a failure outranks a warning."""
    status = Status.OK
    for level, _ in findings:
        if level is Status.FAIL or (level is Status.WARN and status is Status.OK):
            status = level
    return status


def evaluate_ssh(
    outcome: SshOutcome,
    command_set: CommandSet,
    *,
    label: str,
    max_output_bytes: int,
) -> CheckResult:
    """Turn one session's outcome into a result (pure: tested with recorded outputs)."""

    def result(
        status: Status,
        message: Message,
        values: dict[str, Value] | None = None,
        duration: float = 0.0,
    ) -> CheckResult:
        return SshCheck.result(
            status,
            message,
            target=label,
            values=values,
            duration_s=duration,
            category=command_set.category,
        )

    if outcome.failure is not SshFailure.NONE:
        status = Status.UNKNOWN if outcome.failure in _UNKNOWN else Status.FAIL
        values = {} if status is Status.UNKNOWN else {"ssh_up": Value(value=0.0)}
        said = outcome.said or msg("ssh.failed", detail=outcome.detail or outcome.failure.value)
        return result(status, said, values, outcome.connect_time_s)

    texts, cut, broken = _output_texts(outcome.outputs, max_output_bytes)
    duration = outcome.connect_time_s + sum(o.elapsed_s for o in outcome.outputs)
    reading = command_set.read(texts)
    values = {
        "ssh_up": Value(value=1.0),
        "ssh_connect_time": Value(value=outcome.connect_time_s, unit="seconds"),
        **reading.values,
    }
    problems = (
        cut
        + broken
        + (
            [kept("ssh.not_parsed", {"parts": ", ".join(reading.missing)})]
            if reading.missing and not cut and not broken
            else []
        )
    )
    if cut:
        # Could not measure: the output is incomplete, so no verdict on the device.
        return result(Status.UNKNOWN, msg("ssh.result", parts=joined(problems)), values, duration)
    if len(values) == 2:  # nothing but the connection figures
        said = msg("ssh.result", parts=joined(problems)) if problems else msg("ssh.no_data")
        return result(Status.UNKNOWN, said, values, duration)
    parts = [text for _, text in reading.findings] + reading.notes + problems
    said = msg("ssh.result", parts=joined(parts))
    return result(_worst_finding(reading.findings), said, values, duration)


class SshCheck(Check):
    id = "ssh.command"
    category = Category.HOST
    Config: ClassVar[type[CheckConfig]] = SshConfig
    config: SshConfig

    def __init__(
        self,
        config: CheckConfig | None = None,
        backend: Backend | None = None,
        command_sets: dict[str, CommandSet] | None = None,
    ) -> None:
        super().__init__(config, backend)
        self.command_sets = command_sets if command_sets is not None else COMMAND_SETS

    def targets(self) -> list[str]:
        return [t.label for t in self.config.targets] or [""]

    async def _one(self, target: SshTarget, deadline_s: float) -> SshOutcome:
        timeouts = self.config.timeouts()
        host = target.spec().host
        start = time.monotonic()
        try:
            infos = await resolve(host, target.spec().port, min(timeouts.connect_s, deadline_s))
        except Unresolved as exc:
            where = f"{host}:{target.spec().port}"
            said = reason_message(exc.reason)
            return failed(where, SshFailure.RESOLVE, said, time.monotonic() - start)
        return await asyncio.to_thread(
            run_commands,
            target.spec(),
            self.command_sets[target.set].commands,
            timeouts,
            max_output_bytes=self.config.max_output_bytes,
            deadline_s=max(0.1, deadline_s - (time.monotonic() - start)),
            address=str(infos[0][4][0]),
        )

    async def fetch(self, ctx: CheckContext) -> list[tuple[SshTarget, SshOutcome]]:
        if not self.config.targets:
            raise CannotMeasure(msg("ssh.none"))
        # The thread cannot be cancelled: make it end on its own just before the runner's
        # deadline, so no session outlives its check.
        budget = max(0.5, self.config.timeout_s - 0.5)
        outcomes = await asyncio.gather(*(self._one(t, budget) for t in self.config.targets))
        return list(zip(self.config.targets, outcomes, strict=True))

    def evaluate(self, section: list[tuple[SshTarget, SshOutcome]]) -> list[CheckResult]:
        return [
            evaluate_ssh(
                outcome,
                self.command_sets[target.set],
                label=target.label,
                max_output_bytes=self.config.max_output_bytes,
            )
            for target, outcome in section
        ]


__all__ = ["SshCheck", "SshConfig", "SshTarget", "evaluate_ssh"]
