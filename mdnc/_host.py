"""The machine a figure was measured on: CPU model, family/model, vector extensions, cores.

Figures of the fused kernels hold for the host they were measured on (the kernels are
compiled for it, and PyTorch's own kernels dispatch on its instruction sets), so every
benchmark and the fused kernels' timing record carry :func:`host_info` beside their
figures, and print :func:`host_line`. Standard library only (torch read if imported).
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

__all__ = ["VECTOR_EXTENSIONS", "host_info", "host_line"]

# The instruction-set extensions that change which code the kernels get, in that order.
VECTOR_EXTENSIONS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
    "avx512_bf16", "avx_vnni", "amx_tile", "neon", "asimd", "sve", "sve2",
)  # fmt: skip


def _cpuinfo() -> dict[str, str]:
    """The first processor's block of /proc/cpuinfo (empty where there is none)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    if fields:
                        break
                    continue
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def host_info() -> dict[str, Any]:
    """The host as a JSON-ready dict: CPU model and family/model, the vector extensions
    present, cores, machine, Python, and PyTorch's version and threads (when imported)."""
    cpu = _cpuinfo()
    flags = set((cpu.get("flags") or cpu.get("Features") or "").split())
    info: dict[str, Any] = {
        "cpu": cpu.get("model name") or cpu.get("Model name") or platform.processor() or "?",
        "family": cpu.get("cpu family"),
        "model": cpu.get("model"),
        "vector_extensions": [e for e in VECTOR_EXTENSIONS if e in flags],
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.__version__
        info["threads"] = torch.get_num_threads()
    return info


def host_line(info: dict[str, Any] | None = None) -> str:
    """One line for reports, e.g. ``AMD EPYC (family 25 model 1; avx2 fma), 2 cores,
    torch 2.13.0, 2 threads``."""
    info = host_info() if info is None else info
    where = f"family {info.get('family')} model {info.get('model')}; " if info.get("family") else ""
    ext = " ".join(info.get("vector_extensions") or []) or "no vector extensions listed"
    line = f"{info.get('cpu')} ({where}{ext}), {info.get('cores')} cores"
    if "torch" in info:
        line += f", torch {info['torch']}, {info.get('threads')} threads"
    return line
