"""Channels-last inference of the 1-D networks: when it runs, and that it changes nothing."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mdnc.modules import resnet
from mdnc.modules._layout import ChannelsLastMode, is_nwc, to_nwc
from tests.conftest import rel, stock_copy

NETWORKS = {
    "AE1d": lambda: resnet.AE1d(4, [1, 2, 1], in_planes=2, out_planes=3),
    "UNet1d": lambda: resnet.UNet1d(4, [2, 1, 1], in_planes=3),
    "UNet1d-plain": lambda: resnet.UNet1d(4, [1, 1], block="plain", kernel_size=5),
    "EncoderNet1d": lambda: resnet.EncoderNet1d(4, [1, 1], out_length=3),
    "DecoderNet1d": lambda: resnet.DecoderNet1d(4, [1, 1], 21, in_length=3),
    "DecoderNet1d-map": lambda: resnet.DecoderNet1d(4, [1, 1], 20, in_length=None),
}


def conv2d_calls(fn) -> int:
    """How many 2-D convolutions ``fn()`` ran (the channels-last form of conv1d)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        fn()
    return sum(e.count for e in prof.key_averages() if e.key == "aten::conv2d")


def _input(net: nn.Module, batch: int = 3) -> torch.Tensor:
    if hasattr(net, "input_size"):
        return torch.randn(batch, *net.input_size)
    return torch.randn(batch, net.in_planes, 37)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_inference_runs_channels_last_and_matches_the_stock_layers(name: str) -> None:
    net = NETWORKS[name]().eval()
    stock = stock_copy(net)
    x = _input(net)
    convs = sum(isinstance(m, nn.Conv1d) for m in net.modules())
    with torch.inference_mode():
        y = net(x)
        assert conv2d_calls(lambda: net(x)) == convs > 0
        assert conv2d_calls(lambda: stock(x)) == 0
        want = stock(x)
    assert y.is_contiguous() and y.shape == want.shape
    assert rel(y, want) < 1e-5
    with torch.no_grad():
        assert rel(net(x), want) < 1e-5


def test_training_and_grad_mode_keep_the_ncw_layout() -> None:
    net = resnet.UNet1d(4, [1, 1]).eval()
    x = torch.randn(2, 1, 32)
    assert conv2d_calls(lambda: net(x)) == 0  # grad mode on: autograd records
    assert conv2d_calls(lambda: net.train()(x).sum().backward()) == 0


def test_mdnc_fast_0_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read when the network is built, as by the branch units."""
    x = torch.randn(2, 1, 32)
    monkeypatch.setenv("MDNC_FAST", "0")
    net = resnet.AE1d(4, [1, 1]).eval()
    monkeypatch.delenv("MDNC_FAST")
    with torch.inference_mode():
        assert conv2d_calls(lambda: net(x)) == 0
        assert conv2d_calls(lambda: resnet.AE1d(4, [1, 1]).eval()(x)) > 0


def test_traced_and_scripted_copies_hold_the_stock_operators() -> None:
    net = resnet.AE1d(4, [1, 1]).eval()
    x = torch.randn(2, 1, 32)
    with torch.no_grad():
        traced = torch.jit.trace(net, x)
        scripted = torch.jit.script(net)
    stock = stock_copy(net)
    assert "conv2d" not in str(traced.inlined_graph)
    with torch.inference_mode():
        assert torch.equal(traced(x), stock(x)) and torch.equal(scripted(x), stock(x))
        assert rel(traced(x), net(x)) < 1e-5 and rel(scripted(x), net(x)) < 1e-5


def test_layout_helpers() -> None:
    x = torch.randn(2, 5, 7)
    y = to_nwc(x)
    assert is_nwc(y) and not is_nwc(x) and torch.equal(x, y) and y.stride() == (35, 1, 5)
    assert to_nwc(y) is y
    one = torch.randn(2, 1, 7)
    assert to_nwc(one) is one  # one channel: both layouts at once
    with ChannelsLastMode():
        cat = torch.cat([y, to_nwc(torch.ones(2, 3, 7))], dim=1)
        up = nn.Upsample(size=(12,), mode="linear", align_corners=True)(y)
        other = torch.cat([x, x], dim=0)  # not along the channels: unchanged
    assert is_nwc(cat) and torch.equal(cat, torch.cat([x, torch.ones(2, 3, 7)], 1))
    want = nn.Upsample(size=(12,), mode="linear", align_corners=True)(x)
    assert rel(up, want) < 1e-6 and torch.equal(other, torch.cat([x, x], 0))


def test_inference_first_then_training_still_has_gradients() -> None:
    """The identity slope the fused kernel caches is made in inference mode here first: it
    must stay a normal tensor that training can save for its backward."""
    from mdnc.modules import _units

    _units._IDENTITY_SLOPES.clear()
    net = resnet.AE1d(4, [1, 1])
    x = torch.randn(2, 1, 32)
    with torch.inference_mode():
        net.eval()(x)
    assert not any(t.is_inference() for t in _units._IDENTITY_SLOPES.values())
    net.train()(x).square().mean().backward()
    assert all(p.grad is not None for p in net.parameters())
