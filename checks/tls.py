"""TLS verification settings in the form httpx wants."""

from __future__ import annotations

import ssl


def httpx_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """True/False pass through; a string is a CA bundle path (httpx 0.28 wants a context)."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify
