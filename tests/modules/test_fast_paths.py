"""Fast paths give the outputs and gradients of the plain composition."""

from __future__ import annotations

import copy

import pytest
import torch

from benchmarks.plain_baseline import PlainAE1d
from mdnc.modules import resnet


def _grads(net: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    net.zero_grad()
    y = net(x)
    (y * torch.linspace(-1, 1, y.shape[-1])).sum().backward()
    return y.detach(), [p.grad.clone() for p in net.parameters()]


@pytest.mark.parametrize(("layers", "length"), [([2, 2, 2, 2], 301), ([1, 2, 3], 64)])
def test_network_matches_the_plain_stock_composition(layers: list[int], length: int) -> None:
    # In float64: in float32 a rounding can move an element across a PReLU's kink, and
    # its gradient then takes the other slope, in either composition.
    net = resnet.AE1d(8, layers, in_planes=2, out_planes=3).double()
    plain = PlainAE1d(8, layers, in_planes=2, out_planes=3).double()
    plain.load_state_dict(net.state_dict(), strict=True)
    x = torch.randn(3, 2, length, dtype=torch.float64)
    y, grads = _grads(net, x)
    y_plain, grads_plain = _grads(plain, x)
    torch.testing.assert_close(y, y_plain, rtol=1e-10, atol=1e-12)
    scale = max(float(g.abs().max()) for g in grads_plain)
    for g, g_plain in zip(grads, grads_plain, strict=True):
        torch.testing.assert_close(g, g_plain, rtol=1e-10, atol=1e-12 * scale)


NETS = [
    lambda: resnet.AE1d(4, [2, 1, 2], in_planes=2),
    lambda: resnet.UNet1d(4, [2, 1, 2], in_planes=2),
    lambda: resnet.UNet2d(2, [1, 2], kernel_size=(3, 1)),
    lambda: resnet.EncoderNet1d(4, [2, 1], out_length=3),
]
SHAPES = [(2, 2, 45), (2, 2, 45), (2, 1, 9, 7), (2, 1, 33)]


@pytest.mark.parametrize(("build", "shape"), list(zip(NETS, SHAPES, strict=True)))
def test_checkpointing_gives_the_same_outputs_and_gradients(build, shape: tuple) -> None:
    torch.manual_seed(0)
    net = build()
    saving = copy.deepcopy(net)
    saving.checkpointing = True
    assert saving.checkpointing and not net.checkpointing
    x = torch.randn(*shape)
    y, grads = _grads(net, x)
    y_ck, grads_ck = _grads(saving, x)
    torch.testing.assert_close(y, y_ck, rtol=0, atol=0)
    for g, g_ck in zip(grads, grads_ck, strict=True):
        torch.testing.assert_close(g, g_ck, rtol=0, atol=0)


def test_checkpointing_as_constructor_argument_and_scripting() -> None:
    net = resnet.DecoderNet1d(4, [1, 1], 20, in_length=3, checkpointing=True)
    assert net.checkpointing
    x = torch.randn(2, 3)
    scripted = torch.jit.script(net)  # scripting runs the plain path
    with torch.no_grad():
        torch.testing.assert_close(scripted(x), net(x))
    with pytest.raises(TypeError, match="checkpointing must be a bool, got 1"):
        net.checkpointing = 1


def test_inplace_add_only_after_a_convolution() -> None:
    assert resnet.BlockBottleneck1d(4, 4).inplace_add
    assert not resnet.BlockPlain1d(4, 4, layer_order="old").inplace_add
    assert not resnet.BlockPlain1d(4, 4, normalizer="null").inplace_add
    assert resnet.BlockPlain1d(4, 4, normalizer="null", activator="null").inplace_add


def test_units_plan_their_fused_steps_when_built(monkeypatch: pytest.MonkeyPatch) -> None:
    from mdnc.modules._units import BranchUnit

    net = resnet.AE1d(8, [2, 2], in_planes=2, out_planes=3)
    units = [m for m in net.modules() if isinstance(m, BranchUnit)]
    assert units and all(u.fusion_steps() == ((0, 3, True),) for u in units)
    # Built with MDNC_FAST=0: every unit runs the plain Sequential forward, and the network
    # gives bit for bit the plain composition's outputs and gradients.
    monkeypatch.setenv("MDNC_FAST", "0")
    stock = resnet.AE1d(8, [2, 2], in_planes=2, out_planes=3)
    monkeypatch.delenv("MDNC_FAST")
    assert all(u.fusion_steps() == () for u in stock.modules() if isinstance(u, BranchUnit))
    plain = PlainAE1d(8, [2, 2], in_planes=2, out_planes=3)
    plain.load_state_dict(stock.state_dict(), strict=True)
    x = torch.randn(2, 2, 40)
    y, grads = _grads(stock, x)
    y_plain, grads_plain = _grads(plain, x)
    assert torch.equal(y, y_plain)
    assert all(torch.equal(g, g_plain) for g, g_plain in zip(grads, grads_plain, strict=True))
