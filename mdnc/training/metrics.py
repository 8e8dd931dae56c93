"""Quality metrics of denoised recordings, with and without the clean signal.

Recordings are arrays of shape ``(channels, samples)`` (a 1-D array is one channel).

* :func:`signal_metrics`: an estimate against the clean recording (SNR, SI-SDR, RMSE,
  PRD, correlation).
* :func:`residual_metrics`: what was removed (``noisy - estimate``), without the clean
  recording: a residual that is white and uncorrelated with the output removed noise only.
* :func:`recording_metrics`: both, averaged over a list of recordings.

Every value is a plain Python ``float`` (or a list of them), ready for JSON.

Example:
    >>> clean = np.array([[1.0, 2.0, 3.0, 4.0]])
    >>> m = signal_metrics(clean, np.array([[1.0, 2.0, 3.0, 5.0]]))
    >>> round(m["snr_db"], 4), m["rmse"], round(m["prd"], 4)
    (14.7712, 0.5, 18.2574)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mdnc._utils import check_int
from mdnc.data.noise import SNR_LIMIT_DB, snr_db

__all__ = ["recording_metrics", "residual_metrics", "signal_metrics"]

#: The keys :func:`signal_metrics` returns, in order.
SIGNAL_KEYS = ("snr_db", "si_sdr_db", "rmse", "prd", "corr")


def as_recording(name: str, x: Any) -> np.ndarray:
    """``x`` as a float64 array of shape ``(channels, samples)`` (1-D: one channel).

    Raises:
        ValueError: ``x`` has more than 2 axes or no samples (the message names ``name``).
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[-1] == 0:
        raise ValueError(
            f"{name} must be a recording of shape (channels, samples) with at least one "
            f"sample, got shape {arr.shape}."
        )
    return arr


def _pair(names: tuple[str, str], a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as recordings of the same shape; ValueError naming them otherwise."""
    x, y = as_recording(names[0], a), as_recording(names[1], b)
    if x.shape != y.shape:
        raise ValueError(
            f"{names[1]} must have the shape of {names[0]}, got {y.shape} and {x.shape}."
        )
    return x, y


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation per channel (rows); 0 where either row is constant."""
    a0 = a - a.mean(axis=-1, keepdims=True)
    b0 = b - b.mean(axis=-1, keepdims=True)
    norm = np.sqrt(np.sum(a0**2, axis=-1) * np.sum(b0**2, axis=-1))
    dot = np.sum(a0 * b0, axis=-1)
    safe = np.where(norm > 0, norm, 1.0)
    return np.where(norm > 0, dot / safe, 0.0)


def _si_sdr(clean: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    """Scale-invariant SDR per channel in dB, channel means removed, clipped to +-200 dB."""
    c0 = clean - clean.mean(axis=-1, keepdims=True)
    e0 = estimate - estimate.mean(axis=-1, keepdims=True)
    power = np.sum(c0**2, axis=-1, keepdims=True)
    # A constant clean channel has no target direction: all of e0 counts as distortion.
    alpha = np.sum(e0 * c0, axis=-1, keepdims=True) / np.where(power > 0, power, 1.0)
    target = np.sum((alpha * c0) ** 2, axis=-1)
    distortion = np.sum((e0 - alpha * c0) ** 2, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = 10.0 * np.log10(target / distortion)
    ratio = np.where(distortion == 0, SNR_LIMIT_DB, ratio)  # 0/0 (both constant): perfect
    return np.clip(ratio, -SNR_LIMIT_DB, SNR_LIMIT_DB)


def signal_metrics(clean: Any, estimate: Any) -> dict[str, float]:
    """Quality of ``estimate`` against the ``clean`` recording.

    Args:
        clean: the clean recording, ``(channels, samples)`` (1-D: one channel).
        estimate: the noisy or denoised recording, of the same shape.

    Returns:
        ``snr_db`` (:func:`mdnc.data.snr_db` over the whole recording); ``si_sdr_db``
        (scale-invariant SDR per channel, channel means removed, mean over channels;
        clipped to +-200 dB, a constant clean channel counts its whole estimate as
        distortion); ``rmse`` (over all samples); ``prd`` (percent root-mean-square
        difference ``100 sqrt(sum((c - e)^2) / sum(c^2))``, no mean removal; ``inf`` for
        an all-zero clean recording with some error, 0 without); ``corr`` (Pearson
        correlation per channel, mean over channels; 0 for a constant channel).

    Raises:
        ValueError: the shapes differ, or a recording has more than 2 axes or no samples.

    Example:
        >>> t = np.linspace(0, 6, 100)[None]
        >>> round(signal_metrics(np.sin(t), 3 * np.sin(t) + 1)["si_sdr_db"])
        200
    """
    c, e = _pair(("clean", "estimate"), clean, estimate)
    error = float(np.sum((c - e) ** 2))
    power = float(np.sum(c**2))
    if power > 0:
        prd = 100.0 * float(np.sqrt(error / power))
    else:
        prd = float("inf") if error > 0 else 0.0
    return {
        "snr_db": float(snr_db(c, e)),
        "si_sdr_db": float(np.mean(_si_sdr(c, e))),
        "rmse": float(np.sqrt(error / c.size)),
        "prd": prd,
        "corr": float(np.mean(_pearson(c, e))),
    }


def _acf(r: np.ndarray, lags: int) -> np.ndarray:
    """Normalised biased autocorrelation per channel at lags 1..lags, ``(channels, lags)``."""
    r0 = r - r.mean(axis=-1, keepdims=True)
    power = np.sum(r0**2, axis=-1)
    safe = np.where(power > 0, power, 1.0)
    acf = np.zeros((r.shape[0], lags))
    for k in range(1, lags + 1):
        acf[:, k - 1] = np.sum(r0[:, :-k] * r0[:, k:], axis=-1) / safe
    return np.where(power[:, None] > 0, acf, 0.0)


def residual_metrics(noisy: Any, estimate: Any, lags: int = 10) -> dict[str, Any]:
    """What the denoiser removed, judged without the clean recording.

    The residual ``r = noisy - estimate`` should be noise only: white (its autocorrelation
    within the ``acf_bound`` of white noise) and uncorrelated with the estimate.

    Args:
        noisy: the noisy recording, ``(channels, samples)`` (1-D: one channel).
        estimate: the denoised recording, of the same shape.
        lags: how many lags of the autocorrelation to compute (>= 1). A recording of
            ``samples <= lags`` gets its ``samples - 1`` existing lags only (none for a
            single sample: an empty list and a whiteness of 0).

    Returns:
        ``residual_acf`` (list of floats: the normalised autocorrelation of ``r``, mean
        removed, per channel with the biased estimator ``sum(r[t] r[t+k]) / sum(r[t]^2)``,
        at lags 1, 2, ..., averaged over channels; 0 for a constant channel);
        ``residual_whiteness`` (``max |acf|`` over those lags: 0 for white noise, near 1
        for a smooth residual); ``residual_output_corr`` (Pearson correlation of ``r``
        and ``estimate`` per channel, mean over channels: near 0 when only noise was
        removed, positive when signal went with it); ``acf_bound``
        (``1.96 / sqrt(samples)``, the 95% band of white noise's autocorrelation).

    Raises:
        ValueError: the shapes differ, or a recording has more than 2 axes or no samples.
        TypeError: ``lags`` is not an integer.

    Example:
        >>> m = residual_metrics(np.array([1.0, -1.0] * 50), np.zeros(100), lags=2)
        >>> [round(v, 2) for v in m["residual_acf"]], m["residual_whiteness"]
        ([-0.99, 0.98], 0.99)
    """
    lags = check_int("lags", lags, minimum=1)
    x, e = _pair(("noisy", "estimate"), noisy, estimate)
    r = x - e
    n = r.shape[-1]
    acf = _acf(r, min(lags, n - 1)).mean(axis=0)
    return {
        "residual_acf": [float(v) for v in acf],
        "residual_whiteness": float(np.max(np.abs(acf))) if acf.size else 0.0,
        "residual_output_corr": float(np.mean(_pearson(r, e))),
        "acf_bound": 1.96 / float(np.sqrt(n)),
    }


def _check_lists(inputs: Sequence[Any], outputs: Sequence[Any], references: Any) -> None:
    """ValueError naming the argument for an empty list or lists of different lengths."""
    if len(inputs) == 0:
        raise ValueError("inputs must hold at least one recording, got an empty list.")
    if len(outputs) != len(inputs):
        raise ValueError(
            f"outputs must hold one recording per input, got {len(outputs)} for "
            f"{len(inputs)} inputs."
        )
    if references is not None and len(references) != len(inputs):
        raise ValueError(
            f"references must hold one recording per input, got {len(references)} for "
            f"{len(inputs)} inputs."
        )


def _mean_acf(acfs: list[list[float]]) -> list[float]:
    """Element-wise mean of lists that may differ in length (short recordings)."""
    longest = max(len(a) for a in acfs)
    return [float(np.mean([a[k] for a in acfs if len(a) > k])) for k in range(longest)]


def recording_metrics(
    inputs: Sequence[Any],
    outputs: Sequence[Any],
    references: Sequence[Any] | None = None,
    lags: int = 10,
) -> dict[str, Any]:
    """Metrics of denoised recordings, averaged over the recordings.

    Args:
        inputs: the noisy recordings, each ``(channels, samples)``.
        outputs: the denoised recordings, one per input, each of its input's shape.
        references: the clean recordings, one per input, or None.
        lags: the lags of the residual autocorrelation (see :func:`residual_metrics`).

    Returns:
        Always the :func:`residual_metrics` of the outputs against the inputs, means over
        recordings: ``residual_acf`` (averaged element-wise, each lag over the recordings
        long enough to have it), ``residual_whiteness``, ``residual_output_corr``,
        ``acf_bound``. With ``references``, also the means of the outputs'
        :func:`signal_metrics` (``snr_db``, ``si_sdr_db``, ``rmse``, ``prd``, ``corr``),
        of the inputs' (``input_snr_db``, ``input_si_sdr_db``, ``input_rmse``,
        ``input_prd``, ``input_corr``) and ``snr_gain_db = snr_db - input_snr_db``.

    Raises:
        ValueError: an empty list, lists of different lengths or recordings of different
            shapes (the message names the argument and the recording's index).

    Example:
        >>> clean = [np.sin(np.linspace(0, 20, 500))[None]]
        >>> noisy = [c + 0.1 * np.cos(np.arange(500)) for c in clean]
        >>> m = recording_metrics(noisy, clean, references=clean)
        >>> m["snr_db"], round(m["input_snr_db"], 1), round(m["snr_gain_db"], 1)
        (200.0, 19.9, 180.1)
    """
    _check_lists(inputs, outputs, references)
    rows = []
    for i, (x, y) in enumerate(zip(inputs, outputs, strict=True)):
        row = residual_metrics(*_pair((f"inputs[{i}]", f"outputs[{i}]"), x, y), lags=lags)
        if references is not None:
            _, ref = _pair((f"inputs[{i}]", f"references[{i}]"), x, references[i])
            row.update(signal_metrics(ref, y))
            row.update({f"input_{k}": v for k, v in signal_metrics(ref, x).items()})
        rows.append(row)
    out: dict[str, Any] = {"residual_acf": _mean_acf([r["residual_acf"] for r in rows])}
    for key in rows[0]:
        if key != "residual_acf":
            out[key] = float(np.mean([r[key] for r in rows]))
    if references is not None:
        out["snr_gain_db"] = out["snr_db"] - out["input_snr_db"]
    return out
