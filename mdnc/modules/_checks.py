"""Argument validation shared by every block and network.

Each helper raises ``TypeError`` for a value of the wrong type and ``ValueError`` for a
value of the right type but out of range; the message names the argument, what was
received and what is accepted. Integers, choices and orders are checked by
:mod:`mdnc._utils` (integers: Python or numpy ones, never ``bool``; the order there, so
that :mod:`mdnc.registry` can use it without importing torch); the network-specific
checks are here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._utils import check_choice as _check_choice
from .._utils import check_int, check_order, is_int

__all__ = [
    "check_order",
    "check_positive_int",
    "check_choice",
    "check_layers",
    "check_kernel",
    "check_per_axis",
]


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer (not ``bool``) >= ``minimum``."""
    return check_int(name, value, minimum)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` lower-cased if it is one of ``choices`` (case-insensitive)."""
    return _check_choice(name, value, choices, casefold=True)


def check_layers(layers: Any, minimum_stages: int = 2) -> list[int]:
    """Return ``layers`` as a list of positive ints with at least ``minimum_stages`` items."""
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(
            f"layers must be a sequence of ints >= 1 (blocks per stage), "
            f"got {layers!r} ({type(layers).__name__})."
        )
    layers = list(layers)
    if len(layers) < minimum_stages:
        raise ValueError(
            f"layers must hold at least {minimum_stages} stages (one int per stage), "
            f"got {layers!r}."
        )
    for i, n in enumerate(layers):
        if not is_int(n) or n < 1:
            raise ValueError(
                f"layers must hold ints >= 1 (blocks per stage), got layers[{i}] = {n!r} "
                f"in {layers!r}."
            )
    return [int(n) for n in layers]


def check_per_axis(name: str, value: Any, order: int, minimum: int = 1) -> tuple[int, ...]:
    """Return ``value`` as a tuple of ``order`` ints >= ``minimum`` (an int is repeated)."""
    if is_int(value):
        values: tuple[Any, ...] = (value,) * order
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        values = tuple(value)
        if len(values) != order:
            raise ValueError(
                f"{name} must be an int or a sequence of {order} ints (one per axis), "
                f"got {value!r} with {len(values)} values."
            )
    else:
        raise TypeError(
            f"{name} must be an int or a sequence of {order} ints, got {value!r} "
            f"({type(value).__name__})."
        )
    for v in values:
        if not is_int(v) or v < minimum:
            raise ValueError(f"{name} must hold ints >= {minimum}, got {value!r}.")
    return tuple(int(v) for v in values)


def check_kernel(kernel_size: Any, order: int) -> tuple[int, ...]:
    """Return the per-axis kernel sizes; each must be a positive odd int.

    Even kernels cannot keep the lengths of the residual branch and the shortcut equal,
    so they are rejected here instead of failing later with a shape error.
    """
    kernel = check_per_axis("kernel_size", kernel_size, order)
    if any(k % 2 == 0 for k in kernel):
        raise ValueError(
            f"kernel_size must be odd (1, 3, 5, ...) on every axis so that lengths stay "
            f"consistent, got {kernel_size!r}."
        )
    return kernel
