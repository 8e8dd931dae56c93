"""The same checks for every network: finite outputs, gradients, TorchScript, compile, ONNX."""

from __future__ import annotations

import io
import itertools

import pytest
import torch

from mdnc.export import example_input, export_onnx
from mdnc.modules import resnet
from mdnc.modules.blindspot import BlindSpotNet1d
from mdnc.registry import get_model, list_models
from tests.conftest import rel, stock_copy

# A tiny instance of every registered network (checked below), in a configuration of its own.
NETWORKS = {
    "AE1d": lambda: resnet.AE1d(4, [1, 2, 1], in_planes=2, out_planes=3),
    "UNet1d": lambda: resnet.UNet1d(4, [2, 1, 1], block="plain", in_planes=2),
    "AE2d": lambda: resnet.AE2d(2, [1, 1], kernel_size=(3, 1)),
    "UNet2d": lambda: resnet.UNet2d(2, [1, 1], kernel_size=5),
    "AE3d": lambda: resnet.AE3d(2, [1, 1], block="plain"),
    "UNet3d": lambda: resnet.UNet3d(2, [1, 1]),
    "EncoderNet1d": lambda: resnet.EncoderNet1d(4, [1, 1], out_length=3),
    "EncoderNet2d": lambda: resnet.EncoderNet2d(2, [1, 1], out_length=None),
    "EncoderNet3d": lambda: resnet.EncoderNet3d(2, [1, 1], block="plain"),
    "DecoderNet1d": lambda: resnet.DecoderNet1d(4, [1, 1], 20, in_length=3),
    "DecoderNet2d": lambda: resnet.DecoderNet2d(2, [1, 1], (8, 6), in_length=None),
    "DecoderNet3d": lambda: resnet.DecoderNet3d(2, [1, 1], 6, block="plain", out_planes=2),
    "BlindSpotNet1d": lambda: _blended(BlindSpotNet1d(4, [1, 2], in_planes=2, out_planes=2)),
}
IDS = list(NETWORKS)


def _blended(net: BlindSpotNet1d) -> BlindSpotNet1d:
    net.set_blend(0.25)  # so that the exports carry the blend of evaluation mode too
    return net


def test_the_table_covers_every_registered_network() -> None:
    assert set(NETWORKS) == set(list_models(kind="network"))
    for name, make in NETWORKS.items():
        assert type(make()) is get_model(name)


def _odd_input(net: torch.nn.Module) -> torch.Tensor:
    """An example input with odd spatial sizes where the network allows any size."""
    return example_input(net, batch=2, length=None if hasattr(net, "input_size") else 13)


@pytest.mark.parametrize("name", IDS)
def test_finite_output_and_every_parameter_gets_a_gradient(name: str) -> None:
    net = NETWORKS[name]()
    x = _odd_input(net).requires_grad_(True)
    y = net(x)
    assert torch.isfinite(y).all()
    y.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    for pname, p in net.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{pname} has an all-zero gradient"


@pytest.mark.parametrize("name", IDS)
def test_fused_inference_matches_the_stock_layers(name: str) -> None:
    net = NETWORKS[name]().eval()
    x = _odd_input(net)
    with torch.inference_mode():
        assert rel(net(x), stock_copy(net)(x)) < 1e-5


@pytest.mark.parametrize("name", IDS)
def test_torchscript_round_trip(name: str) -> None:
    net = NETWORKS[name]().eval()
    x = _odd_input(net)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(net), buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    with torch.no_grad():
        # The scripted copy holds the stock operators: bit for bit the stock layers, and
        # within 1e-5 relative of the eager network's fused inference.
        torch.testing.assert_close(loaded(x), stock_copy(net)(x), rtol=0, atol=0)
        assert rel(loaded(x), net(x)) < 1e-5


@pytest.mark.parametrize("name", IDS)
def test_trace_matches(name: str) -> None:
    net = NETWORKS[name]().eval()
    x = _odd_input(net)
    with torch.no_grad():
        traced = torch.jit.trace(net, x)
        torch.testing.assert_close(traced(x), net(x))


@pytest.mark.parametrize(
    "name", ["AE1d", "UNet1d", "EncoderNet1d", "DecoderNet1d", "BlindSpotNet1d"]
)
def test_compile_fullgraph_has_no_graph_break(name: str) -> None:
    net = NETWORKS[name]()
    compiled = torch.compile(net, fullgraph=True, backend="aot_eager")
    x = _odd_input(net)
    torch.testing.assert_close(compiled(x), net(x))


def test_compile_inductor_matches_eager() -> None:
    net = resnet.AE1d(2, [1, 1])
    x = torch.randn(2, 1, 21)
    torch.testing.assert_close(torch.compile(net, fullgraph=True)(x), net(x), rtol=1e-4, atol=1e-5)


# Every 1-D network, the 2-D ones whose options differ from the 1-D ones (no out_length /
# in_length: global pooling) and a 3-D one: the layers of an order are the same in every
# network, and exporting all fifteen nearly doubles the time of the module.
ONNX_IDS = [n for n in IDS if n.endswith("1d")] + ["AE2d", "EncoderNet2d", "DecoderNet2d",
                                                    "UNet3d"]  # fmt: skip


@pytest.mark.parametrize("name", ONNX_IDS)
def test_onnx_round_trip(name: str, tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    net = NETWORKS[name]()
    report = export_onnx(net, tmp_path / f"{name}.onnx", _odd_input(net), atol=1e-4)
    assert report.path.is_file()
    assert report.max_abs_error <= 1e-4
    # The second check ran another batch size (and length, where the network allows it).
    first, second = report.input_shapes
    assert second[0] != first[0]
    if not hasattr(net, "input_size"):
        assert second[2:] != first[2:]
    assert list(tmp_path.iterdir()) == [report.path]
    # ONNX Runtime's output agrees with the stock layers within 1e-5 relative.
    import onnxruntime as ort

    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    x = _odd_input(net)
    with torch.no_grad():
        got = torch.from_numpy(session.run(None, {"x": x.numpy()})[0])
        assert rel(got, stock_copy(net)(x)) < 1e-5


COMBOS = list(
    itertools.product(
        [resnet.BlockPlain1d, resnet.BlockBottleneck1d],
        ["pinst", "inst", "batch", "null"],
        ["prelu", "relu", "null"],
        ["new", "old"],
        [{"stride": 2}, {"stride": 2, "scaler": "up"}, {"stride": 1}],
    )
)


@pytest.mark.parametrize(("cls", "normalizer", "activator", "order", "scale"), COMBOS)
def test_block_backward_for_every_combination(
    cls: type, normalizer: str, activator: str, order: str, scale: dict
) -> None:
    block = cls(3, 5, normalizer=normalizer, activator=activator, layer_order=order, **scale)
    x = torch.randn(2, 3, 11, requires_grad=True)
    block(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in block.parameters())


def test_block_unit_layouts() -> None:
    """The documented layer order of the branch units (its state_dict keys depend on it)."""
    new = resnet.BlockPlain1d(2, 4, stride=2, scaler="up")
    assert [type(m).__name__ for m in new.conv2] == [
        "InstanceNorm1d",
        "PReLU",
        "Upsample",
        "Conv1d",
    ]
    assert [type(m).__name__ for m in new.in_node] == ["Upsample", "Conv1d", "InstanceNorm1d"]
    old = resnet.BlockPlain1d(2, 4, stride=2, layer_order="old", activator="relu")
    assert [type(m).__name__ for m in old.conv2] == ["Conv1d", "InstanceNorm1d", "ReLU"]
    assert not old.conv2[2].inplace
    null = resnet.BlockBottleneck1d(2, 4, normalizer="null")
    assert [type(m).__name__ for m in null.conv3] == ["Conv1d", "PReLU"]
    assert null.conv3[0].bias is not None
    assert [type(m).__name__ for m in null.in_node] == ["Conv1d"]
    same = resnet.BlockPlain1d(4, 4)
    assert same.in_node is None
    # With a factor of 1 the up-scaling shortcut still starts with an Upsample.
    one = resnet.BlockPlain1d(2, 4, stride=1, scaler="up")
    assert [type(m).__name__ for m in one.in_node] == ["Upsample", "Conv1d", "InstanceNorm1d"]
    assert [type(m).__name__ for m in one.conv2] == ["InstanceNorm1d", "PReLU", "Conv1d"]
