"""Extending the workflow in one file: a new objective (loss) and a new noise model.

Everything below the two classes is test scaffolding: the classes alone, registered, are
all that ``mdnc train --objective test-l1 --noise test-uniform`` needs. (A new preset is
shown in ``tests/test_registry.py``.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from mdnc.cli import main
from mdnc.data import NoiseModel, WindowDataset, make_synthetic, noise, register_noise
from mdnc.training import (
    Batch,
    ObjectiveOptions,
    SupervisedObjective,
    TrainConfig,
    Trainer,
    read_toml,
    register_objective,
    unregister_objective,
)
from mdnc.training.options import document, option


@document
@dataclass(kw_only=True)
class L1Options(ObjectiveOptions):
    """The options the L1 objective owns."""

    l1_scale: float = option(1.0, group="test-l1 objective", help="factor of the L1 loss.")


class L1Objective(SupervisedObjective):
    """Supervised denoising with the mean absolute error as its loss."""

    name = "test-l1"
    options_class = L1Options
    calls = 0

    def loss(self, output: torch.Tensor, batch: Batch, reduction: str = "mean") -> torch.Tensor:
        type(self).calls += 1
        loss = torch.nn.functional.l1_loss(output.float(), batch.target, reduction=reduction)
        return self.options.l1_scale * loss


class UniformNoise(NoiseModel):
    """White noise, uniform on [-sqrt(3), sqrt(3)] (unit power)."""

    name = "test-uniform"

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), size=shape).astype(np.float32)


@pytest.fixture(autouse=True, scope="module")
def registered() -> Iterator[None]:
    register_objective(L1Objective)
    register_noise(UniformNoise)
    yield
    unregister_objective(L1Objective.name)
    noise._NOISE_MODELS.unregister(UniformNoise.name)


TINY = ["--window", "128", "--channel", "4", "--layers", "1", "1", "--batch-size", "4"]


def test_the_new_objective_and_noise_model_are_options_of_mdnc_train(tmp_path: Path) -> None:
    run = tmp_path / "run"
    L1Objective.calls = 0
    args = ["--objective", "test-l1", "--noise", "test-uniform", "--snr-db", "5", "--epochs", "1",
            "--l1-scale", "2"]  # fmt: skip
    assert main(["train", "--out", str(run), "--synthetic", "6", "600", *args, *TINY,
                 "--quiet"]) == 0  # fmt: skip
    assert L1Objective.calls > 0
    saved = read_toml(run / "config.toml")["train"]
    assert saved["objective"] == "test-l1" and saved["noise"] == "test-uniform"
    assert saved["l1_scale"] == 2.0  # the objective's own option, in the same [train] table
    assert TrainConfig.from_flat(saved).objective_options == L1Options(l1_scale=2.0)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["snr_in_db"] == pytest.approx(5.0, abs=0.5)


def test_the_validation_loss_is_the_objectives_loss(tmp_path: Path) -> None:
    config = TrainConfig(
        channel=4, layers=[1, 1], window=128, batch_size=4, epochs=1, snr_db=5.0,
        objective="test-l1", objective_options={"l1_scale": 3.0},
    )  # fmt: skip
    trainer = Trainer(config, make_synthetic(6, 600, seed=2), tmp_path / "run", progress=False)
    metrics = trainer.fit()
    assert isinstance(trainer.objective, L1Objective)
    errors, count = 0.0, 0
    with torch.no_grad():
        for x, y in torch.utils.data.DataLoader(trainer.val_windows, batch_size=4):
            errors += 3.0 * float((trainer.model.eval()(x) - y).abs().sum())
            count += y.numel()
    assert metrics["val_loss"] == pytest.approx(errors / count, rel=1e-5)


def test_the_new_noise_model_has_its_statistics_at_the_snr() -> None:
    clean = make_synthetic(4, 4000, seed=0)
    dataset = WindowDataset(clean, 4000, snr_db=0.0, noise="test-uniform", seed=0)
    for i, recording in enumerate(clean):
        x, y = dataset[i]
        added = (x - y).numpy().astype(np.float64)
        power = float(np.mean(np.square(recording, dtype=np.float64)))
        # Uniform: bounded by sqrt(3) std, variance at the SNR (0 dB: the signal's power).
        assert np.abs(added).max() <= np.sqrt(3.0 * power) * (1 + 1e-5)
        assert np.mean(added**2) == pytest.approx(power, rel=0.1)
        assert np.mean(added**4) / np.mean(added**2) ** 2 == pytest.approx(1.8, abs=0.15)


def test_unknown_names_list_the_registered_ones() -> None:
    valid = "valid noise models: gaussian, pink, brown, hum, impulsive, test-uniform"
    with pytest.raises(ValueError, match=valid):
        noise.get_noise_model("purple")
    listed = "objective must be one of 'supervised', 'self-supervised', 'noise2noise', 'test-l1'"
    with pytest.raises(ValueError, match=listed + ", got 'magic'"):
        TrainConfig(objective="magic")
    with pytest.raises(ValueError, match="already registered"):
        register_noise(UniformNoise)
