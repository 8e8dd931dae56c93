"""The objective interface, its registry and what the objectives share.

An objective is one small class, registered by name with :func:`register_objective`,
that owns its options (an :class:`~mdnc.training.options.ObjectiveOptions` dataclass,
its ``options``; ``TrainConfig.objective_options`` holds them):

* :meth:`Objective.check` refuses data it cannot train on, with a :class:`ConfigError`;
* :meth:`Objective.settle` resolves the options left to the training data;
* :meth:`Objective.training_windows` cuts the training recordings into a ``Dataset``
  of ``(input, target)`` windows (usually a :class:`mdnc.data.WindowDataset`);
* :meth:`Objective.evaluation` gives the held-out recordings to denoise whole, and the
  clean references to score them against (``None`` when there are none);
* :meth:`Objective.validation_windows` gives fixed held-out windows for the validation
  loss;
* :meth:`Objective.batch` turns a loader batch into a :class:`Batch` on the device
  (where masking schemes transform the input), and :meth:`Objective.loss` scores the
  network's output (mean squared error by default, weighted by ``Batch.weight``);
  :meth:`Objective.training_batch` is the training step's batch (by default
  :meth:`Objective.batch`, which validation calls).

The trainer calls only these, so a new objective or a new loss is a new class (in a
module of this package, or anywhere, registered), with no change to the loop.

This package does not import :mod:`mdnc.training.config`: an objective reads the run's
options through :class:`~mdnc.training.options.RunOptions` (a
:class:`~mdnc.training.TrainConfig` is one).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from mdnc._utils import NameRegistry
from mdnc.data import NoiseModel, WindowDataset, get_noise_model

from ..options import ConfigError, ObjectiveOptions, RunOptions

__all__ = [
    "Batch",
    "Objective",
    "SplitData",
    "get_objective",
    "list_objectives",
    "objective_class",
    "register_objective",
    "unregister_objective",
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
        held_out_truth: the clean truth of ``held_out`` when it is known although the
            objective does not train on it (synthetic noisy data), to score against; or None.
    """

    train: list[np.ndarray]
    held_out: list[np.ndarray]
    train_noisy: list[np.ndarray] | None = None
    held_out_noisy: list[np.ndarray] | None = None
    train_names: list[str] | None = None
    held_out_truth: list[np.ndarray] | None = None

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
        noise: the noise model that adds noise to clean recordings (e.g. a
            :class:`~mdnc.data.RecordedNoise`); default: the one ``config.noise`` names,
            with ``config.noise_params()``. Kept as ``objective.noise``.
    """

    #: The name the objective is chosen by (``TrainConfig.objective``).
    name: ClassVar[str] = ""
    #: The default schedule (``epochs`` unset): about this many optimizer steps ...
    target_steps: ClassVar[int] = 4000
    #: ... in 10 to this many epochs (see :func:`~mdnc.training.auto_epochs`).
    max_epochs: ClassVar[int] = 60
    #: Passes over the validation windows per validation (more draws of a random
    #: :meth:`batch`, for a steadier validation loss).
    validation_passes: ClassVar[int] = 1
    #: The network class of a run whose ``TrainConfig.arch`` is unset.
    default_arch: ClassVar[str] = "UNet1d"
    #: The options it owns (``TrainConfig.objective_options`` is one of these).
    options_class: ClassVar[type[ObjectiveOptions]] = ObjectiveOptions
    #: Whether it trains on clean recordings (noise added to them); else on noisy ones.
    trains_on_clean: ClassVar[bool] = False
    #: How many noisy copies of each recording it trains on when none is clean: the
    #: built-in synthetic data is given as that many noisy copies (and the clean truth).
    noisy_copies: ClassVar[int] = 1

    def __init__(self, config: RunOptions, noise: NoiseModel | None = None) -> None:
        self.config = config
        self.noise = (
            noise if noise is not None else get_noise_model(config.noise, **config.noise_params())
        )

    @property
    def options(self) -> Any:
        """The options of this objective (``config.objective_options``)."""
        return self.config.objective_options

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

    def batch(
        self,
        items: Sequence[Tensor],
        device: torch.device,
        generator: torch.Generator | None = None,
    ) -> Batch:
        """A loader batch ``(input, target, ...)`` as a :class:`Batch` on ``device``.

        Args:
            items: the loader's tensors.
            device: where the step runs.
            generator: the random generator of any draw made here (``None``: torch's
                global one); validation passes a freshly seeded one, so that its loss is
                computed on the same draws every epoch.
        """
        return Batch(items[0].to(device, non_blocking=True), items[1].to(device, non_blocking=True))

    def training_batch(self, items: Sequence[Tensor], device: torch.device) -> Batch:
        """The batch of a training step: :meth:`batch` with torch's global generator (the
        default). An objective whose training draws differ from the validation ones (which
        see windows as inference does) overrides it."""
        return self.batch(items, device)

    def settle(self, data: SplitData) -> dict[str, Any]:
        """Resolve the options left unset that the training data decide, before the
        training windows are made; returns them (the run's options take them) and keeps
        them in ``self.config`` (default: none, ``{}``)."""
        return {}

    def begin_validation(self, model: nn.Module) -> None:
        """Called in evaluation mode before the validation loss (default: nothing)."""
        return None

    def end_validation(self, model: nn.Module) -> None:
        """Called after the validation loss, also when it failed (default: nothing)."""
        return None

    def calibrate(self, model: nn.Module, windows: Dataset | None) -> dict[str, float]:
        """Set what training does not learn from the held-out ``windows``, after the
        validation loss and before the held-out recordings are denoised (in evaluation
        mode). Returns figures for the epoch's metrics (default: nothing, ``{}``)."""
        return {}

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


def unregister_objective(name: str) -> None:
    """Forget the objective registered as ``name`` (for a script or test that registered
    one of its own); an unknown name is ignored.

    Args:
        name: the ``name`` of the objective class.

    Example:
        >>> @register_objective
        ... class Mine(Objective):
        ...     name = "mine"
        >>> unregister_objective("mine")
        >>> "mine" in list_objectives()
        False
    """
    _OBJECTIVES.unregister(name)


def list_objectives() -> list[str]:
    """The names of the registered objectives, in registration order."""
    return _OBJECTIVES.names()


def objective_class(name: str) -> type[Objective]:
    """The objective class registered as ``name``.

    Raises:
        ValueError: no objective of that name (the message lists them).
    """
    return _OBJECTIVES.get(name)


def get_objective(config: RunOptions, noise: NoiseModel | None = None) -> Objective:
    """The objective ``config.objective`` names, set up for ``config``.

    Args:
        config: the options of the run.
        noise: the noise model to add (e.g. a :class:`~mdnc.data.RecordedNoise`); default:
            the one ``config.noise`` names, with ``config.noise_params()``.

    Raises:
        ConfigError: no objective of that name (the message lists the valid ones), or
            noise parameters that do not fit the noise model.
    """
    try:
        cls = _OBJECTIVES.get(config.objective)
        return cls(config, noise)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def refuse_added_noise(config: RunOptions, objective: str) -> None:
    """Refuse ``snr_db`` for an objective that trains on noisy recordings."""
    if config.snr_db is not None:
        raise ConfigError(
            f"snr_db (--snr-db) adds noise to clean recordings; the {objective} objective "
            "trains on recordings that are noisy already: leave it out."
        )


def random_windows(config: RunOptions, data: SplitData, noisy: list | None = None) -> WindowDataset:
    """Training windows of the noisy recordings at random offsets (with their ``noisy``
    pairs, when given): what the objectives that train on noisy data cut."""
    return WindowDataset(
        data.train, config.window, config.hop or max(1, config.window // 2), noisy=noisy,
        random_offsets=True, standardize=config.standardize, seed=config.seed,
        names=data.train_names,
    )  # fmt: skip


def held_out_windows(
    data: SplitData, window: int, standardize: bool, seed: int, noisy: list | None = None
) -> WindowDataset | None:
    """Non-overlapping windows of the held-out recordings (None if one is too short)."""
    if not data.held_out or any(h.shape[-1] < window for h in data.held_out):
        return None
    return WindowDataset(
        data.held_out, window, window, noisy=noisy, standardize=standardize,
        seed=seed + VALIDATION_WINDOW_SEED,
    )  # fmt: skip


def flip_randomly(x: Tensor, generator: torch.Generator | None) -> Tensor:
    """Each window of ``x`` (``(batch, ..., samples)``: a window, or a pair of windows
    stacked along axis 1) negated and/or time reversed, with probability 1/2 each."""
    shape = (2, x.shape[0], *[1] * (x.dim() - 1))
    draws = torch.rand(shape, device=x.device, generator=generator) < 0.5
    x = torch.where(draws[0], -x, x)
    return torch.where(draws[1], x.flip(-1), x)
