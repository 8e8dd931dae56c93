"""Argument and input validation shared by every block and network.

Each helper raises ``TypeError`` for a value of the wrong type and ``ValueError`` for a
value of the right type but out of range; the message names the argument, what was
received and what is accepted. Integers, choices and orders are checked by
:mod:`mdnc._utils` (integers: Python or numpy ones, never ``bool``; the order there, so
that :mod:`mdnc.registry` can use it without importing torch); the network-specific
checks are here.

The input checks (:func:`check_floating`, :func:`check_rank_and_channels`,
:func:`check_not_empty`, :func:`check_like_parameters`) run at every forward of a network
or of a block used on its own; each costs well under a microsecond on a valid input (the
dtype and device are compared with those of the module's first parameter, found by
:func:`first_parameter` without building a generator).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from .._utils import check_choice as _check_choice
from .._utils import check_int, check_order, is_int

__all__ = [
    "check_order",
    "check_positive_int",
    "check_choice",
    "check_layers",
    "check_kernel",
    "check_per_axis",
    "autocast_dtype",
    "autocast_enabled",
    "check_floating",
    "check_like_parameters",
    "check_not_empty",
    "check_rank_and_channels",
    "expected_shape",
    "first_parameter",
    "shape_text",
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


# ---------------------------------------------------------------------------------------
# Input tensors
# ---------------------------------------------------------------------------------------


def shape_text(x: Tensor) -> str:
    """The shape of ``x`` as ``(2, 1, 64)``."""
    return "(" + ", ".join(str(s) for s in x.shape) + ("," if x.dim() == 1 else "") + ")"


@functools.lru_cache(maxsize=64)
def expected_shape(order: int, what: str) -> str:
    """The shape a module of ``order`` spatial axes takes: ``(B, in_planes, S1, S2)``."""
    axes = ("L",) if order == 1 else tuple(f"S{i + 1}" for i in range(order))
    return f"(B, {what}, {', '.join(axes)})"


def first_parameter(module: nn.Module) -> Tensor | None:
    """The first parameter of ``module`` in ``parameters()`` order, or ``None``.

    A depth-first walk of ``_parameters`` and ``_modules`` that stops at the first one: a
    few dictionary lookups instead of the generators of ``next(module.parameters())``.
    Replicas made by ``nn.DataParallel`` hold their parameters as plain attributes: none
    is found there, and the checks that need one are skipped.
    """
    for p in module._parameters.values():
        if p is not None:
            return p
    for child in module._modules.values():
        if child is not None:
            p = first_parameter(child)
            if p is not None:
                return p
    return None


def _autocast_by_device() -> bool:
    """Whether ``torch.is_autocast_enabled`` takes a device type (PyTorch 2.4 and later)."""
    try:
        torch.is_autocast_enabled("cpu")
    except TypeError:  # pragma: no cover - older PyTorch
        return False
    return True


_AUTOCAST_BY_DEVICE = _autocast_by_device()


def autocast_enabled(device_type: str) -> bool:
    """Whether ``torch.autocast`` is on for ``device_type`` (``"cpu"``, ``"cuda"``, ...)."""
    try:
        if _AUTOCAST_BY_DEVICE:
            return torch.is_autocast_enabled(device_type)
        if device_type == "cpu":  # pragma: no cover - older PyTorch
            return torch.is_autocast_cpu_enabled()
        return torch.is_autocast_enabled()  # pragma: no cover - older PyTorch (CUDA)
    except RuntimeError:  # a device type without autocast ("meta")
        return False


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """The lower precision ``torch.autocast`` runs in on ``device_type``; ``None`` when off."""
    if not autocast_enabled(device_type):
        return None
    if _AUTOCAST_BY_DEVICE:
        return torch.get_autocast_dtype(device_type)
    if device_type == "cpu":  # pragma: no cover - older PyTorch
        return torch.get_autocast_cpu_dtype()
    return torch.get_autocast_gpu_dtype()  # pragma: no cover - older PyTorch (CUDA)


def check_floating(x: Any, who: str, expected: str, reference: Tensor | None) -> None:
    """Raise ``TypeError`` unless ``x`` is a floating-point ``torch.Tensor``.

    Args:
        x: the input.
        who: the module, for the message (``"AE1d"``).
        expected: its expected shape, for the message (``"(B, in_planes, L)"``).
        reference: a parameter of the module, whose dtype the message suggests.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} expects a torch.Tensor {expected}, got {type(x).__name__}.")
    if not x.is_floating_point():
        dtype = reference.dtype if reference is not None else torch.get_default_dtype()
        raise TypeError(
            f"{who} expects a floating-point tensor, got dtype {x.dtype}; convert it with "
            f"x.to({dtype})."
        )


def check_rank_and_channels(
    x: Tensor, who: str, expected: str, ndim: int, planes: int, what: str
) -> None:
    """Raise ``ValueError`` unless ``x`` has ``ndim`` dimensions and ``planes`` channels.

    Args:
        x: the input tensor.
        who: the module, for the message.
        expected: its expected shape, for the message (``"(B, in_planes, L)"``).
        ndim: the number of dimensions it must have.
        planes: the size it must have along axis 1.
        what: where ``planes`` comes from, for the message (``"in_planes"``).
    """
    if x.dim() != ndim:
        raise ValueError(
            f"{who} expects a {ndim}-D tensor {expected}, got a {x.dim()}-D tensor of shape "
            f"{shape_text(x)}."
        )
    if x.shape[1] != planes:
        raise ValueError(
            f"{who} expects {planes} input channels ({what}), got {x.shape[1]} channels in a "
            f"tensor of shape {shape_text(x)}."
        )


def check_not_empty(x: Tensor, who: str, expected: str) -> None:
    """Raise ``ValueError`` if ``x`` has an axis of size 0 (an empty batch, say).

    Args:
        x: the input tensor (its rank already checked).
        who: the module, for the message.
        expected: its expected shape, for the message.
    """
    if x.numel() != 0:
        return
    axis = list(x.shape).index(0)
    which = "the batch axis 0" if axis == 0 else f"axis {axis}"
    raise ValueError(
        f"{who} expects a non-empty tensor {expected}, got shape {shape_text(x)}: {which} "
        f"has size 0."
    )


def check_like_parameters(
    x: Tensor, who: str, reference: Tensor | None, holder: str = "net"
) -> None:
    """Raise unless ``x`` has the dtype and the device of the module's parameters.

    Under ``torch.autocast`` (for ``x``'s device type) a float32 module also takes inputs
    of autocast's dtype (``bfloat16`` on CPU by default): mixed precision is what autocast
    is for. Other mixes (``float64`` inputs, ``float16`` under ``bfloat16`` autocast) fail
    inside PyTorch's layers, so they are refused here with the fix.

    Args:
        x: the input tensor.
        who: the module, for the message.
        reference: a parameter of the module (``None``: nothing to compare with).
        holder: how the module is called in the suggested fix (``net.to(...)``).

    Raises:
        TypeError: another floating dtype than the parameters' (or autocast's).
        ValueError: another device than the parameters'.
    """
    if reference is None:
        return
    if x.dtype != reference.dtype:
        _check_mixed_dtype(x, who, reference.dtype, holder)
    if x.device != reference.device:
        raise ValueError(
            f"{who} expects an input on {reference.device} (the device of its parameters), "
            f"got one on {x.device}; move the input with x.to('{reference.device}'), or the "
            f"module with {holder}.to('{x.device}')."
        )


def _check_mixed_dtype(x: Tensor, who: str, dtype: torch.dtype, holder: str) -> None:
    """Raise ``TypeError`` unless autocast makes an input of ``x.dtype`` legitimate for
    parameters of ``dtype`` (another dtype than ``x``'s)."""
    lower = autocast_dtype(x.device.type)
    if lower is None:
        raise TypeError(
            f"{who} expects {dtype} input (the dtype of its parameters), got {x.dtype}; "
            f"convert the input with x.to({dtype}), or the module with {holder}.to({x.dtype}), "
            f"or run it under torch.autocast."
        )
    if dtype == torch.float32 and x.dtype == lower:
        return
    if dtype == torch.float32:
        accepted = f"{dtype} or {lower} input (the dtype of its parameters, or autocast's)"
    else:  # autocast lowers float32 tensors only
        accepted = f"{dtype} input (the dtype of its parameters)"
    raise TypeError(
        f"{who} under torch.autocast({x.device.type!r}, dtype={lower}) expects {accepted}, "
        f"got {x.dtype}; convert the input with x.to({dtype})."
    )
