"""Inference engines: ONNX Runtime and the fused eager path against the stock layers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mdnc import engines
from mdnc.checkpoint import build_model, model_config, save_checkpoint
from mdnc.cli import main
from mdnc.engines import OnnxRuntimeModel, choose_engine, prepare_engine
from mdnc.inference import apply_overlap_add
from mdnc.modules.blindspot import BlindSpotNet1d
from mdnc.modules.resnet import AE1d, UNet1d
from tests.conftest import rel, stock_copy

pytest.importorskip("onnxruntime")

# The 1-D networks apply_overlap_add runs: other channel counts, a blend, bottleneck blocks.
SIGNAL_NETWORKS = {
    "UNet1d": lambda: UNet1d(4, [1, 1, 1], in_planes=2, out_planes=2),
    "AE1d": lambda: AE1d(4, [1, 1], block="bottleneck", in_planes=1, out_planes=3),
    "BlindSpotNet1d": lambda: BlindSpotNet1d(4, [1, 1], in_planes=2, out_planes=2),
}


def _recording(channels: int, length: int = 1000) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(length) / 25
    return np.stack([np.sin(t + c) + 0.3 * rng.standard_normal(length) for c in range(channels)])


@pytest.mark.parametrize("name", list(SIGNAL_NETWORKS))
def test_engines_agree_with_the_stock_layers(name: str) -> None:
    net = SIGNAL_NETWORKS[name]().eval()
    if isinstance(net, BlindSpotNet1d):
        net.set_blend(0.3)
    x = _recording(net.in_planes).astype(np.float32)
    kwargs = {"window": 128, "overlap": 0.5, "batch_size": 3, "standardize": True}
    with torch.no_grad():
        stock = apply_overlap_add(stock_copy(net), x, **kwargs)
    fused = apply_overlap_add(net, x, **kwargs)
    ort = apply_overlap_add(net, x, engine="onnxruntime", **kwargs)
    assert ort.shape == fused.shape == stock.shape and ort.dtype == np.float32
    assert rel(torch.from_numpy(fused), torch.from_numpy(stock)) < 1e-5
    assert rel(torch.from_numpy(ort), torch.from_numpy(stock)) < 1e-5
    assert not np.array_equal(fused, np.zeros_like(fused))


def test_onnxruntime_model_is_a_callable_with_the_networks_attributes() -> None:
    net = UNet1d(4, [1, 1], in_planes=2).eval()
    runner = OnnxRuntimeModel(net, 64, threads=1)
    assert runner.in_planes == 2 and runner.min_size == net.min_size and runner.window == 64
    x = torch.randn(5, 2, 64)  # another batch size than the export's example
    with torch.no_grad():
        assert rel(runner(x), stock_copy(net)(x)) < 1e-5
    assert runner(x.double()).dtype == torch.float32
    assert "window=64" in repr(runner)


def test_auto_measures_long_jobs_and_keeps_torch_for_short_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    net = AE1d(4, [1, 1]).eval()
    runner, name = prepare_engine(net, "auto", 64, 4, windows=engines.AUTO_MIN_WINDOWS - 1)
    assert (runner, name) == (net, "torch")
    runner, name, seconds = choose_engine(net, 64, 4)
    assert set(seconds) == {"torch", "onnxruntime"} and all(s > 0 for s in seconds.values())
    assert name == min(seconds, key=seconds.get)
    assert (runner is net) == (name == "torch")
    assert not net.training
    # The measurement decides: a faster engine is the one kept.
    monkeypatch.setattr(engines, "_time_batches", lambda r, b: 1.0 if r is net else 2.0)
    assert prepare_engine(net, "auto", 64, 4)[1] == "torch"
    monkeypatch.setattr(engines, "_time_batches", lambda r, b: 2.0 if r is net else 1.0)
    assert prepare_engine(net, "auto", 64, 4)[1] == "onnxruntime"


def test_engine_errors_name_the_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    net = AE1d(4, [1, 1])
    with pytest.raises(ValueError, match=r"engine must be one of .*'onnxruntime'.*got 'tensorrt'"):
        prepare_engine(net, "tensorrt", 64, 4)
    with pytest.raises(ValueError, match="engine 'onnxruntime' runs on the CPU only, got device"):
        prepare_engine(net, "onnxruntime", 64, 4, device="meta")
    with pytest.raises(TypeError, match="engine 'onnxruntime' needs an nn.Module to export"):
        apply_overlap_add(lambda x: x, np.zeros((1, 100), np.float32), 32, engine="onnxruntime")
    with pytest.raises(ValueError, match="engine must be one of"):
        apply_overlap_add(net, np.zeros((1, 100), np.float32), 32, engine="fast")
    monkeypatch.setattr(engines, "onnxruntime_available", lambda: False)
    with pytest.raises(ImportError, match=r"pip install 'mdnc\[onnx\]'"):
        prepare_engine(net, "onnxruntime", 64, 4)
    assert prepare_engine(net, "auto", 64, 4) == (net, "torch")  # without it: torch


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    net = build_model(model_config("UNet1d", channel=4, layers=[1, 1], in_planes=1))
    save_checkpoint(out, net, extra={"window": 64, "standardize": True})
    return out


def _denoise(run_dir: Path, source: Path, target: Path, *options: str) -> int:
    return main(["denoise", "--checkpoint", str(run_dir), str(source), "--output", str(target),
                 "--quiet", *options])  # fmt: skip


def test_denoise_engines_and_threads(run_dir: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "in.npy", _recording(1, 700).astype(np.float32))
    assert _denoise(run_dir, tmp_path / "in.npy", tmp_path / "torch.npy") == 0
    assert _denoise(run_dir, tmp_path / "in.npy", tmp_path / "ort.npy", "--engine",
                    "onnxruntime", "--threads", "1") == 0  # fmt: skip
    a, b = np.load(tmp_path / "torch.npy"), np.load(tmp_path / "ort.npy")
    assert rel(torch.from_numpy(b), torch.from_numpy(a)) < 1e-5


def test_denoise_auto_says_which_engine_it_chose(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.save(tmp_path / "in.npy", _recording(1, 300).astype(np.float32))
    source, target = str(tmp_path / "in.npy"), str(tmp_path / "out.npy")
    args = ["denoise", "--checkpoint", str(run_dir), source, "--output", target, "--engine", "auto"]
    assert main(args) == 0
    assert "engine: torch" in capsys.readouterr().out  # 9 windows: too short to measure
    assert np.load(target).shape == (1, 300)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--threads", "0"], "--threads must be an int >= 1, got 0."),
        (["--engine", "onnxruntime", "--window", "1"], "window must be an int >= 3"),
        (["--engine", "onnxruntime", "--device", "meta"], "got 'meta'"),  # not a device
    ],
)
def test_denoise_engine_bad_options(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list, message: str
) -> None:
    np.save(tmp_path / "in.npy", _recording(1, 300).astype(np.float32))
    assert _denoise(run_dir, tmp_path / "in.npy", tmp_path / "out.npy", *options) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.npy"]
