"""Memory a run frees goes back to the system, not into the allocator's free lists.

glibc's malloc serves a request of at least M_MMAP_THRESHOLD bytes from its own mapping, which
``free`` returns to the system at once; smaller ones come from heaps whose freed space it keeps.
The threshold starts at 128 KB but rises to the size of each large block freed (up to 32 MB), so
after the first 1,024-token trace every 8 MB matrix came from the heaps: 20 reruns of that link
took a server from 565 MB to 3.2 GB although only one trace was alive (``malloc_trim`` gave the
2.7 GB back; ``gc.collect`` gave nothing). A fixed threshold keeps large arrays in their own
mappings. Measured by ``python -m benchmarks.memory`` (docs/benchmarks_memory.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: mallopt's parameter number for the mmap threshold (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
#: Blocks of at least this many bytes get their own mapping (a 128 x 128 float64 matrix and up).
MMAP_THRESHOLD_BYTES = 128 * 1024

_applied: bool | None = None


def give_back_large_blocks() -> bool:
    """Fix glibc's mmap threshold for this process (once); False where malloc is not glibc's."""
    global _applied  # once per process: the setting belongs to the process, not to a session
    if _applied is None:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _applied = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
        except (OSError, AttributeError):
            _applied = False
    return _applied
