"""Export networks to TorchScript and ONNX, each checked against PyTorch once.

ONNX files have a dynamic batch axis and dynamic spatial axes (for networks whose input
size is free), so one file serves every recording length the network accepts. ``onnx``,
``onnxscript`` and ``onnxruntime`` are optional: install the ``onnx`` extra.

Example:
    >>> import mdnc
    >>> from mdnc.export import export_onnx
    >>> net = mdnc.modules.resnet.AE1d(8, [1, 1, 1])
    >>> report = export_onnx(net, "ae.onnx")          # doctest: +SKIP
    >>> report.max_abs_error < 1e-4                     # doctest: +SKIP
    True
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ._utils import atomic_path, eval_mode

__all__ = ["ExportReport", "example_input", "export_onnx", "export_torchscript", "onnx_program"]


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote and how closely the exported model matched PyTorch.

    Attributes:
        path: the file written.
        input_shapes: the input shapes the exported model was checked on.
        max_abs_error: the largest absolute difference from PyTorch over those inputs.
        atol: the largest difference the check accepted (``max_abs_error <= atol``).
    """

    path: Path
    input_shapes: tuple[tuple[int, ...], ...]
    max_abs_error: float
    atol: float = 1e-4


def _spatial_free(model: nn.Module) -> bool:
    """Whether the network accepts any spatial size (AE, U-Net, encoder), not a fixed one."""
    return hasattr(model, "min_size")


def _uniform(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Uniform numbers in [0, 1), the same at every call (seeded): checks that repeat."""
    return torch.rand(*shape, dtype=dtype, generator=torch.Generator().manual_seed(0))


def example_input(model: nn.Module, batch: int = 2, length: int | None = None) -> torch.Tensor:
    """A random input of a valid shape for ``model`` (a network of ``mdnc.modules.resnet``),
    the same at every call (uniform in [0, 1), seeded).

    Args:
        model: the network.
        batch: the batch size.
        length: the size of every spatial axis that the network resamples; by default
            twice its minimum size (at least 32).

    Raises:
        TypeError: ``model`` is not a network of ``mdnc.modules.resnet``.
    """
    if hasattr(model, "input_size"):
        return _uniform(batch, *model.input_size)
    if not _spatial_free(model):
        raise TypeError(
            f"model must be a network of mdnc.modules.resnet (AE, UNet, EncoderNet, "
            f"DecoderNet), got {type(model).__name__}."
        )
    sizes = [length or max(32, 2 * m) for m in model.min_size]
    return _uniform(batch, model.in_planes, *sizes)


def _max_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.detach().float() - b.detach().float()).abs().max())


def check_finite_outputs(model: nn.Module, x: torch.Tensor, path: Path) -> None:
    """Refuse to export a model whose output for ``x`` holds NaN or infinity.

    Raises:
        ValueError: the output is not finite (nothing is written to ``path``).
    """
    with torch.no_grad():
        y = model(x)
    if not bool(torch.isfinite(y).all()):
        raise ValueError(
            f"{type(model).__name__} gives outputs that are not finite (NaN or inf) on the "
            f"example input: its weights are broken (a diverged training?); {path} was not "
            "written."
        )


def _check_error(model: nn.Module, error: float, atol: float, path: Path) -> None:
    if not error <= atol:  # also when the error is NaN
        raise RuntimeError(
            f"the export of {type(model).__name__} to {path.name} differs from PyTorch by "
            f"{error:.3g} (more than atol={atol}); {path} was not written."
        )


def export_torchscript(
    model: nn.Module,
    path: str | os.PathLike[str],
    check_inputs: Sequence[torch.Tensor] = (),
    *,
    atol: float = 1e-4,
) -> ExportReport:
    """Script ``model`` with TorchScript and save it, atomically.

    The saved file is loaded back and run on ``check_inputs`` (by default one example
    input) to confirm that it reproduces the model.

    Args:
        model: the network; it is exported in evaluation mode.
        path: the ``.pt`` file to write.
        check_inputs: inputs to compare the saved model with PyTorch on.
        atol: the largest absolute difference accepted.

    Returns:
        An :class:`ExportReport`.

    Raises:
        ValueError: the model's outputs are not finite (a broken model is not exported).
        RuntimeError: the saved model does not match PyTorch.
    """
    path = Path(path)
    with eval_mode(model):
        inputs = list(check_inputs) or [example_input(model)]
        check_finite_outputs(model, inputs[0], path)
        scripted = torch.jit.script(model)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Serialised in memory, then written by Python: torch.jit.save to a file aborts the
        # process (a C++ exception) when the disk fills up, instead of raising OSError.
        buffer = io.BytesIO()
        torch.jit.save(scripted, buffer)
        with atomic_path(path) as tmp:
            tmp.write_bytes(buffer.getvalue())
            loaded = torch.jit.load(str(tmp))
            with torch.no_grad():
                error = max(_max_error(loaded(x), model(x)) for x in inputs)
            _check_error(model, error, atol, path)
    return ExportReport(path, tuple(tuple(x.shape) for x in inputs), error, atol)


def _dynamic_shapes(
    model: nn.Module, x: torch.Tensor, length: bool = True
) -> dict[str, dict[int, object]]:
    from torch.export import Dim

    axes: dict[int, object] = {0: Dim("batch", min=1, max=1 << 16)}
    if length and _spatial_free(model):
        for i, minimum in enumerate(model.min_size):
            if x.shape[i + 2] > 1:
                axes[i + 2] = Dim(f"size{i + 1}", min=max(2, minimum), max=1 << 30)
    return {"x": axes}


def onnx_program(
    model: nn.Module, x: torch.Tensor, *, length: bool = True, opset_version: int | None = None
) -> torch.onnx.ONNXProgram:
    """The ONNX program of ``model`` (in evaluation mode) exported on the example ``x``.

    Args:
        model: the network.
        x: an example input.
        length: whether the spatial axes are dynamic (for networks whose input size is
            free); the batch axis always is.
        opset_version: the ONNX opset; the exporter's default when None.
    """
    with eval_mode(model), _quiet_exporter():
        return torch.onnx.export(
            model, (x,), dynamo=True, dynamic_shapes=_dynamic_shapes(model, x, length),
            input_names=["x"], output_names=["y"], opset_version=opset_version, verbose=False,
        )  # fmt: skip


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter's chatter (missing torchvision ops, pytree deprecations) kept quiet."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def export_onnx(
    model: nn.Module,
    path: str | os.PathLike[str],
    example: torch.Tensor | None = None,
    *,
    opset_version: int | None = None,
    atol: float = 1e-4,
) -> ExportReport:
    """Export ``model`` to ONNX with dynamic batch and spatial axes, checked by onnxruntime.

    The exported file is run by onnxruntime on the example input and on an input of
    another batch size and length; the file is only put in place when both match
    PyTorch within ``atol``.

    Args:
        model: the network; it is exported in evaluation mode.
        path: the ``.onnx`` file to write.
        example: an example input; by default :func:`example_input`.
        opset_version: the ONNX opset; the exporter's default when None.
        atol: the largest absolute difference accepted.

    Returns:
        An :class:`ExportReport`.

    Raises:
        ImportError: onnx, onnxscript or onnxruntime is missing.
        ValueError: the model's outputs are not finite (a broken model is not exported).
        RuntimeError: the exported model does not match PyTorch.
    """
    try:
        import onnxruntime as ort
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "ONNX export needs onnx, onnxscript and onnxruntime: pip install 'mdnc[onnx]'."
        ) from err
    path = Path(path)
    with eval_mode(model):
        x = example if example is not None else example_input(model)
        check_finite_outputs(model, x, path)
        shapes = _dynamic_shapes(model, x)
        program = onnx_program(model, x, opset_version=opset_version)
        checks = [x]
        if _spatial_free(model):
            bigger = [s + 3 if axis in shapes["x"] else s for axis, s in enumerate(x.shape)]
            checks.append(_uniform(*bigger, dtype=x.dtype))
        else:
            checks.append(_uniform(x.shape[0] + 1, *x.shape[1:], dtype=x.dtype))
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            program.save(str(tmp), external_data=False)
            session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
            error = 0.0
            with torch.no_grad():
                for c in checks:
                    got = torch.from_numpy(session.run(None, {"x": c.numpy()})[0])
                    error = max(error, _max_error(got, model(c)))
            _check_error(model, error, atol, path)
    return ExportReport(path, tuple(tuple(c.shape) for c in checks), error, atol)
