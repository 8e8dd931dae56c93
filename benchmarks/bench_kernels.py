"""The fused instance norm + PReLU kernels built for several targets, against the stock pair.

The kernels are compiled for the host (``-march=native``) unless ``MDNC_MARCH`` names a
target, so a build for AVX2 and one for the host's best instruction set are different
code. For each target this CPU can run (``native``, ``x86-64-v4`` where AVX-512 is
there, ``x86-64-v3``: AVX2, ``x86-64-v2``: SSE4.2; ``armv8-a`` on ARM), a fresh process
builds the library for it (in a cache folder of its own) and times, contenders
alternating, best of the rounds, float32:

* the forward without autograd: fused against ``F.prelu(F.instance_norm(...))``;
* the forward and backward: fused against the stock pair and its autograd backward;

on ``(8, 16, 8192)`` and ``(8, 128, 2048)`` (and channels-last inputs for the forward).
Prints a table with the host line and writes ``benchmarks/results/kernels.json``.

Usage:
    python benchmarks/bench_kernels.py
    python benchmarks/bench_kernels.py --targets native x86-64-v3 --rounds 9
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mdnc._host import host_info, host_line  # noqa: E402

SHAPES = ((8, 16, 8192), (8, 128, 2048))
# What each x86-64 level needs of the CPU (flags of /proc/cpuinfo).
NEEDS = {
    "x86-64-v2": {"sse4_2", "popcnt"},
    "x86-64-v3": {"avx2", "fma", "bmi2"},
    "x86-64-v4": {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"},
}


def runnable_targets() -> list[str]:
    """The targets this CPU runs: native first, then the x86-64 levels from the best."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return ["native", "armv8-a"] if platform.machine() == "aarch64" else ["native"]
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = set(next(line for line in f if line.startswith("flags")).split())
    except (OSError, StopIteration):
        flags = set()
    levels = [t for t in ("x86-64-v4", "x86-64-v3", "x86-64-v2") if NEEDS[t] <= flags]
    return ["native", *levels]


def _stock(x: Any, gamma: Any, beta: Any, slope: Any, eps: float) -> Any:
    import torch.nn.functional as F

    return F.prelu(F.instance_norm(x, weight=gamma, bias=beta, eps=eps), slope)


def _caller(fn: Any, inputs: tuple[Any, ...], grad: Any) -> Any:
    """One call of ``fn`` on ``inputs`` (and its backward of ``grad`` unless None)."""

    def call() -> None:
        z = fn(*inputs, 1e-5)
        if grad is not None:
            z.backward(grad)

    return call


def _time_shape(shape: tuple[int, ...], rounds: int) -> dict[str, float]:
    import torch

    from mdnc.modules import _fused
    from mdnc.modules._fused.choice import _op_inputs, best_times

    out: dict[str, float] = {}
    for training in (False, True):
        x, *params = _op_inputs(shape, training)
        grad = torch.randn(shape) if training else None
        layouts = {"ncw": x}
        if not training:
            layouts["nwc"] = x.transpose(1, 2).contiguous().transpose(1, 2)
        for layout, xin in layouts.items():
            inputs = (xin, *params)
            contenders = {
                "fused": _caller(_fused.fused_instance_norm_prelu, inputs, grad),
                "stock": _caller(_stock, inputs, grad),
            }
            with torch.set_grad_enabled(training):
                best = best_times(contenders, rounds=rounds, reps=5)
            key = f"{'forward+backward' if training else 'forward'} {layout}"
            out[f"{key} fused ms"] = best["fused"] * 1e3
            out[f"{key} stock ms"] = best["stock"] * 1e3
            out[f"{key} speedup"] = best["stock"] / best["fused"]
    return out


def worker(rounds: int) -> dict[str, Any]:
    """In a process whose MDNC_MARCH names the target: build, load and time."""
    import torch

    from mdnc.modules import _fused
    from mdnc.modules._fused import build

    if not _fused.loaded():
        raise SystemExit("the fused kernels did not build")
    return {
        "target": build.march(),
        "library": str(build.library_path()),
        "host": host_info() | {"threads": torch.get_num_threads()},
        "shapes": {str(s): _time_shape(s, rounds) for s in SHAPES},
    }


def run_target(target: str, rounds: int, cache: Path) -> dict[str, Any]:
    env = dict(os.environ, MDNC_MARCH=target, MDNC_EXT_DIR=str(cache / target), MDNC_FAST="1")
    done = subprocess.run(
        [sys.executable, __file__, "--worker", "--rounds", str(rounds)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        return {"target": target, "error": done.stderr[-2000:]}
    return json.loads(done.stdout.strip().split("\n")[-1])


def print_table(results: list[dict[str, Any]]) -> None:
    print(f"host: {host_line()}")
    head = ("target", "shape", "pass", "fused ms", "stock ms", "speedup")
    print("{:11s} {:16s} {:24s} {:>9s} {:>9s} {:>8s}".format(*head))
    for r in results:
        if "error" in r:
            print(f"{r['target']:11s} failed: {r['error'].strip().splitlines()[-1]}")
            continue
        for shape, figures in r["shapes"].items():
            for key in [k[: -len(" speedup")] for k in figures if k.endswith(" speedup")]:
                print(
                    f"{r['target']:11s} {shape:16s} {key:24s} {figures[key + ' fused ms']:9.3f} "
                    f"{figures[key + ' stock ms']:9.3f} {figures[key + ' speedup']:7.2f}x"
                )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--targets", nargs="+", help="targets (default: all this CPU runs)")
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (7)")
    parser.add_argument("--out", default=str(RESULTS / "kernels.json"), help="the JSON file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.rounds)))
        return
    import torch  # noqa: F401  (its version and threads go into the host line)

    targets = args.targets or runnable_targets()
    with tempfile.TemporaryDirectory(prefix="mdnc-kernels-") as tmp:
        results = [run_target(t, args.rounds, Path(tmp)) for t in targets]
    print_table(results)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    report = {"host": host_info(), "results": results}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
