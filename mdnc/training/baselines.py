"""Classical smoothers as baselines, their parameters tuned on validation recordings.

:data:`BASELINES` lists them by name with a parameter grid: ``"savgol"`` (Savitzky-Golay,
:func:`savgol`) and ``"wiener"`` (local Wiener filter, :func:`wiener`).
:func:`tune_baseline` picks the parameters, against clean references when there are
some, else by the self-supervised J-invariant criterion of Noise2Self (Batson & Royer,
2019; :func:`j_invariant`); :func:`apply_baseline` applies the choice.

Recordings are arrays of shape ``(channels, samples)``; smoothing runs along the last axis.

Example:
    >>> rng = np.random.default_rng(0)
    >>> clean = [np.sin(np.linspace(0, 20, 2000))[None]]
    >>> noisy = [c + 0.3 * rng.standard_normal(c.shape) for c in clean]
    >>> best = tune_baseline("savgol", noisy, clean)
    >>> best.name, sorted(best.params)
    ('savgol', ['polyorder', 'window_length'])
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mdnc._utils import check_choice, check_int

from .metrics import as_recording

__all__ = [
    "BASELINES",
    "Baseline",
    "apply_baseline",
    "j_invariant",
    "savgol",
    "tune_baseline",
    "tune_baselines",
    "wiener",
]


def _out_dtype(x: np.ndarray) -> np.dtype:
    """The input's dtype when it is floating, else float64."""
    return x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)


def savgol(x: np.ndarray, window_length: int, polyorder: int) -> np.ndarray:
    """Savitzky-Golay smoothing along the last axis (``mode="interp"``).

    Args:
        x: the recording(s), smoothed along the last axis.
        window_length: the window; clipped to the recording's length and made odd.
        polyorder: the degree of the fitted polynomials.

    Returns:
        The smoothed array, of the shape and (floating) dtype of ``x``; ``x`` unchanged
        (a copy) when the recording is too short for a window longer than ``polyorder``.

    Example:
        >>> savgol(np.array([[0.0, 3.0, 0.0, 3.0, 0.0, 3.0]]), 3, 1)
        array([[1., 1., 2., 1., 2., 2.]])
    """
    import scipy.signal

    x = np.asarray(x)
    n = x.shape[-1]
    window = min(int(window_length), n)
    window -= 1 - window % 2  # the largest odd number <= window
    if window <= polyorder:
        return x.astype(_out_dtype(x), copy=True)
    out = scipy.signal.savgol_filter(x, window, polyorder, axis=-1, mode="interp")
    return out.astype(_out_dtype(x), copy=False)


def wiener(x: np.ndarray, size: int) -> np.ndarray:
    """Local Wiener filtering of each channel along the last axis (``scipy.signal.wiener``).

    The noise power is scipy's estimate, the mean of the local variances; as in scipy,
    the local means and variances see zeros beyond the recording's ends.

    Args:
        x: the recording(s), filtered along the last axis.
        size: the window of the local mean and variance (``mysize``).

    Returns:
        The filtered array, of the shape and (floating) dtype of ``x`` (an all-zero
        channel, where scipy divides 0 by 0, comes back as zeros).

    Example:
        >>> wiener(np.zeros((2, 8), dtype=np.float32), 3).dtype
        dtype('float32')
    """
    import scipy.signal

    x = np.asarray(x)
    rows = x.reshape(-1, x.shape[-1]).astype(np.float64)
    out = np.empty_like(rows)
    for i, row in enumerate(rows):
        # 0/0 where the local variance and the noise estimate are both 0: keep the input.
        with np.errstate(divide="ignore", invalid="ignore"):
            filtered = scipy.signal.wiener(row, mysize=int(size))
        out[i] = np.where(np.isfinite(filtered), filtered, row)
    return out.reshape(x.shape).astype(_out_dtype(x), copy=False)


def _grid(**axes: Sequence[int]) -> list[dict[str, int]]:
    """Every combination of the values of ``axes``, as keyword dictionaries."""
    names = list(axes)
    return [dict(zip(names, vals, strict=True)) for vals in itertools.product(*axes.values())]


#: The baselines by name: ``(smoother, parameter grid)``, in the order they are reported.
BASELINES: dict[str, tuple[Callable[..., np.ndarray], list[dict[str, int]]]] = {
    "savgol": (
        savgol,
        [
            p
            for p in _grid(
                window_length=(5, 7, 9, 11, 15, 21, 31, 41, 61, 81, 121), polyorder=(2, 3, 4)
            )
            if p["window_length"] > p["polyorder"]
        ],
    ),
    "wiener": (wiener, _grid(size=(3, 5, 7, 9, 11, 15, 21, 31, 41, 61))),
}


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A smoother of :data:`BASELINES` with its tuned parameters.

    Attributes:
        name: the key in :data:`BASELINES`.
        params: the keyword arguments of the smoother.
        score: the tuning loss of these parameters: mean squared error per value against
            the references, or the self-supervised J-invariant loss against the inputs.
    """

    name: str
    params: dict[str, int]
    score: float


def j_invariant(
    smoother: Callable[..., np.ndarray], x: np.ndarray, spacing: int = 4, **params: Any
) -> np.ndarray:
    """The J-invariant version ``f_J(x)`` of a smoother (Noise2Self's masked prediction).

    For each phase ``j < spacing``, samples ``j, j + spacing, ...`` are replaced by the mean
    of their two direct neighbours (at an edge, by its one neighbour), the smoother runs on
    that input and its output is kept at those samples only. So ``f_J(x)[..., i]`` never
    depends on ``x[..., i]``; for noise independent between samples,
    ``E||f_J(x) - x||^2 = E||f_J(x) - clean||^2 + noise power``.

    Args:
        smoother: a function of ``(x, **params)`` smoothing along the last axis.
        x: the recording(s); a single-sample recording is predicted as 0.
        spacing: the distance between masked samples (>= 2).
        params: the smoother's keyword arguments.

    Returns:
        ``f_J(x)``, of the shape of ``x`` (float64).

    Example:
        >>> def f_j(x):
        ...     return j_invariant(savgol, x, window_length=3, polyorder=1)
        >>> x = np.array([0.0, 1.0, 5.0, 3.0, 4.0])
        >>> y = x.copy()
        >>> y[2] = 100.0
        >>> bool(f_j(x)[2] == f_j(y)[2])
        True
    """
    spacing = check_int("spacing", spacing, minimum=2)
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    prediction = np.zeros_like(x)
    if n < 2:
        return prediction
    for j in range(min(spacing, n)):
        idx = np.arange(j, n, spacing)
        left = np.where(idx > 0, idx - 1, idx + 1)
        right = np.where(idx < n - 1, idx + 1, idx - 1)
        masked = x.copy()
        masked[..., idx] = 0.5 * (x[..., left] + x[..., right])
        prediction[..., idx] = np.asarray(smoother(masked, **params))[..., idx]
    return prediction


def _segments(recordings: Sequence[np.ndarray], max_samples: int) -> list[int]:
    """Leading lengths of the recordings, proportional, with at most ``max_samples`` values."""
    sizes = [r.size for r in recordings]
    fraction = min(1.0, max_samples / sum(sizes))
    lengths = [int(r.shape[-1] * fraction) for r in recordings]
    if not any(lengths):  # fewer values allowed than recordings: the first one's start
        lengths[0] = min(recordings[0].shape[-1], max(1, max_samples // recordings[0].shape[0]))
    return lengths


def _tuning_data(
    inputs: Sequence[Any], references: Sequence[Any] | None, max_samples: int
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """``(input, reference or None)`` leading segments to tune on, checked."""
    if len(inputs) == 0:
        raise ValueError("inputs must hold at least one recording, got an empty list.")
    xs = [as_recording(f"inputs[{i}]", x) for i, x in enumerate(inputs)]
    refs: list[np.ndarray | None] = [None] * len(xs)
    if references is not None:
        if len(references) != len(xs):
            raise ValueError(
                f"references must hold one recording per input, got {len(references)} for "
                f"{len(xs)} inputs."
            )
        refs = [as_recording(f"references[{i}]", r) for i, r in enumerate(references)]
        for i, (x, r) in enumerate(zip(xs, refs, strict=True)):
            if x.shape != r.shape:
                raise ValueError(
                    f"references[{i}] must have the shape of inputs[{i}], got {r.shape} "
                    f"and {x.shape}."
                )
    lengths = _segments(xs, max_samples)
    return [
        (x[:, :m], None if r is None else r[:, :m])
        for x, r, m in zip(xs, refs, lengths, strict=True)
        if m > 0
    ]


def _loss(smoother: Callable[..., np.ndarray], data: list, params: dict[str, int]) -> float:
    """Mean squared error per value: against the references, or J-invariant against x."""
    error, count = 0.0, 0
    for x, ref in data:
        if ref is None:
            error += float(np.sum((j_invariant(smoother, x, **params) - x) ** 2))
        else:
            error += float(np.sum((smoother(x, **params) - ref) ** 2))
        count += x.size
    return error / count


def tune_baseline(
    name: str,
    inputs: Sequence[Any],
    references: Sequence[Any] | None = None,
    max_samples: int = 200_000,
) -> Baseline:
    """The parameters of baseline ``name`` that denoise ``inputs`` best.

    With ``references`` the grid point with the least squared error of the smoother's
    output against them wins. Without, the least squared error of its J-invariant
    prediction (:func:`j_invariant`, spacing 4) against the noisy inputs wins: that error
    is the error against the unknown clean signal plus the noise power, a constant (for
    noise independent between samples), so no clean data is needed.

    To bound the cost, tuning uses at most ``max_samples`` values (channels x samples) in
    all: a leading segment of every recording, of the same fraction of each.

    Args:
        name: a key of :data:`BASELINES`.
        inputs: noisy recordings, each ``(channels, samples)``.
        references: their clean versions (same shapes), or None for self-supervised tuning.
        max_samples: the most values to tune on (>= 1).

    Returns:
        The :class:`Baseline` with the best parameters and their score.

    Raises:
        ValueError: an unknown name (the message lists the valid ones), an empty list,
            or references of other lengths or shapes than the inputs.

    Example:
        >>> tune_baseline("wiener", [np.ones((1, 50))]).name
        'wiener'
    """
    name = check_choice("name", name, list(BASELINES))
    max_samples = check_int("max_samples", max_samples, minimum=1)
    data = _tuning_data(inputs, references, max_samples)
    smoother, grid = BASELINES[name]
    scores = [_loss(smoother, data, params) for params in grid]
    best = int(np.argmin(scores))
    return Baseline(name=name, params=dict(grid[best]), score=scores[best])


def apply_baseline(baseline: Baseline, x: np.ndarray) -> np.ndarray:
    """``x`` smoothed by ``baseline`` (the full smoother, nothing masked).

    Example:
        >>> apply_baseline(Baseline("savgol", {"window_length": 3, "polyorder": 1}, 0.0),
        ...                np.array([[0.0, 3.0, 0.0, 3.0, 0.0, 3.0]]))
        array([[1., 1., 2., 1., 2., 2.]])
    """
    smoother, _ = BASELINES[check_choice("baseline.name", baseline.name, list(BASELINES))]
    return smoother(x, **baseline.params)


def tune_baselines(
    inputs: Sequence[Any],
    references: Sequence[Any] | None = None,
    max_samples: int = 200_000,
) -> list[Baseline]:
    """Every baseline of :data:`BASELINES`, tuned by :func:`tune_baseline`, in table order.

    Example:
        >>> [b.name for b in tune_baselines([np.ones((1, 50))])]
        ['savgol', 'wiener']
    """
    return [tune_baseline(name, inputs, references, max_samples) for name in BASELINES]
