"""The main job (``make demo``): train on synthetic signals, denoise a held-out recording.

1. ``mdnc train --out runs/demo --epochs 30``: a UNet1d (default options) on the built-in
   synthetic data set with gaussian noise at 5 dB SNR, on a short schedule (the default is
   60 epochs).
2. A new synthetic recording, never seen in training, gets the same noise and is written
   to ``runs/demo/heldout/noisy.npy`` (its clean version beside it).
3. ``mdnc denoise`` cleans it into ``runs/demo/heldout/denoised.npy``; the SNR before and
   after is printed and saved to ``runs/demo/heldout/snr.json``.

Usage: ``python -m mdnc.examples.demo [RUN_DIR] [extra mdnc train options]``.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from mdnc.cli import main
from mdnc.data import add_gaussian_noise, make_synthetic, snr_db

HELDOUT_SEED = 20_261_125
SNR_DB = 5.0
DEMO_EPOCHS = 30


def run(out: Path, train_options: list[str]) -> dict[str, float]:
    """Run the three steps; return the held-out SNRs."""
    began = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)  # the demo's own folder: start afresh every time
    options = ["--epochs", str(DEMO_EPOCHS), *train_options]
    if main(["train", "--out", str(out), "--snr-db", str(SNR_DB), *options]) != 0:
        raise SystemExit("mdnc train failed")
    heldout = out / "heldout"
    heldout.mkdir()
    clean = make_synthetic(1, 20_000, seed=HELDOUT_SEED)[0]
    noisy = add_gaussian_noise(clean, SNR_DB, np.random.default_rng(HELDOUT_SEED)).astype(
        np.float32
    )
    np.save(heldout / "clean.npy", clean)
    np.save(heldout / "noisy.npy", noisy)
    code = main(
        [
            "denoise",
            "--checkpoint",
            str(out),
            str(heldout / "noisy.npy"),
            "--output",
            str(heldout / "denoised.npy"),
            "--quiet",
        ]
    )
    if code != 0:
        raise SystemExit("mdnc denoise failed")
    denoised = np.load(heldout / "denoised.npy")
    result = {"snr_in_db": snr_db(clean, noisy), "snr_out_db": snr_db(clean, denoised)}
    result["snr_gain_db"] = result["snr_out_db"] - result["snr_in_db"]
    result["seconds"] = time.perf_counter() - began
    (heldout / "snr.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    target = (
        Path(sys.argv[1])
        if len(sys.argv) > 1 and not sys.argv[1].startswith("-")
        else Path("runs/demo")
    )
    extra = sys.argv[2:] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else sys.argv[1:]
    r = run(target, extra)
    print(
        f"held-out recording: SNR {r['snr_in_db']:.2f} dB -> {r['snr_out_db']:.2f} dB "
        f"({r['snr_gain_db']:+.2f} dB) in {r['seconds']:.0f} s\n"
        f"report: {target}/metrics.json, {target}/loss.png, {target}/examples.png; "
        f"held-out files in {target}/heldout/"
    )
