"""Residual blocks and networks for 1-D, 2-D and 3-D data: the documented public names.

Every class here is a thin subclass of an N-d implementation with its order fixed:
``AE1d`` is ``_AENd`` with ``order = 1``, and so on. Presets build the documented
configurations (channel 64) for any order.

The networks and presets are registered in :mod:`mdnc.registry` (the blocks are not
models): a new preset is one function here, decorated with
:func:`~mdnc.registry.register_model`, and the command line, the checkpoints and the
documentation find it there.

Example:
    >>> import mdnc
    >>> net = mdnc.modules.resnet.AE1d(64, [2, 2, 2, 2, 3], in_planes=3, out_planes=1)
    >>> net.nlayers
    59
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mdnc.registry import _registered_in, get_model, get_model_info, list_models, register_model

from ._blocks import _BlockBottleneckNd, _BlockPlainNd
from ._checks import check_order
from ._nets import _AENd, _DecoderNetNd, _EncoderNetNd, _UNetNd


class BlockPlain1d(_BlockPlainNd):
    """1-D plain residual block (two convolutions); input ``(B, C, L)``."""

    order = 1


class BlockPlain2d(_BlockPlainNd):
    """2-D plain residual block (two convolutions); input ``(B, C, H, W)``."""

    order = 2


class BlockPlain3d(_BlockPlainNd):
    """3-D plain residual block (two convolutions); input ``(B, C, D, H, W)``."""

    order = 3


class BlockBottleneck1d(_BlockBottleneckNd):
    """1-D bottleneck residual block (1, k, 1 convolutions); input ``(B, C, L)``."""

    order = 1


class BlockBottleneck2d(_BlockBottleneckNd):
    """2-D bottleneck residual block (1, k, 1 convolutions); input ``(B, C, H, W)``."""

    order = 2


class BlockBottleneck3d(_BlockBottleneckNd):
    """3-D bottleneck residual block (1, k, 1 convolutions); input ``(B, C, D, H, W)``."""

    order = 3


def _pick(family: str, order: int) -> type:
    """The network class of ``family`` with ``order`` spatial axes (``"ae"``, 1: ``AE1d``)."""
    order = check_order(order)
    return get_model(list_models(kind="network", family=family, order=order)[0])


def _build_preset(name: str, order: int, kwargs: dict[str, Any], *args: Any) -> Any:
    """The network of the preset registered as ``name``, for ``order``.

    Channel, block and layers come from the registration of the preset, so that they are
    written once; ``args`` (a decoder's ``out_size``) follow ``channel, layers``.
    """
    info = get_model_info(name)
    cls = _pick(info.family, order)
    return cls(info.channel, list(info.layers), *args, block=info.block, **kwargs)


@register_model(kind="network", family="unet", order=1)
class UNet1d(_UNetNd):
    """1-D residual U-Net; ``(B, in_planes, L) -> (B, out_planes, L)``."""

    order = 1


@register_model(kind="network", family="unet", order=2)
class UNet2d(_UNetNd):
    """2-D residual U-Net; ``(B, in_planes, H, W) -> (B, out_planes, H, W)``."""

    order = 2


@register_model(kind="network", family="unet", order=3)
class UNet3d(_UNetNd):
    """3-D residual U-Net; ``(B, in_planes, D, H, W) -> (B, out_planes, D, H, W)``."""

    order = 3


@register_model(kind="preset", family="unet", block="plain", layers=(2, 1, 1), channel=64)
def unet16(order: int = 2, **kwargs: Any) -> _UNetNd:
    """UNet preset: channel 64, block 'plain', layers [2, 1, 1].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_planes``, ...).

    Returns:
        A ``UNet1d``, ``UNet2d`` or ``UNet3d`` by ``order``,
        16 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = unet16(order=1, in_planes=2)
        >>> type(net).__name__, net.nlayers, net.in_planes
        ('UNet1d', 16, 2)
    """
    return _build_preset("unet16", order, kwargs)


@register_model(kind="preset", family="unet", block="bottleneck", layers=(2, 2, 2), channel=64)
def unet32(order: int = 2, **kwargs: Any) -> _UNetNd:
    """UNet preset: channel 64, block 'bottleneck', layers [2, 2, 2].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_planes``, ...).

    Returns:
        A ``UNet1d``, ``UNet2d`` or ``UNet3d`` by ``order``,
        32 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = unet32(order=1, in_planes=2)
        >>> type(net).__name__, net.nlayers, net.in_planes
        ('UNet1d', 32, 2)
    """
    return _build_preset("unet32", order, kwargs)


@register_model(kind="preset", family="unet", block="bottleneck", layers=(2, 2, 2, 2), channel=64)
def unet44(order: int = 2, **kwargs: Any) -> _UNetNd:
    """UNet preset: channel 64, block 'bottleneck', layers [2, 2, 2, 2].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_planes``, ...).

    Returns:
        A ``UNet1d``, ``UNet2d`` or ``UNet3d`` by ``order``,
        44 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = unet44(order=1, in_planes=2)
        >>> type(net).__name__, net.nlayers, net.in_planes
        ('UNet1d', 44, 2)
    """
    return _build_preset("unet44", order, kwargs)


@register_model(kind="preset", family="unet", block="bottleneck", layers=(3, 3, 3, 3), channel=64)
def unet65(order: int = 2, **kwargs: Any) -> _UNetNd:
    """UNet preset: channel 64, block 'bottleneck', layers [3, 3, 3, 3].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_planes``, ...).

    Returns:
        A ``UNet1d``, ``UNet2d`` or ``UNet3d`` by ``order``,
        65 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = unet65(order=1, in_planes=2)
        >>> type(net).__name__, net.nlayers, net.in_planes
        ('UNet1d', 65, 2)
    """
    return _build_preset("unet65", order, kwargs)


@register_model(
    kind="preset", family="unet", block="bottleneck", layers=(3, 3, 3, 3, 3), channel=64
)
def unet83(order: int = 2, **kwargs: Any) -> _UNetNd:
    """UNet preset: channel 64, block 'bottleneck', layers [3, 3, 3, 3, 3].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_planes``, ...).

    Returns:
        A ``UNet1d``, ``UNet2d`` or ``UNet3d`` by ``order``,
        83 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = unet83(order=1, in_planes=2)
        >>> type(net).__name__, net.nlayers, net.in_planes
        ('UNet1d', 83, 2)
    """
    return _build_preset("unet83", order, kwargs)


@register_model(kind="network", family="ae", order=1)
class AE1d(_AENd):
    """1-D residual auto-encoder; ``(B, in_planes, L) -> (B, out_planes, L)``."""

    order = 1


@register_model(kind="network", family="ae", order=2)
class AE2d(_AENd):
    """2-D residual auto-encoder; ``(B, in_planes, H, W) -> (B, out_planes, H, W)``."""

    order = 2


@register_model(kind="network", family="ae", order=3)
class AE3d(_AENd):
    """3-D residual auto-encoder; ``(B, in_planes, D, H, W) -> (B, out_planes, D, H, W)``."""

    order = 3


@register_model(kind="preset", family="ae", block="plain", layers=(2, 1, 1), channel=64)
def ae16(order: int = 2, **kwargs: Any) -> _AENd:
    """AE preset: channel 64, block 'plain', layers [2, 1, 1].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_planes``, ...).

    Returns:
        A ``AE1d``, ``AE2d`` or ``AE3d`` by ``order``,
        16 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = ae16(order=1, in_planes=2)
        >>> type(net).__name__, net.nlayers, net.in_planes
        ('AE1d', 16, 2)
    """
    return _build_preset("ae16", order, kwargs)


@register_model(kind="preset", family="ae", block="bottleneck", layers=(2, 2, 2), channel=64)
def ae32(order: int = 2, **kwargs: Any) -> _AENd:
    """AE preset: channel 64, block 'bottleneck', layers [2, 2, 2].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_planes``, ...).

    Returns:
        A ``AE1d``, ``AE2d`` or ``AE3d`` by ``order``,
        32 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = ae32(order=1, in_planes=2)
        >>> type(net).__name__, net.nlayers, net.in_planes
        ('AE1d', 32, 2)
    """
    return _build_preset("ae32", order, kwargs)


@register_model(kind="preset", family="ae", block="bottleneck", layers=(2, 2, 2, 2), channel=64)
def ae44(order: int = 2, **kwargs: Any) -> _AENd:
    """AE preset: channel 64, block 'bottleneck', layers [2, 2, 2, 2].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_planes``, ...).

    Returns:
        A ``AE1d``, ``AE2d`` or ``AE3d`` by ``order``,
        44 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = ae44(order=1, in_planes=2)
        >>> type(net).__name__, net.nlayers, net.in_planes
        ('AE1d', 44, 2)
    """
    return _build_preset("ae44", order, kwargs)


@register_model(kind="preset", family="ae", block="bottleneck", layers=(3, 3, 3, 3), channel=64)
def ae65(order: int = 2, **kwargs: Any) -> _AENd:
    """AE preset: channel 64, block 'bottleneck', layers [3, 3, 3, 3].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_planes``, ...).

    Returns:
        A ``AE1d``, ``AE2d`` or ``AE3d`` by ``order``,
        65 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = ae65(order=1, in_planes=2)
        >>> type(net).__name__, net.nlayers, net.in_planes
        ('AE1d', 65, 2)
    """
    return _build_preset("ae65", order, kwargs)


@register_model(kind="preset", family="ae", block="bottleneck", layers=(3, 3, 3, 3, 3), channel=64)
def ae83(order: int = 2, **kwargs: Any) -> _AENd:
    """AE preset: channel 64, block 'bottleneck', layers [3, 3, 3, 3, 3].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_planes``, ...).

    Returns:
        A ``AE1d``, ``AE2d`` or ``AE3d`` by ``order``,
        83 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = ae83(order=1, in_planes=2)
        >>> type(net).__name__, net.nlayers, net.in_planes
        ('AE1d', 83, 2)
    """
    return _build_preset("ae83", order, kwargs)


@register_model(kind="network", family="encoder", order=1)
class EncoderNet1d(_EncoderNetNd):
    """1-D residual encoder; ``(B, in_planes, L) -> (B, out_length)``."""

    order = 1


@register_model(kind="network", family="encoder", order=2)
class EncoderNet2d(_EncoderNetNd):
    """2-D residual encoder; ``(B, in_planes, H, W) -> (B, out_length)``."""

    order = 2


@register_model(kind="network", family="encoder", order=3)
class EncoderNet3d(_EncoderNetNd):
    """3-D residual encoder; ``(B, in_planes, D, H, W) -> (B, out_length)``."""

    order = 3


@register_model(kind="preset", family="encoder", block="plain", layers=(1, 1, 1, 1, 1), channel=64)
def encnet12(order: int = 2, **kwargs: Any) -> _EncoderNetNd:
    """EncoderNet preset: channel 64, block 'plain', layers [1, 1, 1, 1, 1].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_length``, ...).

    Returns:
        A ``EncoderNet1d``, ``EncoderNet2d`` or ``EncoderNet3d`` by ``order``,
        12 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = encnet12(order=1, out_length=10)
        >>> type(net).__name__, net.nlayers, net.out_length
        ('EncoderNet1d', 12, 10)
    """
    return _build_preset("encnet12", order, kwargs)


@register_model(
    kind="preset", family="encoder", block="bottleneck", layers=(2, 2, 2, 2, 2), channel=64
)
def encnet32(order: int = 2, **kwargs: Any) -> _EncoderNetNd:
    """EncoderNet preset: channel 64, block 'bottleneck', layers [2, 2, 2, 2, 2].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_length``, ...).

    Returns:
        A ``EncoderNet1d``, ``EncoderNet2d`` or ``EncoderNet3d`` by ``order``,
        32 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = encnet32(order=1, out_length=10)
        >>> type(net).__name__, net.nlayers, net.out_length
        ('EncoderNet1d', 32, 10)
    """
    return _build_preset("encnet32", order, kwargs)


@register_model(
    kind="preset", family="encoder", block="bottleneck", layers=(3, 3, 3, 3, 3), channel=64
)
def encnet47(order: int = 2, **kwargs: Any) -> _EncoderNetNd:
    """EncoderNet preset: channel 64, block 'bottleneck', layers [3, 3, 3, 3, 3].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_length``, ...).

    Returns:
        A ``EncoderNet1d``, ``EncoderNet2d`` or ``EncoderNet3d`` by ``order``,
        47 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = encnet47(order=1, out_length=10)
        >>> type(net).__name__, net.nlayers, net.out_length
        ('EncoderNet1d', 47, 10)
    """
    return _build_preset("encnet47", order, kwargs)


@register_model(
    kind="preset", family="encoder", block="bottleneck", layers=(4, 4, 4, 4, 4), channel=64
)
def encnet62(order: int = 2, **kwargs: Any) -> _EncoderNetNd:
    """EncoderNet preset: channel 64, block 'bottleneck', layers [4, 4, 4, 4, 4].

    Args:
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``in_planes``, ``out_length``, ...).

    Returns:
        A ``EncoderNet1d``, ``EncoderNet2d`` or ``EncoderNet3d`` by ``order``,
        62 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = encnet62(order=1, out_length=10)
        >>> type(net).__name__, net.nlayers, net.out_length
        ('EncoderNet1d', 62, 10)
    """
    return _build_preset("encnet62", order, kwargs)


@register_model(kind="network", family="decoder", order=1)
class DecoderNet1d(_DecoderNetNd):
    """1-D residual decoder; ``(B, in_length) -> (B, out_planes, *out_size)``."""

    order = 1


@register_model(kind="network", family="decoder", order=2)
class DecoderNet2d(_DecoderNetNd):
    """2-D residual decoder; ``(B, in_length) -> (B, out_planes, *out_size)``."""

    order = 2


@register_model(kind="network", family="decoder", order=3)
class DecoderNet3d(_DecoderNetNd):
    """3-D residual decoder; ``(B, in_length) -> (B, out_planes, *out_size)``."""

    order = 3


@register_model(kind="preset", family="decoder", block="plain", layers=(1, 1, 1, 1, 1), channel=64)
def decnet13(out_size: int | Sequence[int], order: int = 2, **kwargs: Any) -> _DecoderNetNd:
    """DecoderNet preset: channel 64, block 'plain', layers [1, 1, 1, 1, 1].

    Args:
        out_size: spatial size of the output, an int or one per axis.
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``out_planes``, ``in_length``, ...).

    Returns:
        A ``DecoderNet1d``, ``DecoderNet2d`` or ``DecoderNet3d`` by ``order``,
        13 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = decnet13(128, order=1, in_length=10)
        >>> type(net).__name__, net.nlayers, net.in_length
        ('DecoderNet1d', 13, 10)
    """
    return _build_preset("decnet13", order, kwargs, out_size)


@register_model(
    kind="preset", family="decoder", block="bottleneck", layers=(2, 2, 2, 2, 2), channel=64
)
def decnet33(out_size: int | Sequence[int], order: int = 2, **kwargs: Any) -> _DecoderNetNd:
    """DecoderNet preset: channel 64, block 'bottleneck', layers [2, 2, 2, 2, 2].

    Args:
        out_size: spatial size of the output, an int or one per axis.
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``out_planes``, ``in_length``, ...).

    Returns:
        A ``DecoderNet1d``, ``DecoderNet2d`` or ``DecoderNet3d`` by ``order``,
        33 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = decnet33(128, order=1, in_length=10)
        >>> type(net).__name__, net.nlayers, net.in_length
        ('DecoderNet1d', 33, 10)
    """
    return _build_preset("decnet33", order, kwargs, out_size)


@register_model(
    kind="preset", family="decoder", block="bottleneck", layers=(3, 3, 3, 3, 3), channel=64
)
def decnet48(out_size: int | Sequence[int], order: int = 2, **kwargs: Any) -> _DecoderNetNd:
    """DecoderNet preset: channel 64, block 'bottleneck', layers [3, 3, 3, 3, 3].

    Args:
        out_size: spatial size of the output, an int or one per axis.
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``out_planes``, ``in_length``, ...).

    Returns:
        A ``DecoderNet1d``, ``DecoderNet2d`` or ``DecoderNet3d`` by ``order``,
        48 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = decnet48(128, order=1, in_length=10)
        >>> type(net).__name__, net.nlayers, net.in_length
        ('DecoderNet1d', 48, 10)
    """
    return _build_preset("decnet48", order, kwargs, out_size)


@register_model(
    kind="preset", family="decoder", block="bottleneck", layers=(4, 4, 4, 4, 4), channel=64
)
def decnet63(out_size: int | Sequence[int], order: int = 2, **kwargs: Any) -> _DecoderNetNd:
    """DecoderNet preset: channel 64, block 'bottleneck', layers [4, 4, 4, 4, 4].

    Args:
        out_size: spatial size of the output, an int or one per axis.
        order: 1, 2 or 3 (the number of spatial axes).
        **kwargs: passed on to the network class of that order (``kernel_size``,
            ``out_planes``, ``in_length``, ...).

    Returns:
        A ``DecoderNet1d``, ``DecoderNet2d`` or ``DecoderNet3d`` by ``order``,
        63 convolutional layers deep.

    Raises:
        ValueError: ``order`` is not 1, 2 or 3, or the network rejects an argument.

    Example:
        >>> net = decnet63(128, order=1, in_length=10)
        >>> type(net).__name__, net.nlayers, net.in_length
        ('DecoderNet1d', 63, 10)
    """
    return _build_preset("decnet63", order, kwargs, out_size)


# The documented public names: the blocks, then the networks and presets in the order they
# are registered above (the order of ``mdnc.registry.list_models``), so that a new preset
# needs no edit here.
__all__ = [
    "BlockPlain1d", "BlockPlain2d", "BlockPlain3d",
    "BlockBottleneck1d", "BlockBottleneck2d", "BlockBottleneck3d",
    *_registered_in(__name__),
]  # fmt: skip
