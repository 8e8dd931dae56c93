"""Noise models that add noise at a given signal-to-noise ratio, and the SNR of an estimate.

A noise model is a small :class:`NoiseModel` subclass registered by name with
:func:`register_noise`: it draws noise of unit expected power per channel
(:meth:`NoiseModel.sample`), and :meth:`NoiseModel.add` scales it to the SNR. Training
and the command line choose one with :func:`get_noise_model`; :func:`list_noise_models`
lists them. ``"gaussian"`` (white gaussian noise) is the default; ``"pink"`` (1/f),
``"brown"`` (1/f^2), ``"hum"`` (mains hum and its harmonics) and ``"impulsive"`` (sparse
spikes) are the others. :class:`RecordedNoise` cuts the noise from recordings of noise
alone; it is made from the arrays, not by name.

Adding noise and measuring it use the same definition, so that noise added at ``X`` dB
measures ``X`` dB: signal power is the mean square of the samples (offsets included) and

    SNR = 10 log10(sum(clean ** 2) / sum((clean - estimate) ** 2))  [dB].

Example:
    >>> model = get_noise_model("gaussian")
    >>> clean = np.sin(np.linspace(0, 100, 10_000))[None]
    >>> round(snr_db(clean, model.add(clean, 10.0, rng=0)))
    10
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from mdnc._utils import NameRegistry, check_choice, check_int, check_real

from ._checks import check_db

__all__ = [
    "SNR_LIMIT_DB",
    "BrownNoise",
    "ColouredNoise",
    "GaussianNoise",
    "HumNoise",
    "ImpulsiveNoise",
    "NoiseModel",
    "PinkNoise",
    "RecordedNoise",
    "add_gaussian_noise",
    "get_noise_model",
    "list_noise_models",
    "noise_std",
    "register_noise",
    "snr_db",
]

#: The largest |SNR| :func:`snr_db` reports, in dB (an exact estimate would be +inf).
SNR_LIMIT_DB = 200.0


def _numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def noise_std(power: np.ndarray | float, snr_db: float) -> np.ndarray:
    """Standard deviation of white noise that gives ``snr_db`` against a signal of ``power``.

    Args:
        power: mean-square signal power (any shape).
        snr_db: the target signal-to-noise ratio in dB.

    Returns:
        ``sqrt(power / 10 ** (snr_db / 10))``, elementwise (0 where the power is 0).
    """
    return np.sqrt(np.asarray(power, dtype=np.float64) / 10.0 ** (snr_db / 10.0))


class NoiseModel(ABC):
    """A kind of additive noise, drawn at unit power and scaled to a signal-to-noise ratio.

    Subclasses set :attr:`name`, implement :meth:`sample` and are registered with
    :func:`register_noise`; constructor keyword arguments are the model's parameters.
    """

    #: The name the model is chosen by (``--noise NAME`` on the command line).
    name: ClassVar[str] = ""

    @abstractmethod
    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Noise of the given shape (last axis: samples), of unit expected power per channel.

        Args:
            shape: the shape of the signal, ``(..., samples)``.
            rng: the generator of every random draw.

        Returns:
            A float32 (or float64) array of that shape.
        """

    def add(
        self,
        x: np.ndarray,
        snr_db: float,
        rng: np.random.Generator | int | None = None,
        power: np.ndarray | float | None = None,
    ) -> np.ndarray:
        """Return ``x`` plus this noise at ``snr_db`` dB, each channel on its own.

        The noise of each channel (last axis = samples) is scaled to the channel's
        mean-square power divided by ``10 ** (snr_db / 10)``, so the SNR of the result, as
        measured by :func:`snr_db`, is ``snr_db`` in expectation. A channel that is all
        zeros gets no noise (its SNR is undefined), so the result is always finite.

        Args:
            x: float array of shape ``(..., samples)``, e.g. ``(channels, samples)``.
            snr_db: the signal-to-noise ratio in dB (any real number).
            rng: a numpy ``Generator``, a seed, or ``None`` for fresh entropy.
            power: the signal power to reference instead of measuring it on ``x``,
                broadcastable to ``x.shape[:-1] + (1,)``; e.g. a whole recording's power
                when ``x`` is a window of it, so that the noise level does not depend on
                the window.

        Returns:
            A new array of the same shape and dtype (float32 for integer input).

        Raises:
            TypeError, ValueError: ``snr_db`` is not a finite number.
        """
        snr_db = check_db("snr_db", snr_db)
        x = _numpy(x)
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float32)
        if power is None:
            power = np.mean(np.square(x, dtype=np.float64), axis=-1, keepdims=True)
        std = noise_std(power, snr_db)
        noise = self.sample(tuple(x.shape), np.random.default_rng(rng)) * std
        return (x + noise).astype(dtype, copy=False)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


_NOISE_MODELS = NameRegistry("noise model")


def register_noise(cls: type[NoiseModel]) -> type[NoiseModel]:
    """Class decorator: make a :class:`NoiseModel` subclass available by its ``name``.

    Raises:
        ValueError: the class has no name, or the name is taken.
    """
    return _NOISE_MODELS.register(cls)


def list_noise_models() -> list[str]:
    """The names of the registered noise models, in registration order."""
    return _NOISE_MODELS.names()


def get_noise_model(name: str, **params: Any) -> NoiseModel:
    """The noise model registered as ``name``, built with ``params``.

    Raises:
        ValueError: no model of that name (the message lists the valid names), or the
            parameters do not fit it.
    """
    cls = _NOISE_MODELS.get(name)
    try:
        return cls(**params)
    except TypeError as err:
        raise ValueError(f"noise model {name!r}: {err}.") from None


@register_noise
class GaussianNoise(NoiseModel):
    """White gaussian noise: independent samples of a normal distribution."""

    name = "gaussian"

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Standard normal float32 samples (unit power)."""
        return rng.standard_normal(shape, dtype=np.float32)


def _unit_power(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to mean square 1 over the last axis (all-zero channels stay zero)."""
    power = np.mean(np.square(x, dtype=np.float64), axis=-1, keepdims=True)
    scale = np.divide(1.0, np.sqrt(power), out=np.zeros_like(power), where=power > 0)
    return x * scale


class ColouredNoise(NoiseModel):
    """Gaussian noise with a 1/f^alpha power spectrum (not registered; see subclasses).

    White gaussian noise is shaped in the frequency domain by ``f ** (-alpha / 2)`` in
    amplitude (the DC bin is set to 0), transformed back, and each channel of each draw is
    normalised to unit power (mean square 1 over its samples).

    Args:
        alpha: the spectral exponent: 0 white, 1 pink, 2 brown (any finite real number).

    Raises:
        ValueError: ``alpha`` is not a finite number.

    Example:
        >>> noise = ColouredNoise(alpha=0.5).sample((2, 1000), np.random.default_rng(0))
        >>> noise.shape, noise.dtype, np.mean(np.square(noise), axis=-1).round(3).tolist()
        ((2, 1000), dtype('float32'), [1.0, 1.0])
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = check_real("alpha", alpha)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Float32 noise of the given shape with a 1/f^alpha spectrum, unit power per channel."""
        n = shape[-1] if shape else 1
        white = rng.standard_normal(shape)
        if n < 2:
            return _unit_power(white).astype(np.float32)
        spectrum = np.fft.rfft(white, axis=-1)
        freqs = np.fft.rfftfreq(n)
        gain = np.zeros_like(freqs)
        gain[1:] = freqs[1:] ** (-self.alpha / 2.0)
        shaped = np.fft.irfft(spectrum * gain, n=n, axis=-1)
        return _unit_power(shaped).astype(np.float32)


@register_noise
class PinkNoise(ColouredNoise):
    """Pink noise: gaussian noise with a 1/f power spectrum, unit power per channel.

    Example:
        >>> clean = np.sin(np.linspace(0, 100, 10_000))[None]
        >>> model = PinkNoise()
        >>> model, round(snr_db(clean, model.add(clean, 10.0, rng=0)), 2)
        (PinkNoise(alpha=1.0), 10.0)
    """

    name = "pink"

    def __init__(self) -> None:
        super().__init__(alpha=1.0)


@register_noise
class BrownNoise(ColouredNoise):
    """Brown (red) noise: gaussian noise with a 1/f^2 power spectrum, unit power per channel.

    Example:
        >>> clean = np.sin(np.linspace(0, 100, 10_000))[None]
        >>> model = BrownNoise()
        >>> model, round(snr_db(clean, model.add(clean, 10.0, rng=0)), 2)
        (BrownNoise(alpha=2.0), 10.0)
    """

    name = "brown"

    def __init__(self) -> None:
        super().__init__(alpha=2.0)


@register_noise
class HumNoise(NoiseModel):
    """Mains hum: sinusoids at ``hum_hz`` and its harmonics, with random phases.

    Harmonic ``k`` (1 to ``harmonics``) is at ``k * hum_hz`` with amplitude ``1 / k`` and a
    random phase for every channel and draw; harmonics at or above the Nyquist frequency
    are left out. Each channel is normalised to unit power (mean square 1 over its samples).

    Args:
        hum_hz: the mains frequency in Hz (typically 50 or 60).
        sample_rate: the sampling rate of the signal in Hz; above ``2 * hum_hz``.
        harmonics: the number of sinusoids, the fundamental included (at least 1).

    Raises:
        ValueError: a parameter is out of range.

    Example:
        >>> model = HumNoise(hum_hz=50.0, sample_rate=1000.0)
        >>> hum = model.sample((1, 1000), np.random.default_rng(0))
        >>> sorted(np.argsort(np.abs(np.fft.rfft(hum[0])))[-3:].tolist())  # 1 Hz bins
        [50, 100, 150]
    """

    name = "hum"

    def __init__(
        self, hum_hz: float = 50.0, sample_rate: float = 1000.0, harmonics: int = 3
    ) -> None:
        self.hum_hz = check_real("hum_hz", hum_hz, low=0.0, low_open=True)
        self.sample_rate = check_real(
            "sample_rate", sample_rate, low=2 * self.hum_hz, low_open=True,
            what="a number of Hz above 2 * hum_hz (Nyquist), i.e.",
        )  # fmt: skip
        self.harmonics = check_int("harmonics", harmonics, 1)

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Float32 hum of the given shape, unit power per channel."""
        n = shape[-1] if shape else 1
        t = np.arange(n) / self.sample_rate
        hum = np.zeros(shape)
        for k in range(1, self.harmonics + 1):
            freq = k * self.hum_hz
            if 2 * freq >= self.sample_rate:
                break
            phase = rng.uniform(0.0, 2 * np.pi, size=shape[:-1] + (1,))
            hum += np.sin(2 * np.pi * freq * t + phase) / k
        return _unit_power(hum).astype(np.float32)


@register_noise
class ImpulsiveNoise(NoiseModel):
    """Impulsive noise: sparse spikes of random amplitude, zero elsewhere.

    Each sample is a spike with probability ``rate``; spike amplitudes are gaussian (or
    Laplace) of unit variance. The result is scaled by ``1 / sqrt(rate)`` so that its
    *expected* power is 1: a draw is not normalised on its own, so a window without spikes
    stays zero (and its power fluctuates from draw to draw).

    Args:
        rate: the probability of a spike at each sample, in (0, 1].
        distribution: ``"gaussian"`` or ``"laplace"``, of the spike amplitudes.

    Raises:
        ValueError: a parameter is out of range.

    Example:
        >>> spikes = ImpulsiveNoise(rate=0.05).sample((1, 1000), np.random.default_rng(0))
        >>> int(np.count_nonzero(spikes))  # about 5% of the samples
        45
    """

    name = "impulsive"

    def __init__(self, rate: float = 0.01, distribution: str = "gaussian") -> None:
        self.rate = check_real("rate", rate, low=0.0, high=1.0, low_open=True)
        self.distribution = check_choice("distribution", distribution, ("gaussian", "laplace"))

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Float32 spikes of the given shape, unit expected power per channel."""
        spikes = rng.random(shape) < self.rate
        if self.distribution == "gaussian":
            amplitude = rng.standard_normal(shape)
        else:
            amplitude = rng.laplace(0.0, 1.0 / np.sqrt(2.0), size=shape)
        return (np.where(spikes, amplitude, 0.0) / np.sqrt(self.rate)).astype(np.float32)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _noise_recording(item: Any, label: str) -> np.ndarray:
    """One noise recording as a finite, non-empty float64 ``(channels, samples)`` array."""
    array = _numpy(item)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
        raise ValueError(
            f"noise recording {label} must be a (channels, samples) array of numbers, got "
            f"shape {tuple(array.shape)} of {array.dtype}."
        )
    if array.size == 0:
        raise ValueError(f"noise recording {label} is empty (shape {tuple(array.shape)}).")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"noise recording {label} holds NaN or Inf samples.")
    return array


class RecordedNoise(NoiseModel):
    """Noise cut from recordings of noise alone (not registered: it is made from arrays).

    Each channel is divided by its root mean square over all the recordings together, so
    that its expected power is 1 while the level differences between recordings remain.
    Every draw (every index of the leading axes) picks a recording, with a probability
    proportional to its length, and cuts a piece at a uniformly random offset. When the
    recording is shorter than the draw, the draw starts at a random offset of it, runs to
    its end and goes on with further recordings picked the same way (whole ones while they
    are shorter than what is still needed), so it jumps where the pieces join.

    Args:
        recordings: the noise recordings, arrays or tensors of shape ``(channels,
            samples)`` (1-D is one channel), finite and non-empty, with the same channel
            count; a channel may not be zero in all of them.
        names: names of the recordings for error messages (default: their indices).

    Raises:
        ValueError: no recordings, a bad recording (the message names it), or a channel
            that is zero everywhere.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> model = RecordedNoise([rng.normal(size=(2, 8000)), rng.normal(size=(2, 4000))])
        >>> model, model.channels
        (RecordedNoise(2 recordings, 2 channels, 12000 samples), 2)
        >>> model.sample((5, 2, 1000), rng).shape
        (5, 2, 1000)
    """

    name = "recorded"

    def __init__(
        self, recordings: Sequence[np.ndarray], names: Sequence[str] | None = None
    ) -> None:
        if names is not None and len(names) != len(recordings):
            raise ValueError(f"got {len(names)} names for {len(recordings)} noise recordings.")
        if len(recordings) == 0:
            raise ValueError("no noise recordings given; expected at least one.")
        labels = [repr(str(n)) for n in names] if names is not None else [
            str(i) for i in range(len(recordings))
        ]  # fmt: skip
        arrays = [_noise_recording(r, label) for r, label in zip(recordings, labels, strict=True)]
        for array, label in zip(arrays, labels, strict=True):
            if array.shape[0] != arrays[0].shape[0]:
                raise ValueError(
                    f"noise recording {label} has {array.shape[0]} channels, expected "
                    f"{arrays[0].shape[0]} (those of the first)."
                )
        lengths = np.array([a.shape[1] for a in arrays], dtype=np.int64)
        energy = sum(np.sum(np.square(a), axis=1) for a in arrays)
        power = energy / lengths.sum()
        if np.any(power == 0):
            silent = int(np.argmin(power))
            raise ValueError(f"noise recordings are all zero in channel {silent}.")
        scale = 1.0 / np.sqrt(power)[:, None]
        self._recordings = [(a * scale).astype(np.float32) for a in arrays]
        self._weights = lengths / lengths.sum()

    @property
    def channels(self) -> int:
        """The channel count of the recordings (and of the signals this noise fits)."""
        return self._recordings[0].shape[0]

    def sample(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Float32 pieces of the recordings, unit expected power per channel.

        Args:
            shape: the shape of the signal, ``(..., channels, samples)``, with the
                recordings' channel count.
            rng: the generator of every random draw.

        Returns:
            A float32 array of that shape.

        Raises:
            ValueError: the signal has another channel count.
        """
        shape = tuple(int(s) for s in shape)
        channels = shape[-2] if len(shape) >= 2 else 1
        if channels != self.channels:
            raise ValueError(
                f"noise recordings have {self.channels} channels, the signal has {channels}."
            )
        n = shape[-1] if shape else 1
        draws = int(np.prod(shape[:-2], dtype=np.int64))
        out = np.empty((draws, channels, n), dtype=np.float32)
        for i in range(draws):
            out[i] = self._draw(n, rng)
        return out.reshape(shape)

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """One ``(channels, n)`` piece, joined from several recordings if need be."""
        pieces: list[np.ndarray] = []
        need = n
        while need > 0:
            recording = self._recordings[rng.choice(len(self._recordings), p=self._weights)]
            length = recording.shape[1]
            if length >= need:
                start = int(rng.integers(0, length - need + 1))
                pieces.append(recording[:, start : start + need])
                break
            # Only the first piece starts at a random offset: later ones follow a join.
            start = 0 if pieces else int(rng.integers(0, length))
            pieces.append(recording[:, start:])
            need -= length - start
        if not pieces:
            return np.zeros((self.channels, 0), dtype=np.float32)
        return np.concatenate(pieces, axis=1)

    def __repr__(self) -> str:
        samples = sum(r.shape[1] for r in self._recordings)
        return (
            f"RecordedNoise({_plural(len(self._recordings), 'recording')}, "
            f"{_plural(self.channels, 'channel')}, {_plural(samples, 'sample')})"
        )


def add_gaussian_noise(
    x: np.ndarray,
    snr_db: float,
    rng: np.random.Generator | int | None = None,
    power: np.ndarray | float | None = None,
) -> np.ndarray:
    """Return ``x`` plus white gaussian noise at ``snr_db`` dB, each channel on its own.

    The same as ``GaussianNoise().add(x, snr_db, rng, power)`` (see :meth:`NoiseModel.add`):
    the noise variance of each channel is its mean-square power divided by
    ``10 ** (snr_db / 10)``; an all-zero channel gets no noise.

    Args:
        x: float array of shape ``(..., samples)``, e.g. ``(channels, samples)``.
        snr_db: the signal-to-noise ratio in dB (any real number).
        rng: a numpy ``Generator``, a seed, or ``None`` for fresh entropy.
        power: the signal power to reference instead of measuring it on ``x``, broadcastable
            to ``x.shape[:-1] + (1,)``; e.g. a whole recording's power when ``x`` is a window
            of it, so that the noise level does not depend on the window.

    Returns:
        A new array of the same shape and dtype (float32 for integer input).

    Raises:
        TypeError, ValueError: ``snr_db`` is not a finite number.

    Example:
        >>> clean = np.sin(np.linspace(0, 100, 10_000))[None]
        >>> noisy = add_gaussian_noise(clean, 10.0, rng=0)
        >>> round(snr_db(clean, noisy))
        10
    """
    return GaussianNoise().add(x, snr_db, rng, power)


def snr_db(
    clean: Any, estimate: Any, axis: int | tuple[int, ...] | None = None
) -> float | np.ndarray:
    """Signal-to-noise ratio of ``estimate`` against ``clean``, in dB.

    ``10 log10(sum(clean ** 2) / sum((clean - estimate) ** 2))``, summed over ``axis`` (all
    axes by default). Guards: a perfect estimate gives :data:`SNR_LIMIT_DB` (200 dB) instead
    of infinity, an all-zero ``clean`` with some error gives ``-SNR_LIMIT_DB``, so means over
    recordings and JSON reports stay finite.

    Args:
        clean: the reference signal (numpy array or torch tensor).
        estimate: the noisy or denoised signal, of the same shape.
        axis: the axes to sum over; ``None`` for a single number.

    Returns:
        A float when ``axis`` is ``None``, else an array over the remaining axes.

    Raises:
        ValueError: the shapes differ.

    Example:
        >>> round(snr_db(np.ones(4), np.full(4, 1.1)), 6)  # 10 log10(1 / 0.01)
        20.0
    """
    clean = _numpy(clean).astype(np.float64, copy=False)
    estimate = _numpy(estimate).astype(np.float64, copy=False)
    if clean.shape != estimate.shape:
        raise ValueError(
            f"snr_db needs clean and estimate of the same shape, got {clean.shape} and "
            f"{estimate.shape}"
        )
    signal = np.sum(np.square(clean), axis=axis)
    error = np.sum(np.square(clean - estimate), axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 10.0 * np.log10(signal / error)
    # 0/0 (both zero: a perfect estimate of silence) counts as perfect.
    ratio = np.where(error == 0, SNR_LIMIT_DB, ratio)
    ratio = np.clip(ratio, -SNR_LIMIT_DB, SNR_LIMIT_DB)
    if axis is None:
        return float(ratio)
    return ratio
