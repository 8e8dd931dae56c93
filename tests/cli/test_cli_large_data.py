"""Data larger than memory on the command line: lazily read training data (the same run as
in memory), the index cache, two torchrun "nodes", and a killed streaming denoise."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import mdnc
from mdnc.checkpoint import build_model, model_config, save_checkpoint
from mdnc.cli import main
from mdnc.data.index import INDEX_NAME
from mdnc.inference import apply_overlap_add

TINY = ["--window", "128", "--channel", "4", "--layers", "1", "1", "--batch-size", "4", "--quiet"]


def _data(folder: Path) -> Path:
    """Recordings of three formats and layouts: npy, Fortran-order float64 npy, and h5."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    t = np.arange(900) / 30.0
    for i in range(5):
        x = np.stack([np.sin(t * (1 + i + c)) for c in range(2)]).astype(np.float32)
        x += 0.05 * rng.standard_normal(x.shape).astype(np.float32)
        if i == 3:
            np.save(folder / f"r{i}.npy", np.asfortranarray(x.astype(np.float64)))
        elif i == 4:
            with h5py.File(folder / f"r{i}.h5", "w") as handle:
                handle.create_dataset("data", data=x, chunks=(2, 100))
        else:
            np.save(folder / f"r{i}.npy", x)
    return folder


def _without_times(metrics: dict) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in metrics["epochs"]]


def test_lazy_training_is_the_run_of_the_in_memory_one(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    runs = {}
    for loading in ("memory", "lazy"):
        out = tmp_path / loading
        args = [str(data), "--snr-db", "5", "--epochs", "1", "--loading", loading]
        assert main(["train", *args, "--out", str(out), *TINY]) == 0
        runs[loading] = out
    a, b = (json.loads((runs[k] / "metrics.json").read_text()) for k in ("memory", "lazy"))
    assert _without_times(a) == _without_times(b)
    wa, wb = mdnc.load(runs["memory"]).state_dict(), mdnc.load(runs["lazy"]).state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    index = json.loads((runs["lazy"] / INDEX_NAME).read_text())
    paths = [row[index["fields"].index("path")] for row in index["recordings"]]
    assert sorted(Path(p).name for p in paths) == sorted(p.name for p in data.iterdir())
    # Resuming reads the index back and gives the same data again.
    assert main(["train", "--resume", str(runs["lazy"]), "--epochs", "2", "--quiet"]) == 0
    assert len(json.loads((runs["lazy"] / "metrics.json").read_text())["epochs"]) == 2


def test_a_nan_met_while_reading_lazily_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _data(tmp_path / "data")
    x = np.load(data / "r0.npy")
    x[1, 500] = np.nan
    np.save(data / "r0.npy", x)
    args = [str(data), "--snr-db", "5", "--epochs", "1", "--loading", "lazy", "--workers", "1"]
    code = main(["train", *args, "--val-fraction", "0", "--out", str(tmp_path / "r"), *TINY])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert f"{data / 'r0.npy'}: contains NaN or Inf samples at channel 1, sample 500" in err


def test_two_torchrun_nodes_match_a_single_process_on_lazy_data(tmp_path: Path) -> None:
    data = _data(tmp_path / "data")
    common = ["-m", "mdnc", "train", str(data), "--snr-db", "5", "--epochs", "1",
              "--loading", "lazy", "--device", "cpu", *TINY]  # fmt: skip
    single, nodes = tmp_path / "single", tmp_path / "nodes"
    subprocess.run([sys.executable, *common, "--out", str(single)], check=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    port = str(29600 + os.getpid() % 1000)
    launchers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "torch.distributed.run",
                "--nnodes=2",
                "--nproc-per-node=1",
                f"--node-rank={rank}",
                "--master-addr=127.0.0.1",
                f"--master-port={port}",
                *common,
                "--out",
                str(nodes),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        for rank in (0, 1)
    ]
    for proc in launchers:
        output = proc.communicate(timeout=300)[0]
        assert proc.returncode == 0, output[-3000:]
    la = json.loads((single / "metrics.json").read_text())["train_loss"]
    lb = json.loads((nodes / "metrics.json").read_text())["train_loss"]
    assert lb == pytest.approx(la, rel=1e-4)
    x = torch.randn(2, 2, 300)
    with torch.no_grad():
        torch.testing.assert_close(mdnc.load(single)(x), mdnc.load(nodes)(x), rtol=1e-4, atol=1e-4)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_killed_streaming_denoise_leaves_nothing_after_the_next_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    torch.manual_seed(0)
    net = build_model(model_config("AE1d", channel=8, layers=[1, 1], in_planes=1, out_planes=1))
    save_checkpoint(run, net, extra={"window": 256})
    x = np.random.default_rng(0).standard_normal((1, 400_000)).astype(np.float32)
    np.save(tmp_path / "long.npy", x)
    out = tmp_path / "out"
    out.mkdir()
    cmd = [sys.executable, "-m", "mdnc", "denoise", "--checkpoint", str(run),
           str(tmp_path / "long.npy"), "--output", str(out / "long.npy"), "--quiet"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not _hidden(out):  # the temporary output: streaming has begun
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no temporary output within 120 s"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "long.npy").exists()
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    assert _hidden(out) == []
    expected = apply_overlap_add(mdnc.load(run), x, window=256)
    np.testing.assert_array_equal(np.load(out / "long.npy"), expected)
