"""Residual blocks and stacks of blocks, for any order (1-D, 2-D, 3-D).

The module tree, the class names and the ``state_dict`` keys follow the documented
system exactly (checkpoints are interchangeable):

* a *branch unit* is an ``nn.Sequential`` of ``[Norm, Act, (Upsample,) Conv]`` (layer order
  ``'new'``), ``[(Upsample,) Conv, Norm, Act]`` (``'old'``) or ``[(Upsample,) Conv, Act]``
  (normalizer ``'null'``);
* a block holds ``conv1``, ``conv2`` (, ``conv3``) and the shortcut ``in_node``;
* a stack (``_BlockResStkNd``) holds ``conv_list`` (stride-1 blocks) and ``conv_scale``
  (the block that resamples).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from . import _factory as F
from ._checks import (
    check_choice,
    check_floating,
    check_kernel,
    check_like_parameters,
    check_not_empty,
    check_order,
    check_per_axis,
    check_positive_int,
    check_rank_and_channels,
    expected_shape,
    first_parameter,
    shape_text,
)
from ._units import BranchUnit

__all__ = ["_BlockPlainNd", "_BlockBottleneckNd", "_BlockResStkNd", "block_class", "BLOCK_DEPTH"]

IntOrTuple = int | Sequence[int]


def _resolve_order(cls: type, order: int | None) -> int:
    """The order fixed by a public subclass (``BlockPlain1d.order == 1``) or the given one."""
    fixed = getattr(cls, "order", None)
    if fixed is None:
        if order is None:
            raise TypeError(f"{cls.__name__} needs order=1, 2 or 3 (the number of spatial axes).")
        return check_order(order)
    if order is not None and order != fixed:
        raise ValueError(
            f"{cls.__name__} is {fixed}-D: order must be {fixed} or omitted, got {order!r}."
        )
    return fixed


def _is_resampling(stride: tuple[int, ...], output_size: Any, scaler: str) -> bool:
    return (scaler == "up" and output_size is not None) or any(s > 1 for s in stride)


def branch_unit(
    order: int,
    in_planes: int,
    out_planes: int,
    kernel_size: IntOrTuple,
    stride: tuple[int, ...],
    padding: IntOrTuple,
    output_size: Sequence[int] | None,
    scaler: str,
    normalizer: str,
    activator: str,
    layer_order: str,
) -> nn.Sequential:
    """One convolution with its normalizer and activator, in the requested order."""
    up = scaler == "up" and _is_resampling(stride, output_size, scaler)
    layers: list[nn.Module | None] = []
    if up:
        layers.append(F.upsample(order, stride, output_size))
    layers.append(
        F.conv(
            order,
            in_planes,
            out_planes,
            kernel_size,
            stride=1 if up else stride,
            padding=padding,
            bias=normalizer == "null",
        )
    )
    if normalizer == "null":
        layers.append(F.act(activator, out_planes))
    elif layer_order == "new":
        layers = [F.norm(normalizer, order, in_planes), F.act(activator, in_planes), *layers]
    else:
        layers += [F.norm(normalizer, order, out_planes), F.act(activator, out_planes)]
    return BranchUnit(*(m for m in layers if m is not None))


def shortcut(
    order: int,
    in_planes: int,
    out_planes: int,
    stride: tuple[int, ...],
    output_size: Sequence[int] | None,
    scaler: str,
    normalizer: str,
) -> nn.Sequential | None:
    """The projection shortcut, or ``None`` (identity) when shapes already agree.

    With ``scaler='up'`` the shortcut always starts with an ``nn.Upsample``, even with a
    factor of 1: the documented system does so and its ``state_dict`` keys depend on it.
    """
    if not (_is_resampling(stride, output_size, scaler) or in_planes != out_planes):
        return None
    bias = normalizer == "null"
    if scaler == "up":
        layers = [
            F.upsample(order, stride, output_size),
            F.conv(order, in_planes, out_planes, 1, bias=bias),
        ]
    else:
        layers = [F.conv(order, in_planes, out_planes, 1, stride=stride, bias=bias)]
    normalization = F.norm(normalizer, order, out_planes)
    if normalization is not None:
        layers.append(normalization)
    return nn.Sequential(*layers)


def _check_padding(padding: Any, kernel: tuple[int, ...], order: int) -> tuple[int, ...]:
    """Return the per-axis padding; it must be ``kernel_size // 2`` on every axis.

    Any other padding makes the residual branch longer or shorter than the shortcut, and
    every forward would fail adding them: it is rejected here instead.
    """
    pads = check_per_axis("padding", padding, order, minimum=0)
    need = tuple(k // 2 for k in kernel)
    if pads != need:
        shown = need[0] if len(set(need)) == 1 else need
        raise ValueError(
            f"padding must be kernel_size // 2 on every axis ({shown!r} for kernel_size="
            f"{kernel_text(kernel)}) so that the branch keeps the shortcut's size, got "
            f"{padding!r}."
        )
    return pads


def kernel_text(kernel: tuple[int, ...]) -> str:
    """``3`` for ``(3, 3)``, ``(3, 1)`` for ``(3, 1)``: a kernel as it is usually given."""
    return str(kernel[0]) if len(set(kernel)) == 1 else str(kernel)


class _BlockNd(nn.Module):
    """Shared construction and input checks of the plain and bottleneck residual blocks.

    A block used on its own checks its input at every call (outside TorchScript and
    tracing), like the networks; the blocks inside a network do not (the network has
    checked its input): their stack clears :attr:`_check_inputs`.
    """

    __constants__ = ["inplace_add"]
    # Python-side bookkeeping of the input checks, which TorchScript never runs.
    __jit_ignored_attributes__: ClassVar[list[str]] = [
        "_check_inputs", "_order", "_stride", "_output_size", "_scaler", "_normalizer",
    ]  # fmt: skip

    order: ClassVar[int | None] = None
    depth: ClassVar[int] = 0
    #: Whether ``forward`` checks its input; cleared on the blocks a network owns.
    _check_inputs = True

    def __init__(
        self,
        in_planes: int,
        out_planes: int,
        kernel_size: IntOrTuple = 3,
        stride: IntOrTuple = 1,
        padding: IntOrTuple = 1,
        output_size: IntOrTuple | None = None,
        normalizer: str = "pinst",
        activator: str = "prelu",
        layer_order: str = "new",
        scaler: str = "down",
        *,
        order: int | None = None,
    ) -> None:
        super().__init__()
        order = _resolve_order(type(self), order)
        check_positive_int("in_planes", in_planes)
        check_positive_int("out_planes", out_planes)
        kernel = check_kernel(kernel_size, order)
        strides = check_per_axis("stride", stride, order)
        _check_padding(padding, kernel, order)
        normalizer = check_choice("normalizer", normalizer, F.NORMALIZERS)
        activator = check_choice("activator", activator, F.ACTIVATORS)
        layer_order = check_choice("layer_order", layer_order, F.LAYER_ORDERS)
        scaler = check_choice("scaler", scaler, F.SCALERS)
        output_size = _check_output_size(output_size, scaler, normalizer, order)
        self.in_planes = in_planes
        self.out_planes = out_planes
        self._order, self._stride, self._output_size = order, strides, output_size
        self._scaler, self._normalizer = scaler, normalizer
        self._build(
            order, in_planes, out_planes, kernel, strides, padding, output_size,
            normalizer, activator, layer_order, scaler,
        )  # fmt: skip
        self.in_node = shortcut(
            order, in_planes, out_planes, strides, output_size, scaler, normalizer
        )
        # The branch output may take the shortcut in place when its last layer is a
        # convolution (autograd never needs a convolution's output); an activation last
        # ('old' order, or no normalizer) keeps the out-of-place add.
        last_unit = self.conv3 if hasattr(self, "conv3") else self.conv2
        self.inplace_add = isinstance(last_unit[-1], (nn.Conv1d, nn.Conv2d, nn.Conv3d))

    def _build(self, order: int, *args: Any) -> None:
        raise NotImplementedError

    def _output_spatial(self, spatial: tuple[int, ...]) -> tuple[int, ...]:
        """The spatial size of the output for an input of spatial size ``spatial``."""
        if self._scaler == "down":
            return tuple(-(-n // s) for n, s in zip(spatial, self._stride, strict=True))
        if self._output_size is not None:
            return self._output_size
        return tuple(n * s for n, s in zip(spatial, self._stride, strict=True))

    def _validate(self, x: Tensor) -> None:
        """Check an input of ``(B, in_planes, *spatial)``, as the networks do."""
        who = type(self).__name__
        expected = expected_shape(self._order, "in_planes")
        reference = first_parameter(self)
        check_floating(x, who, expected, reference)
        check_rank_and_channels(x, who, expected, self._order + 2, self.in_planes, "in_planes")
        check_not_empty(x, who, expected)
        check_like_parameters(x, who, reference, holder="block")
        self._check_size(x, who)

    def _check_size(self, x: Tensor, who: str) -> None:
        """Check that the normalizer sees more than one value per channel.

        Instance normalization takes its statistics over the spatial axes (in training and
        evaluation alike), batch normalization in training over the batch too; both see the
        input's size and the output's size (the shortcut's normalizer).
        """
        if self._normalizer == "null" or (self._normalizer == "batch" and not self.training):
            return
        spatial = tuple(x.shape[2:])
        out = self._output_spatial(spatial)
        values = min(math.prod(spatial), math.prod(out))
        if self._normalizer == "batch":
            if values * x.shape[0] > 1:
                return
            raise ValueError(
                f"{who} needs more than one value per channel for batch normalization in "
                f"training (a batch of several, or a larger size), got an input of shape "
                f"{shape_text(x)} (output size {out})."
            )
        if values > 1:
            return
        hint = ""
        if self._order == 1 and self._output_size is None:
            least = self._stride[0] + 1 if self._scaler == "down" else 2
            hint = f" (at least {max(2, least)} samples)"
        raise ValueError(
            f"{who} needs inputs whose size and output size keep more than one element per "
            f"channel{hint}, for instance normalization; got an input of shape "
            f"{shape_text(x)}, whose output size is {out}."
        )

    def _checked(self, x: Tensor) -> None:
        """Check ``x`` if this block is called on its own (not from a network)."""
        if self._check_inputs and not torch.jit.is_tracing():
            self._validate(x)


def _check_output_size(
    output_size: Any, scaler: str, normalizer: str, order: int
) -> tuple[int, ...] | None:
    """Return ``output_size`` checked (per axis), or ``None``."""
    if output_size is None:
        return None
    if scaler != "up":
        raise ValueError(
            f"output_size is only used with scaler='up', got output_size={output_size!r} "
            f"with scaler={scaler!r}."
        )
    size = check_per_axis("output_size", output_size, order)
    if normalizer in ("pinst", "inst") and math.prod(size) <= 1:
        raise ValueError(
            f"output_size must keep more than one element for instance normalization "
            f"(normalizer={normalizer!r}), got {output_size!r}."
        )
    return size


class _BlockPlainNd(_BlockNd):
    """N-d plain residual block: ``conv1`` (k, stride 1) then ``conv2`` (k, resampling).

    Args:
        in_planes: channels of the input.
        out_planes: channels of the output.
        kernel_size: odd kernel size, an int or one per axis.
        stride: resampling factor (down-sampling with ``scaler='down'``, up-sampling with
            ``'up'``), an int or one per axis.
        padding: convolution padding: ``kernel_size // 2`` on every axis, the only value
            that keeps the branch and the shortcut the same size (1 for kernel size 3).
        output_size: with ``scaler='up'``, the output size instead of a factor.
        normalizer: ``'pinst'`` (instance norm with affine), ``'inst'``, ``'batch'`` or
            ``'null'``.
        activator: ``'prelu'``, ``'relu'`` or ``'null'``.
        layer_order: ``'new'`` (norm, act, conv: pre-activation) or ``'old'`` (conv, norm, act).
        scaler: ``'down'`` (strided convolution) or ``'up'`` (up-sampling then convolution).
        order: the number of spatial axes; fixed by the public ``BlockPlain1d/2d/3d``.

    Raises:
        TypeError, ValueError: an argument has the wrong type or value.
    """

    depth: ClassVar[int] = 2

    def _build(self, order, in_planes, out_planes, kernel, stride, padding, output_size,
               normalizer, activator, layer_order, scaler) -> None:  # fmt: skip
        unit = (normalizer, activator, layer_order)
        ones = (1,) * order
        self.conv1 = branch_unit(
            order, in_planes, in_planes, kernel, ones, padding, None, "down", *unit
        )
        self.conv2 = branch_unit(
            order, in_planes, out_planes, kernel, stride, padding, output_size, scaler, *unit
        )

    def forward(self, x: Tensor) -> Tensor:
        """The branch plus the shortcut; the input is checked first on a block used alone."""
        if not torch.jit.is_scripting():
            self._checked(x)
        res = self.conv2(self.conv1(x))
        shortcut = x if self.in_node is None else self.in_node(x)
        if self.inplace_add:
            return res.add_(shortcut)
        return res + shortcut


class _BlockBottleneckNd(_BlockNd):
    """N-d bottleneck residual block: ``conv1`` (1), ``conv2`` (k, resampling), ``conv3`` (1).

    There is no channel reduction inside: ``conv1`` and ``conv2`` keep ``in_planes``
    channels, ``conv3`` maps them to ``out_planes``. The arguments are those of
    :class:`_BlockPlainNd`.
    """

    depth: ClassVar[int] = 3

    def _build(self, order, in_planes, out_planes, kernel, stride, padding, output_size,
               normalizer, activator, layer_order, scaler) -> None:  # fmt: skip
        unit = (normalizer, activator, layer_order)
        ones = (1,) * order
        self.conv1 = branch_unit(order, in_planes, in_planes, 1, ones, 0, None, "down", *unit)
        self.conv2 = branch_unit(
            order, in_planes, in_planes, kernel, stride, padding, output_size, scaler, *unit
        )
        self.conv3 = branch_unit(order, in_planes, out_planes, 1, ones, 0, None, "down", *unit)

    def forward(self, x: Tensor) -> Tensor:
        """The branch plus the shortcut; the input is checked first on a block used alone."""
        if not torch.jit.is_scripting():
            self._checked(x)
        res = self.conv3(self.conv2(self.conv1(x)))
        shortcut = x if self.in_node is None else self.in_node(x)
        if self.inplace_add:
            return res.add_(shortcut)
        return res + shortcut


BLOCK_DEPTH = {"bottleneck": _BlockBottleneckNd.depth, "plain": _BlockPlainNd.depth}


def block_class(block: str) -> type[_BlockNd]:
    """The N-d block class for ``'bottleneck'`` or ``'plain'`` (case-insensitive)."""
    name = check_choice("block", block, F.BLOCKS)
    return _BlockBottleneckNd if name == "bottleneck" else _BlockPlainNd


def _crop_by_gather(x: Tensor, size: list[int]) -> Tensor:
    for i, target in enumerate(size):
        dim = i + 2
        start = (x.size(dim) - target) // 2
        x = x.index_select(dim, torch.arange(target, device=x.device) + start)
    return x


def crop_to(x: Tensor, size: list[int]) -> Tensor:
    """Centre-crop the spatial axes of ``x`` to ``size`` (each axis at least that long)."""
    if not torch.jit.is_scripting():
        if torch.compiler.is_exporting():
            # narrow() has a no-op fast path that torch.export turns into a guard on the
            # parity of the length; gathering the indices keeps one graph for all lengths.
            return _crop_by_gather(x, size)
    for i, target in enumerate(size):
        dim = i + 2
        x = x.narrow(dim, (x.size(dim) - target) // 2, target)
    return x


class _BlockResStkNd(nn.Module):
    """A stack of ``n_blocks`` residual blocks: one stage ("Block i") of a network.

    ``conv_list`` holds the first ``n_blocks - 1`` blocks (stride 1, ``in -> hidden``
    then ``hidden -> hidden``); ``conv_scale`` is the last block (``hidden -> out``) and
    does the resampling.

    Args:
        in_planes: channels of the main input.
        out_planes: channels of the output.
        n_blocks: number of residual blocks, >= 1.
        order: the number of spatial axes.
        block: ``'bottleneck'`` or ``'plain'``.
        hidden_planes: width of the blocks before ``conv_scale``; ``out_planes`` if None.
        kernel_size: per-axis kernel size of the blocks.
        padding: per-axis padding of the blocks.
        stride: per-axis resampling factor of ``conv_scale``.
        skip_planes: channels of a skip input concatenated after the main input (U-Net
            decoder); 0 for none.
        scaler: ``'down'`` or ``'up'``, for ``conv_scale`` only.
        export_hidden: also return the input of ``conv_scale`` (U-Net encoder).
    """

    __constants__ = ["export_hidden", "with_skip"]

    def __init__(
        self,
        in_planes: int,
        out_planes: int,
        n_blocks: int,
        *,
        order: int,
        block: str = "bottleneck",
        hidden_planes: int | None = None,
        kernel_size: IntOrTuple = 3,
        padding: IntOrTuple = 1,
        stride: IntOrTuple = 1,
        skip_planes: int = 0,
        scaler: str = "down",
        export_hidden: bool = False,
    ) -> None:
        super().__init__()
        check_positive_int("n_blocks", n_blocks)
        block_cls = block_class(block)
        hidden = out_planes if hidden_planes is None else hidden_planes
        first_in = in_planes + skip_planes
        geometry: dict[str, Any] = {"kernel_size": kernel_size, "padding": padding, "order": order}
        self.conv_list = nn.ModuleList(
            block_cls(first_in if i == 0 else hidden, hidden, stride=1, scaler="down", **geometry)
            for i in range(n_blocks - 1)
        )
        self.conv_scale = block_cls(
            hidden if n_blocks > 1 else first_in,
            out_planes,
            stride=stride,
            scaler=scaler,
            **geometry,
        )
        # The network checks its input: its blocks need not check theirs at every call.
        for block in (*self.conv_list, self.conv_scale):
            block._check_inputs = False
        self.export_hidden = export_hidden
        self.with_skip = skip_planes > 0
        self.checkpointing = False

    def forward(self, x: Tensor, skip: Tensor | None = None):  # noqa: ANN201 (tuple or tensor)
        if self.with_skip:
            if skip is None:
                raise ValueError("this stack takes a skip tensor as its second input.")
            # The up-sampled input is never shorter than the skip: crop it to the skip's size.
            x = torch.cat([crop_to(x, skip.shape[2:]), skip], dim=1)
        if not torch.jit.is_scripting():
            if self.checkpointing and torch.is_grad_enabled():
                return self._forward_checkpointed(x)
        for layer in self.conv_list:
            x = layer(x)
        out = self.conv_scale(x)
        if self.export_hidden:
            return out, x
        return out

    def _forward_checkpointed(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """The same forward, keeping only each block's input: the blocks run again in backward."""
        from torch.utils.checkpoint import checkpoint

        for layer in self.conv_list:
            x = checkpoint(layer, x, use_reentrant=False)
        out = checkpoint(self.conv_scale, x, use_reentrant=False)
        if self.export_hidden:
            return out, x
        return out
