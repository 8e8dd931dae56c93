"""Inference over recordings of any length: overlapping windows blended by overlap-add.

:func:`apply_overlap_add` cuts a ``(channels, samples)`` recording into windows of a fixed
length every ``hop`` samples, runs the model on batches of them and blends the outputs with
a triangular weight, normalised by the summed weights (the approach of demucs ``apply.py``
and of MONAI's sliding-window inference). Memory is bounded by the window and the batch
size, not by the length of the recording: windows are cut batch by batch and each output
sample is written once, when no later window can still reach it.

With ``standardize=True`` every window goes through :func:`mdnc.data.standardize` and the
output back through :func:`mdnc.data.destandardize`, the functions that prepare training
windows, so that a model sees the same kind of input at inference as in training.

Example:
    >>> import numpy as np
    >>> import mdnc
    >>> from mdnc.inference import apply_overlap_add
    >>> net = mdnc.modules.resnet.AE1d(4, [1, 1])
    >>> y = apply_overlap_add(net, np.zeros((1, 1000), np.float32), window=256)
    >>> y.shape, y.dtype
    ((1, 1000), dtype('float32'))
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mdnc._utils import check_choice, check_int, check_real, eval_mode, resolve_device
from mdnc.data import windows as _windows
from mdnc.engines import ENGINES, prepare_engine

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "PADDING_MODES",
    "apply_overlap_add",
    "blend_weight",
    "stream_overlap_add",
]

PADDING_MODES = ("reflect", "zeros")
#: Windows per model call by default: on the project's 2-core CPU, the default UNet1d
#: denoised 1.2-1.7x as many samples per second at 32-256 windows a call as at 16
#: (``benchmarks/bench_inference.py``); 64 keeps the batch's memory small (a few MiB).
DEFAULT_BATCH_SIZE = 64
#: ``read(start, stop)``: samples of a recording as a ``(C, stop - start)`` tensor.
_Reader = Callable[[int, int], Tensor]
# Samples per chunk when scanning the input for NaN/Inf: bounds that scan's memory.
_FINITE_CHUNK = 1 << 20


def _check_stat_channels(y: Tensor, stats: _windows.WindowStats) -> None:
    c_stats, c_out = stats.mean.shape[-2], y.shape[-2]
    if c_stats not in (c_out, 1):
        raise ValueError(
            f"cannot map {c_out} output channel(s) back with the statistics of {c_stats} "
            f"input channels: standardize needs as many output channels as input channels "
            f"(or a single input channel)."
        )


def blend_weight(window: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """The triangular overlap-add weight of a window: ``1, 2, ..., 2, 1`` (never zero).

    It is the weight of demucs ``apply.py``: ``min(i + 1, window - i)``. Strictly positive
    end points mean that the first and last samples of a recording, each covered by one
    window only, still get a defined output.

    Args:
        window: samples per window.
        dtype: the dtype of the result.

    Returns:
        A tensor of shape ``(window,)``.
    """
    i = torch.arange(window, dtype=torch.float64)
    return torch.minimum(i + 1, window - i).to(dtype)


def _describe_shape(shape: Any) -> str:
    return str(tuple(int(s) for s in shape))


def _as_tensor(signal: Any) -> tuple[Tensor, bool]:
    """The signal as a ``(C, L)`` tensor without copying when possible, and if it was numpy."""
    if isinstance(signal, np.ndarray):
        if signal.dtype.kind not in "fiu":
            raise TypeError(
                f"signal must hold real numbers (float or int), got dtype {signal.dtype}."
            )
        try:
            with warnings.catch_warnings():
                # Read-only arrays (np.load with mmap_mode="r"): the signal is never written.
                warnings.filterwarnings("ignore", message="The given NumPy array is not writ")
                x = torch.from_numpy(signal)
        except (TypeError, ValueError):  # negative strides, byte order, unsupported dtype
            x = torch.from_numpy(np.ascontiguousarray(signal, dtype=np.float32))
        is_numpy = True
    elif isinstance(signal, Tensor):
        if signal.is_complex() or signal.dtype == torch.bool:
            raise TypeError(
                f"signal must hold real numbers (float or int), got dtype {signal.dtype}."
            )
        x, is_numpy = signal.detach(), False
    else:
        raise TypeError(
            f"signal must be a numpy.ndarray or a torch.Tensor of shape (channels, samples) "
            f"or (samples,), got {type(signal).__name__}."
        )
    if x.dim() == 1:
        x = x.unsqueeze(0)
    elif x.dim() != 2:
        raise ValueError(
            f"signal must have shape (channels, samples) or (samples,), got a {x.dim()}-D "
            f"signal of shape {_describe_shape(x.shape)}; apply the function to one "
            f"recording at a time."
        )
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"signal is empty: shape {_describe_shape(x.shape)}.")
    return x, is_numpy


def _check_finite(x: Tensor, offset: int = 0) -> None:
    """Raise on NaN/Inf, scanning in chunks so that the scan's memory stays bounded
    (``offset``: the signal's sample number of ``x[:, 0]``, for the message)."""
    if not x.is_floating_point():
        return
    step = max(1, _FINITE_CHUNK // x.shape[0])
    for start in range(0, x.shape[1], step):
        chunk = x[:, start : start + step]
        finite = torch.isfinite(chunk)
        if not bool(finite.all()):
            bad = (~finite).nonzero()
            channel, sample = int(bad[0, 0]), start + int(bad[0, 1])
            raise ValueError(
                f"signal contains NaN or Inf: {float(x[channel, sample])} at channel "
                f"{channel}, sample {offset + sample}; clean or interpolate the recording first."
            )


def _check_in_planes(model: Callable[[Tensor], Tensor], channels: int, shape: Any) -> None:
    in_planes = getattr(model, "in_planes", None)
    if isinstance(in_planes, int) and in_planes != channels:
        raise ValueError(
            f"signal has {channels} channel(s) (shape {_describe_shape(shape)}), but "
            f"the model expects in_planes={in_planes}."
        )


def _model_placement(model: Callable[[Tensor], Tensor]) -> tuple[torch.device | None, torch.dtype]:
    """The device and floating dtype of a module's parameters (None/float32 when unknown)."""
    if not isinstance(model, nn.Module):
        return None, torch.float32
    device, dtype = None, torch.float32
    for t in (*model.parameters(), *model.buffers()):
        device = device or t.device
        if t.is_floating_point():
            return t.device, t.dtype
    return device, dtype


def _tail_padding(x: Tensor, n: int, padding: str, dtype: torch.dtype) -> Tensor:
    """The ``n`` samples appended after the signal, ``(C, n)`` of ``dtype``.

    ``reflect`` mirrors about the last sample, repeated as often as needed, like
    ``numpy.pad(mode="reflect")``: a signal of one sample is continued as a constant.
    """
    channels, length = x.shape
    if n == 0 or padding == "zeros":
        return torch.zeros(channels, n, dtype=dtype, device=x.device)
    if length == 1:
        return x[:, :1].to(dtype).expand(channels, n).clone()
    period = 2 * (length - 1)
    pos = torch.arange(length, length + n, device=x.device) % period
    src = torch.where(pos < length, pos, period - pos)
    return x[:, src].to(dtype)


def apply_overlap_add(
    model: Callable[[Tensor], Tensor],
    signal: np.ndarray | Tensor,
    window: int = 1024,
    overlap: float = 0.5,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str | torch.device | None = None,
    standardize: bool = False,
    progress: bool = False,
    padding: str = "reflect",
    engine: str = "torch",
) -> np.ndarray | Tensor:
    """Run a model over a recording of any length in overlapping windows.

    Windows of ``window`` samples start every ``hop = max(1, int(window * (1 - overlap)))``
    samples from the first sample on. After the last sample the recording is padded (by
    ``padding``) so that the last window is full: a recording shorter than one window is
    padded to one window. The model's outputs are multiplied by :func:`blend_weight`
    (triangular, never zero), added, and divided by the summed weights, so a model that is
    the identity gives back its input exactly (up to float rounding), for every length,
    window and overlap. Only the first ``L`` output samples are kept.

    Memory: windows are cut ``batch_size`` at a time and each output sample is written
    once, so the memory beyond the input and the output is ``O(batch_size * C * window)``
    whatever the length of the recording. The input is not copied (numpy arrays, memory
    maps included, are read in place).

    The model runs under ``torch.inference_mode()`` in evaluation mode; the training mode
    of each submodule is restored afterwards, and so is the model's device when ``device``
    moved it.

    Args:
        model: maps ``(B, C, window)`` to ``(B, C_out, window)``: an ``nn.Module`` (e.g.
            ``mdnc.modules.resnet.AE1d``) or any callable on tensors.
        signal: a numpy array or a tensor of shape ``(C, L)``, or ``(L,)`` for one
            channel; float or integer samples (computed in float32, or in the model's
            floating dtype).
        window: samples per window; at least ``model.min_size[0]`` when the model has one.
        overlap: fraction of a window shared with the next one, in ``[0, 1)``.
        batch_size: windows per model call (:data:`DEFAULT_BATCH_SIZE`, 64).
        device: where the model runs: a ``torch.device`` or a name (``"auto"``: CUDA
            when available, else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:N"``); default: the
            device of the model's parameters (CPU for a callable without parameters).
        standardize: standardise each window per channel with :func:`mdnc.data.standardize`
            before the model and map the output back with that window's statistics
            (needs as many output channels as input channels, or one input channel).
        progress: show a ``tqdm`` progress bar over the windows.
        padding: how the tail is padded: ``"reflect"`` (mirror about the last sample,
            repeated when the recording is shorter than the padding; a constant for a
            one-sample recording) or ``"zeros"``.
        engine: what runs the windows (see :mod:`mdnc.engines`): ``"torch"`` (the model
            itself), ``"onnxruntime"`` (an ``nn.Module`` exported to ONNX and run by ONNX
            Runtime, on the CPU) or ``"auto"`` (the faster of the two on this job, measured
            on one batch; ``"torch"`` for short jobs). The engines agree within 1e-5
            relative.

    Returns:
        The output, ``(C_out, L)`` float32, of the input's type: a numpy array for a numpy
        input, a tensor on the input's device for a tensor input. A ``(L,)`` input gives a
        ``(L,)`` output when the model has one output channel.

    Raises:
        TypeError: an argument has the wrong type (e.g. ``window=256.0``, a list signal).
        ValueError: an argument is out of range (``window`` below ``model.min_size``,
            ``overlap`` outside ``[0, 1)``, ``batch_size < 1``, an unknown device name,
            or CUDA where there is none), the signal is empty, not
            1-D or 2-D, has a channel count the model does not take, or contains NaN/Inf,
            or the model's output has the wrong shape.
        mdnc.limits.ResourceError: a batch of windows would need more memory than the
            limits allow (a ``ValueError``; checked before anything is allocated).

    Example:
        >>> import numpy as np
        >>> identity = lambda x: x
        >>> x = np.random.default_rng(0).standard_normal((2, 1000)).astype(np.float32)
        >>> y = apply_overlap_add(identity, x, window=128, overlap=0.75)
        >>> bool(np.allclose(y, x, rtol=1e-6, atol=1e-6))
        True
    """
    window, overlap, batch_size = check_arguments(
        model, window, overlap, batch_size, padding, standardize
    )
    x, is_numpy = _checked_signal(model, signal)
    length = x.shape[1]
    run = _Run.plan(model, device, x.device, length, window, overlap, batch_size, engine)
    tail = _tail_padding(x, (run.n_windows - 1) * run.hop + window - length, padding, run.dtype)
    sink = _MemorySink(length)
    job = _Job(run.model, lambda a, b: x[:, a:b], length, tail, window, run.hop, batch_size,
               standardize)  # fmt: skip
    run.execute(job, sink.write, progress)
    assert sink.out is not None
    return _like_signal(sink.out, signal, is_numpy)


def stream_overlap_add(
    model: Callable[[Tensor], Tensor],
    source: Any,
    output: Any,
    *,
    window: int = 1024,
    overlap: float = 0.5,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str | torch.device | None = None,
    standardize: bool = False,
    progress: bool = False,
    padding: str = "reflect",
    engine: str = "torch",
    key: str | None = None,
    like: Any = None,
) -> Any:
    """:func:`apply_overlap_add` for recordings larger than memory: the input is read a
    batch of windows at a time and the output written as it is finished.

    The output is the same as :func:`apply_overlap_add`'s, sample for sample. Memory is
    ``O(batch_size * C * window)`` whatever the length; a file output is written to a
    temporary file renamed into place once complete (:class:`mdnc.data.stream.
    RecordingWriter`), so a failure or a kill leaves no partial output (the temporary
    file of a kill is removed by :func:`mdnc._utils.remove_leftovers`).

    Args:
        model: as for :func:`apply_overlap_add`.
        source: a recording file (described from its header and read lazily, see
            :mod:`mdnc.data.index`), or an array-like of shape ``(C, L)`` or ``(L,)``
            sliced as ``source[:, a:b]`` (a numpy memory map, an ``h5py`` dataset, a
            :class:`~mdnc.data.index.LazyRecording` ...).
        output: a file path (format by suffix, as :func:`mdnc.data.write_recording`), or
            an array-like of shape ``(C_out, L)`` (``(L,)`` for one channel) written as
            ``output[:, a:b] = block`` (e.g. ``numpy.lib.format.open_memmap``).
        window: samples per window, as for :func:`apply_overlap_add`.
        overlap: fraction of a window shared with the next one, in ``[0, 1)``.
        batch_size: windows per model call.
        device: where the model runs, as for :func:`apply_overlap_add`.
        standardize: standardise each window and map its output back.
        progress: show a progress bar (samples per second).
        padding: how the tail is padded: ``"reflect"`` or ``"zeros"``.
        engine: ``"torch"``, ``"onnxruntime"`` or ``"auto"``, as for
            :func:`apply_overlap_add`.
        key: the ``.npz`` array or HDF5 dataset of a ``source`` file.
        like: the recording whose metadata a file output takes (dtype, sample rate,
            subtype ...); default: the ``source`` file's description.

    Returns:
        The output path (a :class:`~pathlib.Path`) or the ``output`` array-like.

    Raises:
        mdnc.data.DataError: a file cannot be read or written, or the input holds NaN/Inf
            (found when read: a file output is then not written).
        TypeError, ValueError: as :func:`apply_overlap_add`.

    Example:
        >>> stream_overlap_add(net, "day.npy", "day_clean.npy", window=2048)  # doctest: +SKIP
        PosixPath('day_clean.npy')
    """
    window, overlap, batch_size = check_arguments(
        model, window, overlap, batch_size, padding, standardize
    )
    read, (channels, length), info = _stream_source(source, key)
    _check_in_planes(model, channels, (channels, length))
    run = _Run.plan(model, device, torch.device("cpu"), length, window, overlap, batch_size,
                    engine)  # fmt: skip
    n_tail = (run.n_windows - 1) * run.hop + window - length
    tail = _tail_padding(read(max(0, length - 1 - n_tail), length), n_tail, padding, run.dtype)
    job = _Job(run.model, read, length, tail, window, run.hop, batch_size, standardize)
    sink = _sink(output, length, like if like is not None else info)
    try:
        run.execute(job, sink.write, progress)
    except BaseException:
        sink.abort()
        raise
    return sink.close()


def _stream_source(source: Any, key: str | None) -> tuple[_Reader, tuple[int, int], Any]:
    """``(read, (C, L), description or None)`` of a file or an array-like; ``read(a, b)``
    gives float32 ``(C, b - a)`` tensors, checked finite."""
    from mdnc.data.index import LazyRecording, describe_recording, open_recordings

    info = None
    if isinstance(source, (str, os.PathLike)):
        info = describe_recording(source, key)
        source = open_recordings([info], lazy=True)[0]
    if isinstance(source, LazyRecording):
        return (lambda a, b: torch.from_numpy(source.read(a, b))), source.shape, info
    shape = tuple(int(n) for n in getattr(source, "shape", ()))
    if len(shape) not in (1, 2) or 0 in shape:
        raise ValueError(
            f"source must be a recording file or an array-like of shape (channels, samples) "
            f"or (samples,), got {type(source).__name__} of shape {shape}."
        )
    one = len(shape) == 1

    def read(a: int, b: int) -> Tensor:
        block = np.asarray(source[a:b] if one else source[:, a:b])
        x = _as_tensor(np.ascontiguousarray(block.reshape(-1, b - a), dtype=np.float32))[0]
        _check_finite(x, offset=a)
        return x

    return read, ((1, shape[0]) if one else (shape[0], shape[1])), info


@dataclass
class _Run:
    """Where and with what the windows run: the model (or its engine's replacement), its
    own device and dtype, the device asked for and the one it runs on."""

    model: Callable[[Tensor], Tensor]
    model_device: torch.device | None
    dtype: torch.dtype
    device: Any
    run_device: torch.device
    hop: int
    n_windows: int

    @classmethod
    def plan(
        cls, model: Callable[[Tensor], Tensor], device: Any, signal_device: torch.device,
        length: int, window: int, overlap: float, batch_size: int, engine: str,
    ) -> _Run:  # fmt: skip
        """Check the memory a batch needs and prepare the engine (checked arguments)."""
        model_device, dtype = _model_placement(model)
        run_device = _run_device(device, model_device, signal_device)
        hop, n_windows = window_layout(length, window, overlap)
        if isinstance(model, nn.Module):
            from mdnc.limits import check_forward_memory

            check_forward_memory(
                model, min(batch_size, n_windows), (window,),
                f"window {window} x batch_size {batch_size}", "lower batch_size or window",
            )  # fmt: skip
        runner = _engine_runner(model, engine, window, batch_size, run_device, n_windows)
        if runner is not model:  # ONNX Runtime: float32 on the CPU, nothing to move
            return cls(runner, None, torch.float32, None, run_device, hop, n_windows)
        return cls(model, model_device, dtype, device, run_device, hop, n_windows)

    def execute(self, job: _Job, emit: Callable[[int, Tensor], None], progress: bool) -> None:
        """:func:`_overlap_add` of ``job`` in evaluation mode without gradients, the model on
        ``run_device``, with a progress bar if asked; afterwards the caller's model gets
        each submodule's own mode back, and its device."""
        model = self.model
        evaluating = eval_mode(model) if isinstance(model, nn.Module) else contextlib.nullcontext()
        moved = (
            self.device is not None
            and self.model_device is not None
            and self.model_device != self.run_device
        )
        bar = _progress_bar(job.length) if progress else None
        try:
            with evaluating, torch.no_grad():
                if moved:
                    model.to(self.run_device)
                _overlap_add(job, self.run_device, self.dtype, emit, bar)
        finally:
            if moved:
                model.to(self.model_device)
            if bar is not None:
                bar.close()


class _FileSink:
    """A file output: its :class:`~mdnc.data.stream.RecordingWriter`, opened at the first
    block (when the output channels are known)."""

    def __init__(self, path: Any, length: int, like: Any) -> None:
        from mdnc.data.formats import format_of

        self.path, self.length, self.like = Path(path), length, like
        format_of(self.path)  # a bad suffix is refused before any work
        self.writer: Any = None

    def write(self, start: int, block: Tensor) -> None:
        if self.writer is None:
            from mdnc.data.stream import RecordingWriter

            self.writer = RecordingWriter(self.path, block.shape[0], self.length, self.like)
        self.writer.write(block.numpy())

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()

    def close(self) -> Path:
        assert self.writer is not None
        return self.writer.close()


class _ArraySink:
    """An array-like output of shape ``(C_out, L)`` or ``(L,)``, written by slices."""

    def __init__(self, out: Any, length: int) -> None:
        self.out, self.length = out, length
        self.shape = tuple(int(n) for n in out.shape)

    def write(self, start: int, block: Tensor) -> None:
        c_out, n = block.shape
        if self.shape not in ((c_out, self.length), (self.length,) * (c_out == 1)):
            raise ValueError(
                f"output must have shape ({c_out}, {self.length}) (or ({self.length},) for "
                f"one channel), got {self.shape}."
            )
        if len(self.shape) == 1:
            self.out[start : start + n] = block[0].numpy()
        else:
            self.out[:, start : start + n] = block.numpy()

    def abort(self) -> None:
        return None

    def close(self) -> Any:
        return self.out


def _sink(output: Any, length: int, like: Any) -> _FileSink | _ArraySink:
    if isinstance(output, (str, os.PathLike)):
        return _FileSink(output, length, like)
    if not hasattr(output, "shape") or not hasattr(output, "__setitem__"):
        raise TypeError(
            f"output must be a file path or a writable array-like, got {type(output).__name__}."
        )
    return _ArraySink(output, length)


class _MemorySink:
    """The output of :func:`apply_overlap_add`: a ``(C_out, L)`` tensor, made at the first
    block (when the output channels are known)."""

    def __init__(self, length: int) -> None:
        self.length, self.out = length, None

    def write(self, start: int, block: Tensor) -> None:
        self.out = _output_buffer(self.out, block.shape[0], self.length)
        self.out[:, start : start + block.shape[1]] = block


def window_layout(length: int, window: int, overlap: float) -> tuple[int, int]:
    """``(hop, number of windows)`` of a recording of ``length`` samples (checked values)."""
    hop = max(1, int(window * (1 - overlap)))
    return hop, 1 + math.ceil(max(length - window, 0) / hop)


def check_arguments(
    model: Callable[[Tensor], Tensor],
    window: int,
    overlap: float,
    batch_size: int,
    padding: str = "reflect",
    standardize: bool = False,
) -> tuple[int, float, int]:
    """The checked ``window`` (at least ``model.min_size[0]``), ``overlap`` and ``batch_size``."""
    min_size = getattr(model, "min_size", None)
    min_window = int(min_size[0]) if isinstance(min_size, tuple) and min_size else 1
    why = f", the smallest length {type(model).__name__} accepts (model.min_size)"
    window = check_int("window", window, min_window, why if min_window > 1 else "")
    overlap = check_real("overlap", overlap, low=0.0, high=1.0, high_open=True)
    batch_size = check_int("batch_size", batch_size, 1)
    check_choice("padding", padding, PADDING_MODES)
    if not isinstance(standardize, bool):
        raise TypeError(f"standardize must be a bool, got {standardize!r}.")
    return window, overlap, batch_size


def _engine_runner(
    model: Callable[[Tensor], Tensor],
    engine: str,
    window: int,
    batch_size: int,
    device: torch.device,
    n_windows: int,
) -> Callable[[Tensor], Tensor]:
    """What runs the windows: ``model`` itself, or its :mod:`mdnc.engines` replacement."""
    if check_choice("engine", engine, ENGINES) == "torch":
        return model
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"engine {engine!r} needs an nn.Module to export, got {type(model).__name__}; "
            f"use engine='torch' for other callables."
        )
    with eval_mode(model):
        return prepare_engine(model, engine, window, batch_size, device, n_windows)[0]


def _checked_signal(model: Callable[[Tensor], Tensor], signal: Any) -> tuple[Tensor, bool]:
    """:func:`_as_tensor`, then the model's ``in_planes`` and NaN/Inf are checked."""
    x, is_numpy = _as_tensor(signal)
    _check_in_planes(model, x.shape[0], signal.shape)
    _check_finite(x)
    return x, is_numpy


def _run_device(
    device: str | torch.device | None, model_device: torch.device | None, signal: torch.device
) -> torch.device:
    """``device`` when given (a name through :func:`mdnc._utils.resolve_device`, a
    ``torch.device`` as it is), else the model's device, else the signal's."""
    if device is None:
        return model_device or signal
    return device if isinstance(device, torch.device) else resolve_device(device)


def _progress_bar(length: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=length, unit="sample", unit_scale=True, desc="overlap-add")


def _like_signal(out: Tensor, signal: np.ndarray | Tensor, is_numpy: bool) -> np.ndarray | Tensor:
    """The ``(C_out, L)`` output as the input's type: ``(L,)`` for a ``(L,)`` input and one
    output channel, numpy for numpy, else a tensor on the input's device."""
    if signal.ndim == 1 and out.shape[0] == 1:
        out = out[0]
    if is_numpy:
        return out.numpy()
    return out.to(signal.device)


@dataclass
class _Job:
    """What :func:`_overlap_add` runs: the model over ``read(start, stop)`` (``(C, n)``
    tensors of the recording, ``length`` samples, padded by ``tail``)."""

    model: Callable[[Tensor], Tensor]
    read: _Reader
    length: int
    tail: Tensor
    window: int
    hop: int
    batch_size: int
    standardize: bool

    @property
    def n_windows(self) -> int:
        return 1 + math.ceil(max(self.length - self.window, 0) / self.hop)


def _overlap_add(
    job: _Job,
    device: torch.device,
    dtype: torch.dtype,
    emit: Callable[[int, Tensor], None],
    bar: Any,
) -> None:
    """The loop of :func:`apply_overlap_add`: ``emit(start, block)`` receives the output
    ``(C_out, n)`` in time order, each sample once, as soon as no later window reaches it.

    The blend is summed in float64 (float32 on MPS), so that a model that is the identity
    gives back its float32 input bit for bit."""
    window, hop, n_windows, length = job.window, job.hop, job.n_windows, job.length
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64
    weight = blend_weight(window, dtype=acc_dtype).to(device)
    # Sums of the outputs (and of the weights) reaching beyond the last finished sample:
    # the window - hop samples that the next batch's first windows still add to.
    carry: Tensor | None = None
    carry_w: Tensor | None = None
    summed_w: dict[int, Tensor] = {}  # summed weights of b windows, computed once per b
    for first in range(0, n_windows, job.batch_size):
        b = min(job.batch_size, n_windows - first)
        start = first * hop
        span = (b - 1) * hop + window
        batch = _cut_batch(job, start, span, device, dtype)
        y = _run_model(job.model, batch, window, job.standardize)
        c_out = y.shape[1]
        # Weighted overlap-add of the b windows in one call: fold sums overlapping columns.
        cols = (y.to(acc_dtype) * weight).permute(1, 2, 0).reshape(1, c_out * window, b)
        acc = F.fold(cols, (1, span), (1, window), stride=(1, hop)).view(c_out, span)
        if b not in summed_w:
            summed_w[b] = _summed_weight(weight, b, span, hop)
        acc_w = summed_w[b].clone()
        if carry is not None:
            if carry.shape[0] != c_out:
                raise ValueError(f"the model gave {c_out} output channels after {carry.shape[0]}.")
            acc[:, : carry.shape[1]] += carry
            acc_w[: carry_w.shape[0]] += carry_w
        # Samples before the next batch's first window are final: normalise and emit them.
        done = min(b * hop, length - start) if first + b < n_windows else length - start
        emit(start, (acc[:, :done] / acc_w[:done]).to(device="cpu", dtype=torch.float32))
        carry, carry_w = acc[:, b * hop :], acc_w[b * hop :]
        if bar is not None:
            bar.update(done)


def _cut_batch(
    job: _Job, start: int, span: int, device: torch.device, dtype: torch.dtype
) -> Tensor:
    """The windows of samples ``start : start + span`` (padded by the tail) as a
    contiguous ``(b, C, window)`` batch on ``device``."""
    seg = job.read(start, min(start + span, job.length))
    if seg.shape[1] < span:
        seg = torch.cat([seg.to(job.tail.dtype), job.tail[:, : span - seg.shape[1]]], dim=1)
    # (C, b, window) view of the segment, then one copy into a contiguous batch.
    batch = seg.unfold(1, job.window, job.hop).transpose(0, 1)
    return batch.to(device=device, dtype=dtype).contiguous()


def _run_model(
    model: Callable[[Tensor], Tensor], batch: Tensor, window: int, standardize: bool
) -> Tensor:
    """The model's ``(b, C_out, window)`` output for a batch, its shape checked."""
    b = batch.shape[0]
    if standardize:
        batch, stats = _windows.standardize(batch)
    with torch.inference_mode():
        y = model(batch)
    if not isinstance(y, Tensor) or y.dim() != 3 or y.shape[0] != b or y.shape[2] != window:
        got = _describe_shape(y.shape) if isinstance(y, Tensor) else type(y).__name__
        raise ValueError(
            f"the model must map (batch, channels, window) = {_describe_shape(batch.shape)} "
            f"to (batch, out_channels, window) = ({b}, C_out, {window}), got {got}."
        )
    if standardize:
        _check_stat_channels(y, stats)
        y = _windows.destandardize(y, stats)
    return y


def _summed_weight(weight: Tensor, b: int, span: int, hop: int) -> Tensor:
    """The blend weights of ``b`` windows every ``hop`` samples, summed: ``(span,)``."""
    window = weight.shape[0]
    w_cols = weight.view(1, window, 1).expand(1, window, b)
    return F.fold(w_cols, (1, span), (1, window), stride=(1, hop)).view(span)


def _output_buffer(out: Tensor | None, c_out: int, length: int) -> Tensor:
    """The ``(C_out, L)`` output, made at the first batch; later batches must match it."""
    if out is None:
        with torch.inference_mode(False):  # a normal tensor, usable with autograd
            return torch.empty(c_out, length, dtype=torch.float32)
    if c_out != out.shape[0]:
        raise ValueError(f"the model gave {c_out} output channels after {out.shape[0]}.")
    return out
