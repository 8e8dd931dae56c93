"""Channels-last inference for the 1-D networks: activations kept as ``(B, C, L)`` tensors
laid out ``(B, L, C)`` in memory (NWC) from the first convolution to the last.

oneDNN's 1-D convolutions on the usual NCW layout run at a fraction of its channels-last
kernels when the channel count is small (16 to 64 channels: 3 to 10 times slower on the
project's CPU), and its linear up-sampling likewise. At inference (no autograd recording,
CPU float tensors, eager mode) :func:`run_channels_last` runs a network's forward under
:class:`ChannelsLastMode`, a ``TorchFunctionMode`` that routes the few layout-sensitive
operators to their channels-last forms:

* ``conv1d`` -> ``conv2d`` of the ``(B, C, 1, L)`` channels-last view (its output is again
  NWC), with the kernel the same numbers;
* linear ``interpolate`` -> bilinear on that view (a height of 1 keeps it linear);
* ``cat`` along the channels -> concatenation along the last axis of the ``(B, L, C)`` view;
* ``instance_norm`` (affine, input statistics) -> the fused kernel's NWC form (the branch
  units' fused instance norm + PReLU takes NWC inputs as they are).

Every other operator sees a strided tensor and computes as usual, so anything the mode
does not route stays correct (only slower). The output is made contiguous again. Results
agree with the stock NCW layers to rounding (within 1e-5 relative; the tests check every
network). :func:`channels_last_allowed` decides, when the network is called, whether the
mode runs: never while scripting, tracing, compiling or exporting (the graph must hold
the stock operators), nor when autograd records (training keeps its own fused path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.overrides import TorchFunctionMode

from . import _fused
from ._fused._torch_compat import layout_call_allowed
from ._units import _identity_slope

__all__ = ["ChannelsLastMode", "channels_last_allowed", "run_channels_last"]

_FLOATS = (torch.float32, torch.float64)


def is_nwc(x: Tensor) -> bool:
    """Whether ``x`` is a ``(B, C, L)`` tensor stored as ``(B, L, C)`` without gaps."""
    if x.dim() != 3:
        return False
    b, c, n = x.shape
    return x.stride(1) == 1 and (n == 1 or x.stride(2) == c) and (b == 1 or x.stride(0) == c * n)


def to_nwc(x: Tensor) -> Tensor:
    """``x`` laid out NWC (a copy unless it is already; one channel is both layouts)."""
    if x.size(1) == 1 and x.is_contiguous():
        return x
    return x if is_nwc(x) else x.transpose(1, 2).contiguous().transpose(1, 2)


def _pair(value: Any, fill: int) -> Any:
    if isinstance(value, str):
        return value
    first = value[0] if isinstance(value, (tuple, list)) else value
    return (fill, first)


def _nhwc_view(x: Tensor) -> Tensor:
    """The ``(B, C, 1, L)`` channels-last view of ``x`` laid out NWC (a copy unless it is).

    The strides are spelled out: with one channel (or one sample) a plain ``unsqueeze`` is
    contiguous in both formats, and oneDNN would then answer in the NCHW one.
    """
    x = to_nwc(x)
    b, c, n = x.shape
    return x.as_strided((b, c, 1, n), (n * c, 1, n * c, c))


def _conv1d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
            padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:  # fmt: skip
    view = _nhwc_view(x)
    y = F.conv2d(view, weight.unsqueeze(2), bias, _pair(stride, 1), _pair(padding, 0),
                 _pair(dilation, 1), groups)  # fmt: skip
    return y.squeeze(2)


def _interpolate(x: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, **kwargs: Any) -> Tensor:  # fmt: skip
    if mode != "linear" or x.dim() != 3:
        return F.interpolate(x, size, scale_factor, mode, align_corners, **kwargs)
    view = _nhwc_view(x)
    if size is not None:
        size, scale_factor = _pair(size, 1), None
    else:
        scale_factor = _pair(scale_factor, 1)
    y = F.interpolate(view, size, scale_factor, "bilinear", align_corners, **kwargs)
    return y.squeeze(2)


def _cat(tensors: Any, dim: int = 0, **kwargs: Any) -> Tensor:
    if kwargs or dim not in (1, -2) or not all(t.dim() == 3 for t in tensors):
        return torch.cat(tensors, dim, **kwargs)
    return torch.cat([to_nwc(t).transpose(1, 2) for t in tensors], 2).transpose(1, 2)


def _instance_norm(x: Tensor, running_mean: Tensor | None = None,
                   running_var: Tensor | None = None, weight: Tensor | None = None,
                   bias: Tensor | None = None, use_input_stats: bool = True,
                   momentum: float = 0.1, eps: float = 1e-5) -> Tensor:  # fmt: skip
    if is_nwc(x) and use_input_stats and weight is not None and bias is not None:
        if x.size(1) > 1 and x.dtype in _FLOATS and weight.dtype == x.dtype and _fused.loaded():
            slope = _identity_slope(x.dtype)
            return _fused.fused_instance_norm_prelu(x, weight, bias, slope, eps)
    return F.instance_norm(x, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)  # fmt: skip


_ROUTES: dict[Any, Callable[..., Tensor]] = {
    F.conv1d: _conv1d,
    torch.conv1d: _conv1d,
    F.interpolate: _interpolate,
    torch.cat: _cat,
    F.instance_norm: _instance_norm,
}


class ChannelsLastMode(TorchFunctionMode):
    """Routes ``conv1d``, linear ``interpolate``, ``cat`` and ``instance_norm`` of CPU
    tensors to their channels-last forms; every other call runs unchanged."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None):  # noqa: ANN204
        route = _ROUTES.get(func)
        if route is None:
            return func(*args, **(kwargs or {}))
        x = args[0] if args else None
        if func is torch.cat:
            x = x[0] if isinstance(x, (list, tuple)) and x else None
        if not isinstance(x, Tensor) or x.dim() != 3 or not x.is_cpu or x.dtype not in _FLOATS:
            return func(*args, **(kwargs or {}))
        return route(*args, **(kwargs or {}))


def channels_last_allowed(x: Tensor, enabled: bool) -> bool:
    """Whether a 1-D network's forward on ``x`` (``(B, C, L)``, or a decoder's vectors)
    may run channels-last now.

    Args:
        x: the network's input.
        enabled: the network's own switch, set when it is built (off under
            ``MDNC_FAST=0``) and by ``set_fused``.

    It runs only where it was found faster than the NCW layers on this host
    (:func:`mdnc.modules._fused.chosen`, forced on by ``MDNC_FAST=1``).
    """
    if not enabled or not layout_call_allowed(x):
        return False
    return x.dtype in _FLOATS and x.numel() > 0 and _fused.chosen("channels_last")


def run_channels_last(forward: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``forward(x)`` under :class:`ChannelsLastMode`, its output contiguous (NCW)."""
    with ChannelsLastMode():
        y = forward(x)
    return y.contiguous()
