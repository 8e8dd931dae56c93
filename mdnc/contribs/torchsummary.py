"""Keras-style summary of a PyTorch model, in the documented format.

One row per module (``nn.Sequential`` and ``nn.ModuleList`` excepted), in the order the
modules finish their forward pass, with the output shape and the number of parameters
the module owns. Unlike the documented version, the model's parameters decide the device
when none is given, no gradient graph is built, and buffers (BatchNorm running
statistics) are left as they were.

Example:
    >>> import mdnc
    >>> net = mdnc.modules.resnet.AE1d(64, [2, 2, 2, 2, 3], in_planes=3, out_planes=1)
    >>> total, trainable = mdnc.contribs.torchsummary.summary(net, (3, 128), device='cpu')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from mdnc._utils import is_int, resolve_device

__all__ = ["summary", "summary_string"]

_RULE = "-" * 64
_DOUBLE_RULE = "=" * 64
_ROW = "{:>20}  {:>25} {:>15}"
_MAX_NAME = 20


@dataclass
class _Row:
    name: str
    shapes: list[list[int]]
    multi: bool
    params: int
    trainable: int = field(default=0)


def _display_name(name: str) -> str:
    if len(name) > _MAX_NAME:
        return f"{name[:8]}...{name[-9:]}"
    return name


def _normalize_sizes(input_size: Any) -> list[tuple[int, ...]]:
    if isinstance(input_size, (list, tuple)) and len(input_size) > 0:
        if isinstance(input_size[0], (list, tuple)):
            sizes = [tuple(s) for s in input_size]
        else:
            sizes = [tuple(input_size)]
        if all(is_int(d) and d > 0 for s in sizes for d in s):
            return sizes
    raise ValueError(
        "input_size must be a shape without the batch axis, e.g. (3, 128), or a sequence of "
        f"such shapes (one per input), got {input_size!r}."
    )


def _normalize_dtypes(dtypes: Any, n: int) -> list[torch.dtype]:
    if dtypes is None:
        return [torch.float32] * n
    if isinstance(dtypes, (torch.dtype, type)):
        dtypes = [dtypes]
    dtypes = list(dtypes)
    if len(dtypes) != n:
        raise ValueError(
            f"dtypes must give one dtype per input: {n} input size(s), got {len(dtypes)} dtype(s)."
        )
    # The documented API takes tensor types such as torch.FloatTensor; accept both kinds.
    return [d if isinstance(d, torch.dtype) else torch.empty(0).type(d).dtype for d in dtypes]


def _resolve_device(model: nn.Module, device: Any) -> torch.device:
    """``device`` (a name goes through :func:`mdnc._utils.resolve_device`, so ``"auto"``
    works), else the device of the model's parameters or buffers, else the CPU."""
    if isinstance(device, str):
        return resolve_device(device)
    if device is not None:
        return torch.device(device)
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def _shapes_of(output: Any, batch_size: int) -> tuple[list[list[int]], bool]:
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [[-1, *o.shape[1:]] for o in output if isinstance(o, torch.Tensor)], True
    return [[batch_size, *output.shape[1:]]], False


def _collect_rows(model: nn.Module, inputs: list[torch.Tensor], batch_size: int) -> list[_Row]:
    rows: list[_Row] = []

    def hook(module: nn.Module, _inputs: Any, output: Any) -> None:
        shapes, multi = _shapes_of(output, batch_size)
        params = list(module.parameters(recurse=False))
        rows.append(
            _Row(
                name=f"{type(module).__name__}-{len(rows) + 1}",
                shapes=shapes,
                multi=multi,
                params=sum(p.numel() for p in params),
                trainable=sum(p.numel() for p in params if p.requires_grad),
            )
        )

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if not isinstance(m, (nn.Sequential, nn.ModuleList))
    ]
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        with torch.no_grad():
            for name, b in model.named_buffers():
                if name in buffers:
                    b.copy_(buffers[name])
    return rows


def _format_rows(rows: list[_Row]) -> list[str]:
    lines = []
    for row in rows:
        name, params = _display_name(row.name), f"{row.params:,}"
        if row.multi:
            lines.append(_ROW.format(name, str(row.shapes[0] if row.shapes else []), params))
            lines.extend(_ROW.format("", str(shape), "") for shape in row.shapes[1:])
        else:
            lines.append(_ROW.format(name, str(row.shapes[0]), params))
    return lines


def summary_string(
    model: nn.Module,
    input_size: Sequence[int] | Sequence[Sequence[int]],
    batch_size: int = -1,
    device: str | torch.device | None = None,
    dtypes: Sequence[torch.dtype | type] | None = None,
) -> tuple[str, tuple[int, int]]:
    """Summarize ``model`` as text.

    Args:
        model: the module to summarize; one forward pass is run on random inputs.
        input_size: the shape of one input without the batch axis, e.g. ``(3, 128)``,
            or a sequence of such shapes for a model with several inputs.
        batch_size: the batch size shown in the table; -1 (default) runs a batch of 2
            and shows -1.
        device: where the inputs are created: a ``torch.device`` or a name (``"auto"``:
            CUDA when available, else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:N"``); by
            default the device of the model's parameters.
        dtypes: one dtype per input (``torch.float32`` or ``torch.FloatTensor``);
            float32 by default.

    Returns:
        The text (without a trailing newline) and ``(total_params, trainable_params)``.

    Raises:
        ValueError: ``input_size`` or ``dtypes`` is malformed, or ``device`` is an
            unknown device name, or CUDA where there is none.
        TypeError: ``model`` is not an ``nn.Module``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    sizes = _normalize_sizes(input_size)
    kinds = _normalize_dtypes(dtypes, len(sizes))
    target = _resolve_device(model, device)
    run_batch = 2 if batch_size == -1 else batch_size
    inputs = [
        torch.rand(run_batch, *size).to(dtype=kind, device=target)
        for size, kind in zip(sizes, kinds, strict=True)
    ]
    rows = _collect_rows(model, inputs, batch_size)

    total = sum(r.params for r in rows)
    trainable = sum(r.trainable for r in rows)
    outputs = sum(math.prod(shape) for r in rows for shape in r.shapes)
    # Sizes assume 4 bytes a number, as the documented summary does.
    input_mb = abs(sum(math.prod(s) for s in sizes) * batch_size * 4.0 / 2**20)
    output_mb = abs(2.0 * outputs * 4.0 / 2**20)  # x2 for gradients
    params_mb = abs(total * 4.0 / 2**20)
    lines = [
        _RULE,
        _ROW.format("Layer (type)", "Output Shape", "Param #"),
        _DOUBLE_RULE,
        *_format_rows(rows),
        _DOUBLE_RULE,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        _RULE,
        f"Input size (MB): {input_mb:0.2f}",
        f"Forward/backward pass size (MB): {output_mb:0.2f}",
        f"Params size (MB): {params_mb:0.2f}",
        f"Estimated Total Size (MB): {params_mb + output_mb + input_mb:0.2f}",
        _RULE,
    ]
    return "\n".join(lines), (total, trainable)


def summary(
    model: nn.Module,
    input_size: Sequence[int] | Sequence[Sequence[int]],
    batch_size: int = -1,
    device: str | torch.device | None = None,
    dtypes: Sequence[torch.dtype | type] | None = None,
) -> tuple[int, int]:
    """Print the summary of ``model`` (see :func:`summary_string`).

    Returns:
        ``(total_params, trainable_params)``.
    """
    text, counts = summary_string(model, input_size, batch_size, device, dtypes)
    print(text)
    return counts
