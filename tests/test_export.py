"""mdnc.export: files are checked against PyTorch and written atomically."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mdnc.export import example_input, export_onnx, export_torchscript
from mdnc.modules import resnet


def test_torchscript_file_reproduces_the_model(tmp_path: Path) -> None:
    net = resnet.UNet1d(4, [1, 1, 1], in_planes=2).train()
    x = torch.randn(3, 2, 27)
    report = export_torchscript(net, tmp_path / "net.pt", check_inputs=[x])
    # The file holds the stock operators, the eager network fuses: equal to rounding.
    assert report.max_abs_error < 1e-5 and report.input_shapes == ((3, 2, 27),)
    loaded = torch.jit.load(str(tmp_path / "net.pt"))
    with torch.no_grad():
        torch.testing.assert_close(loaded(torch.ones(1, 2, 40)), net.eval()(torch.ones(1, 2, 40)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.pt"]


def test_export_restores_training_mode(tmp_path: Path) -> None:
    net = resnet.AE1d(2, [1, 1]).train()
    export_torchscript(net, tmp_path / "a.pt")
    assert net.training


def test_export_keeps_each_submodules_own_mode(tmp_path: Path) -> None:
    net = resnet.AE1d(2, [1, 1]).train()
    frozen = next(m for m in net.modules() if m is not net and any(m.children()))
    frozen.eval()  # e.g. a frozen part during fine-tuning
    modes = {name: m.training for name, m in net.named_modules()}
    assert True in modes.values() and False in modes.values()
    export_torchscript(net, tmp_path / "a.pt")
    assert {name: m.training for name, m in net.named_modules()} == modes


def test_onnx_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    target = tmp_path / "net.onnx"
    target.write_bytes(b"previous export")
    with pytest.raises(RuntimeError, match=r"differs from PyTorch .*net\.onnx was not written"):
        export_onnx(resnet.AE1d(2, [1, 1]), target, atol=-1.0)
    assert target.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.onnx"]


@pytest.mark.parametrize(
    ("net", "shape"),
    [
        (resnet.AE1d(2, [1, 1, 1]), (2, 1, 32)),
        (resnet.UNet2d(2, [1, 1], kernel_size=(3, 1), in_planes=3), (2, 3, 32, 32)),
        (resnet.DecoderNet1d(2, [1, 1], 16, in_length=5), (2, 5)),
        (resnet.DecoderNet1d(2, [1, 1], 16, in_length=None), (2, 4, 4)),
    ],
)
def test_example_input_shapes(net: torch.nn.Module, shape: tuple) -> None:
    assert tuple(example_input(net).shape) == shape


def test_example_input_rejects_other_modules() -> None:
    with pytest.raises(TypeError, match="model must be a network of mdnc.modules.resnet"):
        example_input(torch.nn.Linear(2, 2))
