"""Run the collector app with uvicorn, in the foreground or in a background thread."""

from __future__ import annotations

import errno
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI


class ServerError(RuntimeError):
    pass


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise _listen_error(host, port, exc) from None


def _listen_error(host: str, port: int, exc: OSError, shared: bool = False) -> ServerError:
    if exc.errno == errno.EADDRINUSE:
        hint = (
            " by a program that does not share it (every collector on this port needs --reuse-port)"
            if shared
            else ""
        )
        return ServerError(
            f"{host}:{port} is already in use{hint}: stop the other program or pass "
            "--listen HOST:PORT"
        )
    return ServerError(f"cannot listen on {host}:{port}: {exc.strerror}")


def shared_socket(host: str, port: int) -> socket.socket:
    """A socket bound with SO_REUSEPORT: several collector processes bind the same HOST:PORT
    and the kernel spreads new connections over them (replicas on one machine, one per core,
    with no load balancer in front).

    Bound, not yet listening: uvicorn listens on it once the app has started, and only
    then does the kernel count this process among those it gives connections to. Listening
    from the start, it took its share of new connections while it was still loading (the
    nation, every agent's token), and they waited until it was ready."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise _listen_error(host, port, exc, shared=True) from None
    sock.set_inheritable(True)
    return sock


@dataclass(frozen=True)
class TLSFiles:
    """HTTPS for the collector: a PEM certificate chain and its private key (uvicorn's
    ``ssl_certfile`` / ``ssl_keyfile``; TLS 1.2 or newer, Python's default ciphers)."""

    cert_file: Path
    key_file: Path
    key_password: str | None = None

    def check(self) -> None:
        """Load the pair once, so a wrong file is one clear line at start-up instead of a
        traceback from inside uvicorn."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            # No password: an encrypted key fails here instead of prompting on a terminal.
            ctx.load_cert_chain(
                self.cert_file, self.key_file, password=self.key_password or (lambda: b"")
            )
        except FileNotFoundError as exc:
            raise ServerError(f"TLS: {exc.filename}: no such file") from None
        except ssl.SSLError as exc:
            raise ServerError(
                f"TLS: cannot use certificate {self.cert_file} with key {self.key_file}: "
                f"{exc.reason or exc} (PEM files of one pair; a password for an encrypted key)"
            ) from None
        except OSError as exc:
            raise ServerError(f"TLS: cannot read {exc.filename}: {exc.strerror}") from None


def make_server(
    app: FastAPI,
    host: str,
    port: int,
    log_level: str = "warning",
    tls: TLSFiles | None = None,
) -> uvicorn.Server:
    ssl_options: dict[str, object] = {}
    if tls is not None:
        tls.check()
        ssl_options = {
            "ssl_certfile": str(tls.cert_file),
            "ssl_keyfile": str(tls.key_file),
            "ssl_keyfile_password": tls.key_password,
        }
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        timeout_keep_alive=30,
        limit_concurrency=2048,
        **ssl_options,  # type: ignore[arg-type]
    )
    return uvicorn.Server(config)


class BackgroundServer:
    """uvicorn in a thread, for the demo and tests (``with BackgroundServer(...) as url``)."""

    def __init__(
        self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, tls: TLSFiles | None = None
    ) -> None:
        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        check_port_free(host, port)
        self.host, self.port = host, port
        self.scheme = "https" if tls is not None else "http"
        self.server = make_server(app, host, port, tls=tls)
        self.thread = threading.Thread(target=self.server.run, name="collector", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def start(self, timeout_s: float = 15.0) -> str:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ServerError(f"collector did not start on {self.url}")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
