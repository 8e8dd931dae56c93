"""The fused instance norm + PReLU kernels and BranchUnit agree with the stock layers."""

from __future__ import annotations

import copy
import subprocess
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import mdnc
from mdnc.modules import _fused
from mdnc.modules._units import BranchUnit, set_fused
from mdnc.modules.resnet import AE1d, AE2d, BlockPlain1d, UNet1d
from tests.conftest import FIXTURES, rel, strip_trailing

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    AVAILABLE = _fused.available()

pytestmark = pytest.mark.skipif(not AVAILABLE, reason="the fused C++ kernels cannot be built here")

FUSED_NODE = "_InstanceNormPReLUBackward"


def stock(x: Tensor, gamma: Tensor, beta: Tensor, a: Tensor, eps: float = 1e-5) -> Tensor:
    return F.prelu(F.instance_norm(x, weight=gamma, bias=beta, eps=eps), a)


def assert_all_close(
    got: Sequence[Tensor], want: Sequence[Tensor], names: Sequence[str], tol: float = 1e-5
) -> None:
    """Each result within ``tol`` of the stock one, relative to its own largest magnitude.

    Some gradients are sums with heavy cancellation (the weight of a shared PReLU, a bias
    followed by an instance norm): they are only known to a few roundings of their terms,
    so the tolerance has a floor of ``tol / 10`` times the largest of all the gradients.
    """
    scale = max(float(w.detach().abs().max()) for w in want)
    for name, g, w in zip(names, got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype, name
        err = float((g.detach() - w.detach()).abs().max())
        bound = tol * float(w.detach().abs().max()) + tol / 10 * scale
        assert err <= bound, (name, err, bound)


def params(channels: int, n_a: int, dtype: torch.dtype = torch.float32) -> list[Tensor]:
    gamma = torch.rand(channels, dtype=dtype) + 0.5
    beta = torch.randn(channels, dtype=dtype)
    a = torch.rand(n_a, dtype=dtype) * 0.5 - 0.1
    return [p.requires_grad_() for p in (gamma, beta, a)]


def grads(fn, x: Tensor, ps: list[Tensor], gz: Tensor) -> tuple[Tensor, ...]:  # noqa: ANN001
    out = fn(x, *ps)
    return (out, *torch.autograd.grad(out, (x, *ps), gz))


SHAPES = [(2, 3, 17), (3, 4, 3), (1, 1, 33), (2, 3, 5, 7), (2, 2, 3, 4, 5), (4, 5, 1000)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_outputs_and_gradients_match_stock(
    shape: tuple[int, ...], per_channel: bool, dtype: torch.dtype
) -> None:
    channels = shape[1]
    x = (torch.randn(shape, dtype=dtype) * 3.0 + 5.0).requires_grad_()
    ps = params(channels, channels if per_channel else 1, dtype)
    gz = torch.randn(shape, dtype=dtype)
    fused = grads(lambda *t: _fused.instance_norm_prelu(*t, 1e-5), x, ps, gz)
    assert type(fused[0].grad_fn).__name__ == FUSED_NODE
    reference = grads(stock, x, ps, gz)
    assert rel(fused[0], reference[0]) < (1e-5 if dtype == torch.float32 else 1e-10)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    assert_all_close(fused[1:], reference[1:], ["x", "gamma", "beta", "a"], tol)


def test_eps_and_non_contiguous_input() -> None:
    x = torch.randn(3, 40, 4).transpose(1, 2).requires_grad_()  # (3, 4, 40), strided
    ps = params(4, 4)
    gz = torch.randn(3, 4, 40)
    fused = grads(lambda *t: _fused.instance_norm_prelu(*t, 0.1), x, ps, gz)
    reference = grads(lambda *t: stock(*t, eps=0.1), x, ps, gz)
    assert rel(fused[0], reference[0]) < 1e-5
    assert_all_close(fused[1:], reference[1:], ["x", "gamma", "beta", "a"])


@pytest.mark.parametrize(
    ("batch", "channels", "length", "n_a", "dtype"),
    [
        (3, 4, 37, 4, torch.float32),  # fewer channels than a chunk of lanes
        (2, 16, 300, 16, torch.float32),  # one whole chunk, rows past one block of sums
        (2, 17, 5, 1, torch.float32),  # a chunk and a one-channel remainder
        (1, 48, 1000, 48, torch.float32),  # three chunks, one sample
        (4, 33, 2, 33, torch.float32),  # two rows
        (2, 20, 257, 20, torch.float64),
        (2, 64, 300, 64, torch.float32),  # 32-channel strips (channels a multiple of 32)
        (3, 32, 70, 1, torch.float64),  # one 32-channel strip, one slope
    ],
)
def test_channels_last_forward_matches_stock(
    batch: int, channels: int, length: int, n_a: int, dtype: torch.dtype
) -> None:
    """The NWC form of the kernel (channels-last inference) on every chunking of channels."""
    torch.manual_seed(channels)
    # An offset far from zero tests the shifted sums; two rows alone are too ill-conditioned
    # for it (the stock float32 layers are then 2e-5 off the float64 result themselves).
    offset = 40.0 if length > 2 else 0.0
    x = torch.randn(batch, length, channels, dtype=dtype).transpose(1, 2) * 3.0 + offset
    gamma, beta, a = (p.detach() for p in params(channels, n_a, dtype))
    z, mean, rstd = torch.ops.mdnc_fused.in_prelu_forward(x, gamma, beta, a, 1e-5)
    assert z.transpose(1, 2).is_contiguous()  # the output keeps the NWC layout
    want = stock(x.contiguous(), gamma, beta, a)
    assert rel(z, want) < (1e-5 if dtype == torch.float32 else 1e-12)
    xd = x.double()
    assert rel(mean, xd.mean(2)) < 1e-6
    want_rstd = (xd.var(2, unbiased=False) + 1e-5).rsqrt()
    assert rel(rstd, want_rstd) < (1e-5 if dtype == torch.float32 else 1e-12)


@pytest.mark.parametrize("n_a", [1, 3])
def test_gradcheck_float64(n_a: int) -> None:
    x = torch.randn(2, 3, 5, dtype=torch.float64, requires_grad=True)
    ps = params(3, n_a, torch.float64)
    assert torch.autograd.gradcheck(
        lambda *t: _fused.instance_norm_prelu(*t, 1e-5), (x, *ps), eps=1e-6, atol=1e-7
    )


def test_parameter_gradients_only_when_the_input_needs_none() -> None:
    x = torch.randn(2, 3, 50)
    ps = params(3, 3)
    out = _fused.instance_norm_prelu(x, *ps, 1e-5)
    got = torch.autograd.grad(out.square().sum(), ps)
    want = torch.autograd.grad(stock(x, *ps).square().sum(), ps)
    assert_all_close(got, want, ["gamma", "beta", "a"])


@pytest.fixture
def two_threads() -> Iterator[None]:
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.usefixtures("two_threads")
def test_parameter_gradients_do_not_depend_on_threads() -> None:
    x = torch.randn(16, 8, 300, requires_grad=True)
    ps = params(8, 1)
    gz = torch.randn(16, 8, 300)
    results = []
    for threads in (1, 2, 1):
        torch.set_num_threads(threads)
        results.append(grads(lambda *t: _fused.instance_norm_prelu(*t, 1e-5), x, ps, gz))
    for other in results[1:]:
        for got, want in zip(other, results[0], strict=True):
            assert torch.equal(got, want)


def test_stock_operators_run_when_not_fusable(monkeypatch: pytest.MonkeyPatch) -> None:
    ps = params(3, 3)
    # bfloat16, a single spatial element, and MDNC_FAST=0 all take the stock operators.
    half = [p.detach().bfloat16().requires_grad_() for p in ps]
    out = _fused.instance_norm_prelu(torch.randn(2, 3, 8, dtype=torch.bfloat16), *half, 1e-5)
    assert type(out.grad_fn).__name__ != FUSED_NODE
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        _fused.instance_norm_prelu(torch.randn(2, 3, 1), *ps, 1e-5)
    monkeypatch.setenv("MDNC_FAST", "0")
    assert not _fused.available()
    out = _fused.instance_norm_prelu(torch.randn(2, 3, 8), *ps, 1e-5)
    assert type(out.grad_fn).__name__ != FUSED_NODE


def test_a_failed_build_warns_once_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from mdnc.modules._fused import build

    def broken(force: bool = False) -> None:
        raise RuntimeError("no compiler")

    monkeypatch.setattr(_fused, "_ops", None)
    monkeypatch.setattr(_fused, "_failure", None)
    monkeypatch.setattr(build, "build", broken)
    with pytest.warns(RuntimeWarning, match="no compiler") as record:
        assert not _fused.available()
        assert not _fused.available()
    assert len(record) == 1
    x, ps = torch.randn(2, 3, 8), params(3, 3)
    assert torch.equal(_fused.instance_norm_prelu(x, *ps, 1e-5), stock(x, *ps))


def test_import_mdnc_builds_and_loads_nothing() -> None:
    code = (
        "import sys, mdnc, mdnc.modules._units; "
        "print(sorted(m for m in ('torch.utils.cpp_extension', 'mdnc.modules._fused.build') "
        "if m in sys.modules), mdnc.modules._fused._ops)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] None"


# --- BranchUnit -------------------------------------------------------------------------


def unit(order: int = 1, n_a: int = 4) -> tuple[BranchUnit, nn.Sequential]:
    norm = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)[order - 1](4, affine=True)
    conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[order - 1](4, 6, 3, padding=1)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.normal_()
    fused = BranchUnit(norm, nn.PReLU(n_a), conv)
    plain = copy.deepcopy(nn.Sequential(*fused))
    return fused, plain


def prelu_node(out: Tensor) -> bool:
    """Whether the graph from ``out`` runs through the fused node."""
    seen, todo = set(), [out.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if type(node).__name__ == FUSED_NODE:
            return True
        todo.extend(n for n, _ in node.next_functions)
    return False


@pytest.mark.parametrize(("order", "n_a"), [(1, 4), (1, 1), (2, 4), (3, 1)])
def test_branch_unit_is_a_sequential_that_fuses(order: int, n_a: int) -> None:
    fused, plain = unit(order, n_a)
    assert isinstance(fused, nn.Sequential)
    assert list(fused.state_dict()) == list(plain.state_dict())
    x = torch.randn((2, 4) + (6,) * order, requires_grad=True)
    out = fused(x)
    assert prelu_node(out)
    gz = torch.randn_like(out)
    got = torch.autograd.grad(out, [x, *fused.parameters()], gz)
    want = torch.autograd.grad(plain(x), [x, *plain.parameters()], gz)
    assert rel(out, plain(x)) < 1e-5
    assert_all_close(got, want, ["x", *(n for n, _ in plain.named_parameters())])


def test_branch_unit_with_hooks_runs_every_module() -> None:
    fused, plain = unit()
    x = torch.randn(2, 4, 9)
    for hooked in (0, 1):
        calls: list[str] = []
        handle = fused[hooked].register_forward_hook(
            lambda m, i, o: calls.append(type(m).__name__)  # noqa: B023
        )
        out = fused(x)
        assert calls == [type(fused[hooked]).__name__]
        # A hooked norm runs alone, and so does its PReLU; a hooked PReLU still sees its
        # input: the norm before it runs fused, alone.
        assert prelu_node(out) == (hooked == 1)
        assert rel(out, plain(x)) < 1e-5
        handle.remove()
    assert prelu_node(fused(x))
    handle = nn.modules.module.register_module_forward_pre_hook(lambda m, i: None)
    try:
        assert not prelu_node(fused(x))
    finally:
        handle.remove()


def test_branch_unit_other_layouts_run_every_module() -> None:
    x = torch.randn(2, 4, 9, requires_grad=True)
    old = BranchUnit(nn.Conv1d(4, 4, 3, padding=1), nn.InstanceNorm1d(4, affine=True), nn.PReLU(4))
    assert prelu_node(old(x))  # 'old' layer order: the pair after the convolution
    for layers in (
        [nn.InstanceNorm1d(4), nn.PReLU(4)],  # no affine
        [nn.InstanceNorm1d(4, affine=True, track_running_stats=True), nn.PReLU(4)],
        [nn.BatchNorm1d(4), nn.PReLU(4)],
    ):
        out = BranchUnit(*layers)(x)
        assert not prelu_node(out)
        assert torch.equal(out, nn.Sequential(*layers)(x))
    # An instance norm without a PReLU after it (the projection shortcut) runs fused alone.
    for layers in (
        [nn.Conv1d(4, 4, 1), nn.InstanceNorm1d(4, affine=True)],
        [nn.InstanceNorm1d(4, affine=True), nn.ReLU()],
    ):
        randomise(nn.Sequential(*layers))
        fused, plain = BranchUnit(*layers), nn.Sequential(*layers)
        out = fused(x)
        assert prelu_node(out)
        gz = torch.randn_like(out)
        got = torch.autograd.grad(out, [x, *fused.parameters()], gz)
        want = torch.autograd.grad(plain(x), [x, *plain.parameters()], gz)
        assert rel(out, plain(x)) < 1e-5
        assert_all_close(got, want, ["x", *(n for n, _ in plain.named_parameters())])
    with pytest.raises(ValueError, match="num_features"):
        unit()[0](torch.randn(2, 3, 9))
    # Inputs the kernels do not take (here bfloat16) run every module, shortcut included.
    for layers in (
        [nn.Conv1d(4, 4, 1), nn.InstanceNorm1d(4, affine=True)],
        [nn.InstanceNorm1d(4, affine=True), nn.PReLU(4), nn.Conv1d(4, 4, 1)],
    ):
        fused, plain = BranchUnit(*layers).bfloat16(), nn.Sequential(*layers).bfloat16()
        half = x.detach().bfloat16().requires_grad_()
        out = fused(half)
        assert not prelu_node(out) and torch.equal(out, plain(half))


def test_scripted_and_traced_branch_units_run_the_stock_layers() -> None:
    fused, plain = unit()
    x = torch.randn(2, 4, 11)
    scripted = torch.jit.script(fused)
    assert "fused" not in scripted.code
    assert torch.equal(scripted(x), plain(x))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        traced = torch.jit.trace(fused, x)
    assert not [w for w in record if "mdnc" in w.filename]
    assert torch.equal(traced(x), plain(x))
    assert "mdnc_fused" not in str(traced.graph)


def test_the_plan_is_made_when_the_unit_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    from mdnc.modules import _units

    fused, plain = unit()
    assert fused.fusion_steps() == ((0, 3, True),)
    assert unit(order=3)[0].fusion_steps() == ((0, 5, True),)
    shortcut = BranchUnit(
        nn.Upsample(scale_factor=2.0), nn.Conv1d(4, 4, 1), nn.InstanceNorm1d(4, affine=True)
    )
    assert shortcut.fusion_steps() == ((2, 3, False),)
    for layers in (
        [nn.Conv1d(4, 4, 3), nn.ReLU()],
        [nn.InstanceNorm1d(4), nn.PReLU(4)],
        [nn.InstanceNorm1d(4, affine=True, track_running_stats=True), nn.PReLU(4)],
        [nn.BatchNorm1d(4), nn.PReLU(4)],
    ):
        assert BranchUnit(*layers).fusion_steps() == ()
    # Nothing planned: the plain nn.Sequential forward, no per-step checks at all.
    monkeypatch.setattr(_units, "_run_planned", None)
    monkeypatch.setattr(_units, "fused_call_allowed", None)
    x = torch.randn(2, 4, 9, requires_grad=True)
    layers = [nn.Conv1d(4, 4, 3), nn.ReLU()]
    assert torch.equal(BranchUnit(*layers)(x), nn.Sequential(*layers)(x))


def test_the_plan_follows_the_children() -> None:
    x = torch.randn(2, 4, 9, requires_grad=True)
    fused = BranchUnit(nn.Conv1d(4, 4, 1), nn.ReLU())
    assert fused.fusion_steps() == () and not prelu_node(fused(x))
    fused[1] = nn.InstanceNorm1d(4, affine=True)  # __setitem__: the projection shortcut
    assert fused.fusion_steps() == ((1, 3, False),) and prelu_node(fused(x))
    fused.append(nn.PReLU(4))
    assert fused.fusion_steps() == ((1, 3, True),)
    fused.insert(0, nn.PReLU(4))  # writes _modules directly
    assert fused.fusion_steps() == ((2, 3, True),)
    fused.extend([nn.InstanceNorm1d(4, affine=True), nn.PReLU(1)])
    assert fused.fusion_steps() == ((2, 3, True), (4, 3, True))
    del fused[2]  # __delitem__ rebuilds _modules
    assert fused.fusion_steps() == ((3, 3, True),)
    fused[4] = nn.Tanh()
    assert fused.fusion_steps() == ((3, 3, False),)
    randomise(fused)
    plain = nn.Sequential(*fused)
    assert list(fused.state_dict()) == list(plain.state_dict())
    assert repr(fused).replace("BranchUnit", "Sequential", 1) == repr(plain)
    out = fused(x)
    assert prelu_node(out) and rel(out, plain(x)) < 1e-5
    fused.load_state_dict(plain.state_dict())
    assert fused.fusion_steps() == ((3, 3, False),)


def test_mdnc_fast_is_read_when_the_unit_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(2, 4, 9, requires_grad=True)
    monkeypatch.setenv("MDNC_FAST", "0")
    off, plain = unit()
    monkeypatch.setenv("MDNC_FAST", "1")
    on = unit()[0]
    assert off.fusion_steps() == () and on.fusion_steps()
    assert not prelu_node(off(x)) and torch.equal(off(x), plain(x))
    off[1] = nn.PReLU(4)  # the decision outlives a change of the children
    assert off.fusion_steps() == ()
    monkeypatch.setenv("MDNC_FAST", "0")
    assert prelu_node(on(x))
    # A copy is a new build: it reads MDNC_FAST again.
    assert copy.deepcopy(on).fusion_steps() == ()


def test_copies_make_their_own_plan() -> None:
    import io
    import pickle

    fused, plain = unit()
    x = torch.randn(2, 4, 9, requires_grad=True)
    for clone in (copy.deepcopy(fused), pickle.loads(pickle.dumps(fused))):
        assert "_fusion_plan" not in clone.__getstate__()
        out = clone(x)
        assert prelu_node(out) and rel(out, plain(x)) < 1e-5
        assert clone._fusion_plan[0] == tuple(clone)
        assert all(a is not b for a, b in zip(clone, fused, strict=True))
    buffer = io.BytesIO()
    torch.save(fused, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert loaded.fusion_steps() == fused.fusion_steps() and prelu_node(loaded(x))


def test_a_sequential_turned_into_a_branch_unit_plans_at_its_first_call() -> None:
    fused, plain = unit()
    turned = copy.deepcopy(plain)
    turned.__class__ = BranchUnit
    x = torch.randn(2, 4, 9, requires_grad=True)
    out = turned(x)
    assert turned.fusion_steps() == fused.fusion_steps()
    assert prelu_node(out) and rel(out, plain(x)) < 1e-5


# --- whole networks -------------------------------------------------------------------


def with_units(net: nn.Module, cls: type[nn.Sequential]) -> nn.Module:
    """A copy of ``net`` whose Sequentials (branch units, shortcuts) are of class ``cls``."""
    net = copy.deepcopy(net)
    for m in net.modules():
        if type(m) in (nn.Sequential, BranchUnit):
            m.__class__ = cls
    return net


def with_branch_units(net: nn.Module) -> nn.Module:
    return with_units(net, BranchUnit)


def randomise(net: nn.Module) -> None:
    """Instance-norm weights and biases, and PReLU slopes, away from their defaults."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.3)
            elif isinstance(m, nn.PReLU):
                m.weight.uniform_(0.05, 0.45)


NETWORKS = {
    "AE1d": lambda: AE1d(8, [2, 2, 2], in_planes=2),
    "AE1d-plain": lambda: AE1d(4, [1, 2], block="plain"),
    "UNet1d": lambda: UNet1d(4, [1, 2, 2]),
    "AE2d": lambda: AE2d(4, [1, 2]),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_whole_networks_match_the_stock_composition(name: str, dtype: torch.dtype) -> None:
    """Outputs and gradients of the network with BranchUnits against the stock one.

    In float32 the two could differ by more than rounding if an element landed within a
    rounding of a PReLU's kink (its gradient then takes the other slope): rare with these
    slopes (no case in 200 seeds), and float64 leaves no room for it.
    """
    net = with_units(NETWORKS[name]().to(dtype), nn.Sequential)
    randomise(net)
    fast = with_branch_units(net)
    assert list(fast.state_dict()) == list(net.state_dict())
    shape = (3, net.in_planes) + (64 if net.order == 1 else 24,) * net.order
    x = torch.randn(shape, dtype=dtype, requires_grad=True)
    ours, theirs = fast(x), net(x)
    assert prelu_node(ours) and not prelu_node(theirs)
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    assert rel(ours, theirs) < tol
    gz = torch.randn_like(ours)
    got = torch.autograd.grad(ours, [x, *fast.parameters()], gz)
    want = torch.autograd.grad(theirs, [x, *net.parameters()], gz)
    names = ["input", *(n for n, _ in net.named_parameters())]
    assert_all_close(got, want, names, tol)


def test_old_layer_order_block() -> None:
    block = with_units(BlockPlain1d(4, 6, layer_order="old"), nn.Sequential)
    randomise(block)
    fast = with_branch_units(block)
    x = torch.randn(2, 4, 30, requires_grad=True)
    ours, theirs = fast(x), block(x)
    assert prelu_node(ours) and not prelu_node(theirs)
    assert rel(ours, theirs) < 1e-5
    assert_all_close(
        torch.autograd.grad(ours.square().sum(), [x, *fast.parameters()]),
        torch.autograd.grad(theirs.square().sum(), [x, *block.parameters()]),
        ["x", *(name for name, _ in block.named_parameters())],
    )


def test_scripted_network_with_branch_units() -> None:
    net = with_units(AE1d(4, [1, 2]), nn.Sequential)
    fast = with_branch_units(net)
    x = torch.randn(2, 1, 64)
    assert torch.equal(torch.jit.script(fast)(x), net(x))
    assert rel(fast(x), net(x)) < 1e-5


def fused_forwards(fn: Any) -> int:
    """How many times the fused forward kernel ran in ``fn()`` (counted by the profiler)."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        fn()
    return sum(e.count for e in prof.key_averages() if e.key == "mdnc_fused::in_prelu_forward")


def test_without_gradients_the_fused_forward_runs_alone() -> None:
    """Inference runs the fused forward kernel, without an autograd node, and agrees with
    the stock layers (and so with the scripted/exported copies) within 1e-5 relative."""
    net = with_units(AE1d(4, [1, 2]), nn.Sequential)
    randomise(net)
    set_fused(net, False)  # plain nn.Sequential units, stock NCW inference: the reference
    fast = with_branch_units(net)
    set_fused(fast, True)
    steps = sum(len(m.fusion_steps()) for m in fast.modules() if isinstance(m, BranchUnit))
    norms = sum(isinstance(m, nn.InstanceNorm1d) for m in fast.modules())
    x = torch.randn(2, 1, 64)
    with torch.no_grad():
        want = net(x)
        # Every planned step, and channels-last the shortcuts' norms too.
        assert steps <= fused_forwards(lambda: fast(x)) == norms
        assert rel(fast(x), want) < 1e-5
    with torch.inference_mode():
        assert fused_forwards(lambda: fast(x)) == norms
        assert rel(fast(x), want) < 1e-5
        assert fused_forwards(lambda: net(x)) == 0
    frozen = with_branch_units(net).requires_grad_(False)
    set_fused(frozen, True)
    out = frozen(x)  # grad mode on, nothing needs a gradient: the fused units, NCW
    assert out.grad_fn is None and rel(out, want) < 1e-5
    assert fused_forwards(lambda: frozen(x)) == steps
    assert prelu_node(frozen(x.requires_grad_()))


def test_seed_summary_is_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    net = with_branch_units(AE1d(64, [2, 2, 2, 2, 3], in_planes=3, out_planes=1))
    print(f"The number of convolutional layers along the depth is {net.nlayers}.")
    mdnc.contribs.torchsummary.summary(net, (3, 128), device="cpu")
    expected = (FIXTURES / "ae1d_seed_example_output.txt").read_text()
    assert strip_trailing(capsys.readouterr().out) == strip_trailing(expected)


def test_transforms_and_export_run_the_stock_layers() -> None:
    import torch.autograd.forward_ad as fwAD
    from torch.func import functional_call, grad, vmap

    fused, plain = unit()
    x = torch.randn(3, 2, 4, 12)
    torch.testing.assert_close(vmap(fused)(x), vmap(plain)(x), rtol=1e-5, atol=1e-6)
    p_fused, p_plain = dict(fused.named_parameters()), dict(plain.named_parameters())
    g_fused = grad(lambda p: functional_call(fused, p, (x[0],)).square().sum())(p_fused)
    g_plain = grad(lambda p: functional_call(plain, p, (x[0],)).square().sum())(p_plain)
    torch.testing.assert_close(g_fused, g_plain, rtol=1e-5, atol=1e-6)
    with fwAD.dual_level():
        tangent = torch.randn_like(x[0])
        out = fwAD.unpack_dual(fused(fwAD.make_dual(x[0], tangent))).tangent
        want = fwAD.unpack_dual(plain(fwAD.make_dual(x[0], tangent))).tangent
    torch.testing.assert_close(out, want, rtol=1e-5, atol=1e-6)
    program = torch.export.export(fused, (x[0],), strict=False)
    assert "mdnc_fused" not in str(program.graph)
