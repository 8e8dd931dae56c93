"""``mdnc denoise`` and ``mdnc train`` on recordings in their fields' formats, a format
added by a plugin, and the promise that only ``mdnc.data.formats`` knows formats by name."""

from __future__ import annotations

import ast
import importlib.metadata
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mdnc.checkpoint import build_model, model_config, save_checkpoint
from mdnc.cli import PLUGIN_GROUP, main
from mdnc.data import formats
from mdnc.inference.spec import InferenceSpec
from tests.data.field_files import (
    EDF_RATE,
    field_folder,
    read_edf,
    write_edf,
)

edfio = pytest.importorskip("edfio")
wfdb = pytest.importorskip("wfdb")
obspy = pytest.importorskip("obspy")

TINY = ["--window", "128", "--channel", "4", "--layers", "1", "1", "--batch-size", "4", "--quiet"]


def _run(folder: Path, sample_rate: float | None = None) -> Path:
    """A one-channel run (untrained weights: what matters here is the files)."""
    torch.manual_seed(0)
    net = build_model(model_config("AE1d", channel=4, layers=[1, 1], in_planes=1, out_planes=1))
    spec = InferenceSpec(window=128, sample_rate=sample_rate, channels=1)
    save_checkpoint(folder, net, extra={"inference": spec.to_json()})
    return folder


def _read_back(path: Path) -> tuple[dict, np.ndarray]:
    """What each field's own library reads: the header fields, and the samples."""
    if path.suffix in (".edf", ".bdf"):
        edf = read_edf(path)
        head = {"labels": edf.labels, "units": [s.physical_dimension for s in edf.signals],
                "rate": [s.sampling_frequency for s in edf.signals],
                "start": (edf.startdate, edf.starttime) if path.suffix == ".edf"
                else edf.starttime, "patient": repr(edf.patient)}  # fmt: skip
        return head, np.stack([s.data for s in edf.signals])
    if path.suffix == ".hea":
        rec = wfdb.rdrecord(str(path.with_suffix("")))
        head = {"names": rec.sig_name, "units": rec.units, "rate": rec.fs,
                "start": (rec.base_date, rec.base_time), "fmt": rec.fmt}  # fmt: skip
        return head, rec.p_signal.T
    stream = obspy.read(str(path))
    head = {"ids": [t.id for t in stream], "starts": [t.stats.starttime for t in stream],
            "rates": [t.stats.sampling_rate for t in stream]}  # fmt: skip
    return head, np.stack([t.data.astype(np.float64) for t in stream])


def test_denoise_a_folder_of_field_files_keeps_every_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = field_folder(tmp_path / "in")
    run = _run(tmp_path / "run")
    out = tmp_path / "out"
    assert main(["denoise", "--checkpoint", str(run), str(folder), "--output", str(out),
                 "--quiet"]) == 0  # fmt: skip
    names = ["eeg.edf", "eeg24.bdf", "quake.mseed", "rec100.hea", "station.sac"]
    assert sorted(p.name for p in out.iterdir()) == sorted([*names, "rec100.dat"])
    for name in names:
        before, x = _read_back(folder / name)
        after, y = _read_back(out / name)
        assert after == before, name
        assert y.shape == x.shape and np.isfinite(y).all(), name
        assert not np.allclose(y, x), name  # denoised: changed


def test_denoise_refuses_another_rate_unless_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edf = write_edf(tmp_path / "a.edf")
    run = _run(tmp_path / "run", sample_rate=100.0)
    out = str(tmp_path / "o")
    args = ["denoise", "--checkpoint", str(run), str(edf), "--output", out, "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{edf}: sampled at 256 Hz, but the run in {run} was trained at 100 Hz" in err
    assert not (tmp_path / "o").exists()
    assert main([*args, "--any-rate"]) == 0


def test_a_damaged_field_file_is_refused_before_anything_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = field_folder(tmp_path / "in")
    raw = (folder / "quake.mseed").read_bytes()
    (folder / "quake.mseed").write_bytes(raw[: len(raw) - 100])
    run = _run(tmp_path / "run")
    code = main(["denoise", "--checkpoint", str(run), str(folder), "--output",
                 str(tmp_path / "out"), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "quake.mseed: truncated or damaged file" in err[0]
    assert not (tmp_path / "out").exists()


def test_train_on_edf_recordings_keeps_their_rate_and_names(tmp_path: Path) -> None:
    folder = tmp_path / "edf"
    folder.mkdir()
    for i in range(3):
        write_edf(folder / f"night{i}.edf", seconds=6)
    out = tmp_path / "run"
    assert main(["train", str(folder), "--snr-db", "5", "--out", str(out), "--epochs", "1",
                 *TINY]) == 0  # fmt: skip
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["recordings"] == {"sample_rate": EDF_RATE,
                                     "channel_names": ["EEG C0", "EEG C1", "EEG C2"]}  # fmt: skip
    inference = json.loads((out / "config.json").read_text())["extra"]["inference"]
    assert (inference["sample_rate"], inference["channels"], inference["window"]) == (256, 3, 128)
    import mdnc

    assert mdnc.load(out).inference == InferenceSpec.from_json(inference)
    split = tmp_path / "split"
    assert main(["train", str(folder), "--snr-db", "5", "--split-channels", "--out", str(split),
                 "--epochs", "1", *TINY]) == 0  # fmt: skip
    assert mdnc.load(split).inference.channels == 1


def test_train_refuses_recordings_of_two_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "edf"
    folder.mkdir()
    write_edf(folder / "a.edf")
    signals = [edfio.EdfSignal(np.random.default_rng(c).standard_normal(128 * 8), 128,
                               label=f"EEG C{c}") for c in range(3)]  # fmt: skip
    edfio.Edf(signals).write(folder / "b.edf")
    code = main(["train", str(folder), "--snr-db", "5", "--out", str(tmp_path / "r"), *TINY])
    assert code == 2
    assert "b.edf: sampled at 128 Hz, but" in capsys.readouterr().err
    assert not (tmp_path / "r" / "config.json").exists()


# --------------------------------------------------------------------------------------------
# A format from a plugin


@pytest.fixture
def toy_plugin(monkeypatch: pytest.MonkeyPatch):
    entry = importlib.metadata.EntryPoint("toy", "tests.cli.plugin_format", PLUGIN_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [entry] if group == PLUGIN_GROUP else [])  # fmt: skip
    monkeypatch.setattr(formats, "_loaded", False)
    yield
    formats.unregister_format("toy")
    import sys

    sys.modules.pop("tests.cli.plugin_format", None)


def test_a_plugin_format_is_trained_on_and_denoised(tmp_path: Path, toy_plugin) -> None:
    folder = tmp_path / "toy"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        rows = "\n".join(" ".join(f"{v:.6f}" for v in rng.standard_normal(600)) for _ in range(1))
        (folder / f"r{i}.toy").write_text(f"rate=50\n{rows}\n")
    run = tmp_path / "run"
    assert main(["train", str(folder), "--snr-db", "5", "--out", str(run), "--epochs", "1",
                 *TINY]) == 0  # fmt: skip
    assert json.loads((run / "metrics.json").read_text())["recordings"]["sample_rate"] == 50
    out = tmp_path / "out"
    assert main(["denoise", "--checkpoint", str(run), str(folder), "--output", str(out),
                 "--quiet"]) == 0  # fmt: skip
    text = (out / "r0.toy").read_text().splitlines()
    assert text[0] == "rate=50" and len(text[1].split()) == 600


# --------------------------------------------------------------------------------------------
# Only the formats know formats


FORMAT_WORDS = {"npy", "npz", "h5", "hdf5", "csv", "wav", "flac", "edf", "bdf", "hea", "dat",
                "wfdb", "mseed", "miniseed", "sac", "seismic", "audio", "soundfile"}  # fmt: skip


def _named_formats(path: Path) -> list[str]:
    """The string constants of a module's code (docstrings aside) that name a format."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }  # fmt: skip
    return [
        f"{path}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings and node.value.lower().lstrip(".") in FORMAT_WORDS
    ]  # fmt: skip


def test_no_module_outside_the_formats_names_a_format() -> None:
    package = Path(__file__).resolve().parents[2] / "mdnc"
    found = [
        hit for path in sorted(package.rglob("*.py"))
        if "formats" not in path.relative_to(package).parts
        for hit in _named_formats(path)
    ]  # fmt: skip
    assert found == []


def test_the_grep_finds_a_format_named_in_code(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""Reads .npy files."""\n\ndef f(p):\n    return p.suffix == ".npy"\n')
    assert _named_formats(module) == [f"{module}:4: '.npy'"]


# --------------------------------------------------------------------------------------------
# The run folder and TensorBoard


def test_out_of_user_files_named_like_a_run_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    files = {"metrics.json": '{"mine": 1}', "loss.png": "my picture", "config.toml": "x = 1"}
    for name, text in files.items():
        (mine / name).write_text(text)
    code = main(["train", "--out", str(mine), "--synthetic", "4", "300", "--epochs", "1", *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    listed = "(config.toml, loss.png, metrics.json)"
    assert f"--out {mine} is a folder of other files {listed}" in err[0]
    assert {p.name: p.read_text() for p in mine.iterdir()} == files


def test_tensorboard_logs_the_epochs(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--synthetic", "4", "300", "--epochs", "2",
                 "--tensorboard", *TINY]) == 0  # fmt: skip
    events = EventAccumulator(str(out / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("train_loss")] == [1, 2]
    metrics = json.loads((out / "metrics.json").read_text())
    assert [e.value for e in events.Scalars("val_loss")] == pytest.approx(
        [row["val_loss"] for row in metrics["epochs"]], rel=1e-6)  # fmt: skip
    assert events.Tags()["images"] == ["examples"]


def test_the_hum_noise_takes_the_rate_the_files_say(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "edf"
    folder.mkdir()
    for i in range(2):
        write_edf(folder / f"n{i}.edf", seconds=6)
    args = ["train", str(folder), "--noise", "hum", "--hum-hz", "50", "--snr-db", "5",
            "--epochs", "1", *TINY]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "r")]) == 0
    saved = json.loads((tmp_path / "r" / "config.json").read_text())["extra"]["train"]
    assert saved["sample_rate"] == EDF_RATE
    assert main([*args, "--sample-rate", "500", "--out", str(tmp_path / "r2")]) == 2
    assert "is 500 Hz but the recordings say they are sampled at 256 Hz" in capsys.readouterr().err
