"""Inference throughput: what ``mdnc denoise`` does per second, and how close to the hardware.

Measured in one run, contenders alternating (these machines are shared and noisy: compare
figures from the same run only):

1. **Forward passes** of the small (``AE1d(16, [2, 2, 2, 2])``, batch 8 x 8192) and the seed
   (``AE1d(64, [2, 2, 2, 2, 3], in_planes=3)``, batch 16 x 1024) configurations and of the
   default ``UNet1d(16, [2, 2, 2, 2])`` (batch 16 x 512): mdnc's inference path (fused
   instance norm + PReLU), the stock-layer path (``set_fused(net, False)``, what inference
   ran before), and ONNX Runtime; FLOPs counted by ``torch.utils.flop_counter`` as a
   fraction of the machine's fp32 GEMM rate (the roofline), timed in the same alternation.
2. **A long recording** (``--length`` samples, 10 million by default) through
   :func:`mdnc.inference.apply_overlap_add`, the function ``mdnc denoise`` runs, with the
   default network and window: samples/s, samples/s per core, the share of the time spent
   in the network, and the peak memory beyond the input and output; mdnc (fused), the
   stock layers, the ONNX Runtime engine, and MONAI's ``sliding_window_inference`` with
   the same network, window, overlap and batch (if ``monai`` is installed).
3. **The whole command**: ``mdnc denoise`` on that recording saved as ``.npy``, as a fresh
   process (wall time, peak RSS), with the fused kernels and under ``MDNC_FAST=0`` (the
   stock layers at inference: today's path before this benchmark's change).
4. **Defaults**: samples/s of the long-recording path over batch sizes and thread counts.

Writes a table to stdout and ``benchmarks/results/inference.json``.

Usage:
    python benchmarks/bench_inference.py
    python benchmarks/bench_inference.py --quick            # 1M samples, fewer rounds
    python benchmarks/bench_inference.py --length 2000000 --skip command
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_speed import count_flops, fused_choice, gemm_rate, timed_alternating  # noqa: E402
from mdnc._host import host_info, host_line  # noqa: E402
from mdnc.checkpoint import build_model, model_config, save_checkpoint  # noqa: E402
from mdnc.engines import OnnxRuntimeModel, onnxruntime_available  # noqa: E402
from mdnc.inference import apply_overlap_add  # noqa: E402
from mdnc.modules._units import set_fused  # noqa: E402
from mdnc.modules.resnet import AE1d  # noqa: E402

RESULTS = Path(__file__).parent / "results"
FORWARDS = {
    "small": ("AE1d", {"channel": 16, "layers": [2, 2, 2, 2]}, 1, 8, 8192),
    "seed": ("AE1d", {"channel": 64, "layers": [2, 2, 2, 2, 3], "in_planes": 3}, 3, 16, 1024),
    "default UNet1d": ("UNet1d", {"channel": 16, "layers": [2, 2, 2, 2]}, 1, 16, 512),
}
WINDOW, OVERLAP = 512, 0.5  # the default training window, and mdnc denoise's overlap


def network(arch: str, kwargs: dict[str, Any]) -> nn.Module:
    """The network, seeded, in evaluation mode."""
    torch.manual_seed(0)
    if arch == "AE1d":
        return AE1d(**kwargs).eval()
    return build_model(model_config(arch, **kwargs)).eval()


def stock(net: nn.Module) -> nn.Module:
    """A copy that runs the stock layers at inference (the path before the fused one)."""
    other = copy.deepcopy(net)
    set_fused(other, False)
    return other


def inference(fn: Any, x: torch.Tensor) -> Any:
    def run() -> None:
        with torch.inference_mode():
            fn(x)

    return run


GEMM_N = 1024  # the square matrix product timed beside the forwards: the roofline


def forward_passes(rounds: int, reps: int) -> dict[str, dict]:
    """Part 1: seconds per forward of each configuration on each path, and its fraction of
    the fp32 GEMM rate measured in the same alternation (the host's speed drifts)."""
    found = {}
    a, b = torch.randn(GEMM_N, GEMM_N), torch.randn(GEMM_N, GEMM_N)
    for name, (arch, kwargs, channels, batch, length) in FORWARDS.items():
        net = network(arch, kwargs)
        x = torch.randn(batch, channels, length)
        fns = {"stock": inference(stock(net), x), "mdnc": inference(net, x)}
        if onnxruntime_available():
            fns["onnxruntime"] = inference(OnnxRuntimeModel(net, length), x)
        fns["gemm"] = lambda: a @ b
        seconds = timed_alternating(fns, rounds, reps, torch.device("cpu"))
        gemm = 2 * GEMM_N**3 / seconds.pop("gemm") / 1e9
        flops = count_flops(stock(net), x, train=False)
        found[name] = {
            "shape": list(x.shape), "gflop": flops / 1e9, "seconds": seconds,
            "gemm_gflops": gemm,
            "roofline": {k: flops / s / 1e9 / gemm for k, s in seconds.items()},
            "speedup_vs_stock": {k: seconds["stock"] / s for k, s in seconds.items()},
        }  # fmt: skip
    return found


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRSS:
    """The peak resident memory above the level at entry, sampled every 5 ms."""

    def __enter__(self) -> PeakRSS:
        self.base = self.peak = rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_mib())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib())

    @property
    def above_mib(self) -> float:
        return self.peak - self.base


class Timed:
    """A callable that adds up the time spent in ``fn`` (the network's share)."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.seconds = fn, 0.0
        self.in_planes = getattr(fn, "in_planes", None)
        if hasattr(fn, "min_size"):
            self.min_size = fn.min_size

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        began = time.perf_counter()
        y = self.fn(x)
        self.seconds += time.perf_counter() - began
        return y


def monai_runner(net: nn.Module, batch: int) -> Any:
    from monai.inferers import sliding_window_inference

    def run(signal: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(signal)[None]
        with torch.inference_mode():
            y = sliding_window_inference(
                x, roi_size=(WINDOW,), sw_batch_size=batch, predictor=net, overlap=OVERLAP,
                mode="constant", padding_mode="reflect",
            )  # fmt: skip
        return y[0].numpy()

    return run


def recording_paths(net: nn.Module, length: int, batch: int) -> dict[str, Any]:
    """The contenders of part 2: ``name -> (callable on a (C, L) array, Timed or None)``."""
    paths: dict[str, Any] = {}
    contenders = {"mdnc": net, "stock": stock(net)}
    if onnxruntime_available():
        contenders["onnxruntime"] = OnnxRuntimeModel(net, WINDOW)
    for name, fn in contenders.items():
        timed = Timed(fn)

        def run(signal: np.ndarray, timed: Timed = timed) -> np.ndarray:
            return apply_overlap_add(timed, signal, WINDOW, OVERLAP, batch, standardize=True)

        paths[name] = (run, timed)
    try:
        paths["monai"] = (monai_runner(net, batch), None)
    except ImportError:
        print("monai is not installed: its sliding_window_inference is left out "
              "(pip install -e '.[bench]')")  # fmt: skip
    return paths


def long_recording(length: int, rounds: int, batch: int) -> dict[str, dict]:
    """Part 2: samples/s, model share and peak memory of each path on one long recording."""
    net = network("UNet1d", FORWARDS["default UNet1d"][1])
    signal = np.random.default_rng(0).standard_normal((1, length)).astype(np.float32)
    paths = recording_paths(net, length, batch)
    found: dict[str, dict] = {
        k: {"seconds": [], "model_seconds": [], "peak_mib": []} for k in paths
    }
    for _ in range(rounds):
        for name, (run, timed) in paths.items():
            if timed is not None:
                timed.seconds = 0.0
            with PeakRSS() as peak:
                began = time.perf_counter()
                out = run(signal)
                seconds = time.perf_counter() - began
            del out
            found[name]["seconds"].append(seconds)
            found[name]["model_seconds"].append(timed.seconds if timed else float("nan"))
            found[name]["peak_mib"].append(peak.above_mib)
    cores = torch.get_num_threads()
    for row in found.values():
        best = int(np.argmin(row["seconds"]))
        row.update(
            samples_per_s=length / row["seconds"][best],
            samples_per_s_per_core=length / row["seconds"][best] / cores,
            model_share=row["model_seconds"][best] / row["seconds"][best],
            peak_mib=max(row["peak_mib"]),
        )
    return found


def run_command(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh process, measured by ``/usr/bin/time``
    (the ``wait4`` figure of a child forked from this large process would count the
    parent's pages copied at the fork)."""
    timer = ["/usr/bin/time", "-f", "%M"] if Path("/usr/bin/time").exists() else []
    began = time.perf_counter()
    proc = subprocess.run(timer + argv, env=env, stdout=subprocess.DEVNULL, capture_output=False,
                          stderr=subprocess.PIPE, text=True)  # fmt: skip
    seconds = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {proc.stderr[-2000:]}")
    peak = float(proc.stderr.strip().splitlines()[-1]) / 1024 if timer else float("nan")
    return seconds, peak


def whole_command(length: int, rounds: int, folder: Path) -> dict[str, dict]:
    """Part 3: ``mdnc denoise`` of a ``.npy`` recording, as chosen on this host (the
    default) against ``MDNC_FAST=0``."""
    net = network("UNet1d", FORWARDS["default UNet1d"][1])
    save_checkpoint(folder / "run", net, extra={"window": WINDOW, "standardize": True})
    signal = np.random.default_rng(0).standard_normal((1, length)).astype(np.float32)
    np.save(folder / "in.npy", signal)
    argv = [sys.executable, "-m", "mdnc", "denoise", "--checkpoint", str(folder / "run"),
            str(folder / "in.npy"), "--output", str(folder / "out.npy"), "--quiet"]  # fmt: skip
    default = {k: v for k, v in os.environ.items() if k != "MDNC_FAST"}  # as chosen on this host
    envs = {"mdnc": default, "stock": {**default, "MDNC_FAST": "0"}}
    found: dict[str, dict] = {k: {"seconds": [], "peak_rss_mib": []} for k in envs}
    for _ in range(rounds):
        for name, env in envs.items():
            seconds, peak = run_command(argv, env)
            found[name]["seconds"].append(seconds)
            found[name]["peak_rss_mib"].append(peak)
    for row in found.values():
        row["samples_per_s"] = length / min(row["seconds"])
    # Memory flat in the length: the same command on a recording a tenth as long.
    np.save(folder / "in.npy", signal[:, : length // 10])
    found["mdnc"]["peak_rss_mib_tenth_length"] = run_command(argv, envs["mdnc"])[1]
    found["mdnc"]["speedup_vs_stock"] = min(found["stock"]["seconds"]) / min(
        found["mdnc"]["seconds"]
    )
    return found


def defaults_sweep(length: int, batches: list[int], threads: list[int]) -> list[dict]:
    """Part 4: samples/s of the fused path over batch sizes and thread counts."""
    net = network("UNet1d", FORWARDS["default UNet1d"][1])
    signal = np.random.default_rng(1).standard_normal((1, length)).astype(np.float32)
    before = torch.get_num_threads()
    rows = []
    try:
        for n in threads:
            torch.set_num_threads(n)
            for batch in batches:
                apply_overlap_add(net, signal[:, : WINDOW * 8], WINDOW, OVERLAP, batch)
                began = time.perf_counter()
                apply_overlap_add(net, signal, WINDOW, OVERLAP, batch, standardize=True)
                rate = length / (time.perf_counter() - began)
                rows.append({"threads": n, "batch_size": batch, "samples_per_s": rate})
    finally:
        torch.set_num_threads(before)
    return rows


def print_report(report: dict) -> None:
    print(f"host: {host_line(report['host'])}")
    print(f"fast path: {report['fused']['line']}")
    print(f"fp32 GEMM rate (roofline): {report['gemm_gflops']:.1f} GFLOP/s, "
          f"{report['threads']} threads")  # fmt: skip
    for name, row in report.get("forwards", {}).items():
        print(
            f"\nforward, {name} {tuple(row['shape'])}: {row['gflop']:.2f} GFLOP "
            f"(GEMM {row['gemm_gflops']:.0f} GFLOP/s in the same rounds)"
        )
        for k, s in row["seconds"].items():
            print(f"  {k:12s} {s * 1e3:8.1f} ms  {row['roofline'][k]:.2f} of roofline  "
                  f"{row['speedup_vs_stock'][k]:.2f}x stock")  # fmt: skip
    if "recording" in report:
        print(f"\n{report['length']:,}-sample recording, default UNet1d, window {WINDOW}:")
        for k, row in report["recording"].items():
            print(f"  {k:12s} {row['samples_per_s'] / 1e3:9.1f} k samples/s "
                  f"({row['samples_per_s_per_core'] / 1e3:.1f} k per core), model "
                  f"{row['model_share']:.0%} of the time, "
                  f"peak +{row['peak_mib']:.0f} MiB")  # fmt: skip
    if "command" in report:
        print("\nmdnc denoise, whole process:")
        for k, row in report["command"].items():
            print(f"  {k:12s} {min(row['seconds']):7.1f} s  {row['samples_per_s'] / 1e3:9.1f} "
                  f"k samples/s  peak RSS {max(row['peak_rss_mib']):.0f} MiB")  # fmt: skip
        tenth = report["command"]["mdnc"]["peak_rss_mib_tenth_length"]
        print(f"  mdnc at a tenth of the length: peak RSS {tenth:.0f} MiB")
    for row in report.get("defaults", []):
        print(f"  threads {row['threads']}, batch {row['batch_size']:3d}: "
              f"{row['samples_per_s'] / 1e3:9.1f} k samples/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--length", type=int, default=10_000_000, help="samples (10M)")
    parser.add_argument("--quick", action="store_true", help="1M samples, fewer rounds")
    parser.add_argument("--batch-size", type=int, default=64, help="windows per call (64)")
    parser.add_argument("--rounds", type=int, help="rounds of each contender (3; --quick 2)")
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=("forwards", "recording", "command", "defaults")
    )
    parser.add_argument("--out", default=str(RESULTS / "inference.json"), help="the JSON file")
    args = parser.parse_args()
    length = 1_000_000 if args.quick else args.length
    rounds = args.rounds or (2 if args.quick else 3)
    report: dict[str, Any] = {
        "host": host_info(), "fused": fused_choice(),
        "gemm_gflops": gemm_rate(torch.device("cpu")), "threads": torch.get_num_threads(),
        "length": length, "torch": torch.__version__,
    }  # fmt: skip
    if "forwards" not in args.skip:
        report["forwards"] = forward_passes(5 if args.quick else 9, 2)
    if "recording" not in args.skip:
        report["recording"] = long_recording(length, rounds, args.batch_size)
    if "command" not in args.skip:
        with tempfile.TemporaryDirectory() as tmp:
            report["command"] = whole_command(length, rounds, Path(tmp))
    if "defaults" not in args.skip:
        threads = sorted({1, torch.get_num_threads()})
        batches = [1, 4, 16, 32, 64, 128, 256]
        report["defaults"] = defaults_sweep(length // 10, batches, threads)
    print_report(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
