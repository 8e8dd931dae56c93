"""A plugin module as an installed package would declare it (see test_cli_plugins.py)."""

from __future__ import annotations

import numpy as np

from mdnc.data import NoiseModel, register_noise


@register_noise
class SquareWaveNoise(NoiseModel):
    """A +-1 random telegraph signal (unit power)."""

    name = "plugin-square"

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)
