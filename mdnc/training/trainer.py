"""The training loop as a class of small steps: set up, train an epoch, validate, save.

:class:`Trainer` serves a single process and ``torchrun`` (``DistributedDataParallel``
with a ``DistributedSampler``: gloo on CPU, nccl on GPU). Every epoch ends with a
checkpoint (weights, optimizer, scheduler, history; see :mod:`mdnc.checkpoint`) and the
report of the run folder (:mod:`mdnc.training.report`), written by rank 0 only. A killed
run resumes from its last checkpoint and finishes the same schedule as an uninterrupted
one. What the windows are and what the loss is comes from the run's
:class:`~mdnc.training.objectives.Objective`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from mdnc._utils import FolderLockedError, eval_mode, folder_lock, remove_leftovers, resolve_device
from mdnc.checkpoint import (
    CheckpointError,
    build_model,
    load_checkpoint,
    load_training_state,
    save_checkpoint,
)
from mdnc.data import DataError, NoiseModel, WindowDataset, snr_db
from mdnc.data.index import INDEX_NAME, LazyRecording, save_index
from mdnc.inference import DEFAULT_BATCH_SIZE, apply_overlap_add
from mdnc.limits import check_forward_memory

from ..errors import MdncError
from . import report
from .baselines import apply_baseline, tune_baselines
from .config import (
    ConfigError,
    DataConfig,
    TrainConfig,
    default_arch,
    write_toml,
)
from .folder import check_run_folder
from .metrics import SIGNAL_KEYS, recording_metrics
from .objectives import Objective, SplitData, get_objective
from .sampler import StepSampler

__all__ = [
    "CONFIG_TOML",
    "DivergenceError",
    "RunInUseError",
    "Trainer",
    "auto_epochs",
    "evaluate_recordings",
    "split_recordings",
]

CONFIG_TOML = "config.toml"
RESIDUAL_KEYS = ("residual_whiteness", "residual_output_corr", "residual_acf", "acf_bound")
#: Pictures cost about half a second: redrawn at most this often (and after the last epoch).
PLOT_INTERVAL_S = 15.0
#: The held-out recordings are scored on at most this many samples per channel in all
#: (the first part of each when there are more), so that an epoch's evaluation stays
#: bounded on data sets of any size.
MAX_HELD_OUT_SAMPLES = 1 << 22


class DivergenceError(MdncError, ValueError):
    """The training diverged: its loss or its weights are no longer finite numbers."""


class RunInUseError(ConfigError):
    """Another training is writing the run folder (it is locked)."""


def auto_epochs(steps_per_epoch: int, target_steps: int = 4000, max_epochs: int = 60) -> int:
    """The default schedule: about ``target_steps`` optimizer steps, 10 to ``max_epochs``
    epochs (each objective sets its own; these are the supervised one's).

    Example:
        >>> auto_epochs(30), auto_epochs(390), auto_epochs(30, 8000, 200)
        (60, 11, 200)
    """
    return max(10, min(max_epochs, math.ceil(target_steps / max(steps_per_epoch, 1))))


def split_recordings(
    clean: Sequence[np.ndarray], val_fraction: float, seed: int
) -> tuple[list[np.ndarray], list[np.ndarray], list[int], list[int]]:
    """Split recordings into training and held-out ones, reproducibly.

    With one recording, its last ``val_fraction`` is held out instead.

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


def _as_2d(recordings: Sequence[Any]) -> list[Any]:
    """Arrays as float32 ``(C, L)``; recordings read lazily as they are."""
    return [
        r if isinstance(r, LazyRecording)
        else np.asarray(r, dtype=np.float32).reshape(-1, np.shape(r)[-1])
        for r in recordings
    ]  # fmt: skip


def _bound_held_out(data: SplitData, window: int) -> None:
    """The held-out recordings (their pairs and truth alike) in memory, cut to
    :data:`MAX_HELD_OUT_SAMPLES` per channel in all."""
    total = sum(h.shape[-1] for h in data.held_out)
    share = max(window, MAX_HELD_OUT_SAMPLES // max(len(data.held_out), 1))
    for name in ("held_out", "held_out_noisy", "held_out_truth"):
        recordings = getattr(data, name)
        if recordings is None:
            continue
        if total > MAX_HELD_OUT_SAMPLES:
            recordings = [r[:, :share] for r in recordings]
        loaded = [r.load() if isinstance(r, LazyRecording) else r for r in recordings]
        setattr(data, name, loaded)


def _split_like(
    config: TrainConfig, recordings: Sequence[np.ndarray], n_train: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Split recordings paired with those of a run as the run's are split."""
    _, held_out, tr_idx, va_idx = split_recordings(recordings, config.val_fraction, config.seed)
    if len(recordings) == 1:
        return [recordings[0][:, :n_train]], held_out
    return [recordings[i] for i in tr_idx], [recordings[i] for i in va_idx]


def split_data(
    config: TrainConfig,
    clean: Sequence[np.ndarray],
    noisy: Sequence[np.ndarray] | None,
    names: Sequence[str] | None,
    truth: Sequence[np.ndarray] | None = None,
) -> SplitData:
    """Check every recording, then split them (their pairs and truth alike) for training."""
    clean = _as_2d(clean)
    for what, paired in (("paired (--noisy/--noisy-pair)", noisy), ("truth", truth)):
        if paired is not None and len(paired) != len(clean):
            raise DataError(
                f"got {len(paired)} {what} recordings for {len(clean)} DATA recordings; "
                "they must pair up one to one, in the same order"
            )
    # Checks names, lengths, channels and finite samples of every recording, and that the
    # pairs match, before the split (which would lose the names).
    paired = None if noisy is None else _as_2d(noisy)
    WindowDataset(clean, config.window, names=names, noisy=paired)
    train, held_out, tr_idx, _ = split_recordings(clean, config.val_fraction, config.seed)
    if held_out and held_out[0].shape[-1] == 0:
        raise ConfigError(
            f"val_fraction ({config.val_fraction}) holds out no sample of the only recording "
            f"({clean[0].shape[-1]} samples); give a larger val_fraction, or 0 for none."
        )
    data = SplitData(train, held_out, train_names=[names[i] for i in tr_idx] if names else None)
    n_train = train[0].shape[-1]  # of the only recording, when there is one
    if noisy is not None:
        data.train_noisy, data.held_out_noisy = _split_like(config, _as_2d(noisy), n_train)
    if truth is not None:
        data.held_out_truth = _split_like(config, _as_2d(truth), n_train)[1]
    _bound_held_out(data, config.window)
    return data


def epoch_metrics(
    inputs: Sequence[np.ndarray],
    outputs: Sequence[np.ndarray],
    references: Sequence[np.ndarray] | None,
    denoising: bool,
) -> dict[str, Any]:
    """The held-out metrics of an epoch (see :func:`~mdnc.training.metrics.recording_metrics`)
    under the report's names: ``snr_in_db``, ``snr_out_db``, ``snr_gain_db`` (with
    references; the first and last None for a reconstruction auto-encoder, whose input is
    its target), ``si_sdr_db``, ``rmse``, ``prd``, ``corr``, and always
    ``residual_whiteness``, ``residual_output_corr``, ``residual_acf``, ``acf_bound``."""
    found = recording_metrics(inputs, outputs, references)
    row = {k: found[k] for k in RESIDUAL_KEYS}
    if references is not None:
        row.update(
            snr_in_db=found["input_snr_db"] if denoising else None,
            snr_out_db=found["snr_db"],
            snr_gain_db=found["snr_gain_db"] if denoising else None,
            **{k: found[k] for k in SIGNAL_KEYS if k != "snr_db"},
        )
    return row


def evaluate_recordings(
    model: nn.Module,
    clean: Sequence[np.ndarray],
    noisy: Sequence[np.ndarray],
    window: int,
    standardize: bool,
    batch_size: int = DEFAULT_BATCH_SIZE,
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

    def mean(self, value: float) -> float:
        """The mean of ``value`` over the processes."""
        if self.world == 1:
            return value
        total = torch.tensor([value], device=self.device)
        dist.all_reduce(total)
        return float(total) / self.world

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


class Trainer:
    """One training run: :meth:`fit` = :meth:`setup`, then per epoch :meth:`train_epoch`,
    :meth:`validate` and :meth:`save` (checkpoint and report).

    Args:
        config: the options.
        clean: the target recordings, ``(channels, samples)`` float32 arrays (the noisy
            recordings themselves for objectives without clean data).
        out: the run folder.
        noisy: paired noisy recordings (inputs), one per ``clean`` recording, or None.
        names: names of the recordings for error messages.
        resume: continue from the checkpoint in ``out``.
        progress: a progress bar per epoch and a summary line per epoch.
        extra: JSON data stored with every checkpoint.
        source: where the recordings came from; saved with the options (``config.toml``
            and the checkpoint) so that the run can be repeated or resumed.
        truth: the clean truth of ``clean`` when the objective trains on noisy recordings
            (self-supervised, noise2noise) but the truth is known (synthetic data): the
            held-out recordings are scored against it; never trained on.
        noise: the noise model to add, instead of the one ``config.noise`` names (e.g. a
            :class:`~mdnc.data.RecordedNoise` of recorded noise).
        force: write a new run into a folder that holds other files (never into a run).
    """

    def __init__(
        self,
        config: TrainConfig,
        clean: Sequence[np.ndarray],
        out: str | os.PathLike[str],
        *,
        noisy: Sequence[np.ndarray] | None = None,
        names: Sequence[str] | None = None,
        resume: bool = False,
        progress: bool = True,
        extra: dict[str, Any] | None = None,
        source: DataConfig | None = None,
        truth: Sequence[np.ndarray] | None = None,
        noise: NoiseModel | None = None,
        force: bool = False,
    ) -> None:
        self.config, self.out, self.force = config, Path(out), force
        self.options = config  # as given: derived defaults (hop, epochs) unresolved
        self.recordings = (clean, noisy, names, truth)
        self.noise_model = noise
        self.resuming, self.progress = resume, progress
        self.extra, self.source = dict(extra or {}), source
        self.history: list[dict[str, Any]] = []
        self.start_epoch = 0
        self.metrics: dict[str, Any] = {}
        self._last_plot = -float("inf")
        self._options_written = False

    # -- set-up -------------------------------------------------------------------------

    def fit(self) -> dict[str, Any]:
        """Set up, train the remaining epochs, and return the content of ``metrics.json``."""
        try:
            self.setup()
            for epoch in range(self.start_epoch, self.config.epochs):
                self.run_epoch(epoch)
            if not self.metrics and self.ddp.main and self.history:
                # Nothing left to train: refresh the report.
                self.metrics = report.write_report(
                    self.out, self.config, self.history, baselines=self.baselines,
                    best=self.best_epoch(), recordings=self.recording_fields(),
                )  # fmt: skip
            return self.metrics
        finally:
            self.close()

    def setup(self) -> None:
        """Device and process group, data, model, optimizer; then the checkpoint to resume
        or the weights to start from. (``config.toml`` is written with the first
        checkpoint, so that a run that fails before changes nothing.)"""
        self.setup_device()
        self.setup_data()
        self.setup_model()
        self.setup_optimizer()
        if self.resuming:
            self.restore()
        elif self.config.init_from is not None:
            self.init_from(self.config.init_from)

    def write_options(self) -> None:
        """``config.toml``: the options as given (derived defaults noted in comments); and
        ``index.json``, the index of recordings read lazily."""
        sections = {"data": self.source} if self.source is not None else {}
        notes = []
        if self.options.hop is None:
            notes.append(f"hop is unset: half the window, {self.config.hop} samples here.")
        if self.options.arch is None:
            notes.append(f"arch is unset: the objective's network, {self.config.arch} here.")
        if self.options.epochs is None:
            notes.append(
                f"epochs is unset: the default schedule gave {self.config.epochs} epochs of "
                f"{len(self.loader)} steps here."
            )
        notes += [
            f"{k} is unset: the training data gave {v} here." for k, v in self.settled.items()
        ]
        self.out.mkdir(parents=True, exist_ok=True)
        write_toml(self.out / CONFIG_TOML, {**sections, "train": self.options}, notes)
        clean, noisy = self.recordings[:2]
        lazy = [r.info for r in [*clean, *(noisy or [])] if isinstance(r, LazyRecording)]
        if lazy:  # the index of lazily read data, for the next run on it
            key = self.source.key if self.source is not None else None
            save_index(self.out / INDEX_NAME, list({id(i): i for i in lazy}.values()), key)

    def setup_device(self) -> None:
        """The device, and the process group under ``torchrun`` (see :meth:`close`).

        Raises:
            ConfigError: the device does not exist here.
        """
        try:
            device = resolve_device(self.config.device)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        self.ddp = _Distributed(device)
        self.device = self.ddp.device
        if self.ddp.main:
            if self.config.tensorboard:  # written from the first checkpoint on
                from .tensorboard import TensorBoardLog

                TensorBoardLog.check()
            self.claim_folder()

    def claim_folder(self) -> None:
        """Lock the run folder for this training (released by :meth:`close`), refuse a
        folder that holds another run unless resuming, and remove the temporary files
        of writes that were killed.

        Raises:
            RunInUseError: another training holds the folder.
            ConfigError: the folder holds a run and this training does not resume it, or
                holds other files and ``force`` is not set (:func:`check_run_folder`).
        """
        self._lock = contextlib.ExitStack()
        try:
            self._lock.enter_context(folder_lock(self.out))
        except FolderLockedError as err:
            raise RunInUseError(str(err)) from None
        if not self.resuming:
            try:
                check_run_folder(self.out, force=self.force)
            except BaseException:
                self._lock.close()
                raise
        remove_leftovers(self.out)

    def close(self) -> None:
        """Leave the process group (if :meth:`setup_device` joined one) and unlock."""
        ddp = getattr(self, "ddp", None)
        if ddp is not None:
            ddp.close()
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()
        board = getattr(self, "_tensorboard", None)
        if board is not None:
            board.close()
            self._tensorboard = None

    def setup_data(self) -> None:
        """The objective, the split, the training windows and the held-out data."""
        c = self.config
        if c.batch_size % self.ddp.world:
            raise ConfigError(
                f"batch_size ({c.batch_size}) must be a multiple of the number of "
                f"processes ({self.ddp.world})."
            )
        self.config = c = dataclasses.replace(
            c, hop=c.hop or max(1, c.window // 2), arch=c.arch or default_arch(c.objective)
        )
        self.objective: Objective = get_objective(c, self.noise_model)
        self.data = split_data(c, *self.recordings)
        self.objective.check(self.data)
        self.settled = self.objective.settle(self.data)
        self.config = c = c.with_options(**self.settled)
        self.dataset = self.objective.training_windows(self.data)
        self.references, self.val_inputs = self.objective.evaluation(self.data)
        self.val_windows = self.objective.validation_windows(self.data, self.val_inputs)
        self.denoising = self.objective.denoising(self.data.train_noisy is not None)
        self.setup_baselines()

    def setup_model(self) -> None:
        """The network (wrapped in DDP under torchrun), the sampler and the loader."""
        c = self.config
        torch.manual_seed(c.seed)
        self.recipe = c.model_config(self.data.channels)
        self.model = build_model(self.recipe).to(self.device)
        if c.window < self.model.min_size[0]:
            raise ConfigError(
                f"window ({c.window}) is shorter than this network's minimum input of "
                f"{self.model.min_size[0]} samples."
            )
        per_process = c.batch_size // self.ddp.world
        check_forward_memory(
            self.model, per_process, (c.window,), f"a training step of batch_size "
            f"{per_process} x window {c.window}", "lower batch_size or window", training=True,
        )  # fmt: skip
        self.net: nn.Module = self.model
        if self.ddp.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.setup_loader()
        if c.epochs is None:
            epochs = auto_epochs(
                len(self.loader), self.objective.target_steps, self.objective.max_epochs
            )
            self.config = dataclasses.replace(c, epochs=epochs)

    def setup_loader(self) -> None:
        """The sampler (every window once, or ``steps_per_epoch`` batches drawn afresh each
        epoch) and the loader, each process with its share of every batch."""
        c, world, rank = self.config, self.ddp.world, self.ddp.rank
        n = len(self.dataset)
        if c.steps_per_epoch is not None and c.steps_per_epoch * c.batch_size < n:
            count = c.steps_per_epoch * c.batch_size
            self.sampler = StepSampler(n, count, num_replicas=world, rank=rank, seed=c.seed)
        else:
            self.sampler = torch.utils.data.DistributedSampler(
                self.dataset, num_replicas=world, rank=rank, seed=c.seed
            )
        self.loader = torch.utils.data.DataLoader(
            self.dataset, batch_size=c.batch_size // world, sampler=self.sampler,
            drop_last=True, num_workers=c.workers,
        )  # fmt: skip
        if len(self.loader) == 0:
            raise ConfigError(
                f"batch_size ({c.batch_size}) is larger than the {n} training "
                f"windows; use a smaller batch or shorter windows."
            )

    def setup_optimizer(self) -> None:
        """Adam with a cosine decay of the learning rate to 5% over the schedule."""
        c = self.config
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=c.lr)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, T_max=c.epochs, eta_min=c.lr * 0.05
        )

    def _check_network(self, loaded: nn.Module, saved: dict[str, Any], where: str,
                       advice: str) -> None:  # fmt: skip
        """Raise ConfigError unless ``loaded`` is the network these options describe."""
        ours = {k: tuple(v.shape) for k, v in self.model.state_dict().items()}
        theirs = {k: tuple(v.shape) for k, v in loaded.state_dict().items()}
        if type(loaded) is not type(self.model) or ours != theirs:
            raise ConfigError(
                f"{where} holds {saved.get('class')}({saved.get('kwargs')}), not the "
                f"{self.recipe['class']}({self.recipe['kwargs']}) that these options and data "
                f"describe; {advice}."
            )

    def restore(self) -> None:
        """Load the weights, optimizer, scheduler and history of the run in ``out``.

        Raises:
            CheckpointError: no checkpoint, or one of another network.
            ConfigError: ``epochs`` is below the epochs the run has done.
        """
        loaded, saved = load_checkpoint(self.out, map_location=self.device)
        try:
            self._check_network(loaded, saved, str(self.out / "config.json"),
                                "resume with the options it was trained with")  # fmt: skip
        except ConfigError as err:
            raise CheckpointError(str(err)) from None
        extra = saved.get("extra", {})
        self._keep_settled(extra.get("train"))
        self.history = list(extra.get("history", []))
        self.start_epoch = int(extra.get("epoch", 0))
        if self.config.epochs < self.start_epoch:
            raise ConfigError(
                f"epochs ({self.config.epochs}) is below the {self.start_epoch} epochs the run "
                f"in {self.out} has done; give {self.start_epoch} or more to extend it."
            )
        self.model.load_state_dict(loaded.state_dict())
        state = load_training_state(self.out, map_location=self.device)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["training_state"]["scheduler"])
        if self.scheduler.T_max != self.config.epochs:
            self._stretch_schedule()

    def _keep_settled(self, saved: Any) -> None:
        """The options the data settled (:meth:`Objective.settle`) as the resumed run had
        them (a run saved before such an option existed: the ``legacy`` value of the
        objective's options)."""
        saved = saved if isinstance(saved, dict) else {}
        legacy = self.objective.options_class.legacy
        kept = {k: saved.get(k, legacy.get(k)) for k in self.settled}
        kept = {k: v for k, v in kept.items() if v is not None}
        self.settled.update(kept)
        self.config = self.config.with_options(**kept)
        self.objective.config = self.objective.config.with_options(**kept)

    def _stretch_schedule(self) -> None:
        """Cosine decay over the new number of epochs, from where the run stands."""
        sched = self.scheduler
        sched.T_max = self.config.epochs
        # The scheduler updates the rate from its last value; restart it from the closed form.
        phase = (1 + math.cos(math.pi * sched.last_epoch / sched.T_max)) / 2
        for group, base in zip(self.optimizer.param_groups, sched.base_lrs, strict=True):
            group["lr"] = sched.eta_min + (base - sched.eta_min) * phase

    def init_from(self, run: str) -> None:
        """Start from the weights of another run (fine-tuning); the networks must agree.

        Raises:
            CheckpointError: ``run`` is not a readable checkpoint.
            ConfigError: its network is not the one these options describe.
        """
        loaded, saved = load_checkpoint(run, map_location=self.device)
        self._check_network(
            loaded, saved, f"init_from {run}",
            "give the network options it was trained with (arch, channel, layers, block, "
            "kernel_size, blind_spot, prior_components) and data with as many channels",
        )  # fmt: skip
        self.model.load_state_dict(loaded.state_dict())

    # -- one epoch ----------------------------------------------------------------------

    def run_epoch(self, epoch: int) -> None:
        """Train one epoch; on rank 0 validate, save the checkpoint and the report."""
        began = time.perf_counter()
        train_loss = self.ddp.mean(self.train_epoch(epoch))
        if self.ddp.main:
            row: dict[str, Any] = {
                "epoch": epoch + 1,
                "train_loss": train_loss,
                "lr": self.optimizer.param_groups[0]["lr"],
            }
            metrics, outputs = self.validate()
            row.update(metrics)
            row["seconds"] = time.perf_counter() - began
            self.history.append(row)
            # The checkpoint first: a run killed before its report still resumes from
            # this epoch, and the report is rewritten from the saved history.
            self.save()
            if not self._options_written:
                self.write_options()
                self._options_written = True
            self.write_report(outputs, last=epoch + 1 == self.config.epochs)
            self.log_tensorboard(row)
            if self.progress:
                from tqdm import tqdm

                tqdm.write(report.summary_line(row, self.config.epochs, self.baselines))
        self.ddp.barrier()

    def train_epoch(self, epoch: int) -> float:
        """One pass over the training windows; returns the mean training loss."""
        from tqdm import tqdm

        self.dataset.set_epoch(epoch)
        self.sampler.set_epoch(epoch)
        self.net.train()
        autocast = self.config.amp and self.device.type == "cuda"
        total, steps = 0.0, 0
        bar = tqdm(
            self.loader,
            desc=f"epoch {epoch + 1}/{self.config.epochs}",
            leave=False,
            # None: the bar only on a terminal (logs keep the per-epoch summary lines).
            disable=None if (self.progress and self.ddp.main) else True,
            unit="batch",
            dynamic_ncols=True,
        )
        for items in bar:
            batch = self.objective.training_batch(items, self.device)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=autocast):
                output = self.net(batch.input)
            loss = self.objective.loss(output, batch)
            value = float(loss.detach())
            if not math.isfinite(value):
                self.diverged(f"the training loss is {value} at step {steps + 1} of epoch "
                              f"{epoch + 1}")  # fmt: skip
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += value
            steps += 1
            bar.set_postfix(loss=f"{total / steps:.4f}")
        self.scheduler.step()
        return total / steps

    def validate(self) -> tuple[dict[str, Any], list[np.ndarray]]:
        """The validation loss and the held-out recordings' metrics; and the outputs."""
        row: dict[str, Any] = {}
        with eval_mode(self.model):
            self.objective.begin_validation(self.model)
            try:
                if self.val_windows is not None:
                    row["val_loss"] = self._window_loss()
            finally:
                self.objective.end_validation(self.model)
            row.update(self.objective.calibrate(self.model, self.val_windows))
            if not self.val_inputs:
                return row, []
            outputs = self._denoise(self.val_inputs)
        row.update(epoch_metrics(self.val_inputs, outputs, self.references, self.denoising))
        return row, outputs

    def _denoise(self, recordings: Sequence[np.ndarray]) -> list[np.ndarray]:
        c = self.config
        return [
            apply_overlap_add(
                self.model,
                x,
                window=c.window,
                overlap=0.5,
                batch_size=c.batch_size,
                standardize=c.standardize,
            )  # fmt: skip
            for x in recordings
        ]

    def setup_baselines(self) -> None:
        """Tune the classical smoothers on the held-out recordings, once, and score them
        (rank 0; nothing to compare with for a reconstruction auto-encoder)."""
        self.baselines: dict[str, dict[str, Any]] = {}
        self.baseline_outputs: dict[str, list[np.ndarray]] = {}
        if not (self.ddp.main and self.val_inputs and self.denoising):
            return
        for tuned in tune_baselines(self.val_inputs, self.references):
            outputs = [apply_baseline(tuned, x) for x in self.val_inputs]
            metrics = epoch_metrics(self.val_inputs, outputs, self.references, True)
            self.baselines[tuned.name] = {"params": tuned.params, **metrics}
            self.baseline_outputs[tuned.name] = outputs

    def _window_loss(self) -> float:
        loader = torch.utils.data.DataLoader(
            self.val_windows, batch_size=self.config.batch_size, shuffle=False
        )
        total, count = 0.0, 0.0
        # The same draws (masks, orders) every epoch, so that the losses compare.
        generator = torch.Generator(self.device).manual_seed(self.config.seed)
        with torch.inference_mode():
            for items in (i for _ in range(self.objective.validation_passes) for i in loader):
                batch = self.objective.batch(items, self.device, generator)
                total += float(self.objective.loss(self.model(batch.input), batch, "sum"))
                count += self.objective.loss_count(batch)
        return total / max(count, 1.0)

    def diverged(self, what: str) -> None:
        """Stop the run: it diverged (the last good checkpoint stays as it is).

        Raises:
            DivergenceError: always, saying where the last good checkpoint is.
        """
        kept = (
            f"the checkpoint of epoch {self.history[-1]['epoch']} in {self.out} is kept"
            if self.history
            else "no checkpoint was written"
        )
        raise DivergenceError(
            f"training diverged: {what} (lr {self.config.lr:g}); {kept}. Lower the learning "
            "rate (lr, --lr) or check the recordings for outliers."
        )

    # -- checkpoint and report ----------------------------------------------------------

    def save(self) -> None:
        """Checkpoint the weights, optimizer, scheduler, history and options.

        Raises:
            DivergenceError: the weights are not finite (nothing is written).
        """
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            epoch = self.history.pop()["epoch"]
            self.diverged(f"the weights are not finite after epoch {epoch}")
        c = self.config
        extra = {
            "epoch": self.history[-1]["epoch"],
            "history": self.history,
            "train": c.flat(),
            "inference": self.inference_spec().to_json(),
            **({"data": dataclasses.asdict(self.source)} if self.source is not None else {}),
            **self.extra,
        }
        best = self.best_epoch()
        if best is not None:
            extra["best"] = best
        save_checkpoint(
            self.out,
            self.model,
            config=self.recipe,
            optimizer=self.optimizer,
            training_state={"scheduler": self.scheduler.state_dict()},
            extra=extra,
            best=best is not None and best["epoch"] == extra["epoch"],
        )

    def recording_fields(self) -> dict[str, Any]:
        """What the training recordings' files said: sampling rate and channel names
        (``extra["recordings"]``, given by :func:`mdnc.train`), for metrics.json."""
        fields = self.extra.get("recordings", {})
        return {"sample_rate": fields.get("sample_rate"),
                "channel_names": fields.get("channel_names")}  # fmt: skip

    def inference_spec(self) -> Any:
        """The settings denoising with this run needs (:class:`InferenceSpec`)."""
        from ..inference.spec import InferenceSpec

        fields = self.recording_fields()
        model = getattr(self.model, "module", self.model)  # unwrapped from DDP
        planes = getattr(model, "in_planes", None)
        return InferenceSpec(
            window=self.config.window, standardize=self.config.standardize,
            sample_rate=fields["sample_rate"], channels=planes,
            channel_names=fields["channel_names"],
        )  # fmt: skip

    def best_epoch(self) -> dict[str, Any] | None:
        """``{"epoch", "val_loss"}`` of the lowest validation loss so far (earliest on a
        tie), or None without validation windows."""
        rows = [
            h for h in self.history
            if h.get("val_loss") is not None and math.isfinite(h["val_loss"])
        ]  # fmt: skip
        if not rows:
            return None
        row = min(rows, key=lambda h: h["val_loss"])
        return {"epoch": row["epoch"], "val_loss": row["val_loss"]}

    def log_tensorboard(self, row: dict[str, Any]) -> None:
        """The epoch's row, and examples.png when it was drawn, to TensorBoard (if asked)."""
        if not self.config.tensorboard:
            return
        if getattr(self, "_tensorboard", None) is None:
            from .tensorboard import TensorBoardLog

            self._tensorboard = TensorBoardLog(self.out)
        self._tensorboard.epoch(row)
        if self._plotted:
            self._tensorboard.picture("examples", self.out / report.EXAMPLES_PLOT_NAME,
                                      int(row["epoch"]))  # fmt: skip

    def write_report(self, outputs: list[np.ndarray], last: bool) -> None:
        """``metrics.json`` every epoch; the pictures at most every 15 s, and at the end."""
        plots = last or time.perf_counter() - self._last_plot > PLOT_INTERVAL_S
        self._plotted = plots and bool(outputs)
        if plots:
            self._last_plot = time.perf_counter()
        self.metrics = report.write_report(
            self.out, self.config, self.history, self.references, self.val_inputs,
            outputs if plots else [], plots, baselines=self.baselines,
            baseline_outputs=self.baseline_outputs, best=self.best_epoch(),
            recordings=self.recording_fields(),
        )  # fmt: skip
