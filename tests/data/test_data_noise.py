"""Gaussian noise at a given SNR and the SNR measure."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mdnc.data import SNR_LIMIT_DB, add_gaussian_noise, make_synthetic, snr_db

LONG = make_synthetic(1, 200_000, channels=1, seed=0)[0]


@pytest.mark.parametrize("target", [-5.0, 0.0, 5.0, 10.0, 30.0])
def test_noise_gives_the_requested_snr(target: float) -> None:
    noisy = add_gaussian_noise(LONG, target, rng=np.random.default_rng(1))
    assert noisy.shape == LONG.shape and noisy.dtype == np.float32
    assert snr_db(LONG, noisy) == pytest.approx(target, abs=0.2)


def test_each_channel_gets_its_own_level() -> None:
    clean = np.stack([LONG[0], 100.0 * LONG[0][::-1] + 3.0])  # very different powers
    noisy = add_gaussian_noise(clean, 10.0, rng=2)
    for channel in range(2):
        assert snr_db(clean[channel], noisy[channel]) == pytest.approx(10.0, abs=0.2)
    np.testing.assert_allclose(snr_db(clean, noisy, axis=-1), [10.0, 10.0], atol=0.2)


def test_reference_power_overrides_the_measured_one() -> None:
    window = np.zeros((1, 100_000), dtype=np.float32)  # a silent window of a loud recording
    noisy = add_gaussian_noise(window, 0.0, rng=0, power=4.0)
    assert np.std(noisy) == pytest.approx(2.0, rel=0.02)


def test_all_zero_signal_gets_no_noise() -> None:
    clean = np.zeros((2, 50), dtype=np.float32)
    clean[1] = 1.0
    noisy = add_gaussian_noise(clean, 10.0, rng=0)
    np.testing.assert_array_equal(noisy[0], 0.0)
    assert np.isfinite(noisy).all() and not np.array_equal(noisy[1], clean[1])


def test_noise_is_deterministic_given_a_seed() -> None:
    x = LONG[:, :1000]
    np.testing.assert_array_equal(add_gaussian_noise(x, 5, rng=3), add_gaussian_noise(x, 5, rng=3))
    assert not np.array_equal(add_gaussian_noise(x, 5, rng=3), add_gaussian_noise(x, 5, rng=4))
    assert add_gaussian_noise(x.astype(np.float64), 5, rng=3).dtype == np.float64


@pytest.mark.parametrize(
    ("clean", "estimate", "expected"),
    [
        ([1.0, -1.0], [1.1, -0.9], 10 * math.log10(2 / 0.02)),
        ([2.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], 10 * math.log10(4)),
        ([1.0, 2.0], [1.0, 2.0], SNR_LIMIT_DB),  # perfect
        ([0.0, 0.0], [0.0, 0.0], SNR_LIMIT_DB),  # perfect silence
        ([0.0, 0.0], [1.0, 0.0], -SNR_LIMIT_DB),  # noise on silence
    ],
)
def test_snr_values(clean: list[float], estimate: list[float], expected: float) -> None:
    value = snr_db(np.array(clean), np.array(estimate))
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-9)


def test_snr_accepts_tensors_and_axes() -> None:
    clean = torch.ones(3, 2, 10)
    estimate = clean.clone()
    estimate[1] += 0.1
    values = snr_db(clean, estimate, axis=(1, 2))
    assert values.shape == (3,)
    np.testing.assert_allclose(values, [SNR_LIMIT_DB, 20.0, SNR_LIMIT_DB], rtol=1e-5)


@pytest.mark.parametrize(
    ("snr", "error", "message"),
    [
        (float("nan"), ValueError, r"snr_db must be a finite number of dB, got nan"),
        (float("inf"), ValueError, r"snr_db must be a finite number of dB, got inf"),
        ("10", TypeError, r"snr_db must be a finite number of dB, got '10' \(str\)"),
        (True, TypeError, r"snr_db must be a finite number of dB"),
    ],
)
def test_bad_snr(snr: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        add_gaussian_noise(LONG, snr, rng=0)


def test_snr_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"same shape, got \(2,\) and \(3,\)"):
        snr_db(np.ones(2), np.ones(3))
