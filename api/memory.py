"""Process memory controls (glibc): fewer malloc arenas, and freed heap pages given back to the OS.

Used by the service process, the job pool's processes and the response cache (docs/service.md,
"Memory"); both are no-ops returning ``False`` where glibc is absent.
"""
from __future__ import annotations

import ctypes


def limit_malloc_arenas(n: int = 2) -> bool:
    """Cap glibc's malloc arenas of this process at ``n`` (``mallopt(M_ARENA_MAX, n)``).

    Each thread that allocates gets an arena of its own (up to 8 × cores); freed memory of one arena
    is not reused by another, so a threaded server's heap grows with its thread count.  Returns
    ``False`` where there is no glibc (the call is then a no-op).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(-8, int(n)))  # M_ARENA_MAX
    except (OSError, AttributeError):
        return False


def malloc_trim() -> bool:
    """Give freed heap pages back to the OS (glibc ``malloc_trim(0)``); ``False`` without glibc."""
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False
