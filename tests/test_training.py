"""mdnc.training: the schedule, the split and the configuration checks."""

from __future__ import annotations

import numpy as np
import pytest

from mdnc.data import make_synthetic
from mdnc.training import TrainConfig, auto_epochs, split_recordings, train


@pytest.mark.parametrize(
    ("steps", "epochs"), [(1, 60), (30, 60), (67, 60), (100, 40), (390, 11), (10**5, 10)]
)
def test_auto_epochs(steps: int, epochs: int) -> None:
    assert auto_epochs(steps) == epochs


def test_default_schedule_is_resolved_and_stored(tmp_path, monkeypatch) -> None:
    seen = []
    monkeypatch.setattr(
        "mdnc.training.trainer.auto_epochs", lambda steps, *_: seen.append(steps) or 2
    )
    config = TrainConfig(channel=4, layers=[1, 1], window=128, batch_size=4, snr_db=5.0)
    assert config.epochs is None
    metrics = train(config, make_synthetic(3, 600, seed=1), tmp_path / "run", progress=False)
    # 2 training recordings of 600 samples, hop 64: 8 windows each -> 4 steps per epoch.
    assert seen == [4]
    assert metrics["config"]["epochs"] == 2 and len(metrics["epochs"]) == 2


def test_split_is_reproducible_and_disjoint() -> None:
    data = [np.full((1, 10), i, np.float32) for i in range(10)]
    train_a, held_a, tr, va = split_recordings(data, 0.2, seed=3)
    train_b, held_b, _, _ = split_recordings(data, 0.2, seed=3)
    assert [h[0, 0] for h in held_a] == [h[0, 0] for h in held_b] and len(held_a) == 2
    assert sorted(tr + va) == list(range(10))
    one_train, one_held, _, _ = split_recordings([np.arange(100, dtype=np.float32)[None]], 0.2, 0)
    assert one_train[0].shape[-1] == 80 and one_held[0][0, 0] == 80


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        (
            {"arch": "ResNet"},
            r"arch must be one of 'UNet1d', 'AE1d', 'BlindSpotNet1d', got 'ResNet'",
        ),
        ({"window": 0}, r"window must be an int >= 1, got 0"),
        ({"epochs": 0}, r"epochs must be an int >= 1, got 0"),
        ({"val_fraction": 1.0}, r"val_fraction must be a number in \[0, 1\), got 1.0"),
        ({"lr": -1.0}, r"lr must be a number > 0, got -1.0"),
        ({"hop": 0}, r"hop must be an int >= 1, got 0"),
    ],
)
def test_bad_config(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        TrainConfig(**kwargs)
