"""Fused or stock, per host: timed once when the library is built, remembered beside it.

The fused kernels are compiled for the host (``-march=native``), and whether they beat the
stock PyTorch layers depends on the host too. So once a library is built (or first loaded
without a record), three paths are timed against the stock layers on this machine, the
contenders alternating, each on a few representative shapes (float32):

* ``training``: the fused instance norm + PReLU forward and backward, against
  ``F.prelu(F.instance_norm(...))`` and its autograd backward;
* ``inference``: the fused forward alone (no autograd), against the stock pair;
* ``channels_last``: a whole network's forward in the channels-last layout
  (:mod:`mdnc.modules._layout`), against its NCW forward.

A path keeps the fused kernels only where their speed-up (the geometric mean over its
shapes of the best stock time over the best fused time) is at least :data:`THRESHOLD`;
otherwise the stock layers run there. The record, with the host it was measured on, is
saved as JSON next to the library (whose cache key holds the CPU's instruction sets), so
the timing runs once per library. ``MDNC_FAST=1`` forces the fused kernels on every path
and ``MDNC_FAST=0`` the stock layers, without timing anything.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..._host import host_info, host_line
from ..._utils import write_json_atomic

__all__ = ["PATHS", "THRESHOLD", "record_path", "read_record", "measure", "save", "summary"]

PATHS = ("training", "inference", "channels_last")
THRESHOLD = 1.05
OP_SHAPES = ((8, 16, 8192), (8, 128, 2048))
NETWORKS = (("UNet1d", (16, 1, 512)), ("AE1d", (2, 1, 8192)))
VERSION = 1


def record_path(library: Path) -> Path:
    """Where the record of the library ``library`` lives."""
    return library.with_name(library.stem + ".choice.json")


def read_record(library: Path) -> dict[str, Any] | None:
    """The saved record of ``library``, or ``None`` when there is none (or it is unreadable)."""
    try:
        record = json.loads(record_path(library).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(record, dict) and record.get("version") == VERSION
    if not ok or not isinstance(record.get("choice"), dict):
        return None
    if set(record["choice"]) != set(PATHS):
        return None
    return record


def best_times(contenders: dict[str, Callable[[], Any]], rounds: int, reps: int) -> dict:
    """The best time of one call of each contender, over ``rounds`` alternating rounds."""
    for fn in contenders.values():  # warm-up: first-call allocations, oneDNN's plans
        fn()
    best = dict.fromkeys(contenders, math.inf)
    names = list(contenders)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            for _ in range(reps):
                contenders[name]()
            best[name] = min(best[name], (time.perf_counter() - start) / reps)
    return best


def _op_inputs(shape: tuple[int, ...], grad: bool) -> tuple[Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    channels = shape[1]
    x = torch.randn(shape, generator=gen)
    gamma = torch.rand(channels, generator=gen) + 0.5
    beta = torch.randn(channels, generator=gen)
    slope = torch.full((channels,), 0.25)
    return tuple(t.requires_grad_(grad) for t in (x, gamma, beta, slope))


def _op_speedup(shape: tuple[int, ...], training: bool, fused: Callable[..., Tensor]) -> float:
    """Stock over fused time of the instance norm + PReLU on ``shape``."""
    x, gamma, beta, slope = _op_inputs(shape, training)
    grad = torch.randn(shape) if training else None

    def stock() -> None:
        z = F.prelu(F.instance_norm(x, weight=gamma, bias=beta, eps=1e-5), slope)
        if grad is not None:
            z.backward(grad)

    def mine() -> None:
        z = fused(x, gamma, beta, slope, 1e-5)
        if grad is not None:
            z.backward(grad)

    with torch.set_grad_enabled(training):
        best = best_times({"fused": mine, "stock": stock}, rounds=5, reps=3)
    return best["stock"] / best["fused"]


def _network_speedup(arch: str, shape: tuple[int, ...]) -> float:
    """NCW over channels-last time of a network's forward (inference) on ``shape``."""
    from ..resnet import AE1d, UNet1d

    torch.manual_seed(0)
    net = {"AE1d": AE1d, "UNet1d": UNet1d}[arch](16, [2, 2, 2, 2]).eval()
    ncw = copy.deepcopy(net)
    ncw._channels_last = False
    x = torch.randn(shape)
    with torch.no_grad():
        best = best_times({"fused": lambda: net(x), "stock": lambda: ncw(x)}, rounds=5, reps=2)
    return best["stock"] / best["fused"]


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def measure(fused: Callable[..., Tensor], force: Callable[[dict[str, bool]], Any]) -> dict:
    """Time the three paths on this host and decide; return the record (not saved).

    Args:
        fused: the fused op without checks (``fused_instance_norm_prelu``).
        force: a context-manager factory that makes the network paths take the given
            choice while they are timed.
    """
    speedups: dict[str, dict[str, float]] = {}
    choice: dict[str, bool] = {}
    for path, training in (("training", True), ("inference", False)):
        speedups[path] = {str(s): _op_speedup(s, training, fused) for s in OP_SHAPES}
        choice[path] = _geomean(list(speedups[path].values())) >= THRESHOLD
    # Channels-last against the NCW forward that would run instead (inference as chosen).
    with force({**choice, "channels_last": True}), torch.no_grad():
        speedups["channels_last"] = {
            f"{arch} {shape}": _network_speedup(arch, shape) for arch, shape in NETWORKS
        }
    choice["channels_last"] = _geomean(list(speedups["channels_last"].values())) >= THRESHOLD
    return {
        "version": VERSION,
        "host": host_info(),
        "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "threshold": THRESHOLD,
        "speedup": speedups,
        "choice": choice,
    }


def save(library: Path, record: dict[str, Any]) -> None:
    """Write the record beside the library (atomically)."""
    write_json_atomic(record_path(library), record)


def summary(record: dict[str, Any]) -> str:
    """One line: the host, each path's measured speed-ups and what was kept."""
    parts = []
    for path in PATHS:
        ratios = ", ".join(f"{v:.2f}x" for v in record["speedup"][path].values())
        kept = "fused" if record["choice"][path] else "stock"
        parts.append(f"{path.replace('_', '-')} {ratios} -> {kept}")
    return f"fused vs stock on {host_line(record['host'])}: " + "; ".join(parts)
