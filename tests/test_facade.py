"""The library does what the command line does: ``mdnc.train`` and ``mdnc.denoise`` are the
calls behind ``mdnc train`` and ``mdnc denoise``, with the same results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import mdnc
from mdnc.cli import main
from mdnc.data import DataError
from mdnc.errors import MdncError, UsageError
from mdnc.training import ConfigError

TINY = {"window": 128, "channel": 4, "layers": [1, 1], "batch_size": 4}
TINY_CLI = ["--window", "128", "--channel", "4", "--layers", "1", "1", "--batch-size", "4"]


def _recordings(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        t = np.arange(900) / 40
        np.save(folder / f"r{i}.npy", (np.sin(t * (1 + i)) + 0.1 * rng.standard_normal(900))
                .astype(np.float32)[None])  # fmt: skip
    return folder


def _metrics(run: Path) -> dict:
    metrics = json.loads((run / "metrics.json").read_text())
    for row in metrics["epochs"]:
        row.pop("seconds")  # the time it took
    return metrics


def test_train_and_denoise_give_what_the_command_line_gives(tmp_path: Path) -> None:
    data = _recordings(tmp_path / "data")
    lib, cli = tmp_path / "lib", tmp_path / "cli"
    mdnc.train([data], lib, snr_db=5, epochs=2, progress=False, **TINY)
    assert main(["train", str(data), "--snr-db", "5", "--epochs", "2", "--out", str(cli),
                 "--quiet", *TINY_CLI]) == 0  # fmt: skip
    assert _metrics(lib) == _metrics(cli)
    from safetensors.numpy import load_file

    a, b = load_file(lib / "model.safetensors"), load_file(cli / "model.safetensors")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    written = mdnc.denoise(lib, data, tmp_path / "a")
    assert main(["denoise", "--checkpoint", str(cli), str(data), "--output",
                 str(tmp_path / "b"), "--quiet"]) == 0  # fmt: skip
    assert [p.name for p in written] == ["r0.npy", "r1.npy", "r2.npy"]
    for path in written:
        np.testing.assert_array_equal(np.load(path), np.load(tmp_path / "b" / path.name))


def test_library_refusals_are_mdnc_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown option.*snr"):
        mdnc.train([], tmp_path / "r", snr=5)
    with pytest.raises(ConfigError, match="a file is there"):
        (tmp_path / "f").write_text("x")
        mdnc.train([], tmp_path / "f", epochs=1)
    with pytest.raises(DataError, match="no such file or folder"):
        mdnc.train([tmp_path / "missing"], tmp_path / "r2", snr_db=5)
    for error in (UsageError, ConfigError, DataError):
        assert issubclass(error, MdncError) and issubclass(error, ValueError)
