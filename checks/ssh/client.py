"""A small, strict SSH client on paramiko: pinned host keys, key authentication, bounded I/O.

Security rules (docs/ARCHITECTURE.md):

* Host keys come only from the configured ``known_hosts`` file, never from the user's or the
  system's files, and the policy is :class:`PinnedHostKeyPolicy` (a ``RejectPolicy``): an
  unknown host key refuses the connection, a changed one raises paramiko's
  ``BadHostKeyException``. Nothing is ever added to a known_hosts file automatically.
  A non-22 port is looked up as ``[host]:port``, the OpenSSH known_hosts form.
* Authentication is by private key file only (Ed25519, ECDSA or RSA), with an optional
  passphrase; no agent, no ``~/.ssh`` key search, no password.
* Every step has a deadline: TCP connect, SSH banner, authentication, each command. A command
  that overruns is cut (its channel closed) and reported as timed out.
* Command output is capped (``max_output_bytes``): once over the cap the channel is closed and
  the outcome says so; paramiko's flow-control window (2 MiB) bounds what is in flight, so
  memory stays bounded whatever the remote side sends.

paramiko is imported lazily (only when an SSH target is configured), to keep the agent's
import cost low (docs/ARCHITECTURE.md, performance notes). Everything here is synchronous: callers
run :func:`run_commands` in a thread.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from checks.messages import kept, msg, render
from checks.model import MessageRef

if TYPE_CHECKING:
    import paramiko

#: What is read of a command's standard error (only used in messages).
MAX_STDERR_BYTES = 4096
_CHUNK = 32768
_POLL_S = 0.02


class SshFailure(StrEnum):
    """Why a session could not run; :mod:`checks.ssh.check` maps these to a status."""

    NONE = ""
    UNKNOWN_HOST_KEY = "unknown_host_key"
    CHANGED_HOST_KEY = "changed_host_key"
    AUTH = "auth"
    KEY = "key"  # the private key file cannot be read or decrypted
    KNOWN_HOSTS = "known_hosts"  # the known_hosts file cannot be read
    RESOLVE = "resolve"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"  # no SSH banner, negotiation failed, connection dropped


@dataclass(frozen=True)
class SshTargetSpec:
    """Where and how to connect: plain data, the passphrase in clear (the configuration's
    record, :class:`checks.ssh.check.SshTarget`, keeps it hidden)."""

    host: str
    port: int
    user: str
    key_file: Path
    known_hosts: Path
    passphrase: str | None = None


@dataclass(frozen=True)
class SshTimeouts:
    connect_s: float = 5.0
    banner_s: float = 5.0
    auth_s: float = 5.0
    command_s: float = 10.0


@dataclass(frozen=True)
class CommandOutput:
    """One command's outcome. ``stdout`` is at most ``max_output_bytes`` long."""

    command: str
    stdout: bytes
    stderr: bytes
    exit_status: int | None
    elapsed_s: float
    timed_out: bool = False
    truncated: bool = False

    @property
    def complete(self) -> bool:
        return not self.timed_out and not self.truncated and self.exit_status == 0


@dataclass(frozen=True)
class SshOutcome:
    target: str
    failure: SshFailure
    detail: str = ""
    connect_time_s: float = 0.0
    outputs: tuple[CommandOutput, ...] = field(default=())
    #: Why the session could not run, by id (``detail`` is its English text).
    said: MessageRef | None = None


def failed(
    target: str,
    failure: SshFailure,
    said: MessageRef,
    connect_time_s: float = 0.0,
    outputs: tuple[CommandOutput, ...] = (),
) -> SshOutcome:
    """The outcome of a session that could not run, ``said`` by a catalogue message."""
    return SshOutcome(target, failure, render(said, "en"), connect_time_s, outputs, said)


class KeyFileError(ValueError):
    """The private key file cannot be used; ``said`` is why, by id."""

    def __init__(self, said: MessageRef) -> None:
        super().__init__(render(said, "en"))
        self.said = said


class UnknownHostKeyError(Exception):
    """The server's host key is not in the pinned known_hosts file."""

    def __init__(self, hostname: str, key_type: str, fingerprint: str) -> None:
        super().__init__(
            f"host key of {hostname} ({key_type} {fingerprint}) is not in the known_hosts file"
        )
        self.hostname = hostname
        self.key_type = key_type
        self.fingerprint = fingerprint


def _policy_class() -> type[paramiko.MissingHostKeyPolicy]:
    import paramiko

    class PinnedHostKeyPolicy(paramiko.RejectPolicy):
        """``RejectPolicy`` that says which key was refused (for the operator to verify)."""

        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            raise UnknownHostKeyError(hostname, key.get_name(), key.fingerprint)

    return PinnedHostKeyPolicy


def known_hosts_name(host: str, port: int) -> str:
    """How OpenSSH (and paramiko) name a host in known_hosts: ``[host]:port`` unless 22."""
    return host if port == 22 else f"[{host}]:{port}"


def load_private_key(path: Path, passphrase: str | None) -> paramiko.PKey:
    """Load an Ed25519/ECDSA/RSA private key; raise ``ValueError`` with a readable reason."""
    import paramiko

    try:
        return paramiko.PKey.from_path(
            str(path), password=passphrase.encode() if passphrase is not None else None
        )
    except paramiko.PasswordRequiredException:
        raise KeyFileError(msg("ssh.key.encrypted", path=str(path))) from None
    except TypeError as exc:
        # cryptography (OpenSSH-format keys) says "password-protected" with a TypeError.
        if "password" not in str(exc).lower():
            raise
        raise KeyFileError(msg("ssh.key.encrypted", path=str(path))) from None
    except FileNotFoundError:
        raise KeyFileError(msg("ssh.key.missing", path=str(path))) from None
    except OSError as exc:
        why = str(exc.strerror or exc)
        raise KeyFileError(msg("ssh.key.unreadable", path=str(path), detail=why)) from None
    except (paramiko.SSHException, ValueError) as exc:
        # Wrong passphrase, unsupported key type, or not a key at all. The exception text
        # never contains the passphrase, but keep it short anyway.
        why = f"{type(exc).__name__}: {exc}"
        raise KeyFileError(msg("ssh.key.unusable", path=str(path), detail=why)) from None


def _changed_host_key(exc: Any) -> tuple[SshFailure, MessageRef]:
    return SshFailure.CHANGED_HOST_KEY, msg(
        "ssh.host_key.changed",
        host=str(exc.hostname),
        kind=str(exc.key.get_name()),
        got=str(exc.key.fingerprint),
        pinned=str(exc.expected_key.fingerprint),
    )


def _unknown_host_key(exc: UnknownHostKeyError) -> tuple[SshFailure, MessageRef]:
    return SshFailure.UNKNOWN_HOST_KEY, msg(
        "ssh.host_key.unknown", host=exc.hostname, kind=exc.key_type, got=exc.fingerprint
    )


def _no_valid_connections(exc: Any) -> tuple[SshFailure, MessageRef]:
    # paramiko tried every address of the name; refused when all of them refused.
    causes = list(exc.errors.values())
    if causes and all(
        isinstance(c, ConnectionRefusedError) or getattr(c, "errno", None) == errno.ECONNREFUSED
        for c in causes
    ):
        return SshFailure.REFUSED, msg("ssh.refused")
    return SshFailure.PROTOCOL, msg("ssh.unreachable", detail=str(exc))


def _ssh_exception(exc: BaseException) -> tuple[SshFailure, MessageRef]:
    text = str(exc)
    # paramiko reports a missing/late banner and a dead negotiation as SSHException;
    # its cause chain says whether a timeout was behind it.
    if isinstance(exc.__cause__ or exc.__context__, TimeoutError):
        return SshFailure.TIMEOUT, msg("ssh.timeout_detail", detail=text)
    return SshFailure.PROTOCOL, msg("ssh.failed", detail=text)


def _os_error(exc: Any) -> tuple[SshFailure, MessageRef]:
    return SshFailure.PROTOCOL, msg(
        "ssh.failed", detail=f"{type(exc).__name__}: {exc.strerror or exc}"
    )


def _classify(exc: BaseException) -> tuple[SshFailure, MessageRef]:
    import paramiko

    # (exception class, how it is told) in the order tried: subclasses before their bases
    # (paramiko's host key and auth errors are SSHExceptions, socket errors OSErrors).
    rules: tuple[
        tuple[type[BaseException], Callable[[Any], tuple[SshFailure, MessageRef]]], ...
    ] = (
        (UnknownHostKeyError, _unknown_host_key),
        (paramiko.BadHostKeyException, _changed_host_key),
        (
            paramiko.AuthenticationException,
            lambda e: (SshFailure.AUTH, msg("ssh.auth", detail=str(e))),
        ),
        (paramiko.ssh_exception.NoValidConnectionsError, _no_valid_connections),
        (
            socket.gaierror,
            lambda e: (SshFailure.RESOLVE, msg("ssh.resolve", detail=str(e.strerror or e))),
        ),
        (ConnectionRefusedError, lambda e: (SshFailure.REFUSED, msg("ssh.refused"))),
        # socket.timeout is TimeoutError since 3.10
        (TimeoutError, lambda e: (SshFailure.TIMEOUT, msg("ssh.timeout"))),
        (paramiko.SSHException, _ssh_exception),
        (OSError, _os_error),
    )
    for kind, tell in rules:
        if isinstance(exc, kind):
            return tell(exc)
    return SshFailure.PROTOCOL, msg("ssh.failed", detail=f"{type(exc).__name__}: {exc}")


def run_command(
    transport: paramiko.Transport,
    command: str,
    timeout_s: float,
    max_output_bytes: int,
) -> CommandOutput:
    """Run one command on its own channel; never reads more than ``max_output_bytes``."""
    start = time.monotonic()
    deadline = start + timeout_s
    stdout = bytearray()
    stderr = bytearray()
    timed_out = truncated = False
    channel = transport.open_session(timeout=timeout_s)
    try:
        channel.settimeout(timeout_s)
        channel.exec_command(command)
        while True:
            progressed = False
            if channel.recv_ready():
                # Ask for one byte over the cap, to know whether there was more.
                want = min(_CHUNK, max_output_bytes + 1 - len(stdout))
                stdout += channel.recv(want)
                progressed = True
                if len(stdout) > max_output_bytes:
                    del stdout[max_output_bytes:]
                    truncated = True
                    break
            if channel.recv_stderr_ready():
                data = channel.recv_stderr(_CHUNK)
                if len(stderr) < MAX_STDERR_BYTES:
                    stderr += data[: MAX_STDERR_BYTES - len(stderr)]
                progressed = True
            if time.monotonic() >= deadline:  # also while output keeps coming (a flood)
                timed_out = True
                break
            if progressed:
                continue
            if channel.exit_status_ready() or channel.closed:
                # paramiko handles messages in order: data, EOF, then exit-status; by now
                # every byte sent is buffered, and the loop above has drained it.
                if not channel.recv_ready() and not channel.recv_stderr_ready():
                    break
                continue
            time.sleep(_POLL_S)
        exit_status = (
            channel.recv_exit_status()
            if not (timed_out or truncated) and channel.exit_status_ready()
            else None
        )
    finally:
        # Closing the channel makes sshd hang up the command (SIGHUP to its session).
        channel.close()
    return CommandOutput(
        command=command,
        stdout=bytes(stdout),
        stderr=bytes(stderr),
        exit_status=exit_status,
        elapsed_s=time.monotonic() - start,
        timed_out=timed_out,
        truncated=truncated,
    )


def run_commands(
    spec: SshTargetSpec,
    commands: tuple[str, ...],
    timeouts: SshTimeouts,
    *,
    max_output_bytes: int = 1 << 20,
    deadline_s: float | None = None,
    address: str | None = None,
) -> SshOutcome:
    """Connect once, run ``commands`` in order, disconnect. Never raises for remote trouble.

    ``deadline_s`` bounds the whole session (monotonic seconds from now): commands that
    would start after it are not run, and a command never outlives it. ``address``: the
    host's address, already resolved under the check's deadline (``checks.resolve``); the
    host key is still checked against ``spec.host``.
    """
    import paramiko

    target = f"{spec.host}:{spec.port}"
    start = time.monotonic()
    end = start + deadline_s if deadline_s is not None else None
    try:
        pkey = load_private_key(spec.key_file, spec.passphrase)
    except KeyFileError as exc:
        return failed(target, SshFailure.KEY, exc.said)
    client = paramiko.SSHClient()
    try:
        try:
            # Only the pinned file: never the system's or the user's known_hosts.
            client.load_host_keys(str(spec.known_hosts))
        except OSError as exc:
            why = str(exc.strerror or exc)
            said = msg("ssh.known_hosts", path=str(spec.known_hosts), detail=why)
            return failed(target, SshFailure.KNOWN_HOSTS, said)
        client.set_missing_host_key_policy(_policy_class()())
        try:
            sock = (
                socket.create_connection((address, spec.port), timeout=timeouts.connect_s)
                if address
                else None
            )
            client.connect(
                spec.host,
                sock=sock,
                port=spec.port,
                username=spec.user,
                pkey=pkey,
                timeout=timeouts.connect_s,
                banner_timeout=timeouts.banner_s,
                auth_timeout=timeouts.auth_s,
                channel_timeout=timeouts.command_s,
                allow_agent=False,
                look_for_keys=False,
            )
        except Exception as exc:
            failure, said = _classify(exc)
            return failed(target, failure, said, time.monotonic() - start)
        connect_time = time.monotonic() - start
        transport = client.get_transport()
        if transport is None:  # pragma: no cover - connect() succeeded
            said = msg("ssh.failed", detail="no transport after connect")
            return failed(target, SshFailure.PROTOCOL, said)
        outputs: list[CommandOutput] = []
        for command in commands:
            timeout = timeouts.command_s
            if end is not None:
                timeout = min(timeout, end - time.monotonic())
                if timeout <= 0:
                    outputs.append(CommandOutput(command, b"", b"", None, 0.0, timed_out=True))
                    continue
            try:
                outputs.append(run_command(transport, command, timeout, max_output_bytes))
            except Exception as exc:
                failure, cause = _classify(exc)
                detail = kept(cause.id, cause.params)
                said = msg("ssh.while_running", command=command, detail=detail)
                return failed(target, failure, said, connect_time, tuple(outputs))
        return SshOutcome(target, SshFailure.NONE, "", connect_time, tuple(outputs))
    finally:
        client.close()
