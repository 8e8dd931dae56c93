"""Training of denoising / reconstruction auto-encoders on 1-D recordings.

One loop serves a single process and ``torchrun`` (``DistributedDataParallel`` with a
``DistributedSampler``: gloo on CPU, nccl on GPU). Every epoch ends with a checkpoint
(weights, optimizer, scheduler, history; see :mod:`mdnc.checkpoint`) and the report files
of the run folder, written by rank 0 only:

* ``metrics.json``: per-epoch train/validation losses and, on the held-out recordings,
  ``snr_in_db``, ``snr_out_db`` and ``snr_gain_db``; the last epoch's values at the top;
* ``loss.png``: the loss curves; ``examples.png``: input, target and output of a few
  held-out windows.

A killed run resumes from its last checkpoint (:func:`train` with ``resume=True``) and
finishes the same schedule as an uninterrupted one.

Example:
    >>> from mdnc.data import make_synthetic
    >>> from mdnc.training import TrainConfig, train
    >>> clean = make_synthetic(20, 2000)
    >>> metrics = train(TrainConfig(epochs=2, snr_db=5.0), clean, out="runs/x")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from mdnc.checkpoint import (
    CheckpointError,
    build_model,
    load_checkpoint,
    load_training_state,
    model_config,
)
from mdnc.checkpoint import save_checkpoint as _save_checkpoint
from mdnc.data import WindowDataset, add_gaussian_noise, snr_db
from mdnc.inference import apply_overlap_add

__all__ = [
    "TrainConfig",
    "auto_epochs",
    "train",
    "resolve_device",
    "split_recordings",
    "evaluate_recordings",
]

METRICS_NAME = "metrics.json"


@dataclass
class TrainConfig:
    """Options of a training run (all JSON-serialisable; stored in the checkpoint).

    Attributes:
        arch: ``"UNet1d"`` or ``"AE1d"``.
        channel: width of the first stage.
        layers: blocks per stage.
        block: ``"bottleneck"`` or ``"plain"``.
        kernel_size: odd kernel size of the blocks.
        window: samples per training window.
        hop: samples between window starts; default ``window // 2``.
        batch_size: windows per optimizer step (the global batch under ``torchrun``).
        epochs: passes over the training windows; None (default) picks about 4000
            optimizer steps, between 10 and 60 epochs (:func:`auto_epochs`), so that small
            data sets get 60 epochs and large ones stay within minutes on a CPU.
        lr: peak learning rate of Adam (cosine decay to 5% over the run).
        snr_db: SNR of the gaussian noise added to clean windows; None with paired noisy
            recordings, or for a reconstruction auto-encoder.
        val_fraction: fraction of the recordings held out (at least one when there are
            several; the tail of the recording when there is one).
        seed: seed of the split, the noise and the initialisation.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or a device string.
        amp: bfloat16 autocast on GPU.
        standardize: standardise every window by its own mean and std (the output is
            mapped back with the input's statistics).
        workers: ``DataLoader`` worker processes.
        examples: number of held-out windows shown in ``examples.png``.
    """

    arch: str = "UNet1d"
    channel: int = 16
    layers: list[int] = field(default_factory=lambda: [2, 2, 2, 2])
    block: str = "bottleneck"
    kernel_size: int = 3
    window: int = 512
    hop: int | None = None
    batch_size: int = 16
    epochs: int | None = None
    lr: float = 2e-3
    snr_db: float | None = None
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    amp: bool = False
    standardize: bool = True
    workers: int = 0
    examples: int = 4

    def __post_init__(self) -> None:
        if self.arch not in ("UNet1d", "AE1d"):
            raise ValueError(f"arch must be 'UNet1d' or 'AE1d', got {self.arch!r}.")
        for name in ("window", "batch_size", "epochs", "channel"):
            value = getattr(self, name)
            if name == "epochs" and value is None:
                continue
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}.")
        if self.hop is not None and (not isinstance(self.hop, int) or self.hop < 1):
            raise ValueError(f"hop must be an int >= 1 or None, got {self.hop!r}.")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction!r}.")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a positive number, got {self.lr!r}.")
        self.layers = list(self.layers)

    def model_config(self, channels: int) -> dict[str, Any]:
        """The checkpoint recipe of the network for recordings of ``channels`` channels."""
        return model_config(
            self.arch,
            channel=self.channel,
            layers=list(self.layers),
            block=self.block,
            kernel_size=self.kernel_size,
            in_planes=channels,
            out_planes=channels,
        )


def auto_epochs(steps_per_epoch: int, target_steps: int = 4000) -> int:
    """The default schedule: about ``target_steps`` optimizer steps, 10 to 60 epochs.

    Example:
        >>> auto_epochs(30), auto_epochs(390)
        (60, 11)
    """
    return max(10, min(60, math.ceil(target_steps / max(steps_per_epoch, 1))))


def resolve_device(name: str) -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; any other name is used as given.

    Raises:
        ValueError: CUDA is asked for but not available, or the name is not a device.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {name!r}."
        ) from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for, but CUDA is not available here.")
    return device


def split_recordings(
    clean: Sequence[np.ndarray], val_fraction: float, seed: int
) -> tuple[list[np.ndarray], list[np.ndarray], list[int], list[int]]:
    """Split recordings into training and held-out ones, reproducibly.

    With one recording, its last ``val_fraction`` (at least one window's worth is the
    caller's concern) is held out instead.

    Returns:
        ``(train, held_out, train_indices, held_out_indices)``; with one recording both
        index lists are ``[0]``.
    """
    if val_fraction == 0:
        return list(clean), [], list(range(len(clean))), []
    if len(clean) == 1:
        cut = int(round(clean[0].shape[-1] * (1 - val_fraction)))
        return [clean[0][:, :cut]], [clean[0][:, cut:]], [0], [0]
    order = np.random.default_rng(seed).permutation(len(clean))
    n_val = min(len(clean) - 1, max(1, int(round(len(clean) * val_fraction))))
    val, tr = sorted(order[:n_val].tolist()), sorted(order[n_val:].tolist())
    return [clean[i] for i in tr], [clean[i] for i in val], tr, val


def evaluate_recordings(
    model: nn.Module,
    clean: Sequence[np.ndarray],
    noisy: Sequence[np.ndarray],
    window: int,
    standardize: bool,
    batch_size: int = 16,
) -> tuple[dict[str, float], list[np.ndarray]]:
    """Denoise whole held-out recordings and measure the SNR before and after (in dB).

    Returns:
        ``({"snr_in_db", "snr_out_db", "snr_gain_db"}, outputs)``, means over recordings.
    """
    outputs = [
        apply_overlap_add(
            model, x, window=window, overlap=0.5, batch_size=batch_size, standardize=standardize
        )
        for x in noisy
    ]
    snr_in = float(np.mean([snr_db(c, n) for c, n in zip(clean, noisy, strict=True)]))
    snr_out = float(np.mean([snr_db(c, o) for c, o in zip(clean, outputs, strict=True)]))
    return {"snr_in_db": snr_in, "snr_out_db": snr_out, "snr_gain_db": snr_out - snr_in}, outputs


class _Distributed:
    """Process-group setup from the ``torchrun`` environment (a no-op otherwise)."""

    def __init__(self, device: torch.device) -> None:
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = device
        if self.world > 1 and not dist.is_initialized():
            if device.type == "cuda":
                self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
                torch.cuda.set_device(self.device)
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _pyplot():  # noqa: ANN202 (matplotlib.pyplot, imported lazily: heavy)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig: Any, path: Path) -> None:
    """Save a figure as PNG atomically (a killed run never leaves half a picture)."""
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=100)
    _pyplot().close(fig)
    os.replace(tmp, path)


def _plot_losses(path: Path, history: list[dict[str, Any]]) -> None:
    plt = _pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_snr) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], label="train")
    if any(h.get("val_loss") is not None for h in history):
        ax_loss.plot(epochs, [h.get("val_loss") for h in history], label="validation")
    ax_loss.set(xlabel="epoch", ylabel="MSE (standardised)", yscale="log", title="loss")
    ax_loss.legend()
    if any(h.get("snr_out_db") is not None for h in history):
        ax_snr.plot(epochs, [h.get("snr_out_db") for h in history], label="output")
        if any(h.get("snr_in_db") is not None for h in history):
            ax_snr.plot(epochs, [h.get("snr_in_db") for h in history], "--", label="input")
        ax_snr.legend()
    ax_snr.set(xlabel="epoch", ylabel="dB", title="SNR on held-out recordings")
    _save_figure(fig, path)


def _plot_examples(
    path: Path,
    clean: Sequence[np.ndarray],
    noisy: Sequence[np.ndarray],
    outputs: Sequence[np.ndarray],
    window: int,
    count: int,
) -> None:
    plt = _pyplot()
    picks = [(i, s) for i in range(len(clean)) for s in (0, clean[i].shape[-1] // 2)][:count]
    fig, axes = plt.subplots(len(picks), 1, figsize=(10, 2.2 * len(picks)), squeeze=False)
    for ax, (i, start) in zip(axes[:, 0], picks, strict=True):
        end = min(start + window, clean[i].shape[-1])
        t = np.arange(start, end)
        ax.plot(t, noisy[i][0, start:end], color="0.7", lw=0.8, label="input")
        ax.plot(t, clean[i][0, start:end], color="k", lw=1.0, label="target")
        ax.plot(t, outputs[i][0, start:end], color="tab:red", lw=1.0, label="output")
        ax.set(title=f"held-out recording {i}, samples {start}-{end} (channel 0)")
    axes[0, 0].legend(loc="upper right", ncol=3)
    _save_figure(fig, path)


def _validation_inputs(
    config: TrainConfig, clean: list[np.ndarray], noisy: list[np.ndarray] | None
) -> list[np.ndarray]:
    if noisy is not None:
        return noisy
    if config.snr_db is None:
        return clean
    rng = np.random.default_rng(config.seed + 1_000_003)
    return [add_gaussian_noise(c, config.snr_db, rng).astype(np.float32) for c in clean]


def _window_loss(
    model: nn.Module, dataset: WindowDataset, batch: int, device: torch.device
) -> float:
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=False)
    total, count = 0.0, 0
    with torch.inference_mode():
        for x, y in loader:
            out = model(x.to(device))
            total += float(nn.functional.mse_loss(out, y.to(device), reduction="sum"))
            count += y.numel()
    return total / max(count, 1)


def train(
    config: TrainConfig,
    clean: Sequence[np.ndarray],
    out: str | os.PathLike[str],
    *,
    noisy: Sequence[np.ndarray] | None = None,
    names: Sequence[str] | None = None,
    resume: bool = False,
    progress: bool = True,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train a network on recordings and write checkpoints and the report into ``out``.

    Args:
        config: the options.
        clean: clean (target) recordings, ``(channels, samples)`` float32 arrays.
        out: the run folder.
        noisy: paired noisy recordings (inputs), one per clean recording; otherwise the
            inputs are ``clean`` plus gaussian noise at ``config.snr_db`` (or ``clean``
            itself for a reconstruction auto-encoder).
        names: names of the recordings for error messages.
        resume: continue from the checkpoint in ``out``.
        progress: show a progress bar per epoch and a summary line per epoch.
        extra: JSON data stored with every checkpoint (e.g. how to reload the data).

    Returns:
        The content of ``metrics.json``.

    Raises:
        DataError: the recordings are unusable (see :class:`mdnc.data.WindowDataset`).
        CheckpointError: ``resume`` with a missing or mismatched checkpoint.
    """
    from tqdm import tqdm

    out = Path(out)
    device = resolve_device(config.device)
    ddp = _Distributed(device)
    device = ddp.device
    try:
        if config.batch_size % ddp.world:
            raise ValueError(
                f"batch_size ({config.batch_size}) must be a multiple of the number of "
                f"processes ({ddp.world})."
            )
        clean = [np.asarray(c, dtype=np.float32).reshape(-1, np.shape(c)[-1]) for c in clean]
        if noisy is not None:
            noisy = [np.asarray(n, dtype=np.float32).reshape(-1, np.shape(n)[-1]) for n in noisy]
        # Checks every recording (names, lengths, channels, finite samples) before the split.
        WindowDataset(clean, config.window, names=names)
        tr_clean, va_clean, tr_idx, va_idx = split_recordings(
            clean, config.val_fraction, config.seed
        )
        if noisy is not None:
            if len(clean) == 1:
                _, va_noisy, _, _ = split_recordings(noisy, config.val_fraction, config.seed)
                tr_noisy = [noisy[0][:, : tr_clean[0].shape[-1]]]
            else:
                tr_noisy, va_noisy = [noisy[i] for i in tr_idx], [noisy[i] for i in va_idx]
        else:
            tr_noisy, va_noisy = None, None
        tr_names = [names[i] for i in tr_idx] if names is not None else None
        hop = config.hop or max(1, config.window // 2)
        dataset = WindowDataset(
            tr_clean,
            config.window,
            hop,
            snr_db=None if tr_noisy else config.snr_db,
            noisy=tr_noisy,
            random_offsets=True,
            standardize=config.standardize,
            seed=config.seed,
            names=tr_names,
        )
        denoising = tr_noisy is not None or config.snr_db is not None
        val_inputs = _validation_inputs(config, va_clean, va_noisy) if va_clean else []
        val_windows = None
        if va_clean and all(c.shape[-1] >= config.window for c in va_clean):
            val_windows = WindowDataset(
                va_clean,
                config.window,
                config.window,
                noisy=val_inputs if denoising else None,
                standardize=config.standardize,
                seed=config.seed + 1,
            )

        torch.manual_seed(config.seed)
        channels = tr_clean[0].shape[0]
        recipe = config.model_config(channels)
        model = build_model(recipe).to(device)
        if config.window < model.min_size[0]:
            raise ValueError(
                f"window ({config.window}) is shorter than this network's minimum input of "
                f"{model.min_size[0]} samples."
            )
        net: nn.Module = model
        if ddp.world > 1:
            net = nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )
        sampler = torch.utils.data.DistributedSampler(
            dataset, num_replicas=ddp.world, rank=ddp.rank, shuffle=True, seed=config.seed
        )
        loader = torch.utils.data.DataLoader(
            dataset,
            batch_size=config.batch_size // ddp.world,
            sampler=sampler,
            drop_last=True,
            num_workers=config.workers,
        )
        if len(loader) == 0:
            raise ValueError(
                f"batch_size ({config.batch_size}) is larger than the {len(dataset)} training "
                f"windows; use a smaller batch or shorter windows."
            )
        if config.epochs is None:
            config = dataclasses.replace(config, epochs=auto_epochs(len(loader)))
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=config.epochs, eta_min=config.lr * 0.05
        )
        history: list[dict[str, Any]] = []
        start_epoch = 0
        if resume:
            history, start_epoch = _restore(out, recipe, model, optimizer, scheduler, device)
        autocast = config.amp and device.type == "cuda"
        metrics: dict[str, Any] = {}
        last_plot = -float("inf")
        for epoch in range(start_epoch, config.epochs):
            began = time.perf_counter()
            dataset.set_epoch(epoch)
            sampler.set_epoch(epoch)
            net.train()
            total, steps = 0.0, 0
            bar = tqdm(
                loader,
                desc=f"epoch {epoch + 1}/{config.epochs}",
                leave=False,
                # None: the bar only on a terminal (logs keep the per-epoch summary lines).
                disable=None if (progress and ddp.main) else True,
                unit="batch",
                dynamic_ncols=True,
            )
            for x, y in bar:
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                    loss = nn.functional.mse_loss(net(x).float(), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += float(loss.detach())
                steps += 1
                bar.set_postfix(loss=f"{total / steps:.4f}")
            scheduler.step()
            train_loss = total / steps
            if ddp.world > 1:
                mean = torch.tensor([train_loss], device=device)
                dist.all_reduce(mean)
                train_loss = float(mean) / ddp.world
            if ddp.main:
                row: dict[str, Any] = {
                    "epoch": epoch + 1,
                    "train_loss": train_loss,
                    "lr": optimizer.param_groups[0]["lr"],
                }
                model.eval()
                if val_windows is not None:
                    row["val_loss"] = _window_loss(model, val_windows, config.batch_size, device)
                outputs: list[np.ndarray] = []
                if va_clean:
                    snr, outputs = evaluate_recordings(
                        model,
                        va_clean,
                        val_inputs,
                        config.window,
                        config.standardize,
                        config.batch_size,
                    )
                    if not denoising:  # reconstruction: the input is the target itself
                        snr.update(snr_in_db=None, snr_gain_db=None)
                    row.update(snr)
                row["seconds"] = time.perf_counter() - began
                history.append(row)
                # The checkpoint first: a run killed before its report still resumes
                # from this epoch, and the report is rewritten from the saved history.
                _save_checkpoint(
                    out,
                    model,
                    config=recipe,
                    optimizer=optimizer,
                    training_state={"scheduler": scheduler.state_dict()},
                    extra={
                        "epoch": epoch + 1,
                        "history": history,
                        "train": dataclasses.asdict(config),
                        "window": config.window,
                        "standardize": config.standardize,
                        **(extra or {}),
                    },
                )
                # Pictures cost about half a second: redraw them at most every 15 s, and last.
                last = epoch + 1 == config.epochs
                plots = last or time.perf_counter() - last_plot > 15.0
                if plots:
                    last_plot = time.perf_counter()
                metrics = _report(
                    out, config, history, va_clean, val_inputs, outputs if plots else [], plots
                )
                if progress:
                    tqdm.write(_summary_line(row, config.epochs))
            ddp.barrier()
        if not metrics and ddp.main and history:  # nothing left to train: refresh the report
            metrics = _report(out, config, history, [], [], [])
        return metrics
    finally:
        ddp.close()


def _restore(
    out: Path,
    recipe: dict[str, Any],
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
) -> tuple[list[dict[str, Any]], int]:
    """Load the weights and training state of the run in ``out``; return (history, epoch)."""
    loaded, saved = load_checkpoint(out, map_location=device)
    if (saved.get("class"), saved.get("kwargs")) != (recipe["class"], recipe["kwargs"]):
        raise CheckpointError(
            f"{out / 'config.json'}: the checkpoint holds {saved.get('class')}"
            f"({saved.get('kwargs')}), not the {recipe['class']}({recipe['kwargs']}) that "
            f"these options and data describe; resume with the options it was trained with."
        )
    model.load_state_dict(loaded.state_dict())
    state = load_training_state(out, map_location=device)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["training_state"]["scheduler"])
    extra = saved.get("extra", {})
    return list(extra.get("history", [])), int(extra.get("epoch", 0))


def _summary_line(row: dict[str, Any], epochs: int) -> str:
    parts = [f"epoch {row['epoch']}/{epochs}", f"train {row['train_loss']:.4f}"]
    if "val_loss" in row:
        parts.append(f"val {row['val_loss']:.4f}")
    if row.get("snr_gain_db") is not None:
        parts.append(
            f"SNR {row['snr_in_db']:.2f} -> {row['snr_out_db']:.2f} dB ({row['snr_gain_db']:+.2f})"
        )
    elif row.get("snr_out_db") is not None:
        parts.append(f"reconstruction SNR {row['snr_out_db']:.2f} dB")
    parts.append(f"{row['seconds']:.1f}s")
    return "  ".join(parts)


def _report(
    out: Path,
    config: TrainConfig,
    history: list[dict[str, Any]],
    clean: list[np.ndarray],
    inputs: list[np.ndarray],
    outputs: list[np.ndarray],
    plots: bool = True,
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    last = history[-1]
    metrics = {
        key: last.get(key)
        for key in ("snr_in_db", "snr_out_db", "snr_gain_db", "train_loss", "val_loss")
    }
    metrics.update({"epochs": history, "config": dataclasses.asdict(config)})
    metrics = {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in metrics.items()
    }
    _write_json_atomic(out / METRICS_NAME, metrics)
    if plots:
        _plot_losses(out / "loss.png", history)
    if outputs:
        _plot_examples(out / "examples.png", clean, inputs, outputs, config.window, config.examples)
    return metrics
