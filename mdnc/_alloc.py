"""Tensor memory reuse on glibc: the malloc thresholds mdnc's fast path runs with.

PyTorch's CPU tensors come from ``malloc``. glibc serves blocks above its mmap threshold
(128 KiB at start, raised up to 32 MiB as large blocks are freed) with fresh ``mmap``
pages and gives the top of its heap back to the system once more than twice that is free.
A network's activations are a few MiB each, allocated and freed at every layer, so a
forward pass or training step page-faults its way through fresh memory again and again:
measured on the project's 2-core machine, an ``AE1d(16, [2, 2, 2, 2])`` training step of
8 x 8192 samples took 1.3x as long, and a conv + instance norm pair 8x as long, as with
the freed blocks kept for reuse.

:func:`retain_freed_memory` fixes the mmap threshold at glibc's largest (32 MiB) and the
trim threshold at 256 MiB: smaller tensors are reused from the heap, larger ones still
go back to the system when freed. It runs when the fused kernels load (the first forward
or training step of a network on the fast path). It leaves ``malloc`` alone under
``MDNC_FAST=0`` or ``MDNC_MALLOC=0``, when the environment already sets glibc's malloc
parameters (``MALLOC_*_`` or ``GLIBC_TUNABLES``: a measurement that fixes them keeps
them), and on other C libraries.
"""

from __future__ import annotations

import ctypes
import os
import platform
import threading

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "retain_freed_memory"]

MMAP_THRESHOLD = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems
TRIM_THRESHOLD = 256 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # <malloc.h>
_MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")

_lock = threading.Lock()
_state: bool | None = None


def _wanted() -> bool:
    env = os.environ
    if env.get("MDNC_FAST", "1").strip() == "0" or env.get("MDNC_MALLOC", "1").strip() == "0":
        return False
    if any(name in env for name in _MALLOC_ENV) or "glibc.malloc" in env.get("GLIBC_TUNABLES", ""):
        return False
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def retain_freed_memory() -> bool:
    """Set glibc's malloc thresholds for tensor reuse, once per process.

    Returns:
        Whether the thresholds are set (``False``: malloc left as it was; see the module
        docstring for when).

    Example:
        >>> from mdnc._alloc import retain_freed_memory
        >>> isinstance(retain_freed_memory(), bool)
        True
    """
    global _state
    with _lock:
        if _state is None:
            _state = False
            if _wanted():
                try:
                    libc = ctypes.CDLL(None)
                    _state = bool(
                        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                        and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
                    )
                except (OSError, AttributeError):  # no mallopt in this process
                    _state = False
        return _state
