"""The report of a run folder: ``metrics.json``, ``loss.png``, ``examples.png``, epoch lines.

* ``metrics.json``: the per-epoch rows (train/validation losses and, on the held-out
  recordings, ``snr_in_db``, ``snr_out_db``, ``snr_gain_db``), the last epoch's values at
  the top, and the options; non-finite numbers are written as ``null`` (valid JSON).
* ``loss.png``: the loss curves and the held-out SNR per epoch.
* ``examples.png``: input, target and output of a few held-out windows.

Every file is written atomically (a killed run never leaves half a file).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mdnc._utils import atomic_path, finite_json, write_json_atomic

__all__ = ["METRICS_NAME", "finite_json", "summary_line", "write_report"]

METRICS_NAME = "metrics.json"
#: The pictures of a run folder.
LOSS_PLOT_NAME = "loss.png"
EXAMPLES_PLOT_NAME = "examples.png"
#: The values of the last epoch copied to the top of ``metrics.json``.
HEADLINE = (
    "snr_in_db", "snr_out_db", "snr_gain_db", "si_sdr_db", "rmse", "prd", "corr",
    "residual_whiteness", "residual_output_corr", "residual_acf", "acf_bound", "train_loss",
    "val_loss",
)  # fmt: skip


def _pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (imported lazily: it is heavy)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> None:
    """Save a figure as PNG atomically and close it."""
    fig.tight_layout()
    try:
        with atomic_path(path, ".png") as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        _pyplot().close(fig)


def loss_name(config: Any) -> str:
    """What the losses of a run measure: the squared error of standardised windows, or the
    negative log-likelihood of a predicted distribution (self-supervised training of a
    blind-spot network with ``prior_components``)."""
    kwargs = config.model_config(1)["kwargs"]
    return "negative log-likelihood" if kwargs.get("components") else "MSE (standardised)"


def plot_losses(
    path: Path,
    history: Sequence[dict[str, Any]],
    baselines: dict[str, dict[str, Any]],
    loss_name: str = "MSE (standardised)",
) -> None:
    """``loss.png``: training/validation loss (``loss_name`` on the axis) and held-out SNR
    per epoch (the baselines' SNR as horizontal lines)."""
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_snr) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], label="train")
    if any(h.get("val_loss") is not None for h in history):
        ax_loss.plot(epochs, [h.get("val_loss") for h in history], label="validation")
    losses = [h.get(k) for h in history for k in ("train_loss", "val_loss")]
    # A negative log-likelihood (a predicted distribution) may be <= 0: no log scale then.
    positive = all(v is None or v > 0 for v in losses)
    ax_loss.set(xlabel="epoch", ylabel=loss_name, yscale="log" if positive else "linear",
                title="loss")  # fmt: skip
    ax_loss.legend()
    if any(h.get("snr_out_db") is not None for h in history):
        ax_snr.plot(epochs, [h.get("snr_out_db") for h in history], label="output")
        if any(h.get("snr_in_db") is not None for h in history):
            ax_snr.plot(epochs, [h.get("snr_in_db") for h in history], "--", label="input")
        for (name, b), colour in zip(baselines.items(), ("tab:green", "tab:blue"), strict=False):
            if b.get("snr_out_db") is not None:
                ax_snr.axhline(b["snr_out_db"], color=colour, ls=":", label=name)
        ax_snr.legend()
    ax_snr.set(xlabel="epoch", ylabel="dB", title="SNR on held-out recordings")
    save_figure(fig, path)


def plot_examples(
    path: Path,
    references: Sequence[np.ndarray],
    inputs: Sequence[np.ndarray],
    outputs: Sequence[np.ndarray],
    window: int,
    count: int,
    baselines: dict[str, Sequence[np.ndarray]] | None = None,
) -> None:
    """``examples.png``: input, target, output (and the baselines' outputs) of ``count``
    held-out windows."""
    plt = _pyplot()
    picks = [(i, s) for i in range(len(inputs)) for s in (0, inputs[i].shape[-1] // 2)][:count]
    if not picks:
        return
    fig, axes = plt.subplots(len(picks), 1, figsize=(10, 2.2 * len(picks)), squeeze=False)
    styles = dict(zip(baselines or {}, ("tab:green", "tab:blue", "tab:purple"), strict=False))
    for ax, (i, start) in zip(axes[:, 0], picks, strict=True):
        end = min(start + window, inputs[i].shape[-1])
        t = np.arange(start, end)
        ax.plot(t, inputs[i][0, start:end], color="0.7", lw=0.8, label="input")
        if references:
            ax.plot(t, references[i][0, start:end], color="k", lw=1.0, label="target")
        for name, colour in styles.items():
            ax.plot(t, baselines[name][i][0, start:end], color=colour, lw=0.8, ls="--",
                    label=name)  # fmt: skip
        ax.plot(t, outputs[i][0, start:end], color="tab:red", lw=1.0, label="network")
        ax.set(title=f"held-out recording {i}, samples {start}-{end} (channel 0)")
    axes[0, 0].legend(loc="upper right", ncol=3 + len(styles))
    save_figure(fig, path)


def write_report(
    out: Path,
    config: Any,
    history: list[dict[str, Any]],
    references: Sequence[np.ndarray] | None = None,
    inputs: Sequence[np.ndarray] = (),
    outputs: Sequence[np.ndarray] = (),
    plots: bool = True,
    *,
    baselines: dict[str, dict[str, Any]] | None = None,
    baseline_outputs: dict[str, Sequence[np.ndarray]] | None = None,
    best: dict[str, Any] | None = None,
    recordings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``metrics.json`` (and the pictures) for ``history``; return the metrics.

    Args:
        out: the run folder.
        config: the run's options (a dataclass, stored under ``"config"``).
        history: the per-epoch rows so far.
        references: clean held-out recordings (targets), if any.
        inputs: the held-out recordings the network denoised.
        outputs: its outputs; ``examples.png`` is drawn only when given.
        plots: redraw ``loss.png``.
        baselines: the classical smoothers' parameters and metrics, by name.
        baseline_outputs: their outputs on ``inputs``, by name, for ``examples.png``.
        best: ``{"epoch", "val_loss"}`` of the weights in ``best.safetensors``.
        recordings: what the recordings' files said (``sample_rate``, ``channel_names``).
    """
    out.mkdir(parents=True, exist_ok=True)
    last = history[-1]
    metrics: dict[str, Any] = {key: last.get(key) for key in HEADLINE if key in last}
    metrics.update(best=best, baselines=baselines or {}, recordings=recordings or {})
    metrics.update({"epochs": history, "config": config.flat()})
    metrics = finite_json(metrics)
    write_json_atomic(out / METRICS_NAME, metrics)
    if plots:
        plot_losses(out / LOSS_PLOT_NAME, history, baselines or {}, loss_name(config))
    if outputs:
        plot_examples(
            out / EXAMPLES_PLOT_NAME, references or [], inputs, outputs, config.window,
            config.examples, baseline_outputs,
        )  # fmt: skip
    return metrics


def _residual_text(row: dict[str, Any]) -> str:
    return f"{row['residual_whiteness']:.3f}/{row['residual_output_corr']:+.3f}"


def summary_line(
    row: dict[str, Any], epochs: int, baselines: dict[str, dict[str, Any]] | None = None
) -> str:
    """The one-line summary of an epoch printed during training, with the baselines'
    figures beside the network's: output SNR with clean references, else the residual's
    whiteness (max |autocorrelation| at lags 1-10) / correlation with the output."""
    parts = [f"epoch {row['epoch']}/{epochs}", f"train {row['train_loss']:.4f}"]
    if row.get("val_loss") is not None:
        parts.append(f"val {row['val_loss']:.4f}")
    baselines = baselines or {}
    if row.get("snr_gain_db") is not None:
        parts.append(
            f"SNR {row['snr_in_db']:.2f} -> {row['snr_out_db']:.2f} dB ({row['snr_gain_db']:+.2f})"
        )
        parts += [f"{name} {b['snr_out_db']:.2f}" for name, b in baselines.items()]
    elif row.get("snr_out_db") is not None:
        parts.append(f"reconstruction SNR {row['snr_out_db']:.2f} dB")
    elif row.get("residual_whiteness") is not None:
        parts.append(f"residual acf/corr {_residual_text(row)}")
        parts += [f"{name} {_residual_text(b)}" for name, b in baselines.items()]
    if row.get("blend") is not None:
        parts.append(f"blend {row['blend']:.3f}")
    parts.append(f"{row['seconds']:.1f}s")
    return "  ".join(parts)
