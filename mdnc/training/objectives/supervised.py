"""The supervised objective: clean targets, noise added to them (or paired noisy
recordings). Its options class, :class:`SupervisedOptions`, is empty: what it needs
(``snr_db``, ``noise``) is shared by every run that adds noise.

Example:
    >>> from mdnc.training import TrainConfig, get_objective
    >>> objective = get_objective(TrainConfig(snr_db=5.0))
    >>> objective.name, objective.denoising(paired=False)
    ('supervised', True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mdnc.data import WindowDataset

from ..options import ConfigError, ObjectiveOptions, document
from ._base import (
    VALIDATION_NOISE_SEED,
    Objective,
    SplitData,
    held_out_windows,
    register_objective,
)

__all__ = ["SupervisedObjective", "SupervisedOptions"]


@document
@dataclass(kw_only=True)
class SupervisedOptions(ObjectiveOptions):
    """Options of the supervised objective: none of its own."""


@register_objective
class SupervisedObjective(Objective):
    """Clean targets; inputs are the clean windows plus noise from the noise model at
    ``snr_db``, or the paired noisy recordings; with neither, the clean windows themselves
    (a reconstruction auto-encoder). Loss: mean squared error."""

    name = "supervised"
    options_class = SupervisedOptions
    trains_on_clean = True
    noisy_copies = 0

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
        snr = self.config.snr_db
        inputs = [
            self.noise.add(c, rng.uniform(*snr) if isinstance(snr, list) else snr, rng)
            for c in data.held_out
        ]
        return data.held_out, [x.astype(np.float32) for x in inputs]

    def validation_windows(
        self, data: SplitData, inputs: Sequence[np.ndarray]
    ) -> WindowDataset | None:
        """Non-overlapping windows of the held-out recordings (None if one is too short)."""
        c = self.config
        noisy = list(inputs) if self.denoising(data.held_out_noisy is not None) else None
        return held_out_windows(data, c.window, c.standardize, c.seed, noisy)
