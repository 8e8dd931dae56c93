"""Run folders of the previous release (tests/fixtures/runs_0.1.0, one per objective)
still load, denoise, resume, and repeat from their config.toml."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import mdnc
from mdnc.cli import main
from mdnc.inference.spec import InferenceSpec
from tests.conftest import FIXTURES

OLD = FIXTURES / "runs_0.1.0"
KINDS = ["supervised", "self-supervised", "noise2noise"]


@pytest.fixture(params=KINDS)
def old_run(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    run = tmp_path / request.param
    shutil.copytree(OLD / request.param, run)
    return run


def test_an_old_run_loads_with_its_inference_settings(old_run: Path) -> None:
    net = mdnc.load(old_run)
    extra = json.loads((old_run / "config.json").read_text())["extra"]
    assert "inference" not in extra  # the previous release saved the window alone
    assert net.inference == InferenceSpec(window=128, standardize=extra["standardize"])


def test_an_old_run_denoises_and_resumes(old_run: Path, tmp_path: Path) -> None:
    noisy = tmp_path / "noisy.npy"
    np.save(noisy, np.sin(np.arange(700, dtype=np.float32) / 9)[None])
    out = tmp_path / "clean.npy"
    assert main(["denoise", "--checkpoint", str(old_run), str(noisy), "--output", str(out),
                 "--quiet"]) == 0  # fmt: skip
    assert np.load(out).shape == (1, 700) and np.isfinite(np.load(out)).all()
    assert main(["train", "--resume", str(old_run), "--epochs", "3", "--quiet"]) == 0
    metrics = json.loads((old_run / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["epochs"]] == [1, 2, 3]
    assert mdnc.load(old_run).inference.window == 128


def test_an_old_config_toml_repeats_the_run(old_run: Path, tmp_path: Path) -> None:
    new = tmp_path / "again"
    assert main(["train", "--config", str(old_run / "config.toml"), "--out", str(new),
                 "--epochs", "1", "--quiet"]) == 0  # fmt: skip
    saved = json.loads((new / "config.json").read_text())["extra"]
    old = json.loads((old_run / "config.json").read_text())["extra"]
    assert saved["train"]["objective"] == old["train"]["objective"]
    assert saved["inference"]["window"] == 128
