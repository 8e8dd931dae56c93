"""Denoising without clean data: self-supervised (and noise2noise) training against the
best tuned classical smoothers and supervised training, on the same recordings.

The protocol of the self-supervised acceptance check: every recording gets one noisy
realisation (white gaussian noise at ``--snr-db``); the network is trained on the noisy
recordings only (all of them, its own validation split included, as a user would), then
every recording is denoised with the run's best weights and scored against its clean
truth (mean SNR over recordings). Savitzky-Golay and Wiener filters are tuned on that same
clean truth (their best case). For reference, a supervised run trains on the clean
recordings with fresh noise, and a noise2noise run on two noisy realisations.

Data: ``.npy``/``.wav``/... files (each cut into ``--chunk``-sample recordings), or a
built-in set: ``sharp-steps`` (piecewise-constant levels held 10-200 samples, abrupt
jumps), ``short-steps`` (held 3-30 samples), ``telegraph`` (two levels, held 3-30
samples), ``synthetic`` (the built-in data set, all
families) or one family of :mod:`mdnc.data.synthetic` (``sines``, ``steps``, ``spikes``,
``ar``, ``chirps``).

Example:
    python benchmarks/without_clean_data.py sharp-steps --objectives self-supervised supervised
    python benchmarks/without_clean_data.py ecg.npy --options '{"mask_fraction": 0.125}'
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mdnc._host import host_info
from mdnc.checkpoint import load_checkpoint
from mdnc.data import FAMILIES, get_noise_model, make_synthetic, read_recordings, snr_db
from mdnc.inference import apply_overlap_add
from mdnc.training import TrainConfig, train

try:  # run as a script from the repository root, or as benchmarks.without_clean_data
    from denoise_vs_classical import best_savgol, best_wiener
except ImportError:
    from benchmarks.denoise_vs_classical import best_savgol, best_wiener


def sharp_steps(n: int, length: int, seed: int, holds: tuple[int, int] = (10, 200),
                levels: tuple[float, ...] | None = None) -> list[np.ndarray]:  # fmt: skip
    """Piecewise-constant recordings: levels held ``holds`` samples, abrupt jumps; each
    level drawn from a standard normal, or from ``levels`` (a telegraph signal)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        runs, total = [], 0
        while total < length:
            hold = int(rng.integers(holds[0], holds[1] + 1))
            runs.append(np.full(hold, rng.choice(levels) if levels else rng.normal()))
            total += hold
        x = np.concatenate(runs)[:length]
        out.append(((x - x.mean()) / (x.std() + 1e-12)).astype(np.float32)[None])
    return out


def load_data(source: str, n: int, length: int, seed: int) -> list[np.ndarray]:
    """The clean recordings of ``source`` (a built-in set or files), ``length`` samples each."""
    if source == "sharp-steps":
        return sharp_steps(n, length, seed)
    if source == "short-steps":
        return sharp_steps(n, length, seed, holds=(3, 30))
    if source == "telegraph":
        return sharp_steps(n, length, seed, holds=(3, 30), levels=(-1.0, 1.0))
    if source in FAMILIES or source == "synthetic":
        families = None if source == "synthetic" else [source]
        return make_synthetic(n, length, seed=seed, families=families)
    out = []
    for rec in read_recordings([source]):
        x = rec.data
        out += [x[:, i : i + length] for i in range(0, x.shape[-1] - length + 1, length)]
    return [((x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True)).astype(np.float32)
            for x in out[:n]]  # fmt: skip


def mean_snr(clean: list, estimates: list) -> float:
    """The mean SNR (dB) of estimates against their clean recordings."""
    return float(np.mean([snr_db(c, e) for c, e in zip(clean, estimates, strict=True)]))


def denoised_snr(run: Path, clean: list, noisy: list, window: int) -> dict[str, float]:
    """Mean SNR of the run's best and last weights over all recordings."""
    found = {}
    for weights in ("best", "last"):
        model, _ = load_checkpoint(run, weights=weights)
        outs = [apply_overlap_add(model, x, window=window, standardize=True) for x in noisy]
        found[weights] = mean_snr(clean, outs)
    return found


def run_objective(objective: str, config: TrainConfig, clean: list, noisy: list,
                  second: list, out: Path, snr: float) -> dict:  # fmt: skip
    """Train one objective on the data it may see; score it on the clean truth."""
    began = time.perf_counter()
    c = dataclasses.replace(config, objective=objective.removesuffix("-pairs"))
    if objective == "supervised":
        train(dataclasses.replace(c, snr_db=snr), clean, out, progress=False)
    elif objective == "supervised-pairs":  # clean targets, the same noisy inputs as noise2noise
        train(c, clean, out, noisy=noisy, progress=False)
    elif objective == "noise2noise":
        train(c, noisy, out, noisy=second, truth=clean, progress=False)
    else:
        train(c, noisy, out, truth=clean, progress=False)
    result = denoised_snr(out, clean, noisy, c.window)
    metrics = json.loads((out / "metrics.json").read_text())
    result.update(seconds=time.perf_counter() - began, epochs=metrics["config"]["epochs"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", help="sharp-steps, a synthetic family, or a recording file")
    parser.add_argument("--recordings", type=int, default=40)
    parser.add_argument("--chunk", type=int, default=4000, help="samples per recording")
    parser.add_argument("--snr-db", type=float, default=5.0)
    parser.add_argument("--noise", default="gaussian", help="the noise model (default gaussian)")
    parser.add_argument(
        "--objectives",
        nargs="+",
        default=["self-supervised", "supervised"],
        help="self-supervised, noise2noise, supervised (fresh noise every epoch) or "
        "supervised-pairs (the fixed noisy realisation as input, as noise2noise has)",
    )
    parser.add_argument("--options", default="{}", help="TrainConfig options as JSON")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--json", help="append the result as one JSON line to this file")
    parser.add_argument("--out", help="keep the run folders here (default: a temporary folder)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    clean = load_data(args.source, args.recordings, args.chunk, seed=7)
    rng = np.random.default_rng(11)
    noise = get_noise_model(args.noise)
    noisy = [noise.add(c, args.snr_db, rng).astype(np.float32) for c in clean]
    second = [noise.add(c, args.snr_db, rng).astype(np.float32) for c in clean]
    result = {"host": host_info(), "source": args.source, "noise": args.noise,
              "recordings": len(clean),
              "options": json.loads(args.options),
              "input_db": mean_snr(clean, noisy)}  # fmt: skip
    # Tuned on the clean truth of the very recordings scored, over wide grids (windows up
    # to 201 samples; Wiener also with the true noise power): the smoothers' best case.
    noise_var = [float(np.mean((x - c) ** 2)) for c, x in zip(clean, noisy, strict=True)]
    result["savgol_db"], result["savgol"] = best_savgol(clean, noisy)
    result["wiener_db"], result["wiener"] = best_wiener(clean, noisy, noise_var)
    config = TrainConfig(**{"noise": args.noise, **json.loads(args.options)})
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(args.out) if args.out else Path(tmp)
        for objective in args.objectives:
            result[objective] = run_objective(
                objective, config, clean, noisy, second, runs / objective, args.snr_db
            )
    print(json.dumps(result))
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
