"""``mdnc train`` end to end on tiny data: report, resume, kill, torchrun, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import mdnc
from mdnc.cli import main

TINY = ["--window", "128", "--channel", "4", "--layers", "1", "1", "--batch-size", "4", "--quiet"]


def _train(tmp_path: Path, *args: str) -> int:
    return main(["train", *args, *TINY])


def test_train_on_synthetic_data_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _train(tmp_path, "--out", str(out), "--synthetic", "6", "600", "--epochs", "2") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["epochs"]] == [1, 2]
    for key in ("train_loss", "val_loss", "snr_in_db", "snr_out_db", "snr_gain_db"):
        assert np.isfinite(metrics["epochs"][-1][key]), key
        assert metrics[key] == metrics["epochs"][-1][key]
    assert metrics["snr_in_db"] == pytest.approx(5.0, abs=1.0)  # synthetic default: 5 dB
    for name in ("loss.png", "examples.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = mdnc.load(out)
    assert type(model).__name__ == "UNet1d"
    assert model(torch.randn(1, 1, 128)).shape == (1, 1, 128)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def _write_files(folder: Path, n: int, length: int, channels: int = 2, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(length) / 50.0
    paths = []
    for i in range(n):
        x = np.stack([np.sin(t * (1 + i + c)) for c in range(channels)]).astype(np.float32)
        x += 0.05 * rng.standard_normal(x.shape).astype(np.float32)
        paths.append(folder / f"rec{i}.npy")
        np.save(paths[-1], x)
    return paths


def test_train_on_a_folder_with_noise_and_on_paired_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _write_files(data, 4, 700)
    out = tmp_path / "noise"
    assert _train(tmp_path, str(data), "--snr-db", "3", "--out", str(out), "--epochs", "1") == 0
    assert mdnc.load(out).in_planes == 2
    noisy = _write_files(tmp_path / "noisy", 4, 700, seed=1)
    clean = sorted(data.iterdir())
    out2 = tmp_path / "paired"
    args = [*map(str, clean), "--noisy", *map(str, noisy), "--out", str(out2), "--epochs", "1"]
    assert _train(tmp_path, *args) == 0
    assert json.loads((out2 / "metrics.json").read_text())["snr_in_db"] is not None


def test_resume_extends_the_schedule(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _train(tmp_path, "--out", str(out), "--synthetic", "5", "500", "--epochs", "1") == 0
    assert main(["train", "--resume", str(out), "--epochs", "3", "--quiet"]) == 0
    history = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [row["epoch"] for row in history] == [1, 2, 3]


def test_resume_of_a_run_saved_before_an_option_existed(tmp_path: Path) -> None:
    """A self-supervised run saved before ``prior_components`` existed (a point prediction,
    no such option in its saved options) resumes as it was trained, not with today's
    default."""
    out = tmp_path / "run"
    args = ["--out", str(out), "--synthetic", "5", "500", "--epochs", "1",
            "--objective", "self-supervised", "--prior-components", "0"]  # fmt: skip
    assert _train(tmp_path, *args) == 0
    config = json.loads((out / "config.json").read_text())
    del config["extra"]["train"]["prior_components"]
    # Releases before 0.2 saved the options of every objective.
    config["extra"]["train"]["pair_mixing"] = None
    assert "components" not in config["kwargs"]
    (out / "config.json").write_text(json.dumps(config))
    assert main(["train", "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    assert mdnc.load(out).components == 0
    saved = json.loads((out / "config.json").read_text())["extra"]["train"]
    assert saved["prior_components"] == 0 and "pair_mixing" not in saved


def test_sigkill_mid_run_then_resume_finishes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "mdnc",
        "train",
        "--out",
        str(out),
        "--synthetic",
        "24",
        "2000",
        "--epochs",
        "4",
        *TINY,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "config.json").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = json.loads((out / "config.json").read_text())["extra"]["history"]
    assert 1 <= len(done) < 4
    resumed = subprocess.run(
        [sys.executable, "-m", "mdnc", "train", "--resume", str(out), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == 0, resumed.stderr
    history = json.loads((out / "metrics.json").read_text())["epochs"]
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert mdnc.load(out)(torch.randn(1, 1, 200)).shape == (1, 1, 200)


def test_torchrun_matches_a_single_process_run(tmp_path: Path) -> None:
    common = [
        "train",
        "--synthetic",
        "6",
        "640",
        "--epochs",
        "1",
        "--val-fraction",
        "0.2",
        "--device",
        "cpu",
        *TINY,
    ]
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    subprocess.run([sys.executable, "-m", "mdnc", *common, "--out", str(single)], check=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port",
        str(29500 + os.getpid() % 1000),
    ]
    run = subprocess.run(
        [*launcher, "-m", "mdnc", *common, "--out", str(ddp)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    net_a, net_b = mdnc.load(single), mdnc.load(ddp)
    a, b = net_a.state_dict(), net_b.state_dict()
    for key in a:
        # Norm biases right before another instance norm have a true gradient of zero:
        # Adam turns their rounding noise into lr-sized steps, so only the others compare.
        if a[key].dim() == 3:
            torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)
    x = torch.randn(2, 1, 300)
    with torch.no_grad():
        torch.testing.assert_close(net_a(x), net_b(x), rtol=1e-4, atol=1e-4)
    la = json.loads((single / "metrics.json").read_text())["train_loss"]
    lb = json.loads((ddp / "metrics.json").read_text())["train_loss"]
    assert lb == pytest.approx(la, rel=1e-4)


@pytest.mark.parametrize(
    ("make", "args", "pattern"),
    [
        (
            lambda d: np.save(d / "bad.npy", np.array([[1.0, np.nan] * 300], np.float32)),
            [],
            r"bad\.npy: .*NaN",
        ),
        (
            lambda d: np.save(d / "empty.npy", np.zeros((1, 0), np.float32)),
            [],
            r"empty\.npy: empty",
        ),
        (lambda d: (d / "broken.wav").write_bytes(b"RIFF1234"), [], r"broken\.wav: unreadable"),
        (
            lambda d: np.save(d / "short.npy", np.ones((1, 100), np.float32)),
            [],
            r"window of 128 samples is longer than every recording.*short\.npy.* 100 samples",
        ),
        (
            lambda d: (
                np.save(d / "a.npy", np.ones((1, 600), np.float32)),
                np.save(d / "b.npy", np.ones((2, 600), np.float32)),
            ),
            [],
            r"b\.npy: .*2 channel.*1",
        ),
    ],
)
@pytest.mark.parametrize("loading", ["memory", "lazy"])
def test_bad_data_gives_a_one_line_error_and_no_run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make,
    args: list[str],
    pattern: str,
    loading: str,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    make(data)
    out = tmp_path / "run"
    args = [*args, "--loading", loading]
    assert _train(tmp_path, str(data), "--snr-db", "5", "--out", str(out), *args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mdnc train: error: ")
    assert __import__("re").search(pattern, err), err
    assert not out.exists() or not any(out.iterdir())


def test_existing_run_is_not_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert _train(tmp_path, "--out", str(out), "--synthetic", "5", "500", "--epochs", "1") == 0
    before = (out / "model.safetensors").read_bytes()
    assert _train(tmp_path, "--out", str(out), "--synthetic", "5", "500", "--epochs", "1") == 2
    assert "already holds a run; use --resume" in capsys.readouterr().err
    assert (out / "model.safetensors").read_bytes() == before


def test_resume_of_a_folder_without_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--resume", str(tmp_path / "nothing"), "--quiet"]) == 2
    assert "nothing" in capsys.readouterr().err
