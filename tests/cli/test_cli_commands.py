"""``mdnc denoise``, ``summary``, ``export`` and ``--help`` on tiny data."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from mdnc.checkpoint import build_model, model_config, save_checkpoint
from mdnc.cli import main
from tests.conftest import FIXTURES, strip_trailing


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained-looking run: an AE1d of 2 channels with its training window."""
    out = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    net = build_model(model_config("AE1d", channel=4, layers=[1, 1], in_planes=2, out_planes=2))
    save_checkpoint(out, net, extra={"window": 64, "standardize": True})
    return out


def _signal(length: int, channels: int = 2) -> np.ndarray:
    t = np.arange(length, dtype=np.float32) / 20
    return np.stack([np.sin(t + c) for c in range(channels)]).astype(np.float32) * 0.5


def test_denoise_one_file_to_one_file(run_dir: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "in.npy", _signal(301))
    assert (
        main(
            [
                "denoise",
                "--checkpoint",
                str(run_dir),
                str(tmp_path / "in.npy"),
                "--output",
                str(tmp_path / "out.npy"),
                "--quiet",
            ]
        )
        == 0
    )
    out = np.load(tmp_path / "out.npy")
    assert out.shape == (2, 301) and np.isfinite(out).all()


def test_denoise_folder_keeps_names_and_formats(run_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    np.save(src / "a.npy", _signal(500))
    sf.write(src / "b.wav", _signal(300).T, 8000, subtype="PCM_16")
    np.savetxt(src / "c.csv", _signal(130).T, delimiter=",")
    assert (
        main(
            [
                "apply",
                "--checkpoint",
                str(run_dir),
                str(src),
                "--output",
                str(tmp_path / "out"),
                "--quiet",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.npy", "b.wav", "c.csv"]
    audio, rate = sf.read(tmp_path / "out" / "b.wav")
    assert rate == 8000 and audio.shape == (300, 2)
    assert np.loadtxt(tmp_path / "out" / "c.csv", delimiter=",").shape == (130, 2)


def test_denoise_matches_the_python_api(run_dir: Path, tmp_path: Path) -> None:
    from mdnc import load
    from mdnc.inference import apply_overlap_add

    x = _signal(777)
    np.save(tmp_path / "x.npy", x)
    main(
        [
            "denoise",
            "--checkpoint",
            str(run_dir),
            str(tmp_path / "x.npy"),
            "--output",
            str(tmp_path / "y.npy"),
            "--quiet",
        ]
    )
    expected = apply_overlap_add(load(run_dir), x, window=64, overlap=0.5, standardize=True)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("files", "pattern"),
    [
        (
            {"a.npy": _signal(200), "bad.npy": np.full((2, 200), np.inf, np.float32)},
            r"bad\.npy: .*Inf",
        ),
        ({"a.npy": _signal(200), "mono.npy": _signal(200, 1)}, r"mono\.npy: .*1 channel"),
        ({"a.npy": _signal(200), "z.txt.npy": b"not numpy"}, r"z\.txt\.npy: unreadable"),
    ],
)
def test_denoise_bad_input_writes_nothing(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict, pattern: str
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name, data in files.items():
        if isinstance(data, bytes):
            (src / name).write_bytes(data)
        else:
            np.save(src / name, data)
    out = tmp_path / "out"
    args = ["denoise", "--checkpoint", str(run_dir), str(src), "--output", str(out), "--quiet"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and re.search(pattern, err), err
    # Headers are checked before anything is written; samples as they are streamed, so
    # the recordings before a bad one are denoised, and the bad one leaves nothing.
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert written == (["a.npy"] if "Inf" in pattern else [])


def test_denoise_with_a_corrupt_checkpoint(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad_run"
    bad.mkdir()
    (bad / "config.json").write_text((run_dir / "config.json").read_text())
    (bad / "model.safetensors").write_bytes(b"garbage")
    np.save(tmp_path / "x.npy", _signal(100))
    assert (
        main(
            [
                "denoise",
                "--checkpoint",
                str(bad),
                str(tmp_path / "x.npy"),
                "--output",
                str(tmp_path / "y.npy"),
            ]
        )
        == 2
    )
    assert "model.safetensors" in capsys.readouterr().err
    assert not (tmp_path / "y.npy").exists()


def test_denoise_with_a_checkpoint_of_another_architecture(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other"
    net = build_model(model_config("UNet1d", channel=4, layers=[1, 1], in_planes=2, out_planes=2))
    save_checkpoint(other, net)
    # Weights of the AE under the UNet's config: a mismatched checkpoint.
    (other / "model.safetensors").write_bytes((run_dir / "model.safetensors").read_bytes())
    np.save(tmp_path / "x.npy", _signal(100))
    assert (
        main(
            [
                "denoise",
                "--checkpoint",
                str(other),
                str(tmp_path / "x.npy"),
                "--output",
                str(tmp_path / "y.npy"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "model.safetensors" in err and len(err.strip().splitlines()) == 1


def test_summary_reproduces_the_seed_output(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "summary",
        "--arch",
        "AE1d",
        "--channel",
        "64",
        "--layers",
        "2",
        "2",
        "2",
        "2",
        "3",
        "--in-planes",
        "3",
        "--out-planes",
        "1",
        "--input-size",
        "3",
        "128",
    ]
    assert main(args) == 0
    expected = (FIXTURES / "ae1d_seed_example_output.txt").read_text().splitlines()[1:]
    assert strip_trailing(capsys.readouterr().out) == [line.rstrip() for line in expected]


def test_summary_of_a_preset_and_of_a_checkpoint(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "summary",
                "--preset",
                "encnet12",
                "--order",
                "1",
                "--out-length",
                "3",
                "--input-size",
                "1",
                "256",
            ]
        )
        == 0
    )
    assert "EncoderNet1d-" in capsys.readouterr().out
    assert main(["summary", "--checkpoint", str(run_dir), "--input-size", "2", "64"]) == 0
    assert "AE1d-" in capsys.readouterr().out


def test_summary_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "--input-size", "1", "64"]) == 2
    assert "give exactly one of --preset NAME or --arch CLASS" in capsys.readouterr().err
    assert (
        main(
            [
                "summary",
                "--arch",
                "AE1d",
                "--channel",
                "0",
                "--layers",
                "1",
                "1",
                "--input-size",
                "1",
                "64",
            ]
        )
        == 2
    )
    assert "channel must be an int >= 1, got 0" in capsys.readouterr().err


def test_export_writes_checked_files(run_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    assert main(["export", "--checkpoint", str(run_dir), "--out", str(tmp_path / "x")]) == 0
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["model.onnx", "model.pt"]
    scripted = torch.jit.load(str(tmp_path / "x" / "model.pt"))
    assert scripted(torch.randn(1, 2, 50)).shape == (1, 2, 50)


def test_export_at_a_given_length_scripts_after_the_memory_check(
    run_dir: Path, tmp_path: Path
) -> None:
    """--length checks the memory of a forward first; what that check remembers about the
    model must not stop TorchScript from scripting it."""
    out = tmp_path / "x"
    assert main(["export", "--checkpoint", str(run_dir), "--out", str(out), "--length", "128",
                 "--format", "torchscript"]) == 0  # fmt: skip
    scripted = torch.jit.load(str(out / "model.pt"))
    assert scripted(torch.randn(1, 2, 128)).shape == (1, 2, 128)


@pytest.mark.parametrize("command", ["train", "denoise", "apply", "summary", "export"])
def test_every_command_has_help_with_examples(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mdnc", command, "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "examples:" in result.stdout
