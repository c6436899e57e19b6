"""Secrets held in check configurations, for the runner's scrub list.

Any option typed :class:`checks.schema.Secret` (an SSH key passphrase, a PKCS#12 password,
an SNMP community) is collected here, so that the agent scrubs it from every message and
target whatever a check or a library put there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from typing import Any

from checks.base import Check
from checks.schema import Secret


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, Secret):
        secret = value.get_secret_value()
        if secret:
            yield secret
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _walk(getattr(value, f.name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _walk(item)


def config_secrets(config: object) -> tuple[str, ...]:
    """Every non-empty Secret value in ``config``, nested models and lists included."""
    return tuple(dict.fromkeys(_walk(config)))


def check_secrets(checks: Iterable[Check]) -> tuple[str, ...]:
    """The secrets of every check's configuration (for ``CheckContext.secrets``)."""
    out: dict[str, None] = {}
    for check in checks:
        out.update(dict.fromkeys(config_secrets(check.config)))
    return tuple(out)
