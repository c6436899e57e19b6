"""Run checks concurrently, each under its own deadline; survive any check.

A check that overruns its ``timeout_s`` is cancelled and reported ``unknown`` per target
("no answer within N s"); a check that raises is reported ``unknown`` with the exception
type and message. Secrets from the context are scrubbed from every message, whatever the
check put there (the DataDog base-check pattern).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable

from checks.base import Check, CheckContext
from checks.messages import msg
from checks.model import MAX_MESSAGE_CHARS, MAX_PARAM_CHARS, CheckResult

log = logging.getLogger(__name__)

SCRUBBED = "***"

#: Secrets shorter than this are not masked: a community ``1`` would turn "(1 tries" into
#: "(*** tries", and a value that short is guessed in seconds, so masking protects nothing.
MIN_MASKED_CHARS = 4

#: Published defaults (SNMP's ``public`` and ``private``) are no secret: they stay readable.
NOT_SECRET = frozenset({"public", "private"})


def _masked(secret: str) -> bool:
    return len(secret) >= MIN_MASKED_CHARS and secret.lower() not in NOT_SECRET


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace each secret with ``***`` where it stands as a whole token: not preceded or
    followed by a letter or digit (``s3cret`` is masked in ``community=s3cret,`` and in
    ``t-s3cret``, not in ``s3crets``). Very short secrets and published defaults are left
    alone (:data:`MIN_MASKED_CHARS`, :data:`NOT_SECRET`)."""
    # Longest first, so a secret containing another is not left half-visible.
    for secret in sorted({s for s in secrets if s and _masked(s)}, key=len, reverse=True):
        pattern = rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])"
        text = re.sub(pattern, SCRUBBED, text)
    return text


def _clean(result: CheckResult, secrets: tuple[str, ...]) -> CheckResult:
    message = scrub(result.message, secrets)
    target = scrub(result.target, secrets)
    ref = result.msg
    if ref is not None:
        params = {k: scrub(v, secrets) if isinstance(v, str) else v for k, v in ref.params.items()}
        if params != ref.params:
            ref = ref.model_copy(update={"params": params})
    if message == result.message and target == result.target and ref is result.msg:
        return result
    return result.model_copy(
        update={"message": message[:MAX_MESSAGE_CHARS], "target": target, "msg": ref}
    )


async def run_check(check: Check, ctx: CheckContext) -> list[CheckResult]:
    """Run one check under its deadline; never raises (except on cancellation)."""
    start = time.monotonic()
    try:
        results = await asyncio.wait_for(check.run(ctx), check.timeout_s)
    except TimeoutError:
        results = check.unknown_all(
            msg("check.timeout", seconds=check.timeout_s), time.monotonic() - start
        )
    except Exception as exc:
        # Any plugin bug or unexpected platform error is a result, not a crash.
        log.debug("check %s raised", check.id, exc_info=True)
        text = f"{type(exc).__name__}: {exc}"[:MAX_PARAM_CHARS]
        results = check.unknown_all(msg("check.error", detail=text), time.monotonic() - start)
    return [_clean(r, ctx.secrets) for r in results]


async def run_checks(checks: list[Check], ctx: CheckContext) -> list[CheckResult]:
    """Run every check concurrently; results keep the order of ``checks``."""
    per_check = await asyncio.gather(*(run_check(c, ctx) for c in checks))
    return [r for results in per_check for r in results]
