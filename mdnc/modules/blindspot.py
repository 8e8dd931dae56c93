"""A 1-D blind-spot network: every output sample is computed without its own input sample.

:class:`BlindSpotNet1d` is the architecture of self-supervised denoising from noisy
recordings alone (``mdnc train --objective self-supervised``). One causal U-Net (every
convolution sees only the past, down-sampling is shifted by one sample so that it does not
see the future either) runs over the recording forwards and, with the same weights, time
reversed. Its features are shifted so that at sample ``i`` the forward pass has seen only
samples before ``i - blind_spot // 2`` and the reversed pass only samples after
``i + blind_spot // 2``; 1x1 convolutions merge the two. The output at ``i`` therefore
never depends on the input samples ``i - blind_spot // 2 .. i + blind_spot // 2`` (in any
channel), so the network can be trained to reproduce its noisy input with a plain loss on
every sample: noise that is independent beyond that span cannot be predicted, the signal
can (Noise2Self / Laine et al.'s blind-spot networks, here in one dimension).

At inference (evaluation mode) the output can take back a fraction ``blend`` of the
noisy input, ``f + blend * (x - f)``: the blind prediction ``f`` ignores what the sample
itself says, and when ``f``'s own error is not small against the noise, a little of the
sample improves the estimate (the Bayesian step of Laine et al., with one weight).
Self-supervised training sets ``blend`` from the held-out recordings
(:func:`estimate_blend`); it is 0, and the output blind, until then and in training mode.

Compared with masking a few samples of an ordinary network (Noise2Void), every sample
of every window contributes to the loss, and what the network sees at inference is what
it saw in training. There is no normalization layer: instance or batch statistics would
carry a sample's own value into its output.

Example:
    >>> import torch
    >>> from mdnc.modules.blindspot import BlindSpotNet1d
    >>> net = BlindSpotNet1d(8, [1, 1, 1])
    >>> x = torch.randn(1, 1, 64, requires_grad=True)
    >>> net(x)[0, 0, 20].backward()
    >>> float(x.grad[0, 0, 20]), bool(x.grad[0, 0, 19] != 0)
    (0.0, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mdnc.registry import register_model

# The documented family registers first, whatever imports this module (the registry's order).
from . import resnet  # noqa: F401
from ._checks import (
    check_floating,
    check_layers,
    check_like_parameters,
    check_positive_int,
    first_parameter,
)

__all__ = [
    "BlindSpotNet1d",
    "estimate_blend",
    "mixture_nll",
    "noise_variance",
    "posterior_mean",
    "prior_mean",
]

#: The slope of the leaky ReLUs.
SLOPE = 0.1


def _shift(x: Tensor, n: int) -> Tensor:
    """Delay ``x`` by ``n`` samples along its last axis (zeros enter, the end drops)."""
    return F.pad(x, [n, 0])[..., : x.shape[-1]]


class CausalConv1d(nn.Conv1d):
    """A 1-D convolution whose output at ``i`` sees the input at ``i`` and before only."""

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(F.pad(x, [self.kernel_size[0] - 1, 0]), self.weight, self.bias)


class CausalStage(nn.Module):
    """``n`` causal convolutions with leaky ReLUs, and a residual connection."""

    def __init__(self, in_planes: int, planes: int, n: int, kernel_size: int) -> None:
        super().__init__()
        convs: list[nn.Module] = []
        for i in range(n):
            convs += [CausalConv1d(in_planes if i == 0 else planes, planes, kernel_size),
                      nn.LeakyReLU(SLOPE)]  # fmt: skip
        self.body = nn.Sequential(*convs)
        self.skip = nn.Conv1d(in_planes, planes, 1) if in_planes != planes else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x) + self.skip(x)


class CausalUNet1d(nn.Module):
    """A U-Net whose output at ``i`` depends on the input at ``i`` and before only.

    Stage ``d`` has ``channel * 2**d`` channels and works at ``1 / 2**d`` of the rate.
    Down-sampling averages pairs of samples after a delay of one sample (so that the pair
    of outputs ``2m, 2m + 1`` sees inputs up to ``2m``); up-sampling repeats samples.
    """

    def __init__(self, channel: int, layers: list[int], kernel_size: int, in_planes: int) -> None:
        super().__init__()
        widths = [channel * 2**d for d in range(len(layers))]
        self.first = nn.Sequential(CausalConv1d(in_planes, channel, kernel_size + 2),
                                   nn.LeakyReLU(SLOPE))  # fmt: skip
        self.top = CausalStage(channel, channel, layers[0], kernel_size)
        self.down = nn.ModuleList(
            CausalStage(widths[d - 1], widths[d], layers[d], kernel_size)
            for d in range(1, len(layers))
        )
        self.merge = nn.ModuleList(
            nn.Conv1d(widths[d] + widths[d - 1], widths[d - 1], 1)
            for d in range(len(layers) - 1, 0, -1)
        )
        self.up = nn.ModuleList(
            CausalStage(widths[d - 1], widths[d - 1], layers[d - 1], kernel_size)
            for d in range(len(layers) - 1, 0, -1)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.top(self.first(x))
        skips: list[Tensor] = []
        for stage in self.down:
            skips.append(x)
            x = stage(F.avg_pool1d(_shift(x, 1), 2, ceil_mode=True))
        for i, (merge, stage) in enumerate(zip(self.merge, self.up, strict=True)):
            skip = skips[len(skips) - 1 - i]
            x = torch.repeat_interleave(x, 2, dim=2)[..., : skip.shape[-1]]
            x = stage(merge(torch.cat([x, skip], 1)))
        return x


@register_model(kind="network", family="blindspot", order=1)
class BlindSpotNet1d(nn.Module):
    """1-D blind-spot network: the output at sample ``i`` never sees the input there.

    Args:
        channel: the width of the first stage (stage ``d`` has ``channel * 2**d``).
        layers: causal convolutions per stage; ``len(layers)`` stages (``len - 1``
            down-samplings).
        blind_spot: samples hidden around each output sample, across all channels: the
            ``blind_spot // 2`` on either side are hidden too (1 hides the sample itself,
            2 and 3 hide 3 samples, ...). More than 1 for noise that is correlated over a
            few samples.
        kernel_size: the kernel of the causal convolutions (the first one has ``+ 2``).
        in_planes: input channels.
        out_planes: output channels.
        components: 0: the network predicts each sample from its surroundings (a point
            prediction, trained with the squared error), and in evaluation mode takes back
            :attr:`blend` of the noisy input. ``K >= 1``: it predicts a mixture of ``K``
            gaussians, the distribution of each clean sample given its surroundings (a
            prior, trained by the likelihood of the noisy sample: :func:`mixture_nll`),
            and in evaluation mode outputs the mean of the clean sample given that prior
            and the noisy sample itself, under white gaussian noise of the variance
            :func:`noise_variance` estimates per window (:func:`posterior_mean`; Laine et
            al.'s Bayesian blind-spot denoising, with a mixture prior as in probabilistic
            Noise2Void). With ``blind_spot > 1`` (correlated noise) or other output than
            input channels, the output is the prior mean.

    In training mode the output is what the blind head predicts: ``(B, out_planes, L)``
    with ``components=0``, else ``(B, out_planes * 3 * components, L)``, the prior's
    parameters (:func:`mixture_nll` reads them). So it is in evaluation mode too while
    :attr:`blind_output` is set (the validation loss of self-supervised training).

    Raises:
        TypeError: an argument is not an int (or ``layers`` not a list of ints).
        ValueError: an argument is out of range.

    Example:
        >>> net = BlindSpotNet1d(16, [2, 2, 2, 2], in_planes=2, out_planes=2)
        >>> net(torch.randn(3, 2, 100)).shape
        torch.Size([3, 2, 100])
    """

    order = 1
    __jit_unused_properties__ = ["nlayers", "min_size", "hidden"]

    def __init__(
        self,
        channel: int = 16,
        layers: Sequence[int] = (2, 2, 2, 2),
        blind_spot: int = 1,
        kernel_size: int = 3,
        in_planes: int = 1,
        out_planes: int = 1,
        components: int = 0,
    ) -> None:
        super().__init__()
        for name, value in (("channel", channel), ("blind_spot", blind_spot),
                            ("kernel_size", kernel_size), ("in_planes", in_planes),
                            ("out_planes", out_planes)):  # fmt: skip
            check_positive_int(name, value)
        self.components = check_positive_int("components", components, minimum=0)
        self._layers = check_layers(layers, minimum_stages=1)
        self.in_planes, self.out_planes = in_planes, out_planes
        self.shift = blind_spot // 2 + 1
        self.trunk = CausalUNet1d(channel, self._layers, kernel_size, in_planes)
        self.head = nn.Sequential(
            nn.Conv1d(2 * channel, 2 * channel, 1), nn.LeakyReLU(SLOPE),
            nn.Conv1d(2 * channel, channel, 1), nn.LeakyReLU(SLOPE),
            nn.Conv1d(channel, out_planes * max(1, 3 * self.components), 1),
        )  # fmt: skip
        if self.components:
            _spread_means(self.head[-1], out_planes, self.components)
        #: The fraction of the noisy input mixed into the output in evaluation mode
        #: (``components=0``).
        self.register_buffer("blend", torch.zeros(()))
        #: In evaluation mode too, output what the blind head predicts (as in training).
        self.blind_output = False

    @property
    def hidden(self) -> int:
        """How many input samples around each output sample it never sees (odd)."""
        return 2 * self.shift - 1

    @property
    def nlayers(self) -> int:
        """The number of convolutional layers along the depth of the network."""
        return 1 + sum(self._layers) + sum(self._layers[:-1]) + 3

    @property
    def min_size(self) -> tuple[int]:
        """The smallest input length: one sample (shorter windows see less context); 3
        with ``components``, whose noise estimate needs second differences."""
        return (3,) if self.components else (1,)

    def forward(self, x: Tensor) -> Tensor:
        # No channels-last inference here (mdnc.modules._layout): its causal padding and
        # batch-wise concatenations copy the layout back, and an A/B gave 1.0-1.05x.
        if not torch.jit.is_scripting() and not torch.jit.is_tracing():
            self._check_input(x)
        b = x.shape[0]
        features = _shift(self.trunk(torch.cat([x, x.flip(-1)], 0)), self.shift)
        left, right = features[:b], features[b:].flip(-1)
        y = self.head(torch.cat([left, right], 1))
        if self.training or self.blind_output:
            return y
        if self.components == 0:
            return y if self.in_planes != self.out_planes else y + self.blend * (x - y)
        if self.in_planes != self.out_planes or self.shift > 1:
            return prior_mean(y, self.out_planes)
        return posterior_mean(y, x, noise_variance(x))

    def set_blend(self, value: float) -> None:
        """Set :attr:`blend`, the fraction of the noisy input that the output takes back in
        evaluation mode (0: a blind output).

        Raises:
            ValueError: ``value`` is not a number in [0, 1].
        """
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"blend must be a number in [0, 1], got {value!r}.")
        self.blend.fill_(float(value))

    def _check_input(self, x: Tensor) -> None:
        """Check the type, shape (non-empty), dtype and device of an input."""
        reference = first_parameter(self)
        expected = f"(B, {self.in_planes}, L)"
        check_floating(x, "BlindSpotNet1d", expected, reference)
        if x.dim() != 3 or x.shape[1] != self.in_planes or x.numel() == 0:
            raise ValueError(
                f"BlindSpotNet1d expects a non-empty 3-D tensor {expected}, got shape "
                f"{tuple(x.shape)}."
            )
        if x.shape[-1] < self.min_size[0]:
            raise ValueError(
                f"BlindSpotNet1d with components={self.components} needs at least "
                f"{self.min_size[0]} samples (min_size), got shape {tuple(x.shape)}."
            )
        check_like_parameters(x, "BlindSpotNet1d", reference)


def _spread_means(conv: nn.Conv1d, planes: int, components: int) -> None:
    """Start the mixture's means spread over [-1.5, 1.5] and its variances at about 1
    (standardised windows), so that the components differ from the first step."""
    with torch.no_grad():
        bias = conv.bias.view(planes, 3, components)
        bias[:, 0].zero_()
        bias[:, 1] = torch.linspace(-1.5, 1.5, components) if components > 1 else 0.0
        bias[:, 2].fill_(0.5413)  # softplus(0.5413) = 1


def _mixture(params: Tensor, planes: int, floor: float = 1e-6) -> tuple[Tensor, Tensor, Tensor]:
    """``(log weights, means, variances)`` of the prior, each ``(B, planes, K, L)``; no
    variance is below ``floor`` (standardised windows)."""
    b, n, length = params.shape[0], params.shape[1], params.shape[2]
    p = params.float().reshape(b, planes, 3, n // (3 * planes), length)
    log_w = torch.log_softmax(p[:, :, 0], dim=2)
    return log_w, p[:, :, 1], F.softplus(p[:, :, 2]) + floor


def _evidence(
    params: Tensor, x: Tensor, noise: Tensor, floor: float = 1e-6
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(log p(x, component), means, prior variances, total variances)`` per component,
    for noisy samples ``x`` ``(B, C, L)`` under white gaussian noise of variance ``noise``
    ``(B, C)`` (at least ``floor``)."""
    log_w, mean, var = _mixture(params, x.shape[1], floor)
    total = var + noise.float().clamp_min(floor)[:, :, None, None]
    diff = x.float()[:, :, None] - mean
    log_p = log_w - 0.5 * (torch.log(2 * torch.pi * total) + diff.square() / total)
    return log_p, mean, var, total


def mixture_nll(params: Tensor, x: Tensor, noise: Tensor) -> Tensor:
    """The negative log-likelihood of each noisy sample under the predicted prior and
    white gaussian noise: ``-log sum_k w_k N(x; mu_k, v_k + noise)``.

    Args:
        params: the prior's parameters, ``(B, C * 3 * K, L)`` (a
            :class:`BlindSpotNet1d` with ``components=K`` in training mode).
        x: the noisy samples, ``(B, C, L)``.
        noise: the noise variance per window and channel, ``(B, C)``.

    Returns:
        ``(B, C, L)``, in float32.

    Example:
        >>> params = torch.tensor([[[0.0], [0.0], [0.5413]]])   # one gaussian N(0, 1)
        >>> nll = mixture_nll(params, torch.zeros(1, 1, 1), torch.ones(1, 1))
        >>> round(float(nll), 4)   # -log N(0; 0, 2)
        1.2655
    """
    return -torch.logsumexp(_evidence(params, x, noise)[0], dim=2)


def prior_mean(params: Tensor, planes: int) -> Tensor:
    """The mean of the predicted prior, ``sum_k w_k mu_k``, without the noisy sample.

    Args:
        params: the prior's parameters, ``(B, planes * 3 * K, L)``.
        planes: the channels of the samples it describes.

    Returns:
        ``(B, planes, L)``, in float32.
    """
    log_w, mean, _ = _mixture(params, planes)
    return (log_w.exp() * mean).sum(dim=2)


def posterior_mean(params: Tensor, x: Tensor, noise: Tensor) -> Tensor:
    """The mean of the clean sample given the predicted prior and the noisy sample ``x``,
    under white gaussian noise of variance ``noise``: each component's posterior mean
    ``mu_k + v_k / (v_k + noise) * (x - mu_k)``, weighted by how well the component
    explains ``x``.

    Args:
        params: the prior's parameters, ``(B, C * 3 * K, L)``.
        x: the noisy samples, ``(B, C, L)``.
        noise: the noise variance per window and channel, ``(B, C)``.

    Returns:
        ``(B, C, L)``, of ``x``'s dtype.

    Example:
        >>> params = torch.tensor([[[0.0], [0.0], [0.5413]]])   # one gaussian N(0, 1)
        >>> round(float(posterior_mean(params, torch.full((1, 1, 1), 2.0), torch.ones(1, 1))), 4)
        1.0
    """
    log_p, mean, var, total = _evidence(params, x, noise)
    estimate = mean + var / total * (x.float()[:, :, None] - mean)
    return (torch.softmax(log_p, dim=2) * estimate).sum(dim=2).to(x.dtype)


def noise_variance(x: Tensor) -> Tensor:
    """The variance of white noise in ``x`` (``(..., samples)``), per row: from the median
    absolute deviation of second differences, which a smooth signal barely moves and
    sharp features (few) do not sway.

    Args:
        x: noisy samples, ``(..., samples)`` with at least 3 samples.

    Returns:
        The variance per row, of shape ``x.shape[:-1]``, in float32.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.sin(torch.linspace(0, 20, 4000)) + 0.5 * torch.randn(4000, generator=g)
        >>> round(float(noise_variance(x)), 2)   # 0.25, up to the estimate's error
        0.26
    """
    x = x.float()  # half precision overflows in the square
    d = (x[..., 2:] - 2 * x[..., 1:-1] + x[..., :-2]) / 6**0.5
    mad = _median((d - _median(d)[..., None]).abs())
    return (1.4826 * mad) ** 2


def _median(x: Tensor) -> Tensor:
    """The lower median along the last axis (as ``Tensor.median``), by sorting: exports to
    ONNX, where ``median`` does not."""
    return x.sort(dim=-1).values[..., (x.shape[-1] - 1) // 2]


#: The largest blend :func:`estimate_blend` sets (a guard against a poor noise estimate).
MAX_BLEND = 0.5


def estimate_blend(net: BlindSpotNet1d, windows: Tensor) -> float:
    """The blend that minimises the expected error of ``f + w * (x - f)`` on ``windows``.

    With white noise of variance ``s2`` and a blind prediction ``f`` (independent of the
    noise at its own sample) whose error has variance ``e2``, the error of the blend is
    ``(1 - w)**2 * e2 + w**2 * s2``, least at ``w = e2 / (e2 + s2)``; ``e2 + s2`` is the
    blind loss ``mean((x - f)**2)`` and ``s2`` comes from :func:`noise_variance`.

    Args:
        net: the network (its blend is ignored: the prediction is made blind).
        windows: noisy windows ``(batch, channels, samples)`` it was not trained on.

    Returns:
        The weight, in ``[0, MAX_BLEND]``.

    Raises:
        ValueError: the network predicts a distribution (``components``), which needs no
            blend.
    """
    if net.components:
        raise ValueError(
            f"estimate_blend is for a network that predicts one value (components=0); this "
            f"one predicts a mixture of {net.components} gaussians, whose posterior mean "
            "takes the noisy sample into account already."
        )
    training = net.training
    net.train()  # blind
    try:
        with torch.no_grad():
            loss = float((windows - net(windows)).square().mean())
    finally:
        net.train(training)
    noise = float(noise_variance(windows).mean())
    if not loss > 0:
        return 0.0
    return min(MAX_BLEND, max(0.0, 1.0 - noise / loss))
