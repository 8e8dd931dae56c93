"""The built-in synthetic data set: determinism, shapes, scale and structure."""

from __future__ import annotations

import numpy as np
import pytest

from mdnc.data import FAMILIES, add_gaussian_noise, make_synthetic, snr_db, synthetic_signal


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    kernel = np.ones(width) / width
    return np.stack([np.convolve(np.pad(c, width), kernel, mode="same")[width:-width] for c in x])


def test_deterministic_given_a_seed() -> None:
    first = make_synthetic(10, 300, channels=2, seed=3)
    second = make_synthetic(10, 300, channels=2, seed=3)
    other = make_synthetic(10, 300, channels=2, seed=4)
    for a, b, c in zip(first, second, other, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)


def test_a_longer_set_starts_with_the_shorter_one() -> None:
    short = make_synthetic(4, 200, seed=1)
    long = make_synthetic(9, 200, seed=1)
    for a, b in zip(short, long, strict=False):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("family", FAMILIES)
def test_shape_scale_and_finite(family: str, channels: int) -> None:
    (x,) = make_synthetic(1, 1500, channels=channels, seed=7, families=[family])
    assert x.shape == (channels, 1500)
    assert x.dtype == np.float32
    assert np.isfinite(x).all()
    np.testing.assert_allclose(x.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=1), 1, atol=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_families_are_structured_and_denoisable(family: str) -> None:
    # A plain moving average already removes much of white noise at 5 dB; it could not from
    # white noise itself. The network must do better, but it needs structure to work with.
    gains = []
    for i in range(6):
        clean = synthetic_signal(family, 2000, channels=1, rng=i)
        noisy = add_gaussian_noise(clean, 5.0, rng=100 + i)
        best = max(snr_db(clean, _smooth(noisy, w)) for w in (2, 3, 5, 9))
        gains.append(best - snr_db(clean, noisy))
    assert np.mean(gains) > 2.0


@pytest.mark.parametrize("family", FAMILIES)
def test_channels_are_correlated_but_distinct(family: str) -> None:
    correlations = []
    for seed in range(8):
        x = synthetic_signal(family, 2000, channels=2, rng=seed)
        assert not np.allclose(x[0], x[1])
        correlations.append(abs(np.corrcoef(x)[0, 1]))
    assert np.mean(correlations) > 0.1


def test_families_cycle_and_can_be_chosen() -> None:
    chosen = make_synthetic(4, 100, seed=0, families=["ar", "steps"])
    np.testing.assert_array_equal(chosen[1], synthetic_signal("steps", 100, rng=_child(0, 1)))
    np.testing.assert_array_equal(chosen[2], synthetic_signal("ar", 100, rng=_child(0, 2)))


def _child(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(index + 1)[index])


@pytest.mark.parametrize("length", [1, 2, 7])
def test_tiny_lengths(length: int) -> None:
    for x in make_synthetic(5, length, channels=2, seed=0):
        assert x.shape == (2, length) and np.isfinite(x).all()


def test_zero_recordings() -> None:
    assert make_synthetic(0, 100) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"families": ["waves"]}, ValueError, r"families must be a non-empty list of 'sines'"),
        ({"families": []}, ValueError, r"families must be a non-empty list"),
        ({"length": 0}, ValueError, r"length must be an int >= 1, got 0"),
        ({"length": 10.0}, TypeError, r"length must be an int >= 1, got 10\.0 \(float\)"),
        ({"channels": 0}, ValueError, r"channels must be an int >= 1"),
        ({"n_recordings": -1}, ValueError, r"n_recordings must be an int >= 0"),
        ({"seed": -2}, ValueError, r"seed must be an int >= 0"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, message: str) -> None:
    arguments = {"n_recordings": 2, "length": 100} | kwargs
    with pytest.raises(error, match=message):
        make_synthetic(**arguments)
