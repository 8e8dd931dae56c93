"""Training objectives: how recordings become (input, target) windows, and the loss.

An objective is one small class, registered by name with :func:`register_objective`:

* :meth:`Objective.check` refuses data it cannot train on, with a :class:`ConfigError`;
* :meth:`Objective.settle` resolves the options left to the training data;
* :meth:`Objective.training_windows` cuts the training recordings into a ``Dataset``
  of ``(input, target)`` windows (usually a :class:`mdnc.data.WindowDataset`);
* :meth:`Objective.evaluation` gives the held-out recordings to denoise whole, and the
  clean references to score them against (``None`` when there are none);
* :meth:`Objective.validation_windows` gives fixed held-out windows for the validation
  loss;
* :meth:`Objective.batch` turns a loader batch into a :class:`Batch` on the device
  (where masking schemes transform the input), and :meth:`Objective.loss` scores the
  network's output (mean squared error by default, weighted by ``Batch.weight``);
  :meth:`Objective.training_batch` is the training step's batch (by default
  :meth:`Objective.batch`, which validation calls).

The trainer calls only these, so a new objective or a new loss is a new class here (or
anywhere, registered), with no change to the loop.

Example:
    >>> from mdnc.training import TrainConfig
    >>> objective = get_objective(TrainConfig(snr_db=5.0))
    >>> objective.name, objective.denoising(paired=False)
    ('supervised', True)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from mdnc._utils import NameRegistry
from mdnc.data import NoiseModel, WindowDataset, get_noise_model
from mdnc.data.index import read_span

from .config import ConfigError, TrainConfig, is_blind_spot

__all__ = [
    "Batch",
    "Noise2NoiseObjective",
    "Objective",
    "PAIR_LAGS",
    "SelfSupervisedObjective",
    "SplitData",
    "SupervisedObjective",
    "WHITE_DIFFERENCE",
    "blind_spot_mask",
    "get_objective",
    "list_objectives",
    "pair_difference_whiteness",
    "recombine_pairs",
    "register_objective",
]

# Seed offsets, so that the validation noise and windows differ from the training draws.
VALIDATION_NOISE_SEED = 1_000_003
VALIDATION_WINDOW_SEED = 1
#: At most this many held-out windows set the blend of a blind-spot network.
MAX_CALIBRATION_WINDOWS = 256


@dataclass
class SplitData:
    """The recordings of a run, split into training and held-out ones.

    Attributes:
        train: training recordings: the targets (clean, when there are clean ones).
        held_out: held-out recordings, likewise.
        train_noisy: paired noisy recordings of ``train`` (inputs), or None.
        held_out_noisy: paired noisy recordings of ``held_out``, or None.
        train_names: names of the training recordings for messages, or None.
        held_out_truth: the clean truth of ``held_out`` when it is known although the
            objective does not train on it (synthetic noisy data), to score against; or None.
    """

    train: list[np.ndarray]
    held_out: list[np.ndarray]
    train_noisy: list[np.ndarray] | None = None
    held_out_noisy: list[np.ndarray] | None = None
    train_names: list[str] | None = None
    held_out_truth: list[np.ndarray] | None = None

    @property
    def channels(self) -> int:
        """The channel count of the recordings."""
        return int(self.train[0].shape[0])


@dataclass
class Batch:
    """One optimizer step's windows on the device.

    Attributes:
        input: what the network sees, ``(batch, channels, samples)``.
        target: what its output is compared with, of the output's shape.
        weight: per-sample loss weights of the target's shape (e.g. a mask), or None.
    """

    input: Tensor
    target: Tensor
    weight: Tensor | None = None


class Objective(ABC):
    """How a run turns recordings into training pairs and scores the network.

    Args:
        config: the options of the run.
        noise: the noise model that adds noise to clean recordings (e.g. a
            :class:`~mdnc.data.RecordedNoise`); default: the one ``config.noise`` names,
            with ``config.noise_params()``. Kept as ``objective.noise``.
    """

    #: The name the objective is chosen by (``TrainConfig.objective``).
    name: ClassVar[str] = ""
    #: The default schedule (``epochs`` unset): about this many optimizer steps ...
    target_steps: ClassVar[int] = 4000
    #: ... in 10 to this many epochs (see :func:`~mdnc.training.auto_epochs`).
    max_epochs: ClassVar[int] = 60
    #: Passes over the validation windows per validation (more draws of a random
    #: :meth:`batch`, for a steadier validation loss).
    validation_passes: ClassVar[int] = 1
    #: The network class of a run whose ``TrainConfig.arch`` is unset.
    default_arch: ClassVar[str] = "UNet1d"
    #: Whether a blind-spot network trained by it predicts a distribution
    #: (``TrainConfig.prior_components``), which :meth:`loss` scores by its likelihood.
    trains_prior: ClassVar[bool] = False
    #: Whether it trains on clean recordings (noise added to them); else on noisy ones.
    trains_on_clean: ClassVar[bool] = False
    #: How many noisy copies of each recording it trains on when none is clean: the
    #: built-in synthetic data is given as that many noisy copies (and the clean truth).
    noisy_copies: ClassVar[int] = 1

    def __init__(self, config: TrainConfig, noise: NoiseModel | None = None) -> None:
        self.config = config
        self.noise = (
            noise if noise is not None else get_noise_model(config.noise, **config.noise_params())
        )

    def check(self, data: SplitData) -> None:
        """Refuse data this objective cannot train on.

        Raises:
            ConfigError: the data and the options do not go together.
        """
        return None

    @abstractmethod
    def denoising(self, paired: bool) -> bool:
        """Whether the network's input differs from its target (else: reconstruction)."""

    @abstractmethod
    def training_windows(self, data: SplitData) -> Dataset:
        """The training windows, a ``Dataset`` of ``(input, target)`` tensors."""

    @abstractmethod
    def evaluation(self, data: SplitData) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
        """``(references or None, inputs)``: held-out recordings to denoise whole."""

    def validation_windows(self, data: SplitData, inputs: Sequence[np.ndarray]) -> Dataset | None:
        """Fixed held-out windows for the validation loss (None when there are none)."""
        return None

    def batch(
        self,
        items: Sequence[Tensor],
        device: torch.device,
        generator: torch.Generator | None = None,
    ) -> Batch:
        """A loader batch ``(input, target, ...)`` as a :class:`Batch` on ``device``.

        Args:
            items: the loader's tensors.
            device: where the step runs.
            generator: the random generator of any draw made here (``None``: torch's
                global one); validation passes a freshly seeded one, so that its loss is
                computed on the same draws every epoch.
        """
        return Batch(items[0].to(device, non_blocking=True), items[1].to(device, non_blocking=True))

    def training_batch(self, items: Sequence[Tensor], device: torch.device) -> Batch:
        """The batch of a training step: :meth:`batch` with torch's global generator (the
        default). An objective whose training draws differ from the validation ones (which
        see windows as inference does) overrides it."""
        return self.batch(items, device)

    def settle(self, data: SplitData) -> dict[str, Any]:
        """Resolve the options left unset that the training data decide, before the
        training windows are made; returns them (the run's options take them) and keeps
        them in ``self.config`` (default: none, ``{}``)."""
        return {}

    def begin_validation(self, model: nn.Module) -> None:
        """Called in evaluation mode before the validation loss (default: nothing)."""
        return None

    def end_validation(self, model: nn.Module) -> None:
        """Called after the validation loss, also when it failed (default: nothing)."""
        return None

    def calibrate(self, model: nn.Module, windows: Dataset | None) -> dict[str, float]:
        """Set what training does not learn from the held-out ``windows``, after the
        validation loss and before the held-out recordings are denoised (in evaluation
        mode). Returns figures for the epoch's metrics (default: nothing, ``{}``)."""
        return {}

    def loss(self, output: Tensor, batch: Batch, reduction: str = "mean") -> Tensor:
        """Mean squared error of ``output`` against the target, weighted by ``batch.weight``.

        Args:
            output: the network's output.
            batch: the batch it was computed from.
            reduction: ``"mean"`` (over weighted samples) or ``"sum"``.
        """
        output = output.float()
        if batch.weight is None:
            return torch.nn.functional.mse_loss(output, batch.target, reduction=reduction)
        squared = batch.weight * (output - batch.target).square()
        if reduction == "sum":
            return squared.sum()
        return squared.sum() / batch.weight.sum().clamp_min(1e-12)

    def loss_count(self, batch: Batch) -> float:
        """How many samples a ``"sum"`` loss of ``batch`` adds up (to average over batches)."""
        if batch.weight is None:
            return float(batch.target.numel())
        return float(batch.weight.sum())


_OBJECTIVES = NameRegistry("objective")


def register_objective(cls: type[Objective]) -> type[Objective]:
    """Class decorator: make an :class:`Objective` subclass available by its ``name``.

    Raises:
        ValueError: the class has no name, or the name is taken.
    """
    return _OBJECTIVES.register(cls)


def list_objectives() -> list[str]:
    """The names of the registered objectives, in registration order."""
    return _OBJECTIVES.names()


def objective_class(name: str) -> type[Objective]:
    """The objective class registered as ``name``.

    Raises:
        ValueError: no objective of that name (the message lists them).
    """
    return _OBJECTIVES.get(name)


def get_objective(config: TrainConfig, noise: NoiseModel | None = None) -> Objective:
    """The objective ``config.objective`` names, set up for ``config``.

    Args:
        config: the options of the run.
        noise: the noise model to add (e.g. a :class:`~mdnc.data.RecordedNoise`); default:
            the one ``config.noise`` names, with ``config.noise_params()``.

    Raises:
        ConfigError: no objective of that name (the message lists the valid ones), or
            noise parameters that do not fit the noise model.
    """
    try:
        cls = _OBJECTIVES.get(config.objective)
        return cls(config, noise)
    except ValueError as err:
        raise ConfigError(str(err)) from None


@register_objective
class SupervisedObjective(Objective):
    """Clean targets; inputs are the clean windows plus noise from the noise model at
    ``snr_db``, or the paired noisy recordings; with neither, the clean windows themselves
    (a reconstruction auto-encoder). Loss: mean squared error."""

    name = "supervised"
    trains_on_clean = True
    noisy_copies = 0

    def check(self, data: SplitData) -> None:
        """Paired noisy recordings and added noise exclude each other."""
        if data.train_noisy is not None and self.config.snr_db is not None:
            raise ConfigError(
                "give either paired noisy recordings (noisy, --noisy) or noise to add (snr_db, "
                "--snr-db), not both."
            )

    def denoising(self, paired: bool) -> bool:
        """Denoising with pairs or added noise; reconstruction otherwise."""
        return paired or self.config.snr_db is not None

    def training_windows(self, data: SplitData) -> WindowDataset:
        """Windows at random offsets, fresh noise at every fetch."""
        c = self.config
        return WindowDataset(
            data.train,
            c.window,
            c.hop or max(1, c.window // 2),
            snr_db=None if data.train_noisy else c.snr_db,
            noise=self.noise,
            noisy=data.train_noisy,
            random_offsets=True,
            standardize=c.standardize,
            seed=c.seed,
            names=data.train_names,
        )

    def evaluation(self, data: SplitData) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
        """The held-out clean recordings, and their noisy pairs or a fixed noisy copy."""
        if not data.held_out:
            return None, []
        if data.held_out_noisy is not None:
            return data.held_out, data.held_out_noisy
        if self.config.snr_db is None:
            return data.held_out, data.held_out
        rng = np.random.default_rng(self.config.seed + VALIDATION_NOISE_SEED)
        snr = self.config.snr_db
        inputs = [
            self.noise.add(c, rng.uniform(*snr) if isinstance(snr, list) else snr, rng)
            for c in data.held_out
        ]
        return data.held_out, [x.astype(np.float32) for x in inputs]

    def validation_windows(
        self, data: SplitData, inputs: Sequence[np.ndarray]
    ) -> WindowDataset | None:
        """Non-overlapping windows of the held-out recordings (None if one is too short)."""
        c = self.config
        noisy = list(inputs) if self.denoising(data.held_out_noisy is not None) else None
        return _held_out_windows(data, c.window, c.standardize, c.seed, noisy)


def _refuse_added_noise(config: TrainConfig, objective: str) -> None:
    if config.snr_db is not None:
        raise ConfigError(
            f"snr_db (--snr-db) adds noise to clean recordings; the {objective} objective "
            "trains on recordings that are noisy already: leave it out."
        )


def _held_out_windows(
    data: SplitData, window: int, standardize: bool, seed: int, noisy: list | None = None
) -> WindowDataset | None:
    """Non-overlapping windows of the held-out recordings (None if one is too short)."""
    if not data.held_out or any(h.shape[-1] < window for h in data.held_out):
        return None
    return WindowDataset(
        data.held_out, window, window, noisy=noisy, standardize=standardize,
        seed=seed + VALIDATION_WINDOW_SEED,
    )  # fmt: skip


def blind_spot_mask(
    x: Tensor,
    fraction: float,
    width: int = 1,
    radius: int = 4,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Hide runs of ``width`` samples of every window from the network (Noise2Void masking).

    Each window is cut into boxes of ``round(width / fraction)`` samples, and a run of
    ``width`` samples at a random place in every box is masked, in all channels at once.
    Every masked sample is replaced by an unmasked sample at most ``radius`` samples beside
    its run (drawn at random; 0 when the draw falls on another run), so the values of the
    run, and so the noise that is correlated over up to ``width`` samples, appear nowhere
    in the network's input: the network must predict them from their surroundings.

    Args:
        x: windows ``(batch, channels, samples)``, with more samples than ``width``.
        fraction: the fraction of samples masked, in (0, 0.5].
        width: samples per masked run (the blind spot), >= 1.
        radius: how far beside its run a replacement is drawn from, >= 1.
        generator: the random generator (``None``: torch's global one), on ``x``'s device.

    Returns:
        ``(masked input, mask)``: the mask, of ``x``'s shape, is 1.0 at masked samples.

    Raises:
        ValueError: the windows have no more samples than ``width``.

    Example:
        >>> x = torch.randn(2, 1, 64)
        >>> masked, mask = blind_spot_mask(x, fraction=1 / 16)
        >>> int(mask.sum()), bool((masked[mask == 0] == x[mask == 0]).all())
        (8, True)
    """
    batch, channels, n = x.shape
    if n <= width:
        raise ValueError(f"windows of {n} samples are too short for a blind spot of {width}.")
    box = min(n, max(width + 1, round(width / fraction)))
    boxes = n // box
    dev = x.device

    def uniform(*shape: int) -> Tensor:
        return torch.rand(shape, device=dev, generator=generator)

    starts = torch.arange(boxes, device=dev) * box
    starts = starts + (uniform(batch, boxes) * (box - width + 1)).long().clamp_max(box - width)
    pos = (starts[..., None] + torch.arange(width, device=dev)).reshape(batch, -1)
    first = starts.repeat_interleave(width, dim=1)  # the start of each sample's run
    last = first + width - 1
    step = 1 + (uniform(*pos.shape) * radius).long().clamp_max(radius - 1)
    right = uniform(*pos.shape) < 0.5
    right = torch.where(first - step < 0, True, torch.where(last + step >= n, False, right))
    source = torch.where(right, last + step, first - step).clamp(0, n - 1)
    hidden = torch.zeros(batch, n, dtype=torch.bool, device=dev)
    hidden.scatter_(1, pos, True)
    usable = ~hidden.gather(1, source)
    values = x.gather(2, source[:, None, :].expand(-1, channels, -1))
    masked = x.scatter(2, pos[:, None, :].expand(-1, channels, -1), values * usable[:, None, :])
    return masked, hidden[:, None, :].expand(-1, channels, -1).to(x.dtype)


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


def _flip_randomly(x: Tensor, generator: torch.Generator | None) -> Tensor:
    """Each window of ``x`` (``(batch, ..., samples)``: a window, or a pair of windows
    stacked along axis 1) negated and/or time reversed, with probability 1/2 each."""
    shape = (2, x.shape[0], *[1] * (x.dim() - 1))
    draws = torch.rand(shape, device=x.device, generator=generator) < 0.5
    x = torch.where(draws[0], -x, x)
    return torch.where(draws[1], x.flip(-1), x)


@register_objective
class SelfSupervisedObjective(Objective):
    """Noisy recordings only: the network learns to predict every noisy sample from its
    surroundings. Noise independent from sample to sample (or beyond ``blind_spot``
    samples) cannot be predicted from the surroundings while the signal can, so the network
    learns the signal.

    With a blind-spot network (:class:`~mdnc.modules.blindspot.BlindSpotNet1d`, the
    default) the input is the noisy window and the loss counts every sample: the network
    cannot see the sample it predicts. With another network, runs of ``blind_spot`` samples
    are hidden in its input (Noise2Void masking, :func:`blind_spot_mask`) and the loss
    counts those only. Windows get a random sign and direction, so that the network cannot
    learn the noise of the training recordings by heart. Inference sees whole windows."""

    name = "self-supervised"
    # Chosen by measurement against masking a UNet1d (benchmarks/RESULTS.md).
    default_arch = "BlindSpotNet1d"
    trains_prior = True
    # Masking: a step learns from the masked samples only, so more steps than supervised
    # training (chosen by measurement: benchmarks/RESULTS.md).
    target_steps = 8000
    max_epochs = 200
    # A validation pass scores 1/16 of the samples: 4 passes with other masks.
    validation_passes = 4

    def __init__(self, config: TrainConfig, noise: NoiseModel | None = None) -> None:
        super().__init__(config, noise)
        #: Whether the network is a blind-spot one (else its input is masked).
        self.blind = is_blind_spot(config.arch or self.default_arch)
        if self.blind:
            # Every sample counts in the loss: about 4000 steps as in supervised training, but
            # up to 200 epochs, since small sets gain from more passes (benchmarks/RESULTS.md);
            # one validation pass.
            self.target_steps, self.validation_passes = 4000, 1

    def check(self, data: SplitData) -> None:
        """No added noise and no paired recordings: the recordings are the noisy ones; and
        when masking, one masked run of ``blind_spot`` samples per ``blind_spot /
        mask_fraction`` must fit in a window."""
        _refuse_added_noise(self.config, self.name)
        c = self.config
        box = max(c.blind_spot + 1, round(c.blind_spot / c.mask_fraction))
        if self.blind and c.window < 3:
            raise ConfigError(
                f"window ({c.window}) must be at least 3 samples for the self-supervised "
                "objective: its noise estimate uses second differences."
            )
        if self.blind and c.blind_spot >= c.window:
            raise ConfigError(
                f"blind_spot ({c.blind_spot}) must be shorter than the window ({c.window})."
            )
        if not self.blind and box > c.window:
            raise ConfigError(
                f"blind_spot / mask_fraction ({c.blind_spot} / {c.mask_fraction:g}: one masked "
                f"run every {box} samples) must fit in the window ({c.window}); give a smaller "
                "--blind-spot, a larger --mask-fraction or a longer --window."
            )
        if data.train_noisy is not None:
            raise ConfigError(
                "the self-supervised objective trains on the noisy recordings alone (DATA); "
                "paired recordings (--noisy-pair) are for --objective noise2noise."
            )

    def denoising(self, paired: bool) -> bool:
        """Always denoising: the target is the noisy window itself."""
        return True

    def training_windows(self, data: SplitData) -> WindowDataset:
        """Noisy windows at random offsets (input and target alike; :meth:`batch` masks the
        input of a network that is not a blind-spot one)."""
        c = self.config
        return WindowDataset(
            data.train, c.window, c.hop or max(1, c.window // 2), random_offsets=True,
            standardize=c.standardize, seed=c.seed, names=data.train_names,
        )  # fmt: skip

    def evaluation(self, data: SplitData) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
        """The held-out noisy recordings, and their clean truth when it is known."""
        return data.held_out_truth, data.held_out

    def validation_windows(
        self, data: SplitData, inputs: Sequence[np.ndarray]
    ) -> WindowDataset | None:
        """Non-overlapping held-out noisy windows (masked with fixed draws)."""
        c = self.config
        return _held_out_windows(data, c.window, c.standardize, c.seed)

    def begin_validation(self, model: nn.Module) -> None:
        """A blind-spot network's validation loss is that of its blind output (the
        prediction, or the predicted distribution)."""
        if self.blind:
            model.set_blend(0.0)
            model.blind_output = True

    def end_validation(self, model: nn.Module) -> None:
        """Back to the denoised output (the posterior mean, or the blend)."""
        if self.blind:
            model.blind_output = False

    def calibrate(self, model: nn.Module, windows: Dataset | None) -> dict[str, float]:
        """A blind-spot network that predicts one value (``components`` 0, ``blind_spot``
        1) takes back the fraction of the noisy input that the held-out windows call for
        (:func:`~mdnc.modules.blindspot.estimate_blend`); one that predicts a distribution
        needs no such weight, and with a wider blind spot the noise is correlated and it
        stays blind. Returns ``{"blend": w}`` when it is set."""
        if not self.blind or windows is None or self.config.blind_spot != 1 or model.components:
            return {}
        from mdnc.modules.blindspot import estimate_blend

        count = min(len(windows), MAX_CALIBRATION_WINDOWS)
        x = torch.stack([windows[i][1] for i in range(count)]).to(model.blend.device)
        model.set_blend(estimate_blend(model, x))
        return {"blend": float(model.blend)}

    def batch(
        self, items: Sequence[Tensor], device: torch.device,
        generator: torch.Generator | None = None,
    ) -> Batch:  # fmt: skip
        """The noisy windows, each with a random sign and direction (so that the network
        cannot learn the noise of the recordings by heart), as input and target of a
        blind-spot network; for another network, masked, with the mask as loss weight."""
        x = _flip_randomly(items[1].to(device, non_blocking=True), generator)
        if self.blind:
            return Batch(x, x)
        c = self.config
        masked, mask = blind_spot_mask(x, c.mask_fraction, c.blind_spot, c.mask_radius, generator)
        return Batch(masked, x, mask)

    def loss(self, output: Tensor, batch: Batch, reduction: str = "mean") -> Tensor:
        """The squared error of a predicted value (:meth:`Objective.loss`); for a predicted
        distribution (a :class:`~mdnc.modules.blindspot.BlindSpotNet1d` with
        ``components``: more output channels than the target has), the negative
        log-likelihood of the noisy target under it and white gaussian noise of the
        variance :func:`~mdnc.modules.blindspot.noise_variance` estimates per window."""
        if output.shape[1] == batch.target.shape[1]:
            return super().loss(output, batch, reduction)
        from mdnc.modules.blindspot import mixture_nll, noise_variance

        nll = mixture_nll(output, batch.target, noise_variance(batch.target))
        return nll.sum() if reduction == "sum" else nll.mean()


@register_objective
class Noise2NoiseObjective(Objective):
    """Two independent noisy recordings of the same signal (repeated trials, twin
    sensors): one is the input, the other the target, in either order (Noise2Noise). With
    zero-mean noise independent between the two, the expected loss is the clean one plus a
    constant, so the network learns the clean signal."""

    name = "noise2noise"
    noisy_copies = 2
    # Noisy targets: the gradient of a step is mostly the target's noise, so it takes more
    # passes to average it out. Up to 200 epochs, as for self-supervised training
    # (benchmarks/RESULTS.md: 15.47 dB at 60 epochs, about 15.9 at 140, supervised 16.40).
    max_epochs = 200

    def check(self, data: SplitData) -> None:
        """Paired recordings are required, with noise of their own (not the same recording
        up to an offset and a gain); added noise is refused."""
        _refuse_added_noise(self.config, self.name)
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
        c = self.config
        return WindowDataset(
            data.train, c.window, c.hop or max(1, c.window // 2), noisy=data.train_noisy,
            random_offsets=True, standardize=c.standardize, seed=c.seed, names=data.train_names,
        )  # fmt: skip

    def evaluation(self, data: SplitData) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
        """The held-out first recordings, and their clean truth when it is known."""
        return data.held_out_truth, data.held_out

    def validation_windows(
        self, data: SplitData, inputs: Sequence[np.ndarray]
    ) -> WindowDataset | None:
        """Non-overlapping held-out window pairs: the loss of one against the other."""
        c = self.config
        return _held_out_windows(data, c.window, c.standardize, c.seed, data.held_out_noisy)

    def batch(
        self, items: Sequence[Tensor], device: torch.device,
        generator: torch.Generator | None = None,
    ) -> Batch:  # fmt: skip
        """Each pair in a random order (both directions are training examples), with a
        random sign and direction (the same for both windows of a pair)."""
        pair = torch.stack([items[0], items[1]], 1).to(device, non_blocking=True)
        pair = _flip_randomly(pair, generator)
        a, b = pair[:, 0], pair[:, 1]
        swap = torch.rand(a.shape[0], 1, 1, device=device, generator=generator) < 0.5
        return Batch(torch.where(swap, b, a), torch.where(swap, a, b))

    def training_batch(self, items: Sequence[Tensor], device: torch.device) -> Batch:
        """:meth:`batch`, its pairs recombined in runs of ``pair_mixing`` samples
        (:func:`recombine_pairs`); validation and inference see whole windows."""
        batch = self.batch(items, device)
        x, y = recombine_pairs(batch.input, batch.target, self.config.pair_mixing or 0)
        return Batch(x, y)

    def settle(self, data: SplitData) -> dict[str, Any]:
        """``pair_mixing`` when unset: 1 (sample by sample) if the difference of the pairs
        is white (:func:`pair_difference_whiteness` within :data:`WHITE_DIFFERENCE`), else
        0: correlated noise recombined would leak the input's noise into the target."""
        if self.config.pair_mixing is not None:
            return {}
        whiteness = pair_difference_whiteness(data, self.config.window)
        self.config = replace(self.config, pair_mixing=int(whiteness <= WHITE_DIFFERENCE))
        return {"pair_mixing": self.config.pair_mixing}
