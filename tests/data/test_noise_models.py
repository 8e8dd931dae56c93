"""The noise models: spectra, power, SNR, determinism and parameters; recorded noise."""

from __future__ import annotations

import doctest
import re

import numpy as np
import pytest

import mdnc.data.noise as noise_module
from mdnc.data import RecordedNoise
from mdnc.data.noise import get_noise_model, list_noise_models, snr_db

MODELS = ["gaussian", "pink", "brown", "hum", "impulsive"]
N = 2**16


def psd_slope(x: np.ndarray, segment: int = 4096) -> float:
    """Slope of log10 PSD vs log10 f over 2% to 40% of the band (averaged periodograms)."""
    segments = x[: len(x) // segment * segment].reshape(-1, segment)
    window = np.hanning(segment)
    segments = segments - segments.mean(axis=-1, keepdims=True)
    psd = np.mean(np.abs(np.fft.rfft(segments * window, axis=-1)) ** 2, axis=0)
    freqs = np.fft.rfftfreq(segment)  # cycles per sample, up to 0.5
    band = (freqs >= 0.02 * 0.5) & (freqs <= 0.40 * 0.5)
    return float(np.polyfit(np.log10(freqs[band]), np.log10(psd[band]), 1)[0])


def test_the_models_are_listed_in_order() -> None:
    assert list_noise_models()[: len(MODELS)] == MODELS


@pytest.mark.parametrize(
    ("name", "slope", "tol"), [("gaussian", 0, 0.1), ("pink", -1, 0.1), ("brown", -2, 0.15)]
)
def test_the_spectrum_has_its_slope(name: str, slope: float, tol: float) -> None:
    x = get_noise_model(name).sample((1, N), np.random.default_rng(0))[0]
    assert psd_slope(x) == pytest.approx(slope, abs=tol)


@pytest.mark.parametrize("name", MODELS)
def test_sample_has_the_shape_dtype_and_unit_power(name: str) -> None:
    noise = get_noise_model(name).sample((16, N), np.random.default_rng(1))
    assert noise.shape == (16, N) and noise.dtype == np.float32
    power = np.mean(np.square(noise, dtype=np.float64), axis=-1)
    if name == "impulsive":  # unit *expected* power: ~650 spikes a channel, so the mean
        power = power.mean()
    np.testing.assert_allclose(power, 1.0, rtol=0.1)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("target", [-5.0, 5.0, 20.0])
def test_add_gives_the_requested_snr(name: str, target: float) -> None:
    t = np.arange(N) / 1000.0
    phases = np.arange(4)[:, None]  # 4 channels: ~2600 spikes for "impulsive"
    clean = np.sin(2 * np.pi * 7.3 * t + phases).astype(np.float32)
    noisy = get_noise_model(name).add(clean, target, rng=2)
    assert noisy.shape == clean.shape and noisy.dtype == np.float32
    assert snr_db(clean, noisy) == pytest.approx(target, abs=0.5)


@pytest.mark.parametrize("name", MODELS)
def test_draws_are_deterministic_given_the_seed(name: str) -> None:
    model = get_noise_model(name)
    first = model.sample((2, 4096), np.random.default_rng(3))
    again = model.sample((2, 4096), np.random.default_rng(3))
    other = model.sample((2, 4096), np.random.default_rng(4))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_hum_peaks_at_the_mains_frequency_and_its_harmonics() -> None:
    noise = get_noise_model("hum").sample((1, 1000), np.random.default_rng(5))[0]
    spectrum = np.abs(np.fft.rfft(noise))
    freqs = np.fft.rfftfreq(1000, d=1 / 1000)
    assert sorted(freqs[np.argsort(spectrum)[-3:]]) == [50.0, 100.0, 150.0]
    assert spectrum[50] > spectrum[100] > spectrum[150]  # amplitudes 1, 1/2, 1/3


def test_hum_at_60_hz() -> None:
    noise = get_noise_model("hum", hum_hz=60.0).sample((1, 1000), np.random.default_rng(5))[0]
    freqs = np.fft.rfftfreq(1000, d=1 / 1000)
    assert sorted(freqs[np.argsort(np.abs(np.fft.rfft(noise)))[-3:]]) == [60.0, 120.0, 180.0]


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"hum_hz": 600, "sample_rate": 1000},
         r"sample_rate must be a number of Hz above 2 \* hum_hz \(Nyquist\), i\.e\. > 1200, "
         r"got 1000"),
        ({"hum_hz": 0}, r"hum_hz must be a number > 0, got 0\."),
        ({"hum_hz": -50}, r"hum_hz must be a number > 0, got -50\."),
        ({"harmonics": 0}, r"harmonics must be an int >= 1, got 0\."),
        ({"volume": 1}, "volume"),
    ],
)  # fmt: skip
def test_hum_rejects_bad_parameters(params: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        get_noise_model("hum", **params)


@pytest.mark.parametrize("params", [{"rate": 0}, {"rate": 1.5}, {"distribution": "cauchy"}])
def test_impulsive_rejects_bad_parameters(params: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(params))):
        get_noise_model("impulsive", **params)


@pytest.mark.parametrize("rate", [0.01, 0.1])
@pytest.mark.parametrize("distribution", ["gaussian", "laplace"])
def test_impulsive_spikes_at_the_rate(rate: float, distribution: str) -> None:
    model = get_noise_model("impulsive", rate=rate, distribution=distribution)
    noise = model.sample((16, N), np.random.default_rng(6))
    assert np.mean(noise != 0) == pytest.approx(rate, rel=0.3)
    assert np.mean(np.square(noise, dtype=np.float64)) == pytest.approx(1.0, rel=0.1)


def test_impulsive_windows_without_spikes_stay_zero() -> None:
    noise = get_noise_model("impulsive", rate=1e-4).sample((64, 16), np.random.default_rng(7))
    assert np.any(np.all(noise == 0, axis=-1))  # not normalised per draw


def test_coloured_noise_takes_alpha() -> None:
    from mdnc.data.noise import ColouredNoise

    x = ColouredNoise(alpha=0.5).sample((1, N), np.random.default_rng(8))[0]
    assert psd_slope(x) == pytest.approx(-0.5, abs=0.1)
    with pytest.raises(ValueError, match="alpha"):
        ColouredNoise(alpha=float("nan"))


# Recorded noise: two 2-channel recordings, the second twice as loud (4x the power).
NOISE_RNG = np.random.default_rng(10)
RECORDINGS = [
    NOISE_RNG.standard_normal((2, 6000)) * [[1.0], [3.0]],
    NOISE_RNG.standard_normal((2, 3000)) * [[2.0], [6.0]],
]


def normalised(recordings: list[np.ndarray]) -> list[np.ndarray]:
    """The recordings divided, channel by channel, by their RMS over all of them together."""
    power = sum(np.sum(np.square(r), axis=1) for r in recordings) / sum(
        r.shape[1] for r in recordings
    )
    return [r / np.sqrt(power)[:, None] for r in recordings]


def test_recorded_noise_has_unit_power_and_keeps_the_levels() -> None:
    model = RecordedNoise(RECORDINGS)
    assert repr(model) == "RecordedNoise(2 recordings, 2 channels, 9000 samples)"
    assert model.channels == 2 and model.name == "recorded"
    assert "recorded" not in list_noise_models()
    noise = model.sample((4000, 2, 64), np.random.default_rng(0))
    assert noise.shape == (4000, 2, 64) and noise.dtype == np.float32
    power = np.mean(np.square(noise, dtype=np.float64), axis=-1)  # (draws, channels)
    np.testing.assert_allclose(power.mean(axis=0), 1.0, rtol=0.03)
    # Level fluctuations stay: the draws of the loud recording have ~4x the power.
    assert np.percentile(power[:, 0], 90) / np.percentile(power[:, 0], 10) > 3


def test_recorded_noise_draws_are_pieces_of_the_recordings() -> None:
    model = RecordedNoise(RECORDINGS)
    expected = normalised(RECORDINGS)
    rng = np.random.default_rng(1)
    found = {0: 0, 1: 0}
    for _ in range(40):
        draw = model.sample((2, 500), rng)
        for r, recording in enumerate(expected):
            (starts,) = np.nonzero(np.abs(recording[0, : 1 - 500] - draw[0, 0]) < 1e-5)
            if any(np.allclose(recording[:, s : s + 500], draw, atol=1e-5) for s in starts):
                found[r] += 1
                break
        else:
            pytest.fail("a draw is not a contiguous piece of a normalised recording")
    assert found[0] > found[1] > 0  # picked in proportion to their lengths (2:1)


def test_recorded_noise_joins_short_recordings() -> None:
    recording = np.random.default_rng(2).standard_normal((1, 300))
    draw = RecordedNoise([recording]).sample((1, 1000), np.random.default_rng(3))[0]
    unit = normalised([recording])[0][0]
    positions = np.array([np.argmin(np.abs(unit - v)) for v in draw])  # all values distinct
    np.testing.assert_allclose(unit[positions], draw, atol=1e-6)
    steps = np.diff(positions)
    joins = np.flatnonzero(steps != 1)
    assert 3 <= len(joins) <= 4  # 1000 samples from pieces of at most 300
    assert all(positions[j] == 299 for j in joins)  # a piece ends where its recording does
    assert all(positions[j + 1] == 0 for j in joins[:-1])  # whole recordings in between


def test_recorded_noise_is_deterministic_given_the_seed() -> None:
    model = RecordedNoise(RECORDINGS)
    first = model.sample((3, 2, 4096), np.random.default_rng(3))
    np.testing.assert_array_equal(first, model.sample((3, 2, 4096), np.random.default_rng(3)))
    assert not np.array_equal(first, model.sample((3, 2, 4096), np.random.default_rng(4)))


@pytest.mark.parametrize("target", [-5.0, 5.0, 20.0])
def test_recorded_noise_is_added_at_the_snr(target: float) -> None:
    t = np.arange(2000) / 1000.0
    clean = np.sin(2 * np.pi * 7.3 * t + np.arange(2)[:, None]).astype(np.float32)
    batch = np.broadcast_to(clean, (200, 2, 2000))
    noisy = RecordedNoise(RECORDINGS).add(batch, target, rng=5)
    assert noisy.shape == batch.shape and noisy.dtype == np.float32
    assert snr_db(batch, noisy) == pytest.approx(target, abs=0.5)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((3, 100), "noise recordings have 2 channels, the signal has 3."),
        ((4, 1, 100), "noise recordings have 2 channels, the signal has 1."),
        ((100,), "noise recordings have 2 channels, the signal has 1."),
    ],
)
def test_recorded_noise_needs_the_channel_count(shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        RecordedNoise(RECORDINGS).sample(shape, np.random.default_rng(0))


def test_recorded_noise_of_one_channel_takes_1d_recordings_and_signals() -> None:
    model = RecordedNoise([np.arange(1.0, 101.0)])
    assert model.channels == 1
    assert model.sample((50,), np.random.default_rng(0)).shape == (50,)


@pytest.mark.parametrize(
    ("recordings", "names", "message"),
    [
        ([], None, "no noise recordings given; expected at least one."),
        (
            [np.ones((2, 10)), np.ones((3, 10))],
            ["a.npy", "b.npy"],
            "noise recording 'b.npy' has 3 channels, expected 2 (those of the first).",
        ),
        ([np.ones((2, 10)), np.ones((1, 10))], None,
         "noise recording 1 has 1 channels, expected 2 (those of the first)."),
        ([np.ones((2, 10)), np.ones((2, 0))], None, "noise recording 1 is empty (shape (2, 0))."),
        ([np.array([[1.0, np.nan]])], ["n.wav"],
         "noise recording 'n.wav' holds NaN or Inf samples."),
        ([np.ones((2, 2, 5))], None,
         "noise recording 0 must be a (channels, samples) array of numbers, got shape (2, 2, 5) "
         "of float64."),
        ([np.ones((2, 10))], ["a", "b"], "got 2 names for 1 noise recordings."),
        ([np.ones((2, 10)) * [[1.0], [0.0]]], None, "noise recordings are all zero in channel 1."),
    ],
)  # fmt: skip
def test_recorded_noise_rejects_bad_recordings(
    recordings: list, names: list | None, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        RecordedNoise(recordings, names=names)


def test_the_docstring_examples_run() -> None:
    assert doctest.testmod(noise_module, optionflags=doctest.ELLIPSIS).failed == 0
