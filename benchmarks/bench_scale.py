"""Data larger than memory: peak memory and speed of training and denoising by data size.

Generates data sets on disk (float32 ``.npy``: thousands of files; or one large chunked
``.h5``) of the sizes asked for, and measures, side by side in one run:

* ``mdnc train`` for a fixed number of steps (``--steps-per-epoch``) with the data read
  lazily: peak RSS (all processes of the run together, the DataLoader workers included)
  and steps per second; on the smallest set also with the data in memory (the ratio
  lazy / memory of steps per second);
* 2-process ``torchrun`` on lazily read data: the peak RSS of each process by data size;
* ``mdnc denoise`` of one long ``.npy`` recording with a small network: peak RSS and
  samples per second; and the streaming API with an identity model, whose output must
  equal the input bit for bit.

Each data set is removed once measured, so the disk holds one at a time. Run it alone:
with two cores, another process swings the timings.

Usage:
    python benchmarks/bench_scale.py --root /tmp/mdnc-scale                # 1, 4, 16 GB; 8 GB
    python benchmarks/bench_scale.py --sizes 0.25 1 --denoise-gb 0.5       # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdnc._host import host_info, host_line  # noqa: E402

FILE_SAMPLES = 1 << 17  # 512 KiB per .npy file: 2,000 files per GB
H5_CHUNK = 1 << 20
MODEL = ["--channel", "8", "--layers", "1", "1"]
TRAIN = ["--snr-db", "5", "--epochs", "1", "--val-fraction", "0", "--window", "1024",
         "--batch-size", "32", "--device", "cpu", "--quiet", *MODEL]  # fmt: skip


# --------------------------------------------------------------------------------------------
# Data


def _signal(rng: np.random.Generator, n: int, base: np.ndarray) -> np.ndarray:
    """A cheap float32 signal of ``n`` samples: a random cut of a noisy base, rescaled."""
    start = int(rng.integers(0, len(base) - n + 1)) if n <= len(base) else 0
    x = np.resize(base[start:], n) if n > len(base) - start else base[start : start + n]
    return (x * rng.uniform(0.5, 2.0)).astype(np.float32)


def _base(rng: np.random.Generator) -> np.ndarray:
    t = np.arange(1 << 22) / 100.0
    return (np.sin(t) + np.sin(0.37 * t) + 0.3 * rng.standard_normal(t.size)).astype(np.float32)


def make_files(folder: Path, gb: float, seed: int = 0) -> int:
    """``gb`` GB of one-channel ``.npy`` files of :data:`FILE_SAMPLES` samples."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    base = _base(rng)
    count = max(2, round(gb * 1e9 / (4 * FILE_SAMPLES)))
    for i in range(count):
        np.save(folder / f"rec{i:06d}.npy", _signal(rng, FILE_SAMPLES, base)[None])
    return count


def make_h5(path: Path, gb: float, seed: int = 0) -> int:
    """One chunked HDF5 dataset ``(1, samples)`` of ``gb`` GB, written chunk by chunk."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = _base(rng)
    total = int(gb * 1e9 / 4) // H5_CHUNK * H5_CHUNK
    with h5py.File(path, "w") as handle:
        data = handle.create_dataset("data", (1, total), "float32", chunks=(1, H5_CHUNK))
        for a in range(0, total, H5_CHUNK):
            data[0, a : a + H5_CHUNK] = _signal(rng, H5_CHUNK, base)
    return total


def make_long_npy(path: Path, gb: float, seed: int = 0) -> int:
    """One ``(1, samples)`` float32 ``.npy`` of ``gb`` GB, written block by block."""
    rng = np.random.default_rng(seed)
    base = _base(rng)
    total = int(gb * 1e9 / 4)
    with open(path, "wb") as handle:
        header = {"descr": "<f4", "fortran_order": False, "shape": (1, total)}
        np.lib.format.write_array_header_2_0(handle, header)
        for a in range(0, total, 1 << 24):
            handle.write(_signal(rng, min(1 << 24, total - a), base).tobytes())
    return total


# --------------------------------------------------------------------------------------------
# Measuring


def _tree(pid: int) -> list[int]:
    """The process and its descendants (from /proc)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                pass
    return found


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd``; its wall time, the peak RSS of its process tree together and of its
    largest process, sampled every 50 ms."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = {"tree": 0, "process": 0}

    def sample() -> None:
        while proc.poll() is None:
            sizes = [_rss(p) for p in _tree(proc.pid)]
            peak["tree"] = max(peak["tree"], sum(sizes))
            peak["process"] = max(peak["process"], max(sizes, default=0))
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, err = proc.communicate()
    thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err.decode()[-2000:]}")
    return {"seconds": time.perf_counter() - start, "peak_rss_gb": peak["tree"] / 1e9,
            "largest_process_gb": peak["process"] / 1e9}  # fmt: skip


def _gb(n: float) -> str:
    return f"{n:.2f} GB"


# --------------------------------------------------------------------------------------------
# The three measurements


def bench_train(data: Path, out: Path, steps: int, loading: str, workers: int) -> dict:
    """A run of ``steps`` steps; steps per second from the epoch's time in metrics.json."""
    cmd = [sys.executable, "-m", "mdnc", "train", str(data), *TRAIN, "--loading", loading,
           "--steps-per-epoch", str(steps), "--workers", str(workers),
           "--out", str(out)]  # fmt: skip
    found = measure(cmd)
    epoch = json.loads((out / "metrics.json").read_text())["epochs"][0]
    found["steps_per_s"] = steps / epoch["seconds"]
    shutil.rmtree(out)
    return found


def bench_torchrun(data: Path, out: Path, steps: int) -> dict:
    """2 processes on lazily read data: the peak RSS of the largest process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node=2",
           f"--master-port={29700 + os.getpid() % 500}", "-m", "mdnc", "train", str(data),
           *TRAIN, "--loading", "lazy", "--steps-per-epoch", str(steps),
           "--out", str(out)]  # fmt: skip
    found = measure(cmd, env)
    shutil.rmtree(out)
    return found


def bench_denoise(root: Path, gb: float) -> dict:
    """``mdnc denoise`` of one long recording with a small AE1d, and the identity check."""
    import torch

    from mdnc.checkpoint import build_model, model_config, save_checkpoint

    long = root / "long.npy"
    samples = make_long_npy(long, gb)
    run = root / "run"
    torch.manual_seed(0)
    net = build_model(model_config("AE1d", channel=4, layers=[1, 1], in_planes=1, out_planes=1))
    save_checkpoint(run, net, extra={"window": 4096})
    cmd = [sys.executable, "-m", "mdnc", "denoise", "--checkpoint", str(run), str(long),
           "--output", str(root / "denoised.npy"), "--overlap", "0.25", "--quiet"]  # fmt: skip
    found = {"samples": samples, "denoise": measure(cmd)}
    found["denoise"]["samples_per_s"] = samples / found["denoise"]["seconds"]
    (root / "denoised.npy").unlink()
    code = (
        "import sys; from mdnc.inference import stream_overlap_add; "
        "stream_overlap_add(lambda x: x, sys.argv[1], sys.argv[2], window=4096)"
    )
    ident = root / "identity.npy"
    found["identity"] = measure([sys.executable, "-c", code, str(long), str(ident)])
    found["identity"]["bit_exact"] = _same_samples(long, ident)
    long.unlink()
    ident.unlink()
    return found


def _same_samples(a: Path, b: Path) -> bool:
    x, y = np.load(a, mmap_mode="r"), np.load(b, mmap_mode="r")
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    step = 1 << 24
    return all(
        np.array_equal(x[:, i : i + step], y[:, i : i + step]) for i in range(0, x.shape[1], step)
    )


# --------------------------------------------------------------------------------------------


def run_sizes(root: Path, sizes: list[float], steps: int, workers: int) -> dict:
    results: dict = {}
    for gb in sizes:
        for layout in ("npy", "h5"):
            data = root / f"{layout}-{gb:g}gb"
            t = time.perf_counter()
            made = make_files(data, gb) if layout == "npy" else make_h5(data / "all.h5", gb)
            row = {"files_or_samples": made, "generate_s": time.perf_counter() - t}
            row["lazy"] = bench_train(data, root / "out", steps, "lazy", workers)
            if gb == sizes[0]:
                row["memory"] = bench_train(data, root / "out", steps, "memory", workers)
            row["torchrun"] = bench_torchrun(data, root / "out", steps)
            results[f"{layout} {gb:g} GB"] = row
            shutil.rmtree(data)
            _print_row(f"{layout} {gb:g} GB", row)
    return results


def _print_row(name: str, row: dict) -> None:
    lazy = row["lazy"]
    text = (f"{name:>12}: lazy peak RSS {_gb(lazy['peak_rss_gb'])}, "
            f"{lazy['steps_per_s']:.1f} steps/s, {lazy['seconds']:.0f} s in all")  # fmt: skip
    if "memory" in row:
        mem = row["memory"]
        text += (f"; in memory {_gb(mem['peak_rss_gb'])}, {mem['steps_per_s']:.1f} steps/s "
                 f"(lazy/memory {lazy['steps_per_s'] / mem['steps_per_s']:.2f})")  # fmt: skip
    if "torchrun" in row:
        text += f"; torchrun x2 largest process {_gb(row['torchrun']['largest_process_gb'])}"
    print(text, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/mdnc-scale"))
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 4, 16], metavar="GB")
    parser.add_argument("--steps", type=int, default=200, help="training steps per run")
    parser.add_argument("--workers", type=int, default=1, help="DataLoader workers")
    parser.add_argument("--denoise-gb", type=float, default=8.0, help="0: no denoise part")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.root.exists():
        raise SystemExit(f"{args.root} exists; give a new folder (it is removed at the end)")
    args.root.mkdir(parents=True)
    try:
        print(f"host: {host_line()}")
        results = {"host": host_info()}
        results["train"] = run_sizes(args.root, sorted(args.sizes), args.steps, args.workers)
        if args.denoise_gb > 0:
            results["denoise"] = found = bench_denoise(args.root, args.denoise_gb)
            d, i = found["denoise"], found["identity"]
            print(f"denoise {args.denoise_gb:g} GB ({found['samples']:.3g} samples): peak RSS "
                  f"{_gb(d['peak_rss_gb'])}, {d['samples_per_s'] / 1e6:.2f} M samples/s; "
                  f"identity: peak RSS {_gb(i['peak_rss_gb'])}, "
                  f"bit exact {i['bit_exact']}")  # fmt: skip
    finally:
        shutil.rmtree(args.root, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
