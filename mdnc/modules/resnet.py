"""Residual blocks and networks for 1-D, 2-D and 3-D data: the documented public names.

Every class here is a thin subclass of an N-d implementation with its order fixed:
``AE1d`` is ``_AENd`` with ``order = 1``, and so on. Presets build the documented
configurations (channel 64) for any order.

Example:
    >>> import mdnc
    >>> net = mdnc.modules.resnet.AE1d(64, [2, 2, 2, 2, 3], in_planes=3, out_planes=1)
    >>> net.nlayers
    59
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._blocks import _BlockBottleneckNd, _BlockPlainNd
from ._nets import _AENd, _DecoderNetNd, _EncoderNetNd, _UNetNd

__all__ = [
    "BlockPlain1d", "BlockPlain2d", "BlockPlain3d",
    "BlockBottleneck1d", "BlockBottleneck2d", "BlockBottleneck3d",
    "UNet1d", "UNet2d", "UNet3d", "unet16", "unet32", "unet44", "unet65", "unet83",
    "AE1d", "AE2d", "AE3d", "ae16", "ae32", "ae44", "ae65", "ae83",
    "EncoderNet1d", "EncoderNet2d", "EncoderNet3d",
    "encnet12", "encnet32", "encnet47", "encnet62",
    "DecoderNet1d", "DecoderNet2d", "DecoderNet3d",
    "decnet13", "decnet33", "decnet48", "decnet63",
]  # fmt: skip


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


class AE1d(_AENd):
    """1-D residual auto-encoder; ``(B, in_planes, L) -> (B, out_planes, L)``."""

    order = 1


class AE2d(_AENd):
    """2-D residual auto-encoder; ``(B, in_planes, H, W) -> (B, out_planes, H, W)``."""

    order = 2


class AE3d(_AENd):
    """3-D residual auto-encoder; ``(B, in_planes, D, H, W) -> (B, out_planes, D, H, W)``."""

    order = 3


class UNet1d(_UNetNd):
    """1-D residual U-Net; ``(B, in_planes, L) -> (B, out_planes, L)``."""

    order = 1


class UNet2d(_UNetNd):
    """2-D residual U-Net; ``(B, in_planes, H, W) -> (B, out_planes, H, W)``."""

    order = 2


class UNet3d(_UNetNd):
    """3-D residual U-Net; ``(B, in_planes, D, H, W) -> (B, out_planes, D, H, W)``."""

    order = 3


class EncoderNet1d(_EncoderNetNd):
    """1-D residual encoder; ``(B, in_planes, L) -> (B, out_length)``."""

    order = 1


class EncoderNet2d(_EncoderNetNd):
    """2-D residual encoder; ``(B, in_planes, H, W) -> (B, out_length)``."""

    order = 2


class EncoderNet3d(_EncoderNetNd):
    """3-D residual encoder; ``(B, in_planes, D, H, W) -> (B, out_length)``."""

    order = 3


class DecoderNet1d(_DecoderNetNd):
    """1-D residual decoder; ``(B, in_length) -> (B, out_planes, *out_size)``."""

    order = 1


class DecoderNet2d(_DecoderNetNd):
    """2-D residual decoder; ``(B, in_length) -> (B, out_planes, *out_size)``."""

    order = 2


class DecoderNet3d(_DecoderNetNd):
    """3-D residual decoder; ``(B, in_length) -> (B, out_planes, *out_size)``."""

    order = 3


_CLASSES: dict[str, tuple[type, type, type]] = {
    "ae": (AE1d, AE2d, AE3d),
    "unet": (UNet1d, UNet2d, UNet3d),
    "encoder": (EncoderNet1d, EncoderNet2d, EncoderNet3d),
    "decoder": (DecoderNet1d, DecoderNet2d, DecoderNet3d),
}


def _pick(family: str, order: int) -> type:
    if isinstance(order, bool) or order not in (1, 2, 3):
        raise ValueError(f"order must be 1, 2 or 3 (the number of spatial axes), got {order!r}.")
    return _CLASSES[family][order - 1]


def _preset(family: str, block: str, layers: Sequence[int]):  # noqa: ANN202
    def build(order: int = 2, **kwargs: Any):  # noqa: ANN202
        return _pick(family, order)(64, list(layers), block=block, **kwargs)

    return build


def _decoder_preset(block: str, layers: Sequence[int]):  # noqa: ANN202
    def build(out_size: int | Sequence[int], order: int = 2, **kwargs: Any) -> _DecoderNetNd:
        return _pick("decoder", order)(64, list(layers), out_size, block=block, **kwargs)

    return build


def _named(fn, name: str, cls_doc: str, block: str, layers: Sequence[int]):  # noqa: ANN001, ANN202
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (
        f"{cls_doc} preset: channel 64, block {block!r}, layers {list(layers)}.\n\n"
        f"Args:\n"
        + (
            "    out_size: spatial size of the output, an int or one per axis.\n"
            if cls_doc.startswith("Decoder")
            else ""
        )
        + "    order: 1, 2 or 3 (the number of spatial axes).\n"
        "    **kwargs: passed on to the network class of that order (``kernel_size``,\n"
        "        ``in_planes``, ``out_planes``, ``out_length``, ``in_length``, ...).\n"
    )
    return fn


_PRESETS = {
    "ae": [("ae16", "plain", [2, 1, 1]), ("ae32", "bottleneck", [2, 2, 2]),
           ("ae44", "bottleneck", [2, 2, 2, 2]), ("ae65", "bottleneck", [3, 3, 3, 3]),
           ("ae83", "bottleneck", [3, 3, 3, 3, 3])],
    "unet": [("unet16", "plain", [2, 1, 1]), ("unet32", "bottleneck", [2, 2, 2]),
             ("unet44", "bottleneck", [2, 2, 2, 2]), ("unet65", "bottleneck", [3, 3, 3, 3]),
             ("unet83", "bottleneck", [3, 3, 3, 3, 3])],
    "encoder": [("encnet12", "plain", [1] * 5), ("encnet32", "bottleneck", [2] * 5),
                ("encnet47", "bottleneck", [3] * 5), ("encnet62", "bottleneck", [4] * 5)],
    "decoder": [("decnet13", "plain", [1] * 5), ("decnet33", "bottleneck", [2] * 5),
                ("decnet48", "bottleneck", [3] * 5), ("decnet63", "bottleneck", [4] * 5)],
}  # fmt: skip
_DOC = {"ae": "AE", "unet": "UNet", "encoder": "EncoderNet", "decoder": "DecoderNet"}

PRESETS: dict[str, Any] = {
    name: _named(
        _decoder_preset(block, layers) if family == "decoder" else _preset(family, block, layers),
        name, _DOC[family] + "Nd", block, layers,
    )
    for family, table in _PRESETS.items()
    for name, block, layers in table
}  # fmt: skip

unet16 = PRESETS["unet16"]
unet32 = PRESETS["unet32"]
unet44 = PRESETS["unet44"]
unet65 = PRESETS["unet65"]
unet83 = PRESETS["unet83"]
ae16 = PRESETS["ae16"]
ae32 = PRESETS["ae32"]
ae44 = PRESETS["ae44"]
ae65 = PRESETS["ae65"]
ae83 = PRESETS["ae83"]
encnet12 = PRESETS["encnet12"]
encnet32 = PRESETS["encnet32"]
encnet47 = PRESETS["encnet47"]
encnet62 = PRESETS["encnet62"]
decnet13 = PRESETS["decnet13"]
decnet33 = PRESETS["decnet33"]
decnet48 = PRESETS["decnet48"]
decnet63 = PRESETS["decnet63"]
