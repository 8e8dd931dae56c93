"""Property tests of the networks and blocks: bad arguments and inputs fail clearly.

For every network of :mod:`mdnc.registry` and every ``Block*`` class, hypothesis builds
the module from fuzzed arguments (valid ones, and junk) and calls it on fuzzed inputs
(batches of 0 to 3, any channel count, sizes from 0 up, every dtype, training or
evaluation, with or without ``torch.autocast``). The property: only ``TypeError`` and
``ValueError`` come out (with a one-line message naming the module or the argument), a
valid input is always accepted, and an output has the documented shape and finite values.
Sizes stay small (channels <= 8, lengths <= 256, depth <= 4); the examples are
derandomized, so CI runs the same ones each time.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, event, given
from hypothesis import strategies as st
from torch import nn

from mdnc.modules import resnet
from mdnc.registry import get_model, get_model_info, list_models
from tests.conftest import property_settings

NETWORKS = list_models(kind="network")
BLOCKS = [resnet.BlockPlain1d, resnet.BlockPlain2d, resnet.BlockPlain3d,
          resnet.BlockBottleneck1d, resnet.BlockBottleneck2d, resnet.BlockBottleneck3d]  # fmt: skip

SUPPRESSED = (HealthCheck.too_slow, HealthCheck.data_too_large)

#: The largest size per axis for 1-, 2- and 3-D inputs.
MAX_SIDE = {1: 256, 2: 24, 3: 10}
#: The float dtype the module is built in comes first: drawn most often.
DTYPES = [torch.float32] * 4 + [torch.float64, torch.bfloat16, torch.float16, torch.int64,
                                torch.bool, torch.complex64]  # fmt: skip

JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 9), st.floats(allow_nan=True), st.text(max_size=3),
    st.lists(st.integers(-1, 4), max_size=3),
)  # fmt: skip


def _per_axis(order: int, values: st.SearchStrategy[int]) -> st.SearchStrategy[Any]:
    """An int, or one per axis."""
    return st.one_of(values, st.tuples(*[values] * order))


def _arguments(name: str) -> dict[str, st.SearchStrategy[Any]]:
    """Valid values of the arguments of network ``name`` (small sizes)."""
    info = get_model_info(name)
    order, family = info.order, info.family
    deepest = 4 if order < 3 else 3  # 3-D: inputs of 9 per axis for 3 down-samplings
    args: dict[str, st.SearchStrategy[Any]] = {
        "channel": st.integers(1, 8),
        "layers": st.lists(st.integers(1, 3), min_size=2, max_size=deepest),
    }
    if family == "blindspot":
        args.update(layers=st.lists(st.integers(1, 3), min_size=1, max_size=4),
                    blind_spot=st.integers(1, 5), kernel_size=st.integers(1, 5))  # fmt: skip
    else:
        args.update(block=st.sampled_from(["plain", "bottleneck", "Plain"]),
                    kernel_size=_per_axis(order, st.sampled_from([1, 3, 5])))  # fmt: skip
    if family == "decoder":
        side = MAX_SIDE[order]
        args.update(out_size=_per_axis(order, st.integers(1, side)),
                    in_length=st.one_of(st.none(), st.integers(0, 4)))  # fmt: skip
    else:
        args["in_planes"] = st.integers(1, 3)
    if family != "encoder":
        args["out_planes"] = st.integers(1, 3)
    else:
        args["out_length"] = st.one_of(st.none(), st.integers(0, 4))
    return args


@st.composite
def _kwargs(draw: st.DrawFn, valid: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """Every argument valid, then (in a third of the examples) one of them junk."""
    kwargs = {name: draw(strategy) for name, strategy in valid.items()}
    if draw(st.integers(0, 2)) == 0:
        kwargs[draw(st.sampled_from(sorted(kwargs)))] = draw(JUNK)
    return kwargs


def _build(cls: Any, kwargs: dict[str, Any]) -> nn.Module | None:
    """``cls(**kwargs)``, or ``None`` after a one-line TypeError or ValueError."""
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        assert str(err) and "\n" not in str(err), repr(err)
        return None


def _call(module: nn.Module, x: Any, autocast: bool) -> torch.Tensor | None:
    """``module(x)``, or ``None`` after a one-line TypeError or ValueError."""
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            return module(x)
    except (TypeError, ValueError) as err:
        assert str(err) and "\n" not in str(err), repr(err)
        return None


def _stride(kernel: Any, order: int) -> tuple[int, ...]:
    """The per-axis resampling factor of a network: 2 where the kernel is more than 1."""
    per_axis = (kernel,) * order if isinstance(kernel, int) else tuple(kernel)
    return tuple(2 if k > 1 else 1 for k in per_axis)


def _expected(net: nn.Module, name: str, kwargs: dict[str, Any], x: torch.Tensor) -> tuple:
    """The documented output shape of network ``name`` for the input ``x``."""
    info = get_model_info(name)
    batch, spatial = x.shape[0], tuple(x.shape[2:])
    if info.family in ("ae", "unet", "blindspot"):
        return (batch, net.out_planes, *spatial)
    if info.family == "decoder":
        return (batch, net.out_planes, *net.shapes[0])
    if net.out_length is not None:
        return (batch, net.out_length)
    n = len(net._layers)
    stride = _stride(kwargs["kernel_size"], info.order)
    channels = kwargs["channel"] * 2 ** (n - 1)
    return (batch, channels, *(-(-size // s**n) for size, s in zip(spatial, stride, strict=True)))


def _accepts(net: nn.Module, name: str, x: torch.Tensor) -> bool:
    """Whether ``x`` is an input that network ``name`` documents as valid."""
    info = get_model_info(name)
    if x.dtype != torch.float32 or x.numel() == 0:
        return False
    if info.family == "decoder":
        if net.in_length is not None:
            return tuple(x.shape[1:]) == (net.in_length,)
        need = net.input_size
        return x.shape[1] == need[0] and all(
            s >= t for s, t in zip(x.shape[2:], need[1:], strict=True)
        )
    if x.dim() != info.order + 2 or x.shape[1] != net.in_planes:
        return False
    if info.family == "blindspot":
        return True
    # Instance normalization needs more than one element in the deepest map.
    n = len(net._layers) + net._n_down_offset
    deepest = [-(-size // s**n) for size, s in zip(x.shape[2:], net._stride, strict=True)]
    return math.prod(deepest) > 1


#: How an input is made invalid (``None``: it stays valid), each about as often.
MUTATIONS = [None, None, None, "dtype", "channels", "empty", "rank", "size"]


@st.composite
def _input(draw: st.DrawFn, net: nn.Module, name: str) -> torch.Tensor:
    """A valid input of ``net``, or one with a single thing wrong (dtype, channels, an
    empty axis, the number of dimensions, a size)."""
    info = get_model_info(name)
    side = MAX_SIDE[info.order]
    batch = draw(st.integers(1, 3))
    if info.family == "decoder" and net.in_length is not None:
        shape = [batch, net.in_length]
    else:
        planes = net.input_size[0] if info.family == "decoder" else net.in_planes
        least = net.input_size[1:] if info.family == "decoder" else net.min_size
        shape = [batch, planes] + [draw(st.integers(m, max(m, side))) for m in least]
    mutation = draw(st.sampled_from(MUTATIONS))
    dtype = draw(st.sampled_from(DTYPES[4:])) if mutation == "dtype" else torch.float32
    if mutation == "channels":
        shape[1] = draw(st.sampled_from([0, shape[1] + 1, max(1, shape[1] - 1)]))
    elif mutation == "empty":
        shape[draw(st.integers(0, len(shape) - 1))] = 0
    elif mutation == "rank":
        shape = shape[:-1] if draw(st.booleans()) else [*shape, 3]
    elif mutation == "size" and len(shape) > 2:
        shape[draw(st.integers(2, len(shape) - 1))] = draw(st.integers(1, 4))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    x = torch.randn(*shape, generator=g) * draw(st.sampled_from([1.0, 1e-3, 1e3]))
    return x.to(dtype)


def _check_forward(net: nn.Module, name: str, kwargs: dict[str, Any], data: st.DataObject) -> None:
    """Call ``net`` on a fuzzed input; check the property."""
    x = data.draw(_input(net, name), label="x")
    train = data.draw(st.booleans(), label="train")
    autocast = data.draw(st.sampled_from([False, False, True]), label="autocast")
    net.train(train)
    with torch.set_grad_enabled(train):
        y = _call(net, x, autocast)
    valid = _accepts(net, name, x) or (autocast and x.dtype == torch.bfloat16 and
                                       _accepts(net, name, x.float()))  # fmt: skip
    event("input refused" if y is None else "output checked")
    if y is None:
        assert not valid, f"{name}{kwargs} refused a valid input of shape {tuple(x.shape)}"
        return
    assert valid, f"{name}{kwargs} took an input of shape {tuple(x.shape)}, {x.dtype}"
    assert tuple(y.shape) == _expected(net, name, kwargs, x)
    assert y.dtype == (torch.bfloat16 if autocast else torch.float32) or name == "BlindSpotNet1d"
    assert torch.isfinite(y.float()).all()
    if train:
        y.float().square().mean().backward()


def _network_test(names: list[str], examples: int):  # noqa: ANN202 (a test function)
    """A property test of constructing and calling the networks called ``names``."""

    @property_settings(examples, *SUPPRESSED)
    @given(name=st.sampled_from(names), data=st.data())
    def test(name: str, data: st.DataObject) -> None:
        kwargs = data.draw(_kwargs(_arguments(name)), label="kwargs")
        net = _build(get_model(name), kwargs)
        event("arguments refused" if net is None else "built")
        if net is not None:
            _check_forward(net, name, kwargs, data)

    return test


test_1d_networks = _network_test([n for n in NETWORKS if get_model_info(n).order == 1], 120)
test_2d_networks = _network_test([n for n in NETWORKS if get_model_info(n).order == 2], 60)
test_3d_networks = _network_test([n for n in NETWORKS if get_model_info(n).order == 3], 40)


# ---------------------------------------------------------------------------------------
# Blocks


def _block_arguments(order: int) -> dict[str, st.SearchStrategy[Any]]:
    """Valid values of a block's arguments (a padding of kernel_size // 2 added later)."""
    return {
        "in_planes": st.integers(1, 8), "out_planes": st.integers(1, 8),
        "kernel_size": _per_axis(order, st.sampled_from([1, 3, 5])),
        "stride": _per_axis(order, st.integers(1, 3)),
        "normalizer": st.sampled_from(["pinst", "inst", "batch", "null"]),
        "activator": st.sampled_from(["prelu", "relu", "null"]),
        "layer_order": st.sampled_from(["new", "old"]),
        "scaler": st.sampled_from(["down", "up"]),
    }  # fmt: skip


def _block_output(block: nn.Module, kwargs: dict[str, Any], x: torch.Tensor) -> tuple:
    """The documented output shape of a block for the input ``x``."""
    order = x.dim() - 2
    stride = kwargs["stride"]
    stride = (stride,) * order if isinstance(stride, int) else tuple(stride)
    size = kwargs.get("output_size")
    if kwargs["scaler"] == "down":
        spatial = tuple(-(-n // s) for n, s in zip(x.shape[2:], stride, strict=True))
    elif size is not None:
        spatial = (size,) * order if isinstance(size, int) else tuple(size)
    else:
        spatial = tuple(n * s for n, s in zip(x.shape[2:], stride, strict=True))
    return (x.shape[0], block.out_planes, *spatial)


@st.composite
def _block_kwargs(draw: st.DrawFn, order: int) -> dict[str, Any]:
    """A block's arguments: valid ones with the right padding, then maybe one junk."""
    kwargs = draw(_kwargs(_block_arguments(order)))
    kernel = kwargs["kernel_size"]
    if isinstance(kernel, int) and not isinstance(kernel, bool):
        kwargs["padding"] = kernel // 2
    elif isinstance(kernel, tuple):
        kwargs["padding"] = tuple(k // 2 if isinstance(k, int) else 0 for k in kernel)
    if kwargs.get("scaler") == "up" and draw(st.integers(0, 3)) == 0:
        kwargs["output_size"] = draw(_per_axis(order, st.integers(1, MAX_SIDE[order])))
    if draw(st.integers(0, 5)) == 0:
        kwargs["padding"] = draw(st.one_of(JUNK, _per_axis(order, st.integers(0, 3))))
    return kwargs


def _block_accepts(block: nn.Module, kwargs: dict[str, Any], x: torch.Tensor) -> bool:
    """Whether ``x`` is an input the block documents as valid (size checked by the norm)."""
    order = block._order
    if x.dtype != torch.float32 or x.dim() != order + 2 or x.shape[1] != block.in_planes:
        return False
    if x.numel() == 0 or kwargs["normalizer"] == "null":
        return x.numel() > 0
    if kwargs["normalizer"] == "batch" and not block.training:
        return True
    out = _block_output(block, kwargs, x)[2:]
    values = min(math.prod(x.shape[2:]), math.prod(out))
    return values * (x.shape[0] if kwargs["normalizer"] == "batch" else 1) > 1


@property_settings(150, *SUPPRESSED)
@given(cls=st.sampled_from(BLOCKS), data=st.data())
def test_blocks(cls: type, data: st.DataObject) -> None:
    order = cls.order
    kwargs = data.draw(_block_kwargs(order), label="kwargs")
    block = _build(cls, kwargs)
    if block is None:
        return
    side = MAX_SIDE[order] // (4 if order == 1 else 2)
    batch = data.draw(st.sampled_from([1, 2, 0]), label="batch")
    planes = data.draw(st.sampled_from([block.in_planes] * 3 + [block.in_planes + 1]))
    sizes = data.draw(st.lists(st.integers(0, side), min_size=order, max_size=order))
    x = torch.randn(batch, planes, *sizes).to(data.draw(st.sampled_from(DTYPES), label="dtype"))
    train = data.draw(st.booleans(), label="train")
    block.train(train)
    with torch.set_grad_enabled(train):
        y = _call(block, x, autocast=False)
    valid = _block_accepts(block, kwargs, x)
    event("input refused" if y is None else "output checked")
    if y is None:
        assert not valid, f"{cls.__name__}{kwargs} refused a valid input {tuple(x.shape)}"
        return
    assert valid, f"{cls.__name__}{kwargs} took an input {tuple(x.shape)}, {x.dtype}"
    assert tuple(y.shape) == _block_output(block, kwargs, x)
    assert torch.isfinite(y).all()


# ---------------------------------------------------------------------------------------
# Plain regressions: the failures of the reliability issue, and what the properties found


@pytest.mark.parametrize("name", NETWORKS)
def test_every_network_takes_a_bfloat16_input_under_autocast(name: str) -> None:
    net = _build(get_model(name), _small(name))
    assert net is not None
    x = _valid_input(net, name)
    for train in (True, False):
        net.train(train)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = net(x.bfloat16())
            assert net(x).shape == y.shape
        assert torch.isfinite(y.float()).all()


def _small(name: str) -> dict[str, Any]:
    """Small valid arguments of network ``name``."""
    family = get_model_info(name).family
    kwargs: dict[str, Any] = {"channel": 2, "layers": [1, 1]}
    if family == "decoder":
        kwargs["out_size"] = 16
    return kwargs


def _valid_input(net: nn.Module, name: str) -> torch.Tensor:
    """A valid input of network ``name``, batch of 2."""
    info = get_model_info(name)
    if info.family == "decoder":
        return torch.randn(2, *net.input_size)
    return torch.randn(2, net.in_planes, *[max(m, 8) for m in net.min_size])
