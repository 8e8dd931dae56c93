"""The self-supervised objective (noisy recordings only) and its options.

A blind-spot network (:class:`~mdnc.modules.blindspot.BlindSpotNet1d`, the default)
predicts every noisy sample from its surroundings; another network has runs of samples
hidden from its input (:func:`blind_spot_mask`, Noise2Void masking).

Example:
    >>> from mdnc.training import TrainConfig, get_objective
    >>> config = TrainConfig(objective="self-supervised", objective_options={"blind_spot": 3})
    >>> objective = get_objective(config)
    >>> objective.options.blind_spot, objective.blind
    (3, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from mdnc._utils import check_int, check_real
from mdnc.data import NoiseModel, WindowDataset
from mdnc.registry import is_blind_spot

from ..options import ConfigError, ObjectiveOptions, RunOptions, checked, document, option
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

__all__ = ["SelfSupervisedObjective", "SelfSupervisedOptions", "blind_spot_mask"]

#: At most this many held-out windows set the blend of a blind-spot network.
MAX_CALIBRATION_WINDOWS = 256
GROUP = "self-supervised objective"


@document
@dataclass(kw_only=True)
class SelfSupervisedOptions(ObjectiveOptions):
    """Options of the self-supervised objective (``[train]`` table, ``mdnc train``)."""

    legacy: ClassVar[dict[str, Any]] = {"prior_components": 0}

    blind_spot: int = option(
        1,
        group=GROUP,
        metavar="SAMPLES",
        help="self-supervised: samples hidden from each output sample (BlindSpotNet1d: the "
        "sample and blind_spot // 2 on each side; masking: samples per masked run); more than "
        "1 for noise correlated over a few samples.",
    )
    prior_components: int = option(
        3,
        group=GROUP,
        metavar="K",
        help="self-supervised, BlindSpotNet1d: gaussians in the distribution it predicts for "
        "each sample from its surroundings; the output is the clean sample's mean given that "
        "distribution and the noisy sample (0: one predicted value, blended with the noisy "
        "sample by a weight estimated on the held-out recordings).",
    )
    mask_fraction: float = option(
        0.0625,
        group=GROUP,
        metavar="F",
        help="self-supervised masking (a network that is not a blind-spot one): the fraction "
        "of samples masked per window, in (0, 0.5].",
    )
    mask_radius: int = option(
        4,
        group=GROUP,
        metavar="SAMPLES",
        help="self-supervised masking: a masked sample is replaced by one at most this far "
        "beside its run.",
    )

    def __post_init__(self) -> None:
        self.blind_spot = checked(check_int, "blind_spot", self.blind_spot, 1)
        self.mask_radius = checked(check_int, "mask_radius", self.mask_radius, 1)
        self.prior_components = checked(check_int, "prior_components", self.prior_components, 0)
        self.mask_fraction = checked(
            check_real, "mask_fraction", self.mask_fraction, low=0.0, high=0.5, low_open=True
        )

    def network_shape(self) -> dict[str, Any]:
        """``blind_spot``, and ``components`` when the network predicts a distribution."""
        shape: dict[str, Any] = {"blind_spot": self.blind_spot}
        if self.prior_components:
            shape["components"] = self.prior_components
        return shape


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
    options_class = SelfSupervisedOptions
    # Chosen by measurement against masking a UNet1d (benchmarks/RESULTS.md).
    default_arch = "BlindSpotNet1d"
    # Masking: a step learns from the masked samples only, so more steps than supervised
    # training (chosen by measurement: benchmarks/RESULTS.md).
    target_steps = 8000
    max_epochs = 200
    # A validation pass scores 1/16 of the samples: 4 passes with other masks.
    validation_passes = 4

    def __init__(self, config: RunOptions, noise: NoiseModel | None = None) -> None:
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
        refuse_added_noise(self.config, self.name)
        c, o = self.config, self.options
        box = max(o.blind_spot + 1, round(o.blind_spot / o.mask_fraction))
        if self.blind and c.window < 3:
            raise ConfigError(
                f"window ({c.window}) must be at least 3 samples for the self-supervised "
                "objective: its noise estimate uses second differences."
            )
        if self.blind and o.blind_spot >= c.window:
            raise ConfigError(
                f"blind_spot ({o.blind_spot}) must be shorter than the window ({c.window})."
            )
        if not self.blind and box > c.window:
            raise ConfigError(
                f"blind_spot / mask_fraction ({o.blind_spot} / {o.mask_fraction:g}: one masked "
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
        return random_windows(self.config, data)

    def evaluation(self, data: SplitData) -> tuple[list[np.ndarray] | None, list[np.ndarray]]:
        """The held-out noisy recordings, and their clean truth when it is known."""
        return data.held_out_truth, data.held_out

    def validation_windows(
        self, data: SplitData, inputs: Sequence[np.ndarray]
    ) -> WindowDataset | None:
        """Non-overlapping held-out noisy windows (masked with fixed draws)."""
        c = self.config
        return held_out_windows(data, c.window, c.standardize, c.seed)

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
        if not self.blind or windows is None or self.options.blind_spot != 1 or model.components:
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
        x = flip_randomly(items[1].to(device, non_blocking=True), generator)
        if self.blind:
            return Batch(x, x)
        o = self.options
        masked, mask = blind_spot_mask(x, o.mask_fraction, o.blind_spot, o.mask_radius, generator)
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
