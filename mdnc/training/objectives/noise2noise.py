"""The noise2noise objective (two independent noisy recordings of each signal) and its
options.

Example:
    >>> from mdnc.training import TrainConfig, get_objective
    >>> objective = get_objective(TrainConfig(objective="noise2noise",
    ...                                       objective_options={"pair_mixing": 4}))
    >>> objective.options.pair_mixing
    4
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from mdnc._utils import check_int
from mdnc.data import WindowDataset
from mdnc.data.index import read_span

from ..options import ConfigError, ObjectiveOptions, checked, document, option
from ._base import (
    Batch,
    Objective,
    SplitData,
    flip_randomly,
    held_out_windows,
    random_windows,
    refuse_added_noise,
    register_objective,
)

__all__ = [
    "Noise2NoiseObjective",
    "Noise2NoiseOptions",
    "PAIR_LAGS",
    "WHITE_DIFFERENCE",
    "pair_difference_whiteness",
    "recombine_pairs",
]


@document
@dataclass(kw_only=True)
class Noise2NoiseOptions(ObjectiveOptions):
    """Options of the noise2noise objective (``[train]`` table, ``mdnc train``)."""

    legacy: ClassVar[dict[str, Any]] = {"pair_mixing": 0}

    pair_mixing: int | None = option(
        None,
        group="noise2noise objective",
        metavar="SAMPLES",
        help="noise2noise: recombine the two recordings of a pair in runs of this many "
        "samples, the input's runs from one recording and the target's from the other "
        "(new noise combinations at every step); 0: whole windows. Default: 1 when the "
        "difference of the pairs (their noise alone) is white, else 0.",
    )

    def __post_init__(self) -> None:
        if self.pair_mixing is not None:
            self.pair_mixing = checked(check_int, "pair_mixing", self.pair_mixing, 0)


def recombine_pairs(
    a: Tensor, b: Tensor, run: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Two noisy copies of the same windows with runs of ``run`` samples swapped between
    them at random (probability 1/2 per run, the same for every channel).

    Each output is still the signal plus, sample by sample, the noise of one copy, and the
    two outputs never take a sample's noise from the same copy: with noise independent
    from sample to sample (white), they are again two independent noisy copies, with a new
    noise combination at every draw.

    Args:
        a: windows ``(batch, channels, samples)``.
        b: the other copy, of the same shape.
        run: samples per swapped run (``<= 0``: ``a`` and ``b`` as they are).
        generator: the generator of the draw (``None``: torch's global one).

    Example:
        >>> a, b = torch.zeros(1, 1, 6), torch.ones(1, 1, 6)
        >>> x, y = recombine_pairs(a, b, 2, torch.Generator().manual_seed(0))
        >>> x.flatten().tolist(), (x + y).flatten().tolist()
        ([1.0, 1.0, 0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    """
    if run <= 0:
        return a, b
    n = a.shape[-1]
    run = min(run, n)  # a run as long as the window swaps whole windows
    draws = torch.rand(a.shape[0], 1, -(-n // run), device=a.device, generator=generator)
    swap = (draws < 0.5).repeat_interleave(run, -1)[..., :n]
    return torch.where(swap, b, a), torch.where(swap, a, b)


#: A noise2noise pair's difference (the two noises: the signal cancels) counts as white
#: when its autocorrelation stays within this at lags 1 to :data:`PAIR_LAGS`.
WHITE_DIFFERENCE = 0.1
#: The lags checked (fewer in shorter windows): recombined, noise correlated at any lag
#: within the network's reach would leak from the input into the target.
PAIR_LAGS = 256


def _pair_differences(data: SplitData, window: int, samples: int) -> np.ndarray:
    """``(channels, n)`` float64: windows of the second minus the first training
    recordings, spread evenly over the data and put end to end, about ``samples`` values
    per channel (at least one window). Windows of at least 1024 samples where the
    recordings allow, so that few reads cover the lags."""
    shortest = min(int(r.shape[-1]) for r in data.train)
    read = max(window, min(1024, shortest))
    dataset = WindowDataset(data.train, read, read, noisy=data.train_noisy,
                            names=data.train_names)  # fmt: skip
    count = min(len(dataset), max(1, samples // read))
    rows = []
    for i in np.unique(np.linspace(0, len(dataset) - 1, count).round()):
        second, first = dataset[int(i)][:2]
        rows.append((second - first).numpy().astype(np.float64))
    return np.concatenate(rows, axis=-1)


#: A pair whose second copy is the first up to an offset and a gain, within this fraction
#: of the larger copy's power (per channel), has no independent noise: refused.
AFFINE_COPY = 1e-6


def _refuse_affine_copies(data: SplitData, samples: int = 1024) -> None:
    """Refuse training pairs whose second copy is (on its first ``samples`` samples, in a
    channel) the first one up to an offset and a gain: identical, shifted, scaled or
    negated copies, on which noise2noise would learn to return its input.

    Raises:
        ConfigError: naming the recording and the channels.
    """
    names = data.train_names or [f"recording {i}" for i in range(len(data.train))]
    for name, a, b in zip(names, data.train, data.train_noisy or [], strict=True):
        n = min(samples, int(a.shape[-1]), int(b.shape[-1]))
        x = read_span(a, 0, n).astype(np.float64)
        y = read_span(b, 0, n).astype(np.float64)
        x -= x.mean(axis=-1, keepdims=True)
        y -= y.mean(axis=-1, keepdims=True)
        xx, yy, xy = (x * x).sum(-1), (y * y).sum(-1), (x * y).sum(-1)
        # The power of y left after its best fit k * x, against the larger copy's power.
        residual = yy - np.divide(xy * xy, xx, out=np.zeros_like(xx), where=xx > 0)
        power = np.maximum(xx, yy)  # 0: a flat channel in both, which carries nothing
        bad = np.flatnonzero((residual <= AFFINE_COPY * power) & (power > 0))
        if bad.size:
            raise ConfigError(
                f"noise2noise: {name} and its --noisy-pair recording are the same up to an "
                f"offset and a gain in channel(s) {bad.tolist()}; the two copies of a pair "
                "need independent noise."
            )


def _uncentred_acf(d: np.ndarray, lags: int) -> np.ndarray:
    """``sum(d[t] d[t+k]) / sum(d[t]^2)`` per channel at lags 1..lags, by FFT."""
    n = d.shape[-1]
    spectrum = np.fft.rfft(d, 2 * n)
    acf = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, 2 * n)[:, : lags + 1]
    return acf[:, 1:] / acf[:, :1]


def pair_difference_whiteness(
    data: SplitData, window: int, samples: int | None = None, lags: int = PAIR_LAGS
) -> float:
    """How far from white the noise of noise2noise pairs is, read from the difference of
    the paired training recordings (the signal cancels; the two noises remain).

    The statistic is ``max |sum(d[t] d[t+k]) / sum(d[t]^2)|`` over the channels and the
    lags ``k`` from 1 to ``lags`` (at most ``window - 1``), with ``d`` the differences of
    windows spread evenly over the data, put end to end. It is not centred: a constant
    offset between the copies counts as correlation. White noise gives about
    ``4 / sqrt(n)`` for ``n`` samples read; 1.0 when they are ``lags`` or fewer, or when a
    channel's difference is zero. Not checked: noise of one channel correlated with another
    channel's at other lags.

    Args:
        data: the split, with ``train_noisy``.
        window: samples per training window.
        samples: how many samples per channel to read at most, unless one window is
            longer (default: 2**18 values in all channels, 8192 to 32768 per channel: about
            0.02 for white noise at 256 lags, whatever the channel count).
        lags: the largest lag checked.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a = [rng.standard_normal((1, 4000)).astype(np.float32)]
        >>> b = [x + rng.standard_normal((1, 4000)).astype(np.float32) for x in a]
        >>> pair_difference_whiteness(SplitData(a, [], b), 512) < WHITE_DIFFERENCE
        True
    """
    if samples is None:
        samples = min(2**15, max(2**13, 2**18 // data.channels))
    difference = _pair_differences(data, window, samples)
    lags = min(lags, window - 1, difference.shape[-1] - 1)
    if lags < 1 or not np.all(np.sum(difference**2, axis=-1) > 0):
        return 1.0
    return float(np.abs(_uncentred_acf(difference, lags)).max())


@register_objective
class Noise2NoiseObjective(Objective):
    """Two independent noisy recordings of the same signal (repeated trials, twin
    sensors): one is the input, the other the target, in either order (Noise2Noise). With
    zero-mean noise independent between the two, the expected loss is the clean one plus a
    constant, so the network learns the clean signal."""

    name = "noise2noise"
    options_class = Noise2NoiseOptions
    noisy_copies = 2
    # Noisy targets: the gradient of a step is mostly the target's noise, so it takes more
    # passes to average it out. Up to 200 epochs, as for self-supervised training
    # (benchmarks/RESULTS.md: 15.47 dB at 60 epochs, about 15.9 at 140, supervised 16.40).
    max_epochs = 200

    def check(self, data: SplitData) -> None:
        """Paired recordings are required, with noise of their own (not the same recording
        up to an offset and a gain); added noise is refused."""
        refuse_added_noise(self.config, self.name)
        if data.train_noisy is None:
            raise ConfigError(
                "the noise2noise objective needs a second noisy recording of every DATA "
                "recording: give them with --noisy-pair (noisy in a configuration file)."
            )
        _refuse_affine_copies(data)

    def denoising(self, paired: bool) -> bool:
        """Always denoising."""
        return True

    def training_windows(self, data: SplitData) -> WindowDataset:
        """Window pairs at random offsets: ``(second recording, first recording)``."""
        return random_windows(self.config, data, data.train_noisy)

    def evaluation(self, data: SplitData) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
        """The held-out first recordings, and their clean truth when it is known."""
        return data.held_out_truth, data.held_out

    def validation_windows(
        self, data: SplitData, inputs: Sequence[np.ndarray]
    ) -> WindowDataset | None:
        """Non-overlapping held-out window pairs: the loss of one against the other."""
        c = self.config
        return held_out_windows(data, c.window, c.standardize, c.seed, data.held_out_noisy)

    def batch(
        self, items: Sequence[Tensor], device: torch.device,
        generator: torch.Generator | None = None,
    ) -> Batch:  # fmt: skip
        """Each pair in a random order (both directions are training examples), with a
        random sign and direction (the same for both windows of a pair)."""
        pair = torch.stack([items[0], items[1]], 1).to(device, non_blocking=True)
        pair = flip_randomly(pair, generator)
        a, b = pair[:, 0], pair[:, 1]
        swap = torch.rand(a.shape[0], 1, 1, device=device, generator=generator) < 0.5
        return Batch(torch.where(swap, b, a), torch.where(swap, a, b))

    def training_batch(self, items: Sequence[Tensor], device: torch.device) -> Batch:
        """:meth:`batch`, its pairs recombined in runs of ``pair_mixing`` samples
        (:func:`recombine_pairs`); validation and inference see whole windows."""
        batch = self.batch(items, device)
        x, y = recombine_pairs(batch.input, batch.target, self.options.pair_mixing or 0)
        return Batch(x, y)

    def settle(self, data: SplitData) -> dict[str, Any]:
        """``pair_mixing`` when unset: 1 (sample by sample) if the difference of the pairs
        is white (:func:`pair_difference_whiteness` within :data:`WHITE_DIFFERENCE`), else
        0: correlated noise recombined would leak the input's noise into the target."""
        if self.options.pair_mixing is not None:
            return {}
        whiteness = pair_difference_whiteness(data, self.config.window)
        self.config = self.config.with_options(pair_mixing=int(whiteness <= WHITE_DIFFERENCE))
        return {"pair_mixing": self.options.pair_mixing}
