"""N-d residual networks: auto-encoder, U-Net, encoder and decoder.

Module names, registration order and forward arithmetic follow the documented system, so
that its checkpoints load with ``strict=True`` and give the same outputs. What differs:
bad arguments and bad inputs raise clear ``TypeError``/``ValueError`` messages, U-Nets
accept inner stages of one block, and every network scripts, traces, compiles and exports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .._utils import is_int
from . import _factory as F
from . import _fused
from ._blocks import BLOCK_DEPTH, _BlockResStkNd, _resolve_order, crop_to
from ._checks import (
    check_choice,
    check_floating,
    check_kernel,
    check_layers,
    check_like_parameters,
    check_not_empty,
    check_per_axis,
    check_positive_int,
    check_rank_and_channels,
    expected_shape,
    first_parameter,
)
from ._checks import shape_text as _shape_text
from ._layout import channels_last_allowed, run_channels_last

__all__ = ["_AENd", "_UNetNd", "_EncoderNetNd", "_DecoderNetNd"]

IntOrTuple = int | Sequence[int]


@dataclass(frozen=True)
class _Geometry:
    """Per-axis kernel, padding and resampling factor of a network's blocks and end convs."""

    kernel: tuple[int, ...]
    padding: tuple[int, ...]
    stride: tuple[int, ...]
    end_kernel: tuple[int, ...]
    end_padding: tuple[int, ...]

    @classmethod
    def from_kernel(cls, kernel: tuple[int, ...]) -> _Geometry:
        # The first and last convolutions use k + 2, except that k == 1 stays 1; an axis
        # with k == 1 is never resampled.
        end = tuple(k + 2 if k > 1 else 1 for k in kernel)
        return cls(
            kernel=kernel,
            padding=tuple(k // 2 for k in kernel),
            stride=tuple(2 if k > 1 else 1 for k in kernel),
            end_kernel=end,
            end_padding=tuple(k // 2 for k in end),
        )

    def stack_args(self, order: int, block: str) -> dict[str, Any]:
        return {"order": order, "block": block, "kernel_size": self.kernel, "padding": self.padding}


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class _NetNd(nn.Module):
    """Argument checks, ``nlayers`` and input checks shared by the four networks."""

    # Fixed by the public subclasses (AE1d.order == 1); left unannotated because TorchScript
    # would otherwise try to parse the annotation of the per-instance copy.
    order = None
    # Eager inference on CPU runs channels-last (off under MDNC_FAST=0 when built, or after
    # ``set_fused(net, False)``).
    _channels_last = True
    # Python-side conveniences that TorchScript need not compile.
    __jit_unused_properties__ = ["nlayers", "min_size", "input_size", "checkpointing"]

    def _setup(
        self, order: int | None, channel: int, layers: Sequence[int], block: str, kernel_size: Any
    ) -> tuple[int, list[int], str, _Geometry]:
        order = _resolve_order(type(self), order)
        check_positive_int("channel", channel)
        layers = check_layers(layers)
        block = check_choice("block", block, F.BLOCKS)
        geometry = _Geometry.from_kernel(check_kernel(kernel_size, order))
        self.order = order
        self._channels_last = _fused.enabled()  # MDNC_FAST=0 is read once, when built
        self._layers = layers
        self._block_depth = BLOCK_DEPTH[block]
        return order, layers, block, geometry

    @property
    def nlayers(self) -> int:
        """The number of convolutional layers along the depth of the network."""
        return sum(self._block_depth * n for n in self._layers) + 2

    @property
    def checkpointing(self) -> bool:
        """Whether training recomputes each block's activations in backward to save memory.

        Only the input of every residual block is kept during the forward pass; each block
        runs again in backward (about 30 % more time, a fraction of the activation memory).
        Inference (no gradient) is unaffected.
        """
        return any(getattr(m, "checkpointing", False) for m in self._stacks())

    @checkpointing.setter
    def checkpointing(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"checkpointing must be a bool, got {value!r}.")
        for stack in self._stacks():
            stack.checkpointing = value

    def _stacks(self) -> list[nn.Module]:
        return [m for m in self.modules() if isinstance(m, _BlockResStkNd)]

    def _describe(self) -> str:
        return f"{type(self).__name__}"

    def _check_tensor(self, x: Tensor, planes: int, what: str) -> None:
        """Check an input of ``(B, planes, *spatial)``: its type, rank, channel count and
        size (non-empty), and its dtype and device against the parameters'."""
        expected = expected_shape(self.order, what)
        who = self._describe()
        reference = first_parameter(self)
        check_floating(x, who, expected, reference)
        check_rank_and_channels(x, who, expected, self.order + 2, planes, what)
        check_not_empty(x, who, expected)
        check_like_parameters(x, who, reference)

    def _check_depth(self, x: Tensor, stride: tuple[int, ...], n_down: int) -> None:
        """Check that ``n_down`` down-samplings leave more than one element per channel.

        Instance normalization needs more than one element per channel, in training and
        evaluation alike; checking here turns a crash deep inside the network into a
        message that says which size is needed.
        """
        spatial = list(x.shape[2:])
        deepest = [_ceil_div(size, s**n_down) for size, s in zip(spatial, stride, strict=True)]
        if math.prod(deepest) > 1:
            return
        if self.order == 1:
            need = f"at least {stride[0] ** n_down + 1} samples"
        else:
            need = (
                "a size whose deepest map keeps more than one element (at least "
                + " or ".join(f"{s**n_down + 1} along axis {i + 2}" for i, s in enumerate(stride))
                + ")"
            )
        raise ValueError(
            f"{self._describe()} needs inputs of {need}: its {n_down} down-sampling(s) shrink "
            f"the spatial size {tuple(spatial)} to {tuple(deepest)}, and instance normalization "
            f"needs more than one element; got an input of shape {_shape_text(x)}."
        )

    def _validate(self, x: Tensor) -> None:
        raise NotImplementedError

    def _check_input(self, x: Tensor) -> None:
        # Called outside TorchScript only (the checks are plain Python); a traced graph
        # would record them as constants, so tracing skips them too.
        if not torch.jit.is_tracing():
            self._validate(x)

    def forward(self, x: Tensor) -> Tensor:
        """The network's output for ``x`` (its input checked first, outside TorchScript).

        At eager inference on CPU a 1-D network keeps its activations channels-last
        (:mod:`mdnc.modules._layout`); the result agrees with the stock layers to rounding.
        """
        if not torch.jit.is_scripting():
            self._check_input(x)
            if self.order == 1 and channels_last_allowed(x, self._channels_last):
                return run_channels_last(self._forward, x)
        return self._forward(x)

    def _forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError


class _FreeSizeNetNd(_NetNd):
    """A network that takes any spatial size down-sampled ``_n_down`` times (AE, U-Net, encoder)."""

    _n_down_offset = 0  # down-samplings beyond len(layers): -1 for AE/U-Net (no middle one)

    @property
    def min_size(self) -> tuple[int, ...]:
        """Per axis, the smallest size that the network accepts when every axis has it.

        An axis that is never resampled (kernel size 1) takes any size, as long as the
        deepest map keeps more than one element: when no axis is resampled, that takes 2.
        """
        n_down = len(self._layers) + self._n_down_offset
        if all(s == 1 for s in self._stride):
            return (2,) * len(self._stride)
        return tuple(s**n_down + 1 if s > 1 else 1 for s in self._stride)

    def _validate(self, x: Tensor) -> None:
        self._check_tensor(x, self.in_planes, "in_planes")
        self._check_depth(x, self._stride, len(self._layers) + self._n_down_offset)


class _AENd(_FreeSizeNetNd):
    """N-d residual auto-encoder (no skip connections between the two routes).

    Args:
        channel: channels of the first stage; doubled after each down-sampling.
        layers: blocks per stage; its length (>= 2) is the number of stages.
        block: ``'bottleneck'`` (3 convolutions per block) or ``'plain'`` (2).
        kernel_size: odd kernel size of the blocks, an int or one per axis; 1 on an axis
            means no resampling along it.
        in_planes: channels of the input.
        out_planes: channels of the output.
        order: the number of spatial axes; fixed by ``AE1d``/``AE2d``/``AE3d``.
        checkpointing: recompute each block's activations in backward to save memory
            (see :attr:`checkpointing`).

    Raises:
        TypeError, ValueError: an argument has the wrong type or value.
    """

    _skips = False
    _n_down_offset = -1

    def __init__(
        self,
        channel: int,
        layers: Sequence[int],
        block: str = "bottleneck",
        kernel_size: IntOrTuple = 3,
        in_planes: int = 1,
        out_planes: int = 1,
        *,
        order: int | None = None,
        checkpointing: bool = False,
    ) -> None:
        super().__init__()
        order, layers, block, geo = self._setup(order, channel, layers, block, kernel_size)
        self.in_planes = check_positive_int("in_planes", in_planes)
        self.out_planes = check_positive_int("out_planes", out_planes)
        self._stride = geo.stride
        args = geo.stack_args(order, block)

        self.conv_first = F.conv(order, in_planes, channel, geo.end_kernel, padding=geo.end_padding)
        # Registered before the middle stack, filled around it: the documented module order.
        self.conv_down_list = nn.ModuleList()
        self.conv_up_list = nn.ModuleList()
        c, skip_planes = self._build_down(channel, layers, geo, args)
        self.conv_middle_up = _BlockResStkNd(
            c, c, layers[-1], hidden_planes=2 * c, stride=geo.stride, scaler="up", **args
        )
        c = self._build_up(c, layers, skip_planes, geo, args)
        self.conv_final = F.conv(
            order, c, out_planes, geo.end_kernel, padding=geo.end_padding, bias=True
        )
        self.checkpointing = checkpointing

    def _build_down(
        self, channel: int, layers: list[int], geo: _Geometry, args: dict[str, Any]
    ) -> tuple[int, list[int]]:
        """Fill ``conv_down_list``; return the deepest channels and each stack's skip channels."""
        skips = self._skips
        c = channel
        skip_planes = [c]  # channels of each down stack's hidden tensor
        self.conv_down_list.append(
            _BlockResStkNd(c, c, layers[0], stride=geo.stride, export_hidden=skips, **args)
        )
        for n in layers[1:-1]:
            self.conv_down_list.append(
                _BlockResStkNd(c, 2 * c, n, stride=geo.stride, export_hidden=skips, **args)
            )
            # A one-block stage exports its input, which has half the channels.
            skip_planes.append(2 * c if n > 1 else c)
            c *= 2
        return c, skip_planes

    def _build_up(
        self,
        c: int,
        layers: list[int],
        skip_planes: list[int],
        geo: _Geometry,
        args: dict[str, Any],
    ) -> int:
        """Fill ``conv_up_list`` from ``c`` channels; return the channels of its output."""
        skips = self._skips
        for level, n in zip(range(len(layers) - 2, 0, -1), layers[-2:0:-1], strict=True):
            extra = skip_planes[level] if skips else 0
            self.conv_up_list.append(
                _BlockResStkNd(
                    c,
                    c // 2,
                    n,
                    hidden_planes=c,
                    stride=geo.stride,
                    scaler="up",
                    skip_planes=extra,
                    **args,
                )  # fmt: skip
            )
            c //= 2
        self.conv_up_list.append(
            _BlockResStkNd(
                c,
                c,
                layers[0],
                hidden_planes=c,
                stride=1,
                skip_planes=skip_planes[0] if skips else 0,
                **args,
            )  # fmt: skip
        )
        return c

    @property
    def nlayers(self) -> int:
        """The number of convolutional layers along the depth of the network."""
        d, layers = self._block_depth, self._layers
        return d * layers[-1] + sum(2 * d * n for n in layers[:-1]) + 2

    def _forward(self, x: Tensor) -> Tensor:
        x = self.conv_first(x)
        sizes: list[list[int]] = []
        for layer in self.conv_down_list:
            sizes.append(x.shape[2:])
            x = layer(x)
        x = self.conv_middle_up(x)
        n = len(sizes)
        for i, layer in enumerate(self.conv_up_list):
            # Up-sampling may add one sample per axis at odd sizes: crop back to the size of
            # the matching level, so the output has the input's size.
            x = layer(crop_to(x, sizes[n - 1 - i]))
        return self.conv_final(x)


class _UNetNd(_AENd):
    """N-d residual U-Net: the auto-encoder plus skip connections at every level.

    Each down stage also exports the input of its last block; each up stage
    concatenates it (centre-cropped to a common size) after its own input. Inner stages of
    a single block are accepted: the matching up stage is sized for the channels it really
    receives. The arguments are those of :class:`_AENd`.
    """

    _skips = True

    def _forward(self, x: Tensor) -> Tensor:
        x = self.conv_first(x)
        skips: list[Tensor] = []
        for layer in self.conv_down_list:
            x, hidden = layer(x)
            skips.append(hidden)
        x = self.conv_middle_up(x)
        n = len(skips)
        for i, layer in enumerate(self.conv_up_list):
            x = layer(x, skips[n - 1 - i])
        return self.conv_final(x)


def _check_length(name: str, value: Any) -> int | None:
    """``None``/0 mean "no vector"; a positive int is a vector length."""
    if value is None or (is_int(value) and value == 0):
        return None
    return check_positive_int(name, value)


class _EncoderNetNd(_FreeSizeNetNd):
    """N-d residual encoder: down-samples at every stage, then optionally to a vector.

    Args:
        channel: channels of the first stage; doubled at each later stage.
        layers: blocks per stage; its length (>= 2) is the number of down-samplings.
        block: ``'bottleneck'`` or ``'plain'``.
        kernel_size: odd kernel size, an int or one per axis.
        in_planes: channels of the input.
        out_length: length of the output vector (global average pooling then a linear
            layer); ``None`` or 0 returns the feature map instead.
        order: the number of spatial axes; fixed by ``EncoderNet1d/2d/3d``.
        checkpointing: recompute each block's activations in backward to save memory.

    Raises:
        TypeError, ValueError: an argument has the wrong type or value.
    """

    def __init__(
        self,
        channel: int,
        layers: Sequence[int],
        block: str = "bottleneck",
        kernel_size: IntOrTuple = 3,
        in_planes: int = 1,
        out_length: int | None = 2,
        *,
        order: int | None = None,
        checkpointing: bool = False,
    ) -> None:
        super().__init__()
        order, layers, block, geo = self._setup(order, channel, layers, block, kernel_size)
        self.in_planes = check_positive_int("in_planes", in_planes)
        out_length = _check_length("out_length", out_length)
        self.out_length = out_length
        self._stride = geo.stride
        args = geo.stack_args(order, block)
        c = channel
        netbody: list[nn.Module] = [
            F.conv(order, in_planes, c, geo.end_kernel, padding=geo.end_padding),
            _BlockResStkNd(c, c, layers[0], stride=geo.stride, **args),
        ]
        for n in layers[1:]:
            netbody.append(_BlockResStkNd(c, 2 * c, n, stride=geo.stride, **args))
            c *= 2
        netbody.append(F.conv(order, c, c, geo.kernel, padding=geo.padding, bias=True))
        if out_length is not None:
            netbody.append(F.adaptive_avg_pool(order, 1))
        self.netbody = nn.ModuleList(netbody)
        self.fc = nn.Linear(c, out_length) if out_length is not None else None
        self.checkpointing = checkpointing

    def _forward(self, x: Tensor) -> Tensor:
        for layer in self.netbody:
            x = layer(x)
        if self.fc is not None:
            return self.fc(torch.flatten(x, 1))
        return x


class _DecoderNetNd(_NetNd):
    """N-d residual decoder: up-samples at every stage to a fixed output size.

    Args:
        channel: channels of the last stage; the first stage has
            ``channel * 2 ** (len(layers) - 1)``.
        layers: blocks per stage; its length (>= 2) is the number of up-samplings.
        out_size: spatial size of the output, an int or one per axis; the input size is
            inferred from it (see :attr:`input_size`).
        block: ``'bottleneck'`` or ``'plain'``.
        kernel_size: odd kernel size, an int or one per axis.
        in_length: length of the input vector; ``None`` or 0 takes a feature map of
            :attr:`input_size` instead.
        out_planes: channels of the output.
        order: the number of spatial axes; fixed by ``DecoderNet1d/2d/3d``.
        checkpointing: recompute each block's activations in backward to save memory.

    Raises:
        TypeError, ValueError: an argument has the wrong type or value, or ``out_size``
            is too small for the depth.
    """

    def __init__(
        self,
        channel: int,
        layers: Sequence[int],
        out_size: IntOrTuple,
        block: str = "bottleneck",
        kernel_size: IntOrTuple = 3,
        in_length: int | None = 2,
        out_planes: int = 1,
        *,
        order: int | None = None,
        checkpointing: bool = False,
    ) -> None:
        super().__init__()
        order, layers, block, geo = self._setup(order, channel, layers, block, kernel_size)
        self.out_planes = check_positive_int("out_planes", out_planes)
        in_length = _check_length("in_length", in_length)
        self.in_length = in_length
        self.shapes = self._scaled_shapes(check_per_axis("out_size", out_size, order), geo.stride)
        channels = [channel * 2**i for i in range(len(layers) - 1, -1, -1)]
        self._top_planes = channels[0]
        args = geo.stack_args(order, block)
        start = self.shapes[-1]
        if in_length is not None:
            self.conv_in = F.conv(
                order, in_length, channels[0], start, padding=[s - 1 for s in start], bias=True
            )
        else:
            self.conv_in = None
        self.conv_first = F.conv(order, channels[0], channels[0], geo.kernel, padding=geo.padding)
        self.netbody = nn.ModuleList(
            _BlockResStkNd(c_in, c_out, n, stride=geo.stride, scaler="up", **args)
            for c_in, c_out, n in zip(channels, channels[1:] + channels[-1:], layers, strict=True)
        )
        self.conv_last = F.conv(
            order, channels[-1], out_planes, geo.end_kernel, padding=geo.end_padding, bias=True
        )
        self.checkpointing = checkpointing

    def _scaled_shapes(self, out_size: tuple[int, ...], stride: tuple[int, ...]) -> list[list[int]]:
        """Sizes from the output down to the input, dividing by the factor with ceiling."""
        shapes = [list(out_size)]
        for level in range(1, len(self._layers) + 1):
            prev = shapes[-1]
            if any(size < s for size, s in zip(prev, stride, strict=True)):
                raise ValueError(
                    f"out_size={out_size!r} is too small for {len(self._layers)} up-samplings "
                    f"by {stride!r}: it shrinks to {tuple(prev)} after {level - 1} of them."
                )
            shapes.append([_ceil_div(size, s) for size, s in zip(prev, stride, strict=True)])
        if math.prod(shapes[-1]) <= 1:
            raise ValueError(
                f"out_size={out_size!r} is too small for {len(self._layers)} up-samplings by "
                f"{stride!r}: the first feature map would be {tuple(shapes[-1])}, and instance "
                f"normalization needs more than one element."
            )
        return shapes

    @property
    def nlayers(self) -> int:
        """The number of convolutional layers along the depth of the network."""
        return super().nlayers + (1 if self.in_length is not None else 0)

    @property
    def input_size(self) -> tuple[int, ...]:
        """The input size without the batch axis: ``(in_length,)`` or ``(C, *spatial)``."""
        if self.in_length is not None:
            return (self.in_length,)
        return (self._top_planes, *self.shapes[-1])

    def _validate(self, x: Tensor) -> None:
        if self.in_length is None:
            self._check_tensor(x, self._top_planes, "input_size[0]")
            start = self.shapes[-1]
            if any(s < t for s, t in zip(x.shape[2:], start, strict=True)):
                raise ValueError(
                    f"{self._describe()} expects a spatial size of at least {tuple(start)} "
                    f"(input_size={self.input_size}), got a tensor of shape {_shape_text(x)}."
                )
            return
        if not isinstance(x, Tensor) or not x.is_floating_point():
            got = x.dtype if isinstance(x, Tensor) else type(x).__name__
            raise TypeError(f"{self._describe()} expects a floating-point torch.Tensor, got {got}.")
        expected = f"(B, {self.in_length})"
        if x.dim() != 2 or x.shape[1] != self.in_length:
            raise ValueError(
                f"{self._describe()} expects a vector input of shape {expected} "
                f"(in_length={self.in_length}), got a tensor of shape {_shape_text(x)}."
            )
        check_not_empty(x, self._describe(), expected)
        check_like_parameters(x, self._describe(), first_parameter(self))

    def _forward(self, x: Tensor) -> Tensor:
        if self.conv_in is not None:
            for _ in range(len(self.shapes[-1])):
                x = x.unsqueeze(-1)
            x = crop_to(self.conv_in(x), self.shapes[-1])
        x = self.conv_first(x)
        for i, layer in enumerate(self.netbody):
            x = crop_to(layer(x), self.shapes[-2 - i])
        return self.conv_last(x)
