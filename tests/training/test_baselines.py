"""mdnc.training.baselines: the smoothers, the grids, and tuning with and without clean data."""

from __future__ import annotations

import numpy as np
import pytest

from mdnc.data import snr_db
from mdnc.training.baselines import (
    BASELINES,
    Baseline,
    _segments,
    _tuning_data,
    apply_baseline,
    j_invariant,
    savgol,
    tune_baseline,
    tune_baselines,
    wiener,
)


def _sines(count: int = 4, n: int = 4000, snr: float = 5.0, seed: int = 0):
    """``count`` (clean, noisy) recordings: a sum of three sines plus white noise at ``snr``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    clean, noisy = [], []
    for _ in range(count):
        parts = [
            a * np.sin(2 * np.pi * f * t / 1000 + rng.uniform(0, 2 * np.pi))
            for a, f in ((1.0, 8.0), (0.6, 19.0), (0.3, 37.0))
        ]
        c = np.sum(parts, axis=0)[None]
        sigma = np.sqrt(np.mean(c**2) / 10 ** (snr / 10))
        clean.append(c.astype(np.float32))
        noisy.append((c + sigma * rng.standard_normal(c.shape)).astype(np.float32))
    return clean, noisy


def _mean_snr(baseline: Baseline, clean, noisy) -> float:
    pairs = zip(clean, noisy, strict=True)
    return float(np.mean([snr_db(c, apply_baseline(baseline, x)) for c, x in pairs]))


CLEAN, NOISY = _sines()
INPUT_SNR = float(np.mean([snr_db(c, x) for c, x in zip(CLEAN, NOISY, strict=True)]))


def test_the_table_and_its_grids() -> None:
    assert list(BASELINES) == ["savgol", "wiener"]
    savgol_grid, wiener_grid = BASELINES["savgol"][1], BASELINES["wiener"][1]
    assert len(savgol_grid) == 11 * 3
    assert all(p["window_length"] > p["polyorder"] for p in savgol_grid)
    assert [p["size"] for p in wiener_grid] == [3, 5, 7, 9, 11, 15, 21, 31, 41, 61]


@pytest.mark.parametrize(
    "baseline",
    [Baseline("savgol", {"window_length": 21, "polyorder": 3}, 0.0),
     Baseline("wiener", {"size": 9}, 0.0)],
    ids=["savgol", "wiener"],
)  # fmt: skip
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_apply_baseline_keeps_shape_and_dtype(baseline: Baseline, dtype) -> None:
    x = np.random.default_rng(0).standard_normal((2, 300)).astype(dtype)
    y = apply_baseline(baseline, x)
    assert y.shape == x.shape and y.dtype == dtype
    assert np.all(np.isfinite(y)) and not np.array_equal(y, x)


@pytest.mark.parametrize(
    "n, window, polyorder, unchanged",
    [(4, 121, 2, False), (3, 121, 3, True), (2, 5, 2, True), (200, 20, 3, False)],
)
def test_savgol_clips_the_window_to_short_recordings(n, window, polyorder, unchanged) -> None:
    x = np.random.default_rng(1).standard_normal((1, n))
    y = savgol(x, window, polyorder)
    assert y.shape == x.shape
    assert np.array_equal(y, x) == unchanged


@pytest.mark.filterwarnings("error")
def test_wiener_of_silence_is_silence() -> None:
    assert np.array_equal(wiener(np.zeros((2, 50)), 5), np.zeros((2, 50)))


@pytest.mark.parametrize(
    "smoother, params",
    [(savgol, {"window_length": 11, "polyorder": 2}), (wiener, {"size": 7})],
    ids=["savgol", "wiener"],
)
@pytest.mark.parametrize("i", [0, 5, 42, 99])
def test_the_masked_prediction_at_a_sample_ignores_that_sample(smoother, params, i) -> None:
    x = np.random.default_rng(2).standard_normal((2, 100))
    changed = x.copy()
    changed[:, i] += 50.0
    before = j_invariant(smoother, x, **params)
    after = j_invariant(smoother, changed, **params)
    assert np.array_equal(before[:, i], after[:, i])
    assert not np.allclose(before, after)  # the other samples do see it


@pytest.mark.parametrize("name", list(BASELINES))
def test_tuning_with_references_gains_several_db(name: str) -> None:
    best = tune_baseline(name, NOISY, CLEAN)
    assert best.name == name and best.params in BASELINES[name][1] and best.score > 0
    assert _mean_snr(best, CLEAN, NOISY) > INPUT_SNR + 6.0


@pytest.mark.parametrize("name", list(BASELINES))
def test_self_supervised_tuning_is_within_1_db_of_the_reference_choice(name: str) -> None:
    supervised = _mean_snr(tune_baseline(name, NOISY, CLEAN), CLEAN, NOISY)
    self_supervised = _mean_snr(tune_baseline(name, NOISY), CLEAN, NOISY)
    assert self_supervised > supervised - 1.0


def test_tune_baselines_returns_both_in_table_order() -> None:
    assert [b.name for b in tune_baselines(NOISY[:1], max_samples=2000)] == list(BASELINES)


@pytest.mark.parametrize(
    "shapes, max_samples, lengths",
    [
        ([(1, 100), (1, 300)], 1000, [100, 300]),
        ([(1, 100), (1, 300)], 200, [50, 150]),
        ([(2, 100), (1, 200)], 100, [25, 50]),
        ([(1, 100), (1, 100)], 1, [1, 0]),
    ],
)
def test_tuning_takes_proportional_leading_segments(shapes, max_samples, lengths) -> None:
    recordings = [np.zeros(s) for s in shapes]
    assert _segments(recordings, max_samples) == lengths
    data = _tuning_data(recordings, None, max_samples)
    assert [x.shape[-1] for x, _ in data] == [m for m in lengths if m]
    assert sum(x.size for x, _ in data) <= max_samples


BAD_CALLS = [
    (lambda: tune_baseline("median", NOISY), ValueError, "name must be one of 'savgol', 'wiener'"),
    (lambda: tune_baseline("savgol", []), ValueError, "inputs must hold at least one"),
    (lambda: tune_baseline("savgol", NOISY, CLEAN[:2]), ValueError, "references must hold one"),
    (lambda: tune_baseline("wiener", NOISY[:1], [CLEAN[0][:, :10]]), ValueError,
     r"references\[0\] must have the shape of inputs\[0\]"),
    (lambda: tune_baseline("wiener", NOISY, max_samples=0), ValueError, "max_samples must be"),
    (lambda: apply_baseline(Baseline("median", {}, 0.0), NOISY[0]), ValueError,
     "baseline.name must be one of"),
]  # fmt: skip


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_errors_name_the_argument(call, error, message: str) -> None:
    with pytest.raises(error, match=message):
        call()
