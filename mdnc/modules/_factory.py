"""N-d layer constructors: the one place that maps an order (1, 2, 3) and a name to a layer.

The string options (normalizer, activator, layer order, scaler) are validated here, so
every block accepts the same names and raises the same messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ._checks import check_choice

__all__ = [
    "NORMALIZERS",
    "ACTIVATORS",
    "LAYER_ORDERS",
    "SCALERS",
    "BLOCKS",
    "conv",
    "norm",
    "act",
    "upsample",
    "adaptive_avg_pool",
]

NORMALIZERS = ("pinst", "inst", "batch", "null")
ACTIVATORS = ("prelu", "relu", "null")
LAYER_ORDERS = ("new", "old")
SCALERS = ("down", "up")
BLOCKS = ("bottleneck", "plain")

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_INSTANCE_NORM = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)
_BATCH_NORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_POOL = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
_UPSAMPLE_MODE = ("linear", "bilinear", "trilinear")

IntOrTuple = int | Sequence[int]


def conv(
    order: int,
    in_planes: int,
    out_planes: int,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    bias: bool = False,
) -> nn.Module:
    """``nn.Conv{order}d`` with the given geometry."""
    return _CONV[order - 1](
        in_planes, out_planes, kernel_size=kernel_size, stride=stride, padding=padding, bias=bias
    )


def norm(name: str, order: int, planes: int) -> nn.Module | None:
    """The normalizer called ``name`` for ``planes`` channels, or ``None`` for ``'null'``."""
    name = check_choice("normalizer", name, NORMALIZERS)
    if name == "null":
        return None
    if name == "batch":
        return _BATCH_NORM[order - 1](planes)
    return _INSTANCE_NORM[order - 1](planes, affine=(name == "pinst"))


def act(name: str, planes: int) -> nn.Module | None:
    """The activator called ``name`` for ``planes`` channels, or ``None`` for ``'null'``."""
    name = check_choice("activator", name, ACTIVATORS)
    if name == "prelu":
        return nn.PReLU(num_parameters=planes)
    if name == "relu":
        return nn.ReLU(inplace=False)
    return None


def upsample(
    order: int, scale: Sequence[int], output_size: Sequence[int] | None = None
) -> nn.Upsample:
    """Linear/bilinear/trilinear up-sampling by ``scale`` per axis, or to ``output_size``."""
    mode = _UPSAMPLE_MODE[order - 1]
    if output_size is not None:
        return nn.Upsample(size=tuple(output_size), mode=mode, align_corners=True)
    return nn.Upsample(scale_factor=tuple(float(s) for s in scale), mode=mode, align_corners=True)


def adaptive_avg_pool(order: int, size: int = 1) -> nn.Module:
    """``nn.AdaptiveAvgPool{order}d`` to ``size`` on every axis."""
    return _POOL[order - 1]((size,) * order)
