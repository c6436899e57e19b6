"""Keep the daemon's resident memory small between cycles (docs/agent.md, "What is imported
when"; docs/BENCHMARKS.md, section 3).

The C library's allocator (glibc on Linux) gives each thread that allocates its own arena,
up to eight per core, and keeps memory freed in the middle of an arena resident. A cycle runs
its blocking calls in worker threads (psutil, name resolution, HTTP), so without a bound every
worker keeps an arena of its own. ``ioc-agent run`` therefore

* caps the arenas at :data:`MAX_ARENAS` before its first worker thread starts
  (:func:`limit_arenas`, glibc's ``mallopt(M_ARENA_MAX)``),
* keeps at most :data:`TEXTS_KEPT` remembered message texts and figures
  (``checks.messages.forget_texts``: the collector's 8,192 would fill over days with figures
  that never come back), and
* hands the pages that a cycle freed back to the operating system at the end of each cycle
  (:func:`release_free_memory`, glibc's ``malloc_trim(0)``: well under a millisecond).

Elsewhere (Windows, a C library without these calls) the two allocator calls do nothing
and say so by returning ``False``: they change how much memory stays resident, never what
the agent does.
"""

from __future__ import annotations

import ctypes
import sys
from functools import cache
from typing import Any

#: glibc's ``M_ARENA_MAX`` (malloc.h).
M_ARENA_MAX = -8
#: Remembered message texts and figures a running agent keeps (a cycle renders about 30).
TEXTS_KEPT = 256
#: Arenas the daemon's threads share: two keeps the event loop and one busy worker apart.
MAX_ARENAS = 2


@cache
def _libc() -> Any:
    """The process's C library when it has glibc's allocator calls, else ``None``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.malloc_trim.argtypes = (ctypes.c_size_t,)
    except (OSError, AttributeError):  # musl and others: no mallopt/malloc_trim
        return None
    return libc


def limit_arenas(arenas: int = MAX_ARENAS) -> bool:
    """Cap the allocator's arenas at ``arenas``; True when the C library took it. Call it
    before threads start: an arena already created stays."""
    libc = _libc()
    return libc is not None and libc.mallopt(M_ARENA_MAX, arenas) == 1


def release_free_memory() -> bool:
    """Return the allocator's free pages to the operating system; True when the C library
    released any."""
    libc = _libc()
    return libc is not None and libc.malloc_trim(0) == 1
