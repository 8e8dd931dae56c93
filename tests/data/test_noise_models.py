"""The registered noise models: spectra, power, SNR, determinism and parameters."""

from __future__ import annotations

import numpy as np
import pytest

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
