"""``mdnc train --config``, config.toml, --init-from, --resume options, the error boundary."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import mdnc
from mdnc.cli import main
from mdnc.training import read_toml

TINY = ["--window", "128", "--channel", "4", "--layers", "1", "1", "--batch-size", "4"]
SMALL = ["--synthetic", "6", "600", "--epochs", "2", "--quiet"]


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def _without_times(metrics: dict) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in metrics["epochs"]]


def test_config_toml_repeats_the_run(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["train", "--out", str(first), *SMALL, *TINY, "--seed", "3"]) == 0
    saved = read_toml(first / "config.toml")
    assert saved["train"]["epochs"] == 2 and saved["train"]["seed"] == 3
    assert saved["train"]["snr_db"] == 5.0  # the synthetic data's default, made explicit
    # Derived defaults stay unset (they follow the window and the data), with a note.
    assert (
        "hop" not in saved["train"]
        and "hop is unset: half the window, 64 samples" in (first / "config.toml").read_text()
    )
    assert main(["train", "--config", str(first / "config.toml"), "--out", str(second),
                 "--quiet"]) == 0  # fmt: skip
    assert _without_times(_metrics(first)) == _without_times(_metrics(second))
    assert _metrics(first)["config"] == _metrics(second)["config"]
    assert (first / "config.toml").read_text() == (second / "config.toml").read_text()


def test_command_line_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        "[data]\nsynthetic = [5, 500]\n[train]\nwindow = 128\nchannel = 4\nlayers = [1, 1]\n"
        'batch_size = 4\nepochs = 1\nlr = 0.01\nsnr_db = 10\nblock = "dense"\n'
    )
    run = tmp_path / "run"
    args = ["train", "--config", str(config), "--lr", "0.001", "--block", "plain"]
    assert main([*args, "--out", str(run), "--quiet"]) == 0
    saved = read_toml(run / "config.toml")
    assert saved["train"]["lr"] == 0.001 and saved["train"]["block"] == "plain"
    assert saved["train"]["snr_db"] == 10.0 and saved["data"]["synthetic"] == [5, 500]


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("[train]\nwindow = 0\n", r"c\.toml: window must be an int >= 1, got 0\."),
        ("[train]\nbatchsize = 4\n", r"c\.toml: unknown option 'batchsize' in \[train\]"),
        ('[train]\narch = "ResNet"\n', r"c\.toml: arch must be one of 'UNet1d', 'AE1d'"),
    ],
)
def test_bad_config_file_is_a_one_line_error(
    tmp_path: Path, capsys, text: str, pattern: str
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--out", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(pattern, err), err
    assert not run.exists()


def test_init_from_starts_from_the_weights_of_another_run(tmp_path: Path) -> None:
    source, tuned = tmp_path / "source", tmp_path / "tuned"
    assert main(["train", "--out", str(source), *SMALL, *TINY]) == 0
    # A learning rate so small that the weights cannot move: they are the source's.
    args = ["--out", str(tuned), "--init-from", str(source), "--lr", "1e-12", "--seed", "9"]
    assert main(["train", *args, *SMALL, *TINY]) == 0
    before, after = mdnc.load(source).state_dict(), mdnc.load(tuned).state_dict()
    for key, value in before.items():
        torch.testing.assert_close(after[key], value, rtol=0, atol=1e-9)
    assert read_toml(tuned / "config.toml")["train"]["init_from"] == str(source.resolve())
    fresh = tmp_path / "fresh"
    assert main(["train", "--out", str(fresh), "--lr", "1e-12", "--seed", "9", *SMALL, *TINY]) == 0
    assert any(not torch.allclose(mdnc.load(fresh).state_dict()[k], v) for k, v in before.items())


def test_init_from_another_architecture_is_a_clear_error(tmp_path: Path, capsys) -> None:
    source, tuned = tmp_path / "source", tmp_path / "tuned"
    assert main(["train", "--out", str(source), *SMALL, *TINY]) == 0
    capsys.readouterr()
    args = ["--out", str(tuned), "--init-from", str(source), *SMALL, *TINY, "--channel", "8"]
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"init_from {source.resolve()} holds UNet1d(" in err and "'channel': 4" in err
    assert "'channel': 8" in err and "(arch, channel, layers" in err
    assert not tuned.exists()
    args = ["--out", str(tuned), "--init-from", str(tmp_path / "no"), *SMALL, *TINY]
    assert main(["train", *args]) == 2
    assert "no such checkpoint folder" in capsys.readouterr().err


def test_resume_refuses_options_it_would_ignore(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *SMALL, *TINY, "--epochs", "1"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--lr", "0.1", "--window", "256"]) == 2
    err = capsys.readouterr().err
    assert "only --epochs, --device, --workers may be given with it, not --window, --lr" in err
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 0
    assert [row["epoch"] for row in _metrics(run)["epochs"]] == [1, 2]


def test_paired_and_added_noise_together_is_a_config_error(tmp_path: Path, capsys) -> None:
    files = []
    for name in ("a", "b"):
        files.append(tmp_path / f"{name}.npy")
        np.save(files[-1], np.random.default_rng(0).standard_normal((1, 600)).astype(np.float32))
    run = tmp_path / "run"
    args = ["train", str(files[0]), "--noisy", str(files[1]), "--snr-db", "5", "--out", str(run)]
    assert main([*args, *TINY, "--quiet"]) == 2
    assert "not both" in capsys.readouterr().err and not run.exists()


def test_an_unexpected_value_error_in_the_loop_is_a_bug_with_a_traceback(
    tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture
) -> None:
    def broken(self, epoch: int) -> float:
        raise ValueError("internal inconsistency")

    monkeypatch.setattr("mdnc.training.trainer.Trainer.train_epoch", broken)
    assert main(["train", "--out", str(tmp_path / "run"), *SMALL, *TINY]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert 'raise ValueError("internal inconsistency")' in err
    assert err.splitlines()[-1] == (
        "mdnc train: internal error (ValueError): this is a bug in mdnc; please report it "
        "with the traceback above."
    )


def test_relative_paths_in_a_config_file_are_taken_from_its_folder(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(4):
        np.save(folder / "data" / f"r{i}.npy", rng.standard_normal((1, 600)).astype(np.float32))
    config = folder / "exp.toml"
    config.write_text('[data]\npaths = ["data"]\n[train]\nsnr_db = 5\nepochs = 1\n')
    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--out", str(run), *TINY, "--quiet"]) == 0
    assert read_toml(run / "config.toml")["data"]["paths"] == [str(folder / "data")]


def _pairs(folder: Path, n: int = 4) -> tuple[list[str], list[str]]:
    folder.mkdir()
    rng = np.random.default_rng(0)
    clean, noisy = [], []
    for i in range(n):
        x = np.sin(np.arange(600) / (5.0 + i))[None].astype(np.float32)
        clean.append(str(folder / f"c{i}.npy"))
        noisy.append(str(folder / f"n{i}.npy"))
        np.save(clean[-1], x)
        np.save(noisy[-1], x + 0.3 * rng.standard_normal(x.shape).astype(np.float32))
    return clean, noisy


def test_data_given_with_a_config_file_replaces_the_files_data(tmp_path: Path) -> None:
    clean, noisy = _pairs(tmp_path / "d")
    first, second = tmp_path / "p1", tmp_path / "p2"
    args = [*clean, "--noisy", *noisy, *TINY, "--epochs", "1", "--quiet"]
    assert main(["train", *args, "--out", str(first)]) == 0
    # New recordings replace the file's recordings and their noisy pairs.
    args = ["--config", str(first / "config.toml"), *clean[:3], "--snr-db", "5", "--quiet"]
    assert main(["train", *args, "--out", str(second)]) == 0
    saved = read_toml(second / "config.toml")
    assert saved["data"]["paths"] == clean[:3] and saved["data"]["noisy"] == []


def test_none_unsets_an_option_of_the_file_and_derived_defaults_follow(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["train", "--out", str(first), *SMALL, *TINY, "--hop", "32"]) == 0
    args = ["--config", str(first / "config.toml"), "--window", "256", "--hop", "none"]
    assert main(["train", *args, "--out", str(second), "--quiet"]) == 0
    assert _metrics(second)["config"]["hop"] == 128  # half the new window, not the file's 32
    assert main(["train", "--config", str(first / "config.toml"), "--snr-db", "none",
                 "--out", str(tmp_path / "c"), "--quiet"]) == 0  # fmt: skip
    assert _metrics(tmp_path / "c")["snr_in_db"] is None  # reconstruction: no noise added


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--synthetic", "1", "600", "--val-fraction", "0.0001"],
         r"val_fraction \(0.0001\) holds out no sample of the only recording \(600 samples\)"),
        (["--seed", str(2**70)], r"seed must be an int in \[0, 2\*\*63 - 1\]"),
        (["--init-from", ""], r"init_from must be a non-empty string, got ''"),
        (["--hop", "x"], r"argument --hop: invalid int value: 'x'"),
    ],
)  # fmt: skip
def test_bad_options_are_one_line_errors_and_leave_no_run(
    tmp_path: Path, capsys, args: list[str], pattern: str
) -> None:
    run = tmp_path / "run"
    try:
        code = main(["train", "--out", str(run), *TINY, "--quiet", *args])
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert re.search(pattern, err[-1]), err
    assert not run.exists()


def test_resume_stretches_the_schedule_and_refuses_fewer_epochs(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *SMALL, *TINY, "--epochs", "1"]) == 0
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet"]) == 0
    lrs = [row["lr"] for row in _metrics(run)["epochs"]]
    # Cosine decay from 2e-3 to 1e-4 over the 3 epochs now asked for.
    assert lrs[1] == pytest.approx(1e-4 + 1.9e-3 * (1 + np.cos(2 * np.pi / 3)) / 2)
    assert lrs[2] == pytest.approx(1e-4)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 2
    assert "epochs (2) is below the 3 epochs the run" in capsys.readouterr().err
