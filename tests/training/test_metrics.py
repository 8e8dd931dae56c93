"""mdnc.training.metrics: values worked out by hand on tiny recordings, and the errors."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mdnc.training.metrics import recording_metrics, residual_metrics, signal_metrics

CLEAN = np.array([[1.0, 2.0, 3.0, 4.0]])
ESTIMATE = np.array([[1.0, 2.0, 3.0, 5.0]])
# By hand: error power 1, clean power 30; channel means removed, clean [-1.5, -0.5, 0.5,
# 1.5] (power 5) and estimate [-1.75, -0.75, 0.25, 2.25] (power 8.75), dot product 6.5,
# so alpha = 1.3, target power 1.69 * 5 = 8.45, distortion 8.75 - 8.45 = 0.3.
HAND = {
    "snr_db": 10 * math.log10(30.0),
    "si_sdr_db": 10 * math.log10(8.45 / 0.3),
    "rmse": 0.5,
    "prd": 100 * math.sqrt(1 / 30),
    "corr": 6.5 / math.sqrt(5 * 8.75),
}


def _sine(n: int = 4000, channels: int = 1) -> np.ndarray:
    t = np.arange(n)
    return np.stack([np.sin(2 * np.pi * t / 200 + c) for c in range(channels)])


@pytest.mark.parametrize("key", sorted(HAND))
def test_signal_metrics_by_hand(key: str) -> None:
    assert signal_metrics(CLEAN, ESTIMATE)[key] == pytest.approx(HAND[key], rel=1e-12)


def test_signal_metrics_are_python_floats_and_accept_1d() -> None:
    m = signal_metrics(CLEAN[0], ESTIMATE[0].astype(np.float32))
    assert list(m) == ["snr_db", "si_sdr_db", "rmse", "prd", "corr"]
    assert all(type(v) is float for v in m.values())
    assert m == pytest.approx(HAND)


@pytest.mark.parametrize("scale, offset", [(0.1, 0.0), (2.0, 0.0), (10.0, 3.0), (1.0, -5.0)])
def test_si_sdr_ignores_scale_and_offset_of_the_estimate(scale: float, offset: float) -> None:
    m = signal_metrics(CLEAN, scale * ESTIMATE + offset)
    assert m["si_sdr_db"] == pytest.approx(HAND["si_sdr_db"], rel=1e-9)
    assert m["corr"] == pytest.approx(HAND["corr"], rel=1e-9)
    assert m["snr_db"] != pytest.approx(HAND["snr_db"])


@pytest.mark.filterwarnings("error")
def test_constant_and_silent_channels_give_finite_values() -> None:
    clean = np.array([[2.0, 2.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    m = signal_metrics(clean, clean)
    assert m["corr"] == 0.5  # the constant channel counts 0, the other 1
    assert m["si_sdr_db"] == 200.0 and m["snr_db"] == 200.0
    zeros = np.zeros((1, 4))
    worst = signal_metrics(zeros, np.array([[0.0, 1.0, -1.0, 0.0]]))
    assert worst["si_sdr_db"] == -200.0 and worst["prd"] == math.inf and worst["corr"] == 0.0
    assert signal_metrics(zeros, zeros)["prd"] == 0.0


def test_residual_acf_of_an_alternating_residual() -> None:
    noisy = np.array([1.0, -1.0] * 50)
    m = residual_metrics(noisy, np.zeros(100), lags=3)
    assert m["residual_acf"] == pytest.approx([-0.99, 0.98, -0.97])
    assert m["residual_whiteness"] == pytest.approx(0.99)
    assert m["acf_bound"] == pytest.approx(0.196)


def test_residual_of_white_noise_is_within_the_bound_and_of_a_sine_is_not() -> None:
    noise = np.random.default_rng(0).standard_normal((4, 10_000))
    white = residual_metrics(noise, np.zeros_like(noise))
    assert len(white["residual_acf"]) == 10
    assert white["residual_whiteness"] < white["acf_bound"]
    smooth = residual_metrics(_sine(), np.zeros((1, 4000)))
    assert smooth["residual_whiteness"] > 0.95


def test_residual_output_corr_tells_noise_removal_from_signal_removal() -> None:
    clean = _sine(channels=2)
    noisy = clean + 0.5 * np.random.default_rng(1).standard_normal(clean.shape)
    assert abs(residual_metrics(noisy, clean)["residual_output_corr"]) < 0.05
    assert residual_metrics(noisy, 0.5 * clean)["residual_output_corr"] > 0.5


@pytest.mark.parametrize("samples, expected", [(1, 0), (2, 1), (5, 4), (11, 10), (50, 10)])
def test_short_recordings_get_the_lags_they_have(samples: int, expected: int) -> None:
    x = np.random.default_rng(2).standard_normal((2, samples))
    m = residual_metrics(x, np.zeros_like(x))
    assert len(m["residual_acf"]) == expected
    assert math.isfinite(m["residual_whiteness"])


def test_recording_metrics_are_means_over_recordings() -> None:
    rng = np.random.default_rng(3)
    refs = [_sine(300), _sine(500, channels=2)]
    inputs = [r + 0.3 * rng.standard_normal(r.shape) for r in refs]
    outputs = [0.9 * r for r in refs]
    m = recording_metrics(inputs, outputs, references=refs, lags=4)
    rows = [signal_metrics(r, y) for r, y in zip(refs, outputs, strict=True)]
    rows_in = [signal_metrics(r, x) for r, x in zip(refs, inputs, strict=True)]
    for key in rows[0]:
        assert m[key] == pytest.approx(np.mean([r[key] for r in rows]))
        assert m[f"input_{key}"] == pytest.approx(np.mean([r[key] for r in rows_in]))
    assert m["snr_gain_db"] == pytest.approx(m["snr_db"] - m["input_snr_db"])
    res = [residual_metrics(x, y, lags=4) for x, y in zip(inputs, outputs, strict=True)]
    assert m["residual_acf"] == pytest.approx(np.mean([r["residual_acf"] for r in res], 0))
    json.dumps(m, allow_nan=False)


def test_recording_metrics_without_references_and_ragged_acf() -> None:
    inputs = [np.array([[1.0, -1.0, 1.0]]), np.array([[1.0, -1.0] * 10])]
    m = recording_metrics(inputs, [np.zeros_like(x) for x in inputs], lags=3)
    assert set(m) == {"residual_acf", "residual_whiteness", "residual_output_corr", "acf_bound"}
    # [1, -1, 1] less its mean is [2, -4, 2] / 3: lags 1, 2 are -16/24, 4/24; the second
    # recording gives -19/20, 18/20 and, alone, lag 3: -17/20.
    assert m["residual_acf"] == pytest.approx([(-2 / 3 - 0.95) / 2, (1 / 6 + 0.9) / 2, -0.85])


BAD_CALLS = [
    (lambda: signal_metrics(CLEAN, np.zeros((1, 5))), "estimate must have the shape of clean"),
    (lambda: signal_metrics(np.zeros((1, 2, 3)), np.zeros((1, 2, 3))), "clean must be"),
    (lambda: signal_metrics(np.zeros((1, 0)), np.zeros((1, 0))), "clean must be"),
    (lambda: residual_metrics(CLEAN, np.zeros((2, 4))), "estimate must have the shape of noisy"),
    (lambda: recording_metrics([], []), "inputs must hold at least one"),
    (lambda: recording_metrics([CLEAN], []), "outputs must hold one recording per input"),
    (lambda: recording_metrics([CLEAN], [CLEAN], [CLEAN] * 2), "references must hold one"),
    (lambda: recording_metrics([CLEAN] * 2, [CLEAN, CLEAN[:, :3]]), r"outputs\[1\] must"),
    (lambda: recording_metrics([CLEAN], [CLEAN], [CLEAN[:, :2]]), r"references\[0\] must"),
]


@pytest.mark.parametrize("call, message", BAD_CALLS)
def test_errors_name_the_argument(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_lags_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="lags must be an int"):
        residual_metrics(CLEAN, CLEAN, lags=2.5)
    with pytest.raises(ValueError, match="lags must be an int >= 1"):
        residual_metrics(CLEAN, CLEAN, lags=0)
