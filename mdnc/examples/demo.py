"""The main job (``make demo``): train on synthetic signals, denoise a held-out recording;
first with clean training data, then from noisy recordings only.

Act 1, supervised (``runs/demo``):

1. ``mdnc train --out runs/demo --epochs 30``: a UNet1d (default options) on the built-in
   synthetic data set with gaussian noise at 5 dB SNR, on a short schedule (the default is
   60 epochs).
2. A new synthetic recording, never seen in training, gets the same noise and is written
   to ``runs/demo/heldout/noisy.npy`` (its clean version beside it).
3. ``mdnc denoise`` cleans it into ``runs/demo/heldout/denoised.npy``; the SNR before and
   after is printed and saved to ``runs/demo/heldout/snr.json``.

Act 2, self-supervised (``runs/demo/self-supervised``): ``mdnc train --objective
self-supervised`` on the same synthetic recordings, but given only one noisy realisation
of each (5 dB), never the clean ones; then the same held-out recording is denoised. The
run's ``metrics.json`` holds the classical baselines (Savitzky-Golay and Wiener, tuned on
the held-out split) that the network is compared with.

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
from mdnc.training.baselines import Baseline, apply_baseline

HELDOUT_SEED = 20_261_125
SNR_DB = 5.0
DEMO_EPOCHS = 30
#: The self-supervised act's schedule (the objective's default is about 4000 steps).
SELF_SUPERVISED_EPOCHS = 60
SELF_SUPERVISED = "self-supervised"


def _heldout(folder: Path) -> Path:
    """Write the held-out recording (noisy and clean) into ``folder``; return the noisy."""
    folder.mkdir(parents=True, exist_ok=True)
    clean = make_synthetic(1, 20_000, seed=HELDOUT_SEED)[0]
    noisy = add_gaussian_noise(clean, SNR_DB, np.random.default_rng(HELDOUT_SEED))
    np.save(folder / "clean.npy", clean)
    np.save(folder / "noisy.npy", noisy.astype(np.float32))
    return folder / "noisy.npy"


def act(out: Path, train_options: list[str]) -> dict[str, float]:
    """Train into ``out``, denoise the held-out recording; return its SNRs (and the
    baselines' held-out SNRs from the run's ``metrics.json``)."""
    began = time.perf_counter()
    if main(["train", "--out", str(out), *train_options]) != 0:
        raise SystemExit("mdnc train failed")
    noisy_path = _heldout(out / "heldout")
    denoised_path = out / "heldout" / "denoised.npy"
    args = ["denoise", "--checkpoint", str(out), str(noisy_path), "--output", str(denoised_path)]
    if main([*args, "--quiet"]) != 0:
        raise SystemExit("mdnc denoise failed")
    clean, noisy = np.load(out / "heldout" / "clean.npy"), np.load(noisy_path)
    result = {"snr_in_db": snr_db(clean, noisy)}
    result["snr_out_db"] = snr_db(clean, np.load(denoised_path))
    result["snr_gain_db"] = result["snr_out_db"] - result["snr_in_db"]
    result["seconds"] = time.perf_counter() - began
    # The classical smoothers with the parameters the run tuned on its validation split.
    baselines = json.loads((out / "metrics.json").read_text()).get("baselines", {})
    for name, found in baselines.items():
        smoothed = apply_baseline(Baseline(name, found["params"], 0.0), noisy)
        result[f"{name}_db"] = snr_db(clean, smoothed)
    (out / "heldout" / "snr.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def run(out: Path, train_options: list[str]) -> dict[str, dict[str, float]]:
    """Both acts; return their results by name."""
    if out.exists():
        shutil.rmtree(out)  # the demo's own folder: start afresh every time
    supervised = act(out, ["--epochs", str(DEMO_EPOCHS), "--snr-db", str(SNR_DB), *train_options])
    second = ["--objective", SELF_SUPERVISED, "--epochs", str(SELF_SUPERVISED_EPOCHS)]
    return {
        "supervised": supervised,
        SELF_SUPERVISED: act(out / SELF_SUPERVISED, [*second, *train_options]),
    }


def summary(results: dict[str, dict[str, float]], target: Path) -> str:
    """What the demo prints: one line per act, then where the files are."""
    lines = []
    for name, r in results.items():
        baselines = ", ".join(
            f"{k.removesuffix('_db')} {v:.2f} dB" for k, v in r.items() if k.endswith("_db")
            and not k.startswith("snr")
        )  # fmt: skip
        lines.append(
            f"{name}: held-out recording: SNR {r['snr_in_db']:.2f} dB -> {r['snr_out_db']:.2f} dB "
            f"({r['snr_gain_db']:+.2f} dB) in {r['seconds']:.0f} s"
            + (f"; classical smoothers: {baselines}" if baselines else "")
        )
    lines.append(
        f"reports: {target}/ and {target}/{SELF_SUPERVISED}/ (metrics.json, loss.png, "
        "examples.png); held-out files in heldout/ of each"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    first = len(sys.argv) > 1 and not sys.argv[1].startswith("-")
    target = Path(sys.argv[1]) if first else Path("runs/demo")
    print(summary(run(target, sys.argv[2:] if first else sys.argv[1:]), target))
