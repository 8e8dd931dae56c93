"""mdnc.limits, checkpoint hashes and the run folder's guards, in the library."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mdnc._utils import FolderLockedError, folder_lock, remove_leftovers, staged_files
from mdnc.checkpoint import CheckpointError, build_model, load, model_config, save_checkpoint
from mdnc.inference import apply_overlap_add
from mdnc.limits import (
    Limits,
    ResourceError,
    check_memory,
    format_bytes,
    forward_bytes,
    get_limits,
    set_limits,
)
from mdnc.training import DivergenceError, TrainConfig, Trainer, train
from mdnc.training.config import ConfigError


@pytest.fixture(autouse=True)
def _default_limits(monkeypatch: pytest.MonkeyPatch):
    for name in ("MDNC_MAX_MEMORY", "MDNC_MAX_STAGES", "MDNC_MAX_CHANNELS", "MDNC_MAX_PARAMETERS"):
        monkeypatch.delenv(name, raising=False)
    set_limits()
    yield
    set_limits()


@pytest.mark.parametrize(
    "text, expected", [("64G", 64 * 2**30), ("5e9", 5 * 10**9), ("512MiB", 512 * 2**20),
                       ("1.5k", 1536)],
)  # fmt: skip
def test_memory_limit_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: int
) -> None:
    monkeypatch.setenv("MDNC_MAX_MEMORY", text)
    assert get_limits().max_memory == expected


@pytest.mark.parametrize("text", ["lots", "-1G", "0", "nanG", "infG"])
def test_a_bad_limit_names_the_variable(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("MDNC_MAX_MEMORY", text)
    with pytest.raises(ResourceError, match=r"MDNC_MAX_MEMORY must be a positive size .*got"):
        get_limits()


def test_set_limits_overrides_and_restores() -> None:
    old = set_limits(max_stages=3)
    assert get_limits() == Limits(max_stages=3)
    with pytest.raises(CheckpointError, match=r"has 4 stages .*limit of 3; set MDNC_MAX_STAGES"):
        build_model(model_config("UNet1d", channel=4, layers=[1, 1, 1, 1]))
    set_limits(old)
    assert build_model(model_config("UNet1d", channel=4, layers=[1, 1, 1, 1])) is not None


def test_check_memory_message() -> None:
    set_limits(max_memory=2**20)
    check_memory(2**20, "x", "y")
    expected = r"^window 9 needs about 2.0 MiB, more than the 1.0 MiB allowed \(MDNC_MAX_MEMORY"
    with pytest.raises(ResourceError, match=expected + r"\); lower it, or set MDNC_MAX"):
        check_memory(2**21, "window 9", "lower it")
    assert format_bytes(1536) == "1.5 KiB" and format_bytes(12) == "12 B"


def test_forward_bytes_scales_with_batch_and_length() -> None:
    net = build_model(model_config("UNet1d", channel=4, layers=[1, 1, 1])).eval()
    one = forward_bytes(net, 1, (4096,))
    assert forward_bytes(net, 8, (4096,)) == 8 * one
    assert forward_bytes(net, 1, (8192,)) == 2 * one
    # At least the output and the input of every stage; the cheap bound is above it.
    assert one >= 4 * 4096 * 4 * 3
    assert forward_bytes(net, 1, (4096,), precise=False) >= one
    assert forward_bytes(net, 1, (4096,), training=True) > one
    assert all(p.grad is None for p in net.parameters())  # measuring left no gradients


def test_apply_overlap_add_refuses_a_batch_beyond_the_memory_limit() -> None:
    net = build_model(model_config("AE1d", channel=4, layers=[1, 1])).eval()
    x = np.zeros((1, 10_000), np.float32)
    set_limits(max_memory=2**20)
    with pytest.raises(ResourceError, match=r"window 4096 x batch_size 64 needs about"):
        apply_overlap_add(net, x, window=4096, batch_size=64, overlap=0.9)
    set_limits(max_memory=None)
    assert apply_overlap_add(net, x, window=4096, batch_size=64, overlap=0.9).shape == x.shape


def test_a_flipped_byte_of_the_best_weights_is_found_after_later_saves(tmp_path: Path) -> None:
    net = build_model(model_config("AE1d", channel=4, layers=[1, 1]))
    save_checkpoint(tmp_path, net, best=True)
    save_checkpoint(tmp_path, net)  # not the best: best.safetensors stays, its hash too
    document = json.loads((tmp_path / "config.json").read_text())
    assert set(document["sha256"]) == {"model.safetensors", "best.safetensors"}
    assert load(tmp_path, weights="best") is not None
    data = bytearray((tmp_path / "best.safetensors").read_bytes())
    data[-1] ^= 0x10
    (tmp_path / "best.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"best.safetensors: its content does not match"):
        load(tmp_path, weights="best")
    assert load(tmp_path, weights="last") is not None


def test_folder_lock_is_exclusive_and_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    with folder_lock(folder):
        with pytest.raises(FolderLockedError, match="being written by another process"):
            with folder_lock(folder):
                pass
        assert list(folder.iterdir()) == []
    assert not folder.exists()  # created by the lock, left empty: removed
    folder.mkdir()
    with folder_lock(folder):
        (folder / "kept").write_text("x")
    assert (folder / "kept").exists()
    with folder_lock(folder):  # released: taken again
        pass


def test_remove_leftovers_touches_only_temporary_names(tmp_path: Path) -> None:
    from mdnc._utils import _temporary_sibling

    tmp = _temporary_sibling(tmp_path / "a.npy", ".npy")  # as a killed write leaves it
    keep = [tmp_path / ".a.npy.xyz.tmp", tmp_path / "a.npy.0123456789ab.tmp", tmp_path / "b"]
    for p in keep:
        p.write_bytes(b"y")
    assert remove_leftovers(tmp_path, ["other.npy"]) == []
    assert remove_leftovers(tmp_path) == [tmp]
    assert all(p.exists() for p in keep)
    with staged_files() as stage:  # staged files of a write in progress are its own
        stage(tmp_path / "c.txt").write_text("c")
    assert (tmp_path / "c.txt").read_text() == "c"


def _tiny_config(**changes: object) -> TrainConfig:
    options = {"window": 128, "channel": 4, "layers": [1, 1], "batch_size": 4, "epochs": 1,
               "snr_db": 5.0}  # fmt: skip
    return TrainConfig(**{**options, **changes})


def _recordings() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [np.sin(np.arange(600) / 9 + i)[None].astype(np.float32) + 0.01 * rng.standard_normal(
        (1, 600), dtype=np.float32) for i in range(4)]  # fmt: skip


def test_train_refuses_to_replace_a_run_and_stops_on_divergence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mdnc.training.objectives import SupervisedObjective

    data = _recordings()
    train(_tiny_config(), data, tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "model.safetensors").read_bytes()
    with pytest.raises(ConfigError, match="already holds a run"):
        train(_tiny_config(), data, tmp_path / "run", progress=False)
    real = SupervisedObjective.loss
    monkeypatch.setattr(SupervisedObjective, "loss", lambda *a, **k: real(*a, **k) * np.nan)
    with pytest.raises(DivergenceError, match=r"loss is nan at step 1 of epoch 2 .*epoch 1 in"):
        train(_tiny_config(epochs=2), data, tmp_path / "run", resume=True, progress=False)
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == before


def test_a_training_step_beyond_the_memory_limit_is_refused(tmp_path: Path) -> None:
    set_limits(max_memory=2**14)
    trainer = Trainer(_tiny_config(), _recordings(), tmp_path / "run", progress=False)
    with pytest.raises(ResourceError, match=r"training step of batch_size 4 x window 128"):
        trainer.fit()
    assert not (tmp_path / "run").exists()
    assert torch.get_num_threads() >= 1
