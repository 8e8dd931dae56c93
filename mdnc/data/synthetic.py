"""A built-in data set of realistic, structured 1-D signals, deterministic given a seed.

Five families, each narrow-band or piecewise-smooth so that white noise added to them can be
removed (none of them is white noise itself):

``"sines"``
    Sums of 2-5 sinusoids with random frequencies, amplitudes and phases under a slow
    amplitude modulation (vibration sensors, power lines, tones).
``"chirps"``
    One or two chirps sweeping linearly between random frequencies, with a harmonic and a
    smooth envelope (radar, sonar, bird song, machinery run-up).
``"steps"``
    Piecewise constant or linear segments of random lengths joined by smoothed edges
    (industrial process values, power consumption, positions).
``"spikes"``
    A quasi-periodic train of beats, each a short P-QRS-T-like kernel, plus a slow baseline
    wander (ECG, pulse, neural spikes); the channels share the beat times.
``"ar"``
    Stable AR(2) processes with poles close to the unit circle: random but narrow-band
    (seismic background, EEG rhythms).

A recording with several channels mixes as many sources of its family, with their own
parameters, through a random mixing matrix close to the identity, so its channels are
correlated but not identical. Every channel is standardised to zero mean and unit standard
deviation. Recording ``i`` depends only on ``seed`` and ``i``, so a longer list starts with
the shorter one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._checks import check_int

__all__ = ["FAMILIES", "make_synthetic", "synthetic_signal"]

#: The signal families of :func:`make_synthetic`, in the order recordings cycle through them.
FAMILIES: tuple[str, ...] = ("sines", "chirps", "steps", "spikes", "ar")


def _gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Smooth a 1-D signal with a gaussian kernel, edges extended by their end values."""
    if sigma <= 0:
        return x
    half = max(1, int(np.ceil(3 * sigma)))
    taps = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(x, half, mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def _fft_convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Full linear convolution of two 1-D arrays via the FFT (fast for long inputs)."""
    size = len(x) + len(kernel) - 1
    nfft = 1 << (size - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(kernel, nfft), nfft)[:size]


def _sines(rng: np.random.Generator, t: np.ndarray, common: int) -> np.ndarray:
    count = int(rng.integers(2, 6))
    # Frequencies log-uniform between 1/400 and 1/10 cycles per sample.
    freqs = np.exp(rng.uniform(np.log(1 / 400), np.log(1 / 10), count))
    amps = rng.uniform(0.2, 1.0, count) / np.sqrt(freqs / freqs.min()) ** 0.5
    phases = rng.uniform(0, 2 * np.pi, count)
    x = np.sum(amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None]), axis=0)
    mod_freq = rng.uniform(1 / 5000, 1 / 500)
    depth = rng.uniform(0.0, 0.6)
    return x * (1.0 + depth * np.sin(2 * np.pi * mod_freq * t + rng.uniform(0, 2 * np.pi)))


def _chirps(rng: np.random.Generator, t: np.ndarray, common: int) -> np.ndarray:
    length = len(t)
    x = np.zeros(length)
    for _ in range(int(rng.integers(1, 3))):
        f0, f1 = rng.uniform(1 / 300, 1 / 12, 2)
        start = rng.uniform(0, 2 * np.pi)
        # Linear sweep from f0 to f1 over the recording: phase = 2 pi (f0 t + k t^2 / 2).
        phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * max(length, 1))) + start
        x += rng.uniform(0.5, 1.0) * (np.sin(phase) + rng.uniform(0.0, 0.4) * np.sin(2 * phase))
    envelope = 1.0 + rng.uniform(0.0, 0.5) * np.sin(
        2 * np.pi * rng.uniform(1 / 4000, 1 / 800) * t + rng.uniform(0, 2 * np.pi)
    )
    return x * envelope


def _steps(rng: np.random.Generator, t: np.ndarray, common: int) -> np.ndarray:
    length = len(t)
    mean_segment = rng.uniform(60, 300)
    # Segment lengths: 10 samples plus a gamma variable, so that few segments are tiny.
    edges = [0]
    position = rng.uniform(0.2, 1.0) * mean_segment
    while position < length:
        edges.append(int(position))
        position += 10 + (mean_segment - 10) * rng.gamma(3.0, 1 / 3.0)
    edges.append(length)
    x = np.empty(length)
    level = rng.normal()
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        level += rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.5)
        slope = rng.normal(0, 0.004) if rng.random() < 0.4 else 0.0
        x[a:b] = level + slope * (np.arange(b - a) - (b - a) / 2)
    return _gaussian_smooth(x, rng.uniform(1.0, 4.0))


def _beat_kernel(rng: np.random.Generator, width: float) -> np.ndarray:
    """A P-QRS-T-like waveform of about ``width`` samples: a sum of gaussian bumps."""
    taps = np.arange(int(np.ceil(width)))
    # (centre as a fraction of the width, relative sharpness, amplitude) for P, Q, R, S, T.
    waves = [
        (0.15, 0.035, 0.15),
        (0.33, 0.012, -0.15),
        (0.37, 0.012, 1.0),
        (0.41, 0.014, -0.25),
        (0.7, 0.06, 0.3),
    ]
    kernel = np.zeros(len(taps))
    for centre, sharp, amp in waves:
        c = centre * width * rng.uniform(0.95, 1.05)
        s = max(sharp * width * rng.uniform(0.8, 1.25), 0.7)
        kernel += amp * rng.uniform(0.8, 1.2) * np.exp(-0.5 * ((taps - c) / s) ** 2)
    return kernel


def _spikes(rng: np.random.Generator, t: np.ndarray, common: int) -> np.ndarray:
    length = len(t)
    # The beat times come from the seed shared by the channels of a recording (like the leads
    # of an ECG); the beat shapes and baseline wander are each channel's own.
    timing = np.random.default_rng(common)
    period = timing.uniform(60, 200)
    width = period * timing.uniform(0.5, 0.8)
    lead = int(np.ceil(width))
    train = np.zeros(length + lead)
    position = timing.uniform(-width, period)
    while position < length:
        index = int(round(position)) + lead
        if 0 <= index < len(train):
            train[index] = timing.uniform(0.8, 1.2)
        position += period * timing.uniform(0.9, 1.1)
    x = _fft_convolve(train, _beat_kernel(rng, width))[lead : lead + length]
    wander = rng.uniform(0.0, 0.3) * np.sin(
        2 * np.pi * rng.uniform(1 / 3000, 1 / 600) * t + rng.uniform(0, 2 * np.pi)
    )
    return x + wander


def _ar(rng: np.random.Generator, t: np.ndarray, common: int) -> np.ndarray:
    length = len(t)
    radius = rng.uniform(0.95, 0.995)
    theta = 2 * np.pi * rng.uniform(1 / 200, 1 / 12)
    # x[n] = 2 r cos(theta) x[n-1] - r^2 x[n-2] + e[n] has the impulse response
    # h[n] = r^n sin((n + 1) theta) / sin(theta); it is truncated once r^n < 1e-6, and the
    # first len(h) outputs are dropped as burn-in, so the output is the stationary process.
    taps = int(np.ceil(np.log(1e-6) / np.log(radius)))
    n = np.arange(taps)
    response = radius**n * np.sin((n + 1) * theta) / np.sin(theta)
    excitation = rng.standard_normal(length + taps)
    return _fft_convolve(excitation, response)[taps : taps + length]


_GENERATORS: dict[str, Callable[[np.random.Generator, np.ndarray, int], np.ndarray]] = {
    "sines": _sines,
    "chirps": _chirps,
    "steps": _steps,
    "spikes": _spikes,
    "ar": _ar,
}


def _check_families(families: Sequence[str] | str | None) -> tuple[str, ...]:
    if families is None:
        return FAMILIES
    if isinstance(families, str):
        families = [families]
    chosen = tuple(families)
    unknown = [f for f in chosen if f not in FAMILIES]
    if not chosen or unknown:
        raise ValueError(
            f"families must be a non-empty list of {', '.join(map(repr, FAMILIES))}, "
            f"got {list(chosen)!r}"
        )
    return chosen


def synthetic_signal(
    family: str, length: int, channels: int = 1, rng: np.random.Generator | int | None = None
) -> np.ndarray:
    """Generate one recording of a given family.

    Args:
        family: one of :data:`FAMILIES`.
        length: samples per channel (>= 1).
        channels: number of channels (>= 1), correlated mixtures of sources of the family.
        rng: a numpy ``Generator`` or a seed (``None``: fresh entropy).

    Returns:
        A float32 array of shape ``(channels, length)``, each channel with zero mean and unit
        standard deviation (a constant channel, e.g. of length 1, is all zeros).

    Raises:
        TypeError, ValueError: an unknown family or a bad length or channel count.

    Example:
        >>> synthetic_signal("spikes", 1000, channels=2, rng=0).shape
        (2, 1000)
    """
    (family,) = _check_families([family])
    length = check_int("length", length, 1)
    channels = check_int("channels", channels, 1)
    generator = np.random.default_rng(rng)
    t = np.arange(length, dtype=np.float64)
    common = int(generator.integers(2**32))
    sources = np.stack([_GENERATORS[family](generator, t, common) for _ in range(channels)])
    if channels > 1:
        mixing = np.eye(channels) + generator.normal(0, 0.5 / np.sqrt(channels), (channels,) * 2)
        sources = mixing @ sources
    sources -= sources.mean(axis=1, keepdims=True)
    std = sources.std(axis=1, keepdims=True)
    sources = np.divide(sources, std, out=np.zeros_like(sources), where=std > 1e-12)
    return sources.astype(np.float32)


def make_synthetic(
    n_recordings: int,
    length: int,
    channels: int = 1,
    seed: int = 0,
    families: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Generate the built-in synthetic data set.

    Recording ``i`` is of family ``families[i % len(families)]`` and is generated from its
    own child of ``numpy.random.SeedSequence(seed)``, so the data set is the same on every
    machine and ``make_synthetic(10, ...)[:5] == make_synthetic(5, ...)``.

    Args:
        n_recordings: number of recordings (>= 0).
        length: samples per channel (>= 1).
        channels: channels per recording (>= 1).
        seed: the seed (an int >= 0).
        families: the families to cycle through; default :data:`FAMILIES`.

    Returns:
        A list of float32 arrays of shape ``(channels, length)``, zero mean and unit standard
        deviation per channel.

    Raises:
        TypeError, ValueError: bad counts, seed or family names.

    Example:
        >>> data = make_synthetic(100, 2000, channels=2, seed=0)
        >>> len(data), data[0].shape, data[0].dtype
        (100, (2, 2000), dtype('float32'))
    """
    n_recordings = check_int("n_recordings", n_recordings, 0)
    seed = check_int("seed", seed, 0)
    chosen = _check_families(families)
    children = np.random.SeedSequence(seed).spawn(n_recordings)
    return [
        synthetic_signal(chosen[i % len(chosen)], length, channels, np.random.default_rng(child))
        for i, child in enumerate(children)
    ]
