"""mdnc's default denoiser against the best tuned classical smoothers, on the same data.

Recordings are split into a training part and a held-out test part (by recording). The
test recordings get noise at ``--snr-db`` (white gaussian, or ``--noise KIND``: pink,
brown, hum, impulsive); mdnc is trained with its default
options (``mdnc.training.TrainConfig``) on the training part, and compared on the test
part with Savitzky-Golay and Wiener filters whose parameters are tuned on the test
recordings themselves (the classical filters' best case). Prints a table and writes JSON.

Example:
    python benchmarks/denoise_vs_classical.py recordings/*.npy --snr-db 5
    python benchmarks/denoise_vs_classical.py long.npy --chunk 2000   # cut into recordings
    python benchmarks/denoise_vs_classical.py ecg.npy --chunk 2000 --noise pink
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from mdnc._host import host_info
from mdnc.data import get_noise_model, read_recordings, snr_db
from mdnc.inference import apply_overlap_add
from mdnc.training import TrainConfig, split_recordings, train


def _chunks(recordings: list[np.ndarray], length: int | None) -> list[np.ndarray]:
    if not length:
        return recordings
    out = []
    for r in recordings:
        out += [r[:, i : i + length] for i in range(0, r.shape[-1] - length + 1, length)]
    return out


def best_savgol(clean: list[np.ndarray], noisy: list[np.ndarray]) -> tuple[float, dict]:
    """The Savitzky-Golay filter of the best mean SNR over a grid of windows and orders."""
    from scipy.signal import savgol_filter

    best = (-np.inf, {})
    for window in range(5, 202, 2):
        for order in range(0, 6):
            if order >= window:
                continue
            snr = np.mean(
                [
                    snr_db(c, savgol_filter(n, window, order, axis=-1))
                    for c, n in zip(clean, noisy, strict=True)
                ]
            )
            best = max(
                best, (float(snr), {"window": window, "polyorder": order}), key=lambda b: b[0]
            )
    return best


def best_wiener(
    clean: list[np.ndarray], noisy: list[np.ndarray], noise_var: list[float]
) -> tuple[float, dict]:
    """The Wiener filter of the best mean SNR over sizes, with estimated or true noise power."""
    from scipy.signal import wiener

    best = (-np.inf, {})
    for size in range(3, 202, 2):
        for known in (False, True):
            snr = np.mean([
                snr_db(c, np.stack([wiener(ch, size, v if known else None) for ch in n]))
                for c, n, v in zip(clean, noisy, noise_var, strict=True)
            ])  # fmt: skip
            best = max(
                best, (float(snr), {"mysize": size, "true_noise": known}), key=lambda b: b[0]
            )
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", nargs="+", help="files or folders of clean recordings")
    parser.add_argument("--snr-db", type=float, default=5.0)
    parser.add_argument("--noise", default="gaussian", help="the noise model (default gaussian)")
    parser.add_argument("--chunk", type=int, help="cut recordings into pieces of this length")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, help="override the default number of epochs")
    parser.add_argument("--out", default="runs/bench_classical", help="run folder and results")
    args = parser.parse_args()

    recordings = _chunks([r.data for r in read_recordings(args.data)], args.chunk)
    train_set, test_clean, _, _ = split_recordings(recordings, args.test_fraction, seed=123)
    rng = np.random.default_rng(7)
    noise = get_noise_model(args.noise)
    test_noisy = [noise.add(c, args.snr_db, rng).astype(np.float32) for c in test_clean]
    noise_var = [float(np.mean((n - c) ** 2)) for c, n in zip(test_clean, test_noisy, strict=True)]

    config = TrainConfig(snr_db=args.snr_db, noise=args.noise)
    if args.epochs:
        config.epochs = args.epochs
    out = Path(args.out)
    began = time.perf_counter()
    train(config, train_set, out / "run", progress=False)
    train_seconds = time.perf_counter() - began
    from mdnc import load

    model = load(out / "run")
    denoised = [
        apply_overlap_add(model, n, window=config.window, standardize=config.standardize)
        for n in test_noisy
    ]
    results = {
        "host": host_info(),
        "recordings": {"train": len(train_set), "test": len(test_clean)},
        "snr_in_db": float(
            np.mean([snr_db(c, n) for c, n in zip(test_clean, test_noisy, strict=True)])
        ),
        "mdnc_db": float(
            np.mean([snr_db(c, d) for c, d in zip(test_clean, denoised, strict=True)])
        ),
        "train_seconds": train_seconds,
        "config": config.__dict__,
    }
    results["savgol_db"], results["savgol"] = best_savgol(test_clean, test_noisy)
    results["wiener_db"], results["wiener"] = best_wiener(test_clean, test_noisy, noise_var)
    best_classical = max(results["savgol_db"], results["wiener_db"])
    results["margin_db"] = results["mdnc_db"] - best_classical
    print(
        f"test recordings: {len(test_clean)}; {args.noise} noise, input SNR "
        f"{results['snr_in_db']:.2f} dB"
    )
    print(f"  mdnc (defaults, {train_seconds:.0f} s training): {results['mdnc_db']:.2f} dB")
    print(f"  Savitzky-Golay, tuned {results['savgol']}: {results['savgol_db']:.2f} dB")
    print(f"  Wiener, tuned {results['wiener']}: {results['wiener_db']:.2f} dB")
    print(f"  margin over the best classical smoother: {results['margin_db']:+.2f} dB")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
