"""agent/memory.py: the daemon caps glibc's allocator arenas and returns freed pages to the
system after each cycle. Measured in a fresh interpreter: memory freed in the middle of the
heap stays resident until ``release_free_memory`` hands it back."""

from __future__ import annotations

import json
import platform
import sys
import textwrap

import pytest

from agent import memory
from tests.fresh import run_python

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

SCRIPT = textwrap.dedent("""
    import json, os
    from agent.memory import limit_arenas, release_free_memory

    PAGE = os.sysconf("SC_PAGE_SIZE")
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE / 2**20

    capped = limit_arenas()
    # 64 MiB in 4 KiB blocks from the C heap (under the mmap threshold, over pymalloc's
    # 512 bytes), then all freed but the last: the heap's top stays in use, so glibc cannot
    # trim it by itself and the freed pages stay resident.
    blocks = [bytearray(4096) for _ in range(16384)]
    pinned = blocks[-1]
    del blocks
    before = rss()
    released = release_free_memory()
    print(json.dumps({"capped": capped, "released": released,
                      "before": before, "after": rss(), "pinned": len(pinned)}))
""")


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only")
def test_freed_heap_goes_back_to_the_system() -> None:
    data = json.loads(run_python(SCRIPT, timeout=60))
    assert data["capped"] is True and data["released"] is True
    assert data["before"] - data["after"] > 40  # of the 64 MiB freed, most leaves RSS


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only")
def test_calls_are_answered_by_glibc() -> None:
    assert memory.limit_arenas(memory.MAX_ARENAS) is True
    assert isinstance(memory.release_free_memory(), bool)


def test_without_glibc_both_do_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows (or a C library without mallopt/malloc_trim) nothing is called."""
    monkeypatch.setattr(memory.sys, "platform", "win32")
    memory._libc.cache_clear()
    try:
        assert memory.limit_arenas() is False
        assert memory.release_free_memory() is False
    finally:
        monkeypatch.undo()
        memory._libc.cache_clear()


def test_a_running_agent_keeps_a_few_hundred_texts_not_the_collectors_thousands() -> None:
    """Figures that change every cycle fill the render caches; past TEXTS_KEPT they are
    emptied (the daemon asks after every cycle), and a text is still written the same."""
    from checks import messages

    messages.forget_texts(0)
    first = messages.figure(0.5, "s", "rtt_s", "en")
    for i in range(memory.TEXTS_KEPT):
        messages.figure(1 + i / 100, "s", "rtt_s", "en")
    assert messages.figure.cache_info().currsize == memory.TEXTS_KEPT + 1
    assert messages.forget_texts(memory.TEXTS_KEPT) is True
    assert messages.figure.cache_info().currsize == 0
    assert messages._rendered.cache_info().currsize == 0
    assert messages.forget_texts(memory.TEXTS_KEPT) is False  # nothing over: nothing done
    assert messages.figure(0.5, "s", "rtt_s", "en") == first
