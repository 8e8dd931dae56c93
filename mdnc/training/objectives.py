"""Training objectives: how recordings become (input, target) windows, and the loss.

An objective is one small class, registered by name with :func:`register_objective`:

* :meth:`Objective.check` refuses data it cannot train on, with a :class:`ConfigError`;
* :meth:`Objective.training_windows` cuts the training recordings into a ``Dataset``
  of ``(input, target)`` windows (usually a :class:`mdnc.data.WindowDataset`);
* :meth:`Objective.evaluation` gives the held-out recordings to denoise whole, and the
  clean references to score them against (``None`` when there are none);
* :meth:`Objective.validation_windows` gives fixed held-out windows for the validation
  loss;
* :meth:`Objective.batch` turns a loader batch into a :class:`Batch` on the device
  (where masking schemes transform the input), and :meth:`Objective.loss` scores the
  network's output (mean squared error by default, weighted by ``Batch.weight``).

The trainer calls only these, so a new objective or a new loss is a new class here (or
anywhere, registered), with no change to the loop.

Example:
    >>> from mdnc.training import TrainConfig
    >>> objective = get_objective(TrainConfig(snr_db=5.0))
    >>> objective.name, objective.denoising(paired=False)
    ('supervised', True)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from mdnc._utils import NameRegistry
from mdnc.data import WindowDataset, get_noise_model

from .config import ConfigError, TrainConfig

__all__ = [
    "Batch",
    "Objective",
    "SplitData",
    "SupervisedObjective",
    "get_objective",
    "list_objectives",
    "register_objective",
]

# Seed offsets, so that the validation noise and windows differ from the training draws.
VALIDATION_NOISE_SEED = 1_000_003
VALIDATION_WINDOW_SEED = 1


@dataclass
class SplitData:
    """The recordings of a run, split into training and held-out ones.

    Attributes:
        train: training recordings: the targets (clean, when there are clean ones).
        held_out: held-out recordings, likewise.
        train_noisy: paired noisy recordings of ``train`` (inputs), or None.
        held_out_noisy: paired noisy recordings of ``held_out``, or None.
        train_names: names of the training recordings for messages, or None.
    """

    train: list[np.ndarray]
    held_out: list[np.ndarray]
    train_noisy: list[np.ndarray] | None = None
    held_out_noisy: list[np.ndarray] | None = None
    train_names: list[str] | None = None

    @property
    def channels(self) -> int:
        """The channel count of the recordings."""
        return int(self.train[0].shape[0])


@dataclass
class Batch:
    """One optimizer step's windows on the device.

    Attributes:
        input: what the network sees, ``(batch, channels, samples)``.
        target: what its output is compared with, of the output's shape.
        weight: per-sample loss weights of the target's shape (e.g. a mask), or None.
    """

    input: Tensor
    target: Tensor
    weight: Tensor | None = None


class Objective(ABC):
    """How a run turns recordings into training pairs and scores the network.

    Args:
        config: the options of the run.
    """

    #: The name the objective is chosen by (``TrainConfig.objective``).
    name: ClassVar[str] = ""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.noise = get_noise_model(config.noise)

    def check(self, data: SplitData) -> None:
        """Refuse data this objective cannot train on.

        Raises:
            ConfigError: the data and the options do not go together.
        """
        return None

    @abstractmethod
    def denoising(self, paired: bool) -> bool:
        """Whether the network's input differs from its target (else: reconstruction)."""

    @abstractmethod
    def training_windows(self, data: SplitData) -> Dataset:
        """The training windows, a ``Dataset`` of ``(input, target)`` tensors."""

    @abstractmethod
    def evaluation(self, data: SplitData) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
        """``(references or None, inputs)``: held-out recordings to denoise whole."""

    def validation_windows(self, data: SplitData, inputs: Sequence[np.ndarray]) -> Dataset | None:
        """Fixed held-out windows for the validation loss (None when there are none)."""
        return None

    def batch(self, items: Sequence[Tensor], device: torch.device) -> Batch:
        """A loader batch ``(input, target, ...)`` as a :class:`Batch` on ``device``."""
        return Batch(
            items[0].to(device, non_blocking=True), items[1].to(device, non_blocking=True)
        )

    def loss(self, output: Tensor, batch: Batch, reduction: str = "mean") -> Tensor:
        """Mean squared error of ``output`` against the target, weighted by ``batch.weight``.

        Args:
            output: the network's output.
            batch: the batch it was computed from.
            reduction: ``"mean"`` (over weighted samples) or ``"sum"``.
        """
        output = output.float()
        if batch.weight is None:
            return torch.nn.functional.mse_loss(output, batch.target, reduction=reduction)
        squared = batch.weight * (output - batch.target).square()
        if reduction == "sum":
            return squared.sum()
        return squared.sum() / batch.weight.sum().clamp_min(1e-12)

    def loss_count(self, batch: Batch) -> float:
        """How many samples a ``"sum"`` loss of ``batch`` adds up (to average over batches)."""
        if batch.weight is None:
            return float(batch.target.numel())
        return float(batch.weight.sum())


_OBJECTIVES = NameRegistry("objective")


def register_objective(cls: type[Objective]) -> type[Objective]:
    """Class decorator: make an :class:`Objective` subclass available by its ``name``.

    Raises:
        ValueError: the class has no name, or the name is taken.
    """
    return _OBJECTIVES.register(cls)


def list_objectives() -> list[str]:
    """The names of the registered objectives, in registration order."""
    return _OBJECTIVES.names()


def get_objective(config: TrainConfig) -> Objective:
    """The objective ``config.objective`` names, set up for ``config``.

    Raises:
        ConfigError: no objective of that name (the message lists the valid ones).
    """
    try:
        cls = _OBJECTIVES.get(config.objective)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return cls(config)


@register_objective
class SupervisedObjective(Objective):
    """Clean targets; inputs are the clean windows plus noise from the noise model at
    ``snr_db``, or the paired noisy recordings; with neither, the clean windows themselves
    (a reconstruction auto-encoder). Loss: mean squared error."""

    name = "supervised"

    def check(self, data: SplitData) -> None:
        """Paired noisy recordings and added noise exclude each other."""
        if data.train_noisy is not None and self.config.snr_db is not None:
            raise ConfigError(
                "give either paired noisy recordings (noisy, --noisy) or noise to add (snr_db, "
                "--snr-db), not both."
            )

    def denoising(self, paired: bool) -> bool:
        """Denoising with pairs or added noise; reconstruction otherwise."""
        return paired or self.config.snr_db is not None

    def training_windows(self, data: SplitData) -> WindowDataset:
        """Windows at random offsets, fresh noise at every fetch."""
        c = self.config
        return WindowDataset(
            data.train,
            c.window,
            c.hop or max(1, c.window // 2),
            snr_db=None if data.train_noisy else c.snr_db,
            noise=self.noise,
            noisy=data.train_noisy,
            random_offsets=True,
            standardize=c.standardize,
            seed=c.seed,
            names=data.train_names,
        )

    def evaluation(self, data: SplitData) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
        """The held-out clean recordings, and their noisy pairs or a fixed noisy copy."""
        if not data.held_out:
            return None, []
        if data.held_out_noisy is not None:
            return data.held_out, data.held_out_noisy
        if self.config.snr_db is None:
            return data.held_out, data.held_out
        rng = np.random.default_rng(self.config.seed + VALIDATION_NOISE_SEED)
        inputs = [
            self.noise.add(c, self.config.snr_db, rng).astype(np.float32) for c in data.held_out
        ]
        return data.held_out, inputs

    def validation_windows(
        self, data: SplitData, inputs: Sequence[np.ndarray]
    ) -> WindowDataset | None:
        """Non-overlapping windows of the held-out recordings (None if one is too short)."""
        c = self.config
        if not data.held_out or any(h.shape[-1] < c.window for h in data.held_out):
            return None
        return WindowDataset(
            data.held_out,
            c.window,
            c.window,
            noisy=list(inputs) if self.denoising(data.held_out_noisy is not None) else None,
            standardize=c.standardize,
            seed=c.seed + VALIDATION_WINDOW_SEED,
        )
