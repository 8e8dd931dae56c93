"""Training of denoising / reconstruction auto-encoders on 1-D recordings.

The package is built of parts, each replaceable on its own:

* :mod:`mdnc.training.config`: :class:`TrainConfig` and :class:`DataConfig`, every option
  documented once; TOML files (``config.toml`` in every run folder).
* :mod:`mdnc.training.objectives`: how recordings become (input, target) windows and a
  loss (:class:`Objective`, registered by name: ``"supervised"``, ``"self-supervised"``,
  ``"noise2noise"``), one module per objective with the options it owns
  (:class:`SelfSupervisedOptions`, :class:`Noise2NoiseOptions`).
* :mod:`mdnc.training.trainer`: :class:`Trainer`, the loop as small steps (set up, train
  an epoch, validate, checkpoint, resume), single process or ``torchrun``.
* :mod:`mdnc.training.report`: ``metrics.json``, ``loss.png`` and ``examples.png``.

:func:`train` runs a whole training in one call.

Example:
    >>> from mdnc.data import make_synthetic
    >>> from mdnc.training import TrainConfig, train
    >>> clean = make_synthetic(20, 2000)
    >>> metrics = train(TrainConfig(epochs=2, snr_db=5.0), clean, out="runs/x")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from mdnc._utils import resolve_device
from mdnc.data import NoiseModel

from .config import ConfigError, DataConfig, TrainConfig, read_toml, write_toml
from .objectives import (
    Batch,
    Noise2NoiseObjective,
    Noise2NoiseOptions,
    Objective,
    ObjectiveOptions,
    SelfSupervisedObjective,
    SelfSupervisedOptions,
    SplitData,
    SupervisedObjective,
    SupervisedOptions,
    blind_spot_mask,
    get_objective,
    list_objectives,
    pair_difference_whiteness,
    recombine_pairs,
    register_objective,
    unregister_objective,
)
from .report import METRICS_NAME
from .trainer import (
    CONFIG_TOML,
    DivergenceError,
    RunInUseError,
    Trainer,
    auto_epochs,
    evaluate_recordings,
    split_recordings,
)

__all__ = [
    "CONFIG_TOML",
    "METRICS_NAME",
    "Batch",
    "ConfigError",
    "DataConfig",
    "Noise2NoiseObjective",
    "Noise2NoiseOptions",
    "Objective",
    "ObjectiveOptions",
    "SelfSupervisedObjective",
    "SelfSupervisedOptions",
    "DivergenceError",
    "RunInUseError",
    "SplitData",
    "SupervisedObjective",
    "SupervisedOptions",
    "TrainConfig",
    "Trainer",
    "auto_epochs",
    "blind_spot_mask",
    "evaluate_recordings",
    "get_objective",
    "list_objectives",
    "pair_difference_whiteness",
    "read_toml",
    "recombine_pairs",
    "register_objective",
    "resolve_device",
    "split_recordings",
    "train",
    "unregister_objective",
    "write_toml",
]


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
    source: DataConfig | None = None,
    truth: Sequence[np.ndarray] | None = None,
    noise: NoiseModel | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Train a network on recordings and write checkpoints and the report into ``out``.

    The one-call form of :class:`Trainer` (``Trainer(...).fit()``).

    Args:
        config: the options.
        clean: clean (target) recordings, ``(channels, samples)`` float32 arrays.
        out: the run folder.
        noisy: paired noisy recordings (inputs), one per clean recording; otherwise the
            inputs are ``clean`` plus noise at ``config.snr_db`` (or ``clean`` itself for a
            reconstruction auto-encoder).
        names: names of the recordings for error messages.
        resume: continue from the checkpoint in ``out``.
        progress: show a progress bar per epoch and a summary line per epoch.
        extra: JSON data stored with every checkpoint.
        source: where the recordings came from (saved in ``config.toml``).
        truth: the clean truth of noisy ``clean`` recordings, to score against only.
        noise: a noise model to add instead of the one ``config.noise`` names.
        force: write a new run into a folder that holds other files (never into a run).

    Returns:
        The content of ``metrics.json``.

    Raises:
        ConfigError: the options do not fit the data or the network (batch larger than
            the training windows, window shorter than the network's minimum input, an
            ``init_from`` run of another architecture, ...).
        DataError: the recordings are unusable (see :class:`mdnc.data.WindowDataset`).
        CheckpointError: ``resume`` with a missing or mismatched checkpoint.
    """
    trainer = Trainer(
        config, clean, out, noisy=noisy, names=names, resume=resume, progress=progress,
        extra=extra, source=source, truth=truth, noise=noise, force=force,
    )  # fmt: skip
    return trainer.fit()
