"""BlindSpotNet1d: the blind spot is exact, shapes, argument and input errors, checkpoints;
the predicted distribution (``components``): likelihood and posterior by hand, exports.

TorchScript, tracing, torch.compile and ONNX are checked in the generic matrix
(test_resnet_generic.py), with every other network.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

from mdnc.checkpoint import CheckpointError, build_model, load_checkpoint, save_checkpoint
from mdnc.modules.blindspot import (
    MAX_BLEND,
    BlindSpotNet1d,
    estimate_blend,
    mixture_nll,
    noise_variance,
    posterior_mean,
    prior_mean,
)


def _input_gradients(net: torch.nn.Module, x: torch.Tensor, i: int) -> torch.Tensor:
    """d output[0, :, i] / d x: the input samples the output at ``i`` depends on."""
    x = x.clone().requires_grad_(True)
    net(x)[0, :, i].sum().backward()
    return x.grad[0].abs().sum(dim=0)  # per sample, over channels


@pytest.mark.parametrize(("blind_spot", "hidden"), [(1, 1), (2, 3), (3, 3), (5, 5), (6, 7)])
@pytest.mark.parametrize("length", [64, 67])
def test_the_output_never_sees_its_own_samples(blind_spot: int, hidden: int, length: int) -> None:
    """Whatever the weights (scaled up, so that nothing vanishes), the output at ``i``
    does not depend on the ``hidden`` input samples centred on ``i``, in any channel, and
    does depend on the samples just beyond them."""
    torch.manual_seed(blind_spot)
    net = BlindSpotNet1d(4, [1, 2, 1], blind_spot=blind_spot, in_planes=2, out_planes=2)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)
    assert net.hidden == hidden
    x = torch.randn(2, 2, length)
    half = hidden // 2
    for i in (0, 1, 17, 32, length - 2, length - 1):
        grad = _input_gradients(net, x, i)
        span = range(max(0, i - half), min(length, i + half + 1))
        assert float(grad[list(span)].abs().max()) == 0.0, (i, span)
        beyond = [j for j in (i - half - 1, i + half + 1) if 0 <= j < length]
        assert all(float(grad[j]) > 0 for j in beyond), (i, beyond)


def test_the_other_windows_of_a_batch_do_not_leak() -> None:
    torch.manual_seed(0)
    net = BlindSpotNet1d(4, [1, 1])
    x = torch.randn(3, 1, 40, requires_grad=True)
    net(x)[1].sum().backward()
    assert float(x.grad[0].abs().sum()) == 0.0 and float(x.grad[2].abs().sum()) == 0.0


@pytest.mark.parametrize("length", [1, 2, 3, 13, 512, 1001])
def test_any_length_keeps_its_shape(length: int) -> None:
    net = BlindSpotNet1d(4, [1, 1, 1, 1], in_planes=3, out_planes=2).eval()
    with torch.no_grad():
        y = net(torch.randn(2, 3, length))
    assert y.shape == (2, 2, length) and torch.isfinite(y).all()


def test_defaults_and_description() -> None:
    net = BlindSpotNet1d()
    assert (net.in_planes, net.out_planes, net.hidden, net.min_size) == (1, 1, 1, (1,))
    assert net.nlayers == 1 + 8 + 6 + 3
    assert not any(isinstance(m, (torch.nn.InstanceNorm1d, torch.nn.BatchNorm1d))
                   for m in net.modules())  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [({"channel": 0}, ValueError, "channel must be an int >= 1, got 0"),
     ({"blind_spot": 0}, ValueError, "blind_spot must be an int >= 1, got 0"),
     ({"blind_spot": 1.5}, TypeError, "blind_spot must be an int >= 1, got 1.5"),
     ({"layers": []}, ValueError, "layers"),
     ({"layers": [2, 0]}, ValueError, "layers"),
     ({"kernel_size": 0}, ValueError, "kernel_size must be an int >= 1, got 0"),
     ({"in_planes": True}, TypeError, "in_planes must be an int >= 1, got True")],
)  # fmt: skip
def test_bad_arguments_name_the_argument(kwargs, error, message) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(")):
        BlindSpotNet1d(**kwargs)


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [(torch.randn(1, 64), ValueError, r"expects a non-empty 3-D tensor \(B, 1, L\), got shape "
      r"\(1, 64\)"),
     (torch.randn(1, 2, 64), ValueError, r"\(B, 1, L\), got shape \(1, 2, 64\)"),
     (torch.randn(0, 1, 64), ValueError, r"got shape \(0, 1, 64\)"),
     (torch.randn(1, 1, 0), ValueError, r"got shape \(1, 1, 0\)"),
     (torch.ones(1, 1, 64, dtype=torch.int64), TypeError, "floating-point tensor, got dtype "
      "torch.int64"),
     ([[0.0] * 8], TypeError, "expects a torch.Tensor")],
)  # fmt: skip
def test_bad_input_is_a_clear_error(x, error, message) -> None:
    with pytest.raises(error, match=message):
        BlindSpotNet1d(4, [1, 1])(x)


def test_checkpoint_round_trip_names_its_module(tmp_path) -> None:
    config = {"class": "BlindSpotNet1d", "kwargs": {"channel": 4, "layers": [1, 1],
                                                     "blind_spot": 3}}  # fmt: skip
    net = build_model(config)
    save_checkpoint(tmp_path / "run", net)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (saved["class"], saved["module"]) == ("BlindSpotNet1d", "mdnc.modules.blindspot")
    loaded, _ = load_checkpoint(tmp_path / "run")
    x = torch.randn(1, 1, 50)
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), net.eval()(x))
    assert loaded.hidden == 3
    with pytest.raises(CheckpointError, match="names module 'mdnc.modules.resnet' for "
                       "BlindSpotNet1d; it is in 'mdnc.modules.blindspot'"):  # fmt: skip
        build_model({**config, "module": "mdnc.modules.resnet"})


def test_noise_variance_of_white_noise_under_a_smooth_signal() -> None:
    g = torch.Generator().manual_seed(0)
    t = torch.linspace(0, 30, 8000)
    for sigma in (0.1, 0.5, 2.0):
        x = torch.stack([torch.sin(t), torch.sign(torch.sin(t / 3))])  # smooth; steps
        x = x + sigma * torch.randn(2, 8000, generator=g)
        found = noise_variance(x)
        assert found.shape == (2,)
        assert torch.allclose(found, torch.full((2,), sigma**2), rtol=0.1), (sigma, found)


def test_the_blend_takes_back_part_of_the_input_in_evaluation_mode_only() -> None:
    torch.manual_seed(0)
    net = BlindSpotNet1d(4, [1, 1], in_planes=2, out_planes=2)
    x = torch.randn(3, 2, 40)
    with torch.no_grad():
        blind = net(x)
        net.set_blend(0.3)
        assert torch.equal(net(x), blind)  # training mode: blind whatever the blend
        net.eval()
        torch.testing.assert_close(net(x), blind + 0.3 * (x - blind))
    assert "blend" in net.state_dict() and float(net.state_dict()["blend"]) == pytest.approx(0.3)
    for bad in (-0.1, 1.5, float("nan"), True, "0.2"):
        with pytest.raises(ValueError, match=r"blend must be a number in \[0, 1\], got "):
            net.set_blend(bad)
    other = BlindSpotNet1d(4, [1, 1], in_planes=2, out_planes=1).eval()
    other.set_blend(0.5)  # an output of other channels than the input has nothing to blend
    with torch.no_grad():
        assert torch.equal(other(x), other.train()(x))


def test_estimate_blend_is_the_error_ratio_of_the_blind_prediction() -> None:
    torch.manual_seed(0)
    net = BlindSpotNet1d(4, [1, 1]).eval()
    net.set_blend(0.4)  # ignored: the estimate uses the blind output
    g = torch.Generator().manual_seed(1)
    x = torch.sin(torch.linspace(0, 40, 512)).expand(8, 1, 512) + 0.3 * torch.randn(
        8, 1, 512, generator=g
    )
    with torch.no_grad():
        loss = float((x - net.train()(x)).square().mean())
    net.eval()
    expected = min(MAX_BLEND, max(0.0, 1 - float(noise_variance(x).mean()) / loss))
    assert estimate_blend(net, x) == pytest.approx(expected)
    assert not net.training and float(net.blend) == pytest.approx(0.4)  # left as it was
    assert 0.0 < expected <= MAX_BLEND  # an untrained network: a poor prior, a large blend
    # Pure noise predicted by its mean, 0 (as well as it can be): (almost) no blend.
    with torch.no_grad():
        net.head[-1].weight.zero_()
        net.head[-1].bias.zero_()
    noise = torch.randn(8, 1, 512, generator=g)
    assert estimate_blend(net, noise) < 0.05
    # No noise at all, and a wrong prediction: the input itself is the best estimate.
    clean = torch.sin(torch.linspace(0, 40, 512)).expand(8, 1, 512) + 1.0
    assert estimate_blend(net, clean) == MAX_BLEND


# -- the predicted distribution (components >= 1) -------------------------------------


def _gaussian(x: float, mean: float, var: float) -> float:
    return math.exp(-((x - mean) ** 2) / (2 * var)) / math.sqrt(2 * math.pi * var)


def _params(weights, means, variances) -> torch.Tensor:
    """Raw head outputs ``(1, 3K, 1)`` giving a prior of these weights, means and
    variances (the inverse of the softmax and softplus the head's output goes through)."""
    logits = [math.log(w) for w in weights]
    raw = [math.log(math.expm1(v - 1e-6)) for v in variances]
    return torch.tensor([logits + list(means) + raw], dtype=torch.float64)[..., None]


@pytest.mark.parametrize("x", [-2.0, 0.3, 1.1, 4.0])
@pytest.mark.parametrize("noise", [0.05, 0.5])
def test_mixture_likelihood_and_posterior_against_hand_computed_values(x, noise) -> None:
    """Two gaussians (weights 0.3 / 0.7, means -1 / 1.5, variances 0.2 / 0.6) under
    gaussian noise: the likelihood of the noisy sample and the posterior mean, from the
    formulas written out by hand."""
    w, mu, v = (0.3, 0.7), (-1.0, 1.5), (0.2, 0.6)
    params = _params(w, mu, v)
    evidence = [wk * _gaussian(x, mk, vk + noise) for wk, mk, vk in zip(w, mu, v, strict=True)]
    expected_nll = -math.log(sum(evidence))
    shrunk = [mk + vk / (vk + noise) * (x - mk) for mk, vk in zip(mu, v, strict=True)]
    expected_mean = sum(e * s for e, s in zip(evidence, shrunk, strict=True)) / sum(evidence)
    xs, ns = torch.full((1, 1, 1), x, dtype=torch.float64), torch.full((1, 1), noise)
    assert float(mixture_nll(params, xs, ns)) == pytest.approx(expected_nll, rel=1e-5)
    assert float(posterior_mean(params, xs, ns)) == pytest.approx(expected_mean, abs=1e-5)
    assert float(prior_mean(params, 1)) == pytest.approx(0.3 * -1.0 + 0.7 * 1.5, rel=1e-6)


def test_the_posterior_snaps_to_the_level_the_sample_points_at() -> None:
    """Two narrow levels, -1 and 1, equally likely from the surroundings (an edge): a noisy
    sample near one of them is pulled onto it, and the prior mean (0) is far from both."""
    params = _params((0.5, 0.5), (-1.0, 1.0), (1e-3, 1e-3))
    for x, level in ((0.6, 1.0), (1.4, 1.0), (-0.5, -1.0)):
        out = posterior_mean(params, torch.full((1, 1, 1), x, dtype=torch.float64),
                             torch.full((1, 1), 0.1))  # fmt: skip
        assert float(out) == pytest.approx(level, abs=0.02), x
    assert float(prior_mean(params, 1)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(("blind_spot", "hidden"), [(1, 1), (3, 3)])
def test_the_predicted_distribution_never_sees_its_own_sample(blind_spot, hidden) -> None:
    """Every parameter of the distribution predicted at ``i`` (training mode: 3 * K
    outputs per channel) is independent of the hidden input samples around ``i``."""
    torch.manual_seed(0)
    net = BlindSpotNet1d(4, [1, 2], blind_spot=blind_spot, in_planes=2, out_planes=2,
                         components=3)  # fmt: skip
    x = torch.randn(2, 2, 50)
    assert net(x).shape == (2, 2 * 3 * 3, 50)
    for i in (0, 20, 49):
        grad = _input_gradients(net, x, i)
        span = range(max(0, i - hidden // 2), min(50, i + hidden // 2 + 1))
        assert float(grad[list(span)].abs().max()) == 0.0
        assert float(grad.sum()) > 0


def test_evaluation_gives_the_posterior_mean_given_the_sample() -> None:
    torch.manual_seed(0)
    net = BlindSpotNet1d(4, [1, 1], in_planes=2, out_planes=2, components=2)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 2, 60, generator=g)
    with torch.no_grad():
        params = net(x)
        net.eval()
        y = net(x)
        torch.testing.assert_close(y, posterior_mean(params, x, noise_variance(x)))
        assert y.shape == x.shape
        net.blind_output = True  # the validation loss reads the distribution
        assert torch.equal(net(x), params)
        net.blind_output = False
        bumped = x.clone()
        bumped[0, 0, 30] += 1.0
        changed = (net(bumped) - y).abs()
    # The sample itself moves its own output (the other outputs see it as context).
    assert float(changed[0, 0, 30]) > 0.01
    wide = BlindSpotNet1d(4, [1, 1], blind_spot=3, components=2).eval()  # correlated noise
    other = BlindSpotNet1d(4, [1, 1], in_planes=2, out_planes=1, components=2).eval()
    with torch.no_grad():
        for model, planes, inp in ((wide, 1, x[:, :1]), (other, 1, x)):
            torch.testing.assert_close(model(inp), prior_mean(model.train()(inp), planes))


@pytest.mark.parametrize(("value", "error", "message"), [
    (-1, ValueError, "components must be an int >= 0, got -1"),
    (1.5, TypeError, "components must be an int"),
    (True, TypeError, "components must be an int"),
])  # fmt: skip
def test_bad_components_name_the_argument(value, error, message) -> None:
    with pytest.raises(error, match=message):
        BlindSpotNet1d(4, [1, 1], components=value)


def test_a_mixture_network_needs_three_samples() -> None:
    """The noise estimate of the posterior needs second differences: 3 samples at least
    (``min_size``), a clear error below, in either mode."""
    net = BlindSpotNet1d(4, [1, 1], components=2)
    assert net.min_size == (3,) and BlindSpotNet1d(4, [1, 1]).min_size == (1,)
    for mode in (net.train, net.eval):
        mode()
        with pytest.raises(ValueError, match=r"components=2 needs at least 3 samples "
                           r"\(min_size\), got shape \(1, 1, 2\)"):  # fmt: skip
            net(torch.randn(1, 1, 2))
        with torch.no_grad():
            assert net(torch.randn(2, 1, 3)).shape[-1] == 3


def test_a_mixture_network_scripts_exports_and_round_trips(tmp_path) -> None:
    from mdnc.export import export_onnx

    torch.manual_seed(0)
    net = build_model({"class": "BlindSpotNet1d",
                       "kwargs": {"channel": 4, "layers": [1, 1], "components": 3}}).eval()
    x = torch.randn(2, 1, 77)
    with torch.no_grad():
        expected = net(x)
        torch.testing.assert_close(torch.jit.script(net)(x), expected)
    pytest.importorskip("onnxruntime")
    export_onnx(net, tmp_path / "net.onnx")  # checked against onnxruntime by export_onnx
    save_checkpoint(tmp_path / "run", net)
    loaded, _ = load_checkpoint(tmp_path / "run")
    assert loaded.components == 3
    with torch.no_grad():
        assert torch.equal(loaded.eval()(x), expected)


def test_the_median_is_torch_median() -> None:
    g = torch.Generator().manual_seed(0)
    for n in (3, 4, 511, 512):
        x = torch.randn(3, 2, n, generator=g)
        d = (x[..., 2:] - 2 * x[..., 1:-1] + x[..., :-2]) / 6**0.5
        mad = (d - d.median(dim=-1, keepdim=True).values).abs().median(dim=-1).values
        torch.testing.assert_close(noise_variance(x), (1.4826 * mad) ** 2)


def test_half_precision_noise_estimate_does_not_overflow() -> None:
    """The square of a large MAD overflows float16: the estimate is made in float32."""
    g = torch.Generator().manual_seed(0)
    x = (300.0 * torch.randn(2, 1, 512, generator=g)).half()
    found = noise_variance(x)
    assert found.dtype == torch.float32 and torch.isfinite(found).all()
    assert float(found.mean()) == pytest.approx(300.0**2, rel=0.2)


def test_estimate_blend_refuses_a_network_that_predicts_a_distribution() -> None:
    net = BlindSpotNet1d(4, [1, 1], components=2)
    with pytest.raises(ValueError, match="estimate_blend is for a network that predicts one "
                       "value \\(components=0\\); this one predicts a mixture of 2"):  # fmt: skip
        estimate_blend(net, torch.randn(2, 1, 64))
