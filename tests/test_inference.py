"""Overlap-add inference: exactness, types, standardisation, bounded batches, bad arguments."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from mdnc.inference import apply_overlap_add, blend_weight
from mdnc.modules.resnet import AE1d, UNet1d


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


class Spy(nn.Module):
    """A module that records the shape of every batch, and returns its input times ``gain``."""

    def __init__(self, gain: float = 1.0, out_planes: int | None = None) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(gain))
        self.out_planes = out_planes
        self.shapes: list[tuple[int, ...]] = []
        self.batches: list[torch.Tensor] = []
        self.modes: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape))
        self.batches.append(x.clone())
        self.modes.append(self.training)
        assert torch.is_inference_mode_enabled()
        y = x * self.scale
        return y if self.out_planes is None else y[:, :1].expand(-1, self.out_planes, -1)


def signal(channels: int, length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((channels, length)).astype(np.float32) + 0.5


# (length, window, overlap, channels): L < window, L == window, odd lengths, L not a
# multiple of the hop, hop of one sample, no overlap, windows of one sample.
CASES = [
    (1, 16, 0.5, 1),
    (5, 16, 0.5, 2),
    (15, 16, 0.25, 1),
    (16, 16, 0.5, 1),
    (17, 16, 0.5, 3),
    (100, 16, 0.0, 1),
    (101, 16, 0.75, 2),
    (257, 64, 0.5, 1),
    (333, 50, 0.9, 2),
    (333, 7, 0.5, 1),
    (64, 1, 0.5, 1),
    (99, 32, 0.97, 1),
    (1000, 128, 0.3, 4),
]


@pytest.mark.parametrize(("length", "window", "overlap", "channels"), CASES)
@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_identity_gives_back_the_input(
    length: int, window: int, overlap: float, channels: int, batch_size: int
) -> None:
    x = signal(channels, length)
    y = apply_overlap_add(identity, x, window=window, overlap=overlap, batch_size=batch_size)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.shape == x.shape
    torch.testing.assert_close(torch.from_numpy(y), torch.from_numpy(x), rtol=1e-6, atol=0)


@pytest.mark.parametrize("padding", ["reflect", "zeros"])
def test_padding_modes_both_exact(padding: str) -> None:
    x = signal(2, 45)
    y = apply_overlap_add(identity, x, window=32, overlap=0.5, padding=padding)
    torch.testing.assert_close(torch.from_numpy(y), torch.from_numpy(x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(("length", "window"), [(45, 32), (5, 32), (1, 8), (2, 9)])
def test_reflect_padding_is_numpy_reflect(length: int, window: int) -> None:
    x = signal(2, length)
    spy = Spy()
    apply_overlap_add(spy, x, window=window, overlap=0.5, batch_size=1)
    last = spy.batches[-1][0].numpy()
    hop = window // 2
    n = 1 + -(-max(length - window, 0) // hop)
    start = (n - 1) * hop
    padded = np.pad(x, ((0, 0), (0, start + window - length)), mode="reflect")
    np.testing.assert_array_equal(last, padded[:, start : start + window])


def test_zero_padding_fills_zeros() -> None:
    spy = Spy()
    apply_overlap_add(spy, signal(1, 10), window=16, padding="zeros")
    assert torch.count_nonzero(spy.batches[0][0, 0, 10:]) == 0


def test_pointwise_model_matches_whole_signal() -> None:
    """A model without context (1x1 convolution) gives what running it on the whole does."""
    torch.manual_seed(0)
    model = nn.Conv1d(3, 2, kernel_size=1)
    x = signal(3, 301)
    y = apply_overlap_add(model, x, window=64, overlap=0.5, batch_size=4)
    with torch.no_grad():
        whole = model(torch.from_numpy(x)[None])[0]
    torch.testing.assert_close(torch.from_numpy(y), whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [AE1d, UNet1d])
def test_real_network_shape_finite_deterministic(cls: type) -> None:
    net = cls(4, [1, 1], in_planes=2, out_planes=3)
    x = signal(2, 300)
    a = apply_overlap_add(net, x, window=64, overlap=0.5, batch_size=2)
    b = apply_overlap_add(net, x, window=64, overlap=0.5, batch_size=5)
    assert a.shape == (3, 300) and a.dtype == np.float32 and np.isfinite(a).all()
    # Batch composition does not change the result (instance norm is per window).
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(a, apply_overlap_add(net, x, window=64, batch_size=2))


def test_real_network_on_one_window_is_the_network() -> None:
    net = AE1d(4, [1, 1]).eval()
    x = signal(1, 64)
    y = apply_overlap_add(net, x, window=64)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)[None])[0]
    torch.testing.assert_close(torch.from_numpy(y), expected, rtol=1e-6, atol=1e-6)


def test_numpy_in_numpy_out_tensor_in_tensor_out() -> None:
    x = signal(2, 100)
    y = apply_overlap_add(identity, x.astype(np.float64), window=32)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32
    t = torch.from_numpy(x).double().requires_grad_()
    yt = apply_overlap_add(identity, t, window=32)
    assert isinstance(yt, torch.Tensor) and yt.dtype == torch.float32
    assert yt.device == t.device and not yt.requires_grad
    # A normal tensor, not an inference tensor: it can enter autograd afterwards.
    assert not yt.is_inference()
    (yt * torch.ones(2, 100, requires_grad=True)).sum().backward()
    torch.testing.assert_close(yt, t.detach().float(), rtol=1e-6, atol=1e-6)


def test_one_dimensional_and_integer_and_readonly_inputs() -> None:
    x = signal(1, 77)[0]
    y = apply_overlap_add(identity, x, window=16)
    assert y.shape == (77,)
    # A model with several output channels keeps them.
    y2 = apply_overlap_add(Spy(out_planes=2), x, window=16)
    assert y2.shape == (2, 77)
    ints = (np.arange(50, dtype=np.int16) - 25).reshape(1, 50)
    np.testing.assert_allclose(apply_overlap_add(identity, ints, window=16), ints, atol=1e-5)
    ro = signal(2, 60)
    ro.flags.writeable = False
    np.testing.assert_allclose(apply_overlap_add(identity, ro, window=16), ro, rtol=1e-6)
    rev = signal(1, 60)[:, ::-1]  # negative strides: copied, still exact
    np.testing.assert_allclose(apply_overlap_add(identity, rev, window=16), rev, rtol=1e-6)


def test_standardize_round_trip_with_identity() -> None:
    x = signal(3, 257) * 40.0 + 1000.0
    x[1, 100:] = 7.0  # constant windows: centred, not scaled
    y = apply_overlap_add(identity, x, window=64, overlap=0.5, standardize=True)
    np.testing.assert_allclose(y, x, rtol=1e-6, atol=1e-4)


def test_standardize_feeds_standardized_windows() -> None:
    spy = Spy()
    apply_overlap_add(spy, signal(2, 300) * 5 + 3, window=64, standardize=True)
    batch = torch.cat(spy.batches).double()
    torch.testing.assert_close(
        batch.mean(-1), torch.zeros(batch.shape[:2]).double(), atol=1e-5, rtol=0
    )
    torch.testing.assert_close(batch.std(-1, correction=0), torch.ones(batch.shape[:2]).double())


def test_standardize_maps_output_back() -> None:
    """With a gain g the output is g * (x - mean_w) + mean_w, blended."""
    x = np.full((1, 64), 3.0, dtype=np.float32)
    x[0, ::2] = 5.0  # mean 4, std 1 in every window
    y = apply_overlap_add(Spy(gain=2.0), x, window=16, standardize=True)
    np.testing.assert_allclose(y, 2 * (x - 4.0) + 4.0, rtol=1e-6)


def test_standardize_needs_matching_channels() -> None:
    with pytest.raises(ValueError, match="cannot map 2 output channel.*3 input channels"):
        apply_overlap_add(Spy(out_planes=2), signal(3, 50), window=16, standardize=True)


@pytest.mark.parametrize("length", [50, 1000, 20000])
def test_batches_are_bounded_whatever_the_length(length: int) -> None:
    spy = Spy()
    window, batch_size = 32, 4
    apply_overlap_add(spy, signal(2, length), window=window, batch_size=batch_size)
    assert all(s[0] <= batch_size and s[1:] == (2, window) for s in spy.shapes)
    hop = window // 2
    n_windows = 1 + -(-max(length - window, 0) // hop)
    assert sum(s[0] for s in spy.shapes) == n_windows
    assert len(spy.shapes) == -(-n_windows // batch_size)


def test_no_whole_signal_unfold(monkeypatch: pytest.MonkeyPatch) -> None:
    """No tensor of all windows is made: every unfold covers at most one batch."""
    sizes: list[int] = []
    original = torch.Tensor.unfold

    def unfold(self: torch.Tensor, dim: int, size: int, step: int) -> torch.Tensor:
        sizes.append(self.shape[dim])
        return original(self, dim, size, step)

    monkeypatch.setattr(torch.Tensor, "unfold", unfold)
    apply_overlap_add(identity, signal(1, 50000), window=64, overlap=0.5, batch_size=8)
    assert sizes and max(sizes) <= 7 * 32 + 64


def test_eval_mode_and_training_state_restored() -> None:
    spy = Spy()
    inner = nn.Sequential(spy, nn.Identity())
    inner.train()
    inner[1].eval()
    apply_overlap_add(inner, signal(1, 100), window=32)
    assert spy.modes and not any(spy.modes)
    assert inner.training and spy.training and not inner[1].training


def test_modes_restored_when_the_model_fails() -> None:
    class Failing(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("model failed")

    inner = nn.Sequential(nn.Identity(), Failing()).train()
    inner[0].eval()
    with pytest.raises(RuntimeError, match="model failed"):
        apply_overlap_add(inner, signal(1, 100), window=32)
    assert inner.training and not inner[0].training and inner[1].training


def test_device_argument_moves_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy()
    moves: list[str] = []
    original = nn.Module.to

    def to(self: nn.Module, *args: object, **kwargs: object) -> nn.Module:
        moves.append(str(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(nn.Module, "to", to)
    apply_overlap_add(spy, signal(1, 50), window=16)
    assert moves == []  # device=None: where the model is
    # torch.device("cpu", 0) differs from the parameters' torch.device("cpu"): a move.
    y = apply_overlap_add(spy, signal(1, 50), window=16, device=torch.device("cpu", 0))
    assert y.shape == (1, 50) and moves == ["cpu:0", "cpu"]


def test_device_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    """``"auto"`` is CUDA when available, else the CPU (where the model is: no move)."""
    spy = Spy()
    moves: list[str] = []
    original = nn.Module.to

    def to(self: nn.Module, *args: object, **kwargs: object) -> nn.Module:
        moves.append(str(args[0]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(nn.Module, "to", to)
    x = signal(1, 50)
    y = apply_overlap_add(spy, x, window=16, device="auto")
    assert y.shape == (1, 50) and isinstance(y, np.ndarray)
    assert moves == (["cuda", "cpu"] if torch.cuda.is_available() else [])
    np.testing.assert_allclose(y, apply_overlap_add(spy, x, window=16), rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_device_without_cuda_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="^device 'cuda' was asked for, but CUDA is not"):
        apply_overlap_add(AE1d(4, [1, 1]), signal(1, 100), window=32, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device() -> None:
    net = AE1d(4, [1, 1]).eval()
    x = signal(1, 1000)
    y = apply_overlap_add(net, x, window=128, device="cuda")
    assert isinstance(y, np.ndarray) and next(net.parameters()).device.type == "cpu"
    np.testing.assert_allclose(y, apply_overlap_add(net, x, window=128), rtol=1e-3, atol=1e-4)
    yt = apply_overlap_add(net.cuda(), torch.from_numpy(x).cuda(), window=128)
    assert yt.device.type == "cuda"
    np.testing.assert_allclose(yt.cpu().numpy(), y, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        apply_overlap_add(identity, torch.from_numpy(x).cuda(), window=100, overlap=0.8).cpu(),
        torch.from_numpy(x), rtol=1e-6, atol=1e-6,
    )  # fmt: skip


def test_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    apply_overlap_add(identity, signal(1, 500), window=32, progress=True)
    err = capsys.readouterr().err
    assert "500/500" in err and "sample/s" in err  # a rate in samples per second


def test_import_is_light() -> None:
    code = "import sys, mdnc.inference, mdnc.checkpoint; print('safetensors' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_blend_weight() -> None:
    assert blend_weight(5).tolist() == [1, 2, 3, 2, 1]
    assert blend_weight(4).tolist() == [1, 2, 2, 1]
    assert blend_weight(1).tolist() == [1]


NET = AE1d(4, [1, 1, 1])  # min_size 5
BAD = [
    (dict(window=4), ValueError, r"window must be an int >= 5, the smallest length AE1d accepts"),
    (dict(window=0), ValueError, r"window must be an int >= 5"),
    (dict(window=32.0), TypeError, r"window must be an int .* got 32\.0 \(float\)"),
    (dict(window=True), TypeError, r"window must be an int .* got True"),
    (dict(overlap=1.0), ValueError, r"overlap must be a number in \[0, 1\), got 1\.0"),
    (dict(overlap=-0.1), ValueError, r"overlap must be a number in \[0, 1\), got -0\.1"),
    (dict(overlap=float("nan")), ValueError, r"overlap must be a number in \[0, 1\), got nan"),
    (dict(overlap="half"), TypeError, r"overlap must be a number in \[0, 1\), got 'half'"),
    (dict(batch_size=0), ValueError, r"batch_size must be an int >= 1, got 0"),
    (dict(batch_size=2.5), TypeError, r"batch_size must be an int >= 1, got 2\.5"),
    (
        dict(padding="edge"),
        ValueError,
        r"^padding must be one of 'reflect', 'zeros', got 'edge'\.$",
    ),
    (dict(padding=None), TypeError, r"^padding must be one of 'reflect', 'zeros', got None \("),
    (dict(standardize="yes"), TypeError, r"standardize must be a bool, got 'yes'"),
    (
        dict(device="gpu7"),
        ValueError,
        r"^device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu7'\.$",
    ),
]


@pytest.mark.parametrize(("kwargs", "exc", "pattern"), BAD)
def test_bad_arguments(kwargs: dict, exc: type, pattern: str) -> None:
    args = {"window": 32, **kwargs}
    with pytest.raises(exc, match=pattern):
        apply_overlap_add(NET, signal(1, 100), **args)


def test_bad_signals() -> None:
    with pytest.raises(ValueError, match=r"signal must have shape \(channels, samples\) or "
                       r"\(samples,\), got a 3-D signal of shape \(1, 1, 100\)"):  # fmt: skip
        apply_overlap_add(NET, signal(1, 100)[None], window=32)
    with pytest.raises(ValueError, match=r"signal is empty: shape \(1, 0\)"):
        apply_overlap_add(NET, np.zeros((1, 0), np.float32), window=32)
    with pytest.raises(TypeError, match="signal must be a numpy.ndarray or a torch.Tensor.*list"):
        apply_overlap_add(NET, [0.0] * 100, window=32)
    with pytest.raises(TypeError, match="signal must hold real numbers.*complex"):
        apply_overlap_add(NET, np.zeros((1, 100), np.complex64), window=32)
    with pytest.raises(ValueError, match=r"signal has 2 channel\(s\).*expects in_planes=1"):
        apply_overlap_add(NET, signal(2, 100), window=32)
    x = signal(1, 100)
    x[0, 42] = np.nan
    with pytest.raises(ValueError, match="signal contains NaN or Inf: nan at channel 0, sample 42"):
        apply_overlap_add(NET, x, window=32)
    t = torch.zeros(2, 100)
    t[1, 99] = float("inf")
    with pytest.raises(ValueError, match="inf at channel 1, sample 99"):
        apply_overlap_add(identity, t, window=32)


def test_bad_model_output() -> None:
    with pytest.raises(ValueError, match=r"the model must map .* got \(2, 5\)"):
        apply_overlap_add(lambda x: x[:, 0, :5], signal(1, 40), window=16, batch_size=2)
