"""Enrollment: trade a one-time code for an agent identity and a bearer token."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path

from agent import __version__
from agent.state import AgentState, load_state, save_state
from checks import http
from checks.model import EnrollRequest, EnrollResponse
from checks.tls import TLSVerify, tls_refusal

__all__ = ["EnrollError", "enroll", "load_state"]

ENROLL_TIMEOUT_S = 15.0


class EnrollError(Exception):
    """Enrollment failed; the message says why, in terms the operator can act on."""


def _detail(resp: http.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200].strip() or resp.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        return detail if isinstance(detail, str) else str(detail)[:300]
    return str(body)[:200]


def enroll(
    collector_url: str,
    code: str,
    state_dir: Path,
    host: str | None = None,
    verify: TLSVerify = True,
    timeout_s: float = ENROLL_TIMEOUT_S,
) -> AgentState:
    """Enroll with the collector and store the identity in ``state_dir/agent.json`` (0600).

    Raises :class:`EnrollError` with a one-line reason: collector unreachable, code refused
    (with the collector's message), or an unexpected answer.
    """
    url = collector_url.rstrip("/")
    from pydantic import ValidationError  # enrollment is a command of its own, not the agent

    try:
        request = EnrollRequest.model_validate(
            {"code": code, "host": host or socket.gethostname(), "agent_version": __version__}
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise EnrollError(f"invalid {first['loc'][0]}: {first['msg']}") from None
    client = http.Client(
        verify=verify, timeout_s=timeout_s, headers={"User-Agent": f"ioc-agent/{__version__}"}
    )
    try:
        resp = client.send(
            "POST",
            f"{url}/api/v1/enroll",
            content=json.dumps(request.model_dump(mode="json")),
            headers={"Content-Type": "application/json"},
        )
    except http.TimeoutException:
        raise EnrollError(f"collector {url} did not answer within {timeout_s:g} s") from None
    except http.HTTPError as exc:
        refused = tls_refusal(exc)
        if refused is not None:
            raise EnrollError(f"collector {url}: {refused}") from None
        raise EnrollError(f"cannot reach collector {url}: {exc}") from None
    except OSError as exc:  # e.g. an unreadable CA file
        raise EnrollError(f"cannot connect to collector {url}: {exc}") from None
    finally:
        client.close()
    if resp.status_code >= 400:
        if 400 <= resp.status_code < 500:
            raise EnrollError(
                f"collector refused the enrollment code (HTTP {resp.status_code}): {_detail(resp)}"
            )
        raise EnrollError(
            f"collector error (HTTP {resp.status_code}): {_detail(resp)}; try again later"
        )
    try:
        answer = EnrollResponse.decode(resp.json())
    except ValueError as exc:  # not JSON, or not an enrollment answer (DecodeError)
        raise EnrollError(f"unexpected answer from collector {url}: {exc}") from None
    state = AgentState(collector_url=url, **dataclasses.asdict(answer))
    try:
        save_state(Path(state_dir), state)
    except OSError as exc:
        raise EnrollError(f"cannot write the agent state in {state_dir}: {exc}") from None
    return state
