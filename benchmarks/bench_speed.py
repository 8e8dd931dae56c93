"""Speed and memory of mdnc's networks, side by side with a plain baseline and MONAI.

Everything is measured in one run, alternating between the contenders, and reported as
ratios (these machines are shared and noisy: compare numbers from the same run only):

* the machine's fp32 GEMM rate (``torch.mm``), the roofline;
* for the small (``AE1d(16, [2, 2, 2, 2])``, batch 8, length 8192) and the seed
  (``AE1d(64, [2, 2, 2, 2, 3], in_planes=3)``, batch 16, length 1024) configurations: a
  training step (forward, backward, SGD step) and inference, for mdnc, the plain stock
  composition of ``benchmarks/plain_baseline.py`` (same weights) and MONAI's
  ``AutoEncoder`` of similar size (if ``monai`` is installed), with FLOPs counted by
  ``torch.utils.flop_counter`` and shown as a fraction of the roofline;
* peak memory of a training step at length 65536 (each in a fresh process), mdnc with and
  without ``checkpointing=True`` against the baseline;
* a length sweep (1k to 1M samples, batch 1) of training-step time and memory;
* overlap-add inference over 1M and 10M samples: the time beyond running the windows and
  the peak memory.

Writes a table to stdout, ``benchmarks/results/speed.json`` and ``length_sweep.png``.

Usage: ``python benchmarks/bench_speed.py [--quick] [--device cuda]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.plain_baseline import PlainAE1d  # noqa: E402
from mdnc._host import host_info, host_line  # noqa: E402
from mdnc.modules.resnet import AE1d  # noqa: E402

RESULTS = Path(__file__).parent / "results"
CONFIGS = {
    "small": {"channel": 16, "layers": [2, 2, 2, 2], "in_planes": 1, "batch": 8, "length": 8192},
    "seed": {"channel": 64, "layers": [2, 2, 2, 2, 3], "in_planes": 3, "batch": 16, "length": 1024},
}


def fused_choice() -> dict[str, Any]:
    """What the fused kernels' timing chose on this host (or why they are off), for reports."""
    from mdnc.modules import _fused
    from mdnc.modules._fused.choice import summary

    forced = os.environ.get("MDNC_FAST", "").strip()
    if forced in ("0", "1"):
        return {"line": f"forced by MDNC_FAST={forced}", "forced": forced}
    if not _fused.loaded():
        return {"line": "stock layers (the fused kernels did not build)"}
    found = _fused.record()
    line = summary(found) if "speedup" in found else f"timing failed: {found['error']}"
    return {"line": line, "record": found}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def gemm_rate(device: torch.device, n: int = 2048, reps: int = 5, rounds: int = 5) -> float:
    """fp32 GFLOP/s of a square matrix product, the best of several rounds: the roofline."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(2):
        a @ b
    best = 0.0
    for _ in range(rounds):
        sync(device)
        began = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync(device)
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - began) / 1e9)
    return best


def build(kind: str, cfg: dict[str, Any]) -> nn.Module:
    torch.manual_seed(0)
    ours = AE1d(cfg["channel"], cfg["layers"], in_planes=cfg["in_planes"])
    if kind == "mdnc":
        return ours
    if kind == "plain":
        plain = PlainAE1d(cfg["channel"], cfg["layers"], in_planes=cfg["in_planes"])
        plain.load_state_dict(ours.state_dict())
        return plain
    from monai.networks.nets import AutoEncoder

    channels = tuple(cfg["channel"] * 2**i for i in range(len(cfg["layers"])))
    return AutoEncoder(
        spatial_dims=1,
        in_channels=cfg["in_planes"],
        out_channels=1,
        channels=channels,
        strides=(2,) * len(channels),
        num_res_units=2,
        norm="INSTANCE",
        act="PRELU",
    )


def step_fn(net: nn.Module, x: torch.Tensor, train: bool):  # noqa: ANN201
    opt = torch.optim.SGD(net.parameters(), lr=1e-4)

    def train_step() -> None:
        opt.zero_grad(set_to_none=True)
        net(x).square().mean().backward()
        opt.step()

    def infer() -> None:
        with torch.inference_mode():
            net(x)

    return train_step if train else infer


def count_flops(net: nn.Module, x: torch.Tensor, train: bool) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        if train:
            net(x).square().mean().backward()
            net.zero_grad(set_to_none=True)
        else:
            with torch.no_grad():
                net(x)
    return float(counter.get_total_flops())


def timed_alternating(
    fns: dict[str, Any], rounds: int, reps: int, device: torch.device
) -> dict[str, float]:
    """Median seconds per call of each function, measured in alternation."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            sync(device)
            began = time.perf_counter()
            for _ in range(reps):
                fn()
            sync(device)
            samples[name].append((time.perf_counter() - began) / reps)
    return {k: statistics.median(v) for k, v in samples.items()}


# glibc raises its mmap threshold after large blocks are freed, so later tensors of a few
# MiB come from the heap, which does not shrink: peak RSS would then measure the allocator,
# not the network. A fixed threshold returns every large tensor to the system when freed.
_MEMORY_ENV = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536"}


def peak_memory_mib(
    kind: str, cfg: dict[str, Any], length: int, checkpointing: bool, batch: int
) -> float:
    """Peak resident memory added by one training step, measured in a fresh process."""
    code = f"""
import resource, sys, torch
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from benchmarks.bench_speed import build
torch.set_num_threads({torch.get_num_threads()})
cfg = {cfg!r}
net = build({kind!r}, cfg)
if {checkpointing!r}:
    net.checkpointing = True
x = torch.randn({batch}, cfg["in_planes"], {length})
net(x[..., :64]).sum().backward()   # warm up the allocator and kernels on a short input
net.zero_grad(set_to_none=True)
import os, threading
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
# Sample the resident size while the step runs: max-RSS counters also remember import peaks.
peak, done = [rss()], threading.Event()
def watch():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        done.wait(0.0005)
before = rss()
watcher = threading.Thread(target=watch)
watcher.start()
net(x).square().mean().backward()
peak[0] = max(peak[0], rss())
done.set()
watcher.join()
print((peak[0] - before) / 2**20)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_MEMORY_ENV
    )
    return float(out.stdout.strip().splitlines()[-1])


def overlap_add_costs(length: int) -> dict[str, float]:
    """Time of apply_overlap_add against running its windows alone, and its peak memory."""
    code = f"""
import resource, sys, time, numpy as np, torch
sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
from mdnc.inference import apply_overlap_add
from mdnc.modules.resnet import AE1d
torch.manual_seed(0)
net = AE1d(16, [2, 2, 2, 2]).eval()
window, batch, hop = 1024, 16, 512
signal = np.random.default_rng(0).standard_normal((1, {length})).astype(np.float32)
x = torch.randn(batch, 1, window)
with torch.inference_mode():
    net(x)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
began = time.perf_counter()
apply_overlap_add(net, signal, window=window, overlap=0.5, batch_size=batch)
total = time.perf_counter() - began
peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
n_windows = -(-max({length} - window, 0) // hop) + 1
began = time.perf_counter()
with torch.inference_mode():
    for _ in range(-(-n_windows // batch)):
        net(x)
model_only = time.perf_counter() - began
print(total, model_only, peak)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_MEMORY_ENV
    )
    total, model_only, peak = map(float, out.stdout.split())
    return {
        "total_s": total,
        "windows_s": model_only,
        "overhead": 1 - model_only / total,
        "peak_extra_mib": peak,
        "signal_mib": length * 4 * 2 / 2**20,
    }


def _contenders() -> list[str]:
    kinds = ["mdnc", "plain"]
    try:
        import monai  # noqa: F401

        kinds.append("monai")
    except ImportError:
        print("monai is not installed: MONAI's AutoEncoder is left out "
              "(pip install -e '.[bench]')")  # fmt: skip
    return kinds


def configurations(report: dict[str, Any], device: torch.device, rounds: int) -> None:
    """Training steps and inference of the small and seed configurations, side by side."""
    kinds = _contenders()
    for name, cfg in CONFIGS.items():
        x = torch.randn(cfg["batch"], cfg["in_planes"], cfg["length"], device=device)
        nets = {k: build(k, cfg).to(device) for k in kinds}
        for train in (True, False):
            label = "train step" if train else "inference"
            flops = {k: count_flops(n, x, train) for k, n in nets.items()}
            times = timed_alternating(
                {k: step_fn(n, x, train) for k, n in nets.items()}, rounds, 2, device
            )
            row = {
                k: {
                    "seconds": times[k],
                    "gflop": flops[k] / 1e9,
                    "roofline": flops[k] / times[k] / 1e9 / report["gemm_gflops"],
                }
                for k in kinds
            }
            row["speedup_vs_plain"] = times["plain"] / times["mdnc"]
            report[f"{name} {label}"] = row
            print(f"\n{name} {label} (batch {cfg['batch']}, length {cfg['length']}):")
            for k in kinds:
                print(
                    f"  {k:6s} {times[k] * 1000:8.1f} ms  {flops[k] / 1e9:7.1f} GFLOP  "
                    f"{row[k]['roofline']:.2f} of roofline"
                )
            print(f"  mdnc / plain throughput: {row['speedup_vs_plain']:.2f}x")


def training_memory(report: dict[str, Any]) -> None:
    """Peak memory of a training step at 65,536 samples, each in a fresh process."""
    small = CONFIGS["small"]
    memory = {
        "plain": peak_memory_mib("plain", small, 65536, False, 1),
        "mdnc": peak_memory_mib("mdnc", small, 65536, False, 1),
        "mdnc checkpointing": peak_memory_mib("mdnc", small, 65536, True, 1),
    }
    report["peak memory, train step, length 65536 (MiB)"] = memory
    print("\npeak memory of a training step, small config, batch 1, length 65536:")
    for k, v in memory.items():
        print(f"  {k:20s} {v:8.1f} MiB  ({v / memory['plain']:.2f}x the baseline)")


def length_sweep(report: dict[str, Any], device: torch.device, quick: bool) -> None:
    """Training-step time and memory from 1k to 1M samples (batch 1), plotted."""
    small = CONFIGS["small"]
    lengths = [1024, 4096, 16384, 65536, 262144] + ([] if quick else [1048576])
    sweep: dict[str, list[float]] = {"length": lengths, "mdnc_s": [], "mdnc_mib": [],
                                     "ckpt_mib": []}  # fmt: skip
    net = build("mdnc", small).to(device)
    for n in lengths:
        x = torch.randn(1, 1, n, device=device)
        sweep["mdnc_s"].append(timed_alternating({"m": step_fn(net, x, True)}, 1, 1, device)["m"])
        sweep["mdnc_mib"].append(peak_memory_mib("mdnc", small, n, False, 1))
        sweep["ckpt_mib"].append(peak_memory_mib("mdnc", small, n, True, 1))
        print(
            f"  length {n:8d}: train step {sweep['mdnc_s'][-1]:.3f} s, peak "
            f"{sweep['mdnc_mib'][-1]:.0f} MiB ({sweep['ckpt_mib'][-1]:.0f} MiB with checkpointing)"
        )
    report["length sweep (small config, batch 1)"] = sweep
    _plot_sweep(sweep, RESULTS / "length_sweep.png")


def overlap_add(report: dict[str, Any]) -> None:
    """Overlap-add over 1M and 10M samples: the time beyond the windows, the memory."""
    report["overlap-add"] = {}
    for n in (1_000_000, 10_000_000):
        costs = overlap_add_costs(n)
        report["overlap-add"][str(n)] = costs
        print(
            f"overlap-add over {n:,} samples: {costs['total_s']:.2f} s, of which "
            f"{costs['overhead']:.1%} beyond the windows; peak extra memory "
            f"{costs['peak_extra_mib']:.1f} MiB (input+output {costs['signal_mib']:.0f} MiB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter sweep")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    RESULTS.mkdir(exist_ok=True)
    report: dict[str, Any] = {
        "host": host_info(),
        "fused": fused_choice(),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "gemm_gflops": gemm_rate(device),
    }
    print(f"host: {host_line(report['host'])}\nfast path: {report['fused']['line']}")
    print(
        f"fp32 GEMM rate: {report['gemm_gflops']:.1f} GFLOP/s on {device} "
        f"({report['threads']} threads)"
    )
    configurations(report, device, 2 if args.quick else args.rounds)
    training_memory(report)
    length_sweep(report, device, args.quick)
    overlap_add(report)
    (RESULTS / "speed.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS / 'speed.json'} and {RESULTS / 'length_sweep.png'}")


def _plot_sweep(sweep: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax_t.loglog(sweep["length"], sweep["mdnc_s"], "o-")
    ax_t.set(xlabel="samples", ylabel="seconds", title="training step, AE1d(16, [2,2,2,2])")
    ax_m.loglog(sweep["length"], sweep["mdnc_mib"], "o-", label="plain autograd")
    ax_m.loglog(sweep["length"], sweep["ckpt_mib"], "s--", label="checkpointing=True")
    ax_m.set(xlabel="samples", ylabel="peak MiB", title="training-step memory")
    ax_m.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
