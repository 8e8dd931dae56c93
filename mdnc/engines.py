"""Inference engines: what runs a network's windows in :func:`mdnc.inference.apply_overlap_add`.

* ``"torch"``: the network itself, eager PyTorch (its branch units run the fused instance
  norm + PReLU kernel on CPU).
* ``"onnxruntime"``: the network exported to ONNX (in memory, as by
  :func:`mdnc.export.export_onnx`) and run by ONNX Runtime's CPU provider, through
  :class:`OnnxRuntimeModel`. CPU only; needs the ``onnx`` extra.
* ``"auto"``: :func:`choose_engine` runs both on one batch of the job's windows and keeps the
  faster, for jobs of at least :data:`AUTO_MIN_WINDOWS` windows on a CPU with ONNX Runtime
  installed; otherwise ``"torch"`` (a short job would spend more on the export than it
  could save).

The engines give the same outputs within 1e-5 relative (tests over every network).

Example:
    >>> import mdnc
    >>> from mdnc.engines import prepare_engine
    >>> net = mdnc.modules.resnet.UNet1d(4, [1, 1])
    >>> runner, name = prepare_engine(net, "torch", window=256, batch_size=4)
    >>> name, runner is net
    ('torch', True)
"""

from __future__ import annotations

import copy
import time
from typing import Any

import torch
from torch import Tensor, nn

from mdnc._utils import check_choice, check_int

__all__ = ["AUTO_MIN_WINDOWS", "ENGINES", "OnnxRuntimeModel", "choose_engine", "prepare_engine"]

ENGINES = ("torch", "onnxruntime", "auto")
"""The engine names :func:`prepare_engine` and ``mdnc denoise --engine`` take."""

AUTO_MIN_WINDOWS = 256
"""``"auto"`` measures the engines only for jobs of at least this many windows."""


def onnxruntime_available() -> bool:
    """Whether ONNX Runtime (and the ONNX exporter's packages) can be imported."""
    try:
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError:
        return False
    return True


class OnnxRuntimeModel:
    """A network exported to ONNX and run by ONNX Runtime on CPU, called like the network.

    The export has a dynamic batch axis and the window length fixed, so that ONNX Runtime
    plans its kernels for that length. Inputs and outputs are float32 CPU tensors.

    Args:
        model: a network of :mod:`mdnc.modules` (anything :func:`mdnc.export.export_onnx`
            takes).
        window: the samples per window it will be called on.
        threads: ONNX Runtime's intra-op threads (default: ``torch.get_num_threads()``).

    Attributes:
        in_planes: the network's input channels; ``min_size`` too when it has one.

    Raises:
        ImportError: onnxruntime, onnx or onnxscript is not installed.
        RuntimeError: the network could not be exported.
    """

    def __init__(self, model: nn.Module, window: int, threads: int | None = None) -> None:
        if not onnxruntime_available():
            raise ImportError(
                "the onnxruntime engine needs onnx, onnxscript and onnxruntime: "
                "pip install 'mdnc[onnx]'."
            )
        import onnxruntime as ort

        from mdnc.export import onnx_program

        self.in_planes = int(model.in_planes)
        if hasattr(model, "min_size"):
            self.min_size = tuple(model.min_size)
        self.window = check_int("window", window, 1)
        example = torch.zeros(2, self.in_planes, self.window)
        cpu_model = model if _on_cpu(model) else copy.deepcopy(model).cpu()
        program = onnx_program(cpu_model, example, length=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads would spin between calls, taking the cores from the
        # overlap-add around them (and from PyTorch) for no gain at these call sizes.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            program.model_proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, x: Tensor) -> Tensor:
        """The network's output for a ``(B, in_planes, window)`` batch, float32 on CPU."""
        array = x.detach().to("cpu", torch.float32).contiguous().numpy()
        return torch.from_numpy(self._session.run(None, {"x": array})[0])

    def __repr__(self) -> str:
        return f"OnnxRuntimeModel(in_planes={self.in_planes}, window={self.window})"


def _on_cpu(model: nn.Module) -> bool:
    return all(p.device.type == "cpu" for p in model.parameters())


def _time_batches(runner: Any, batch: Tensor, reps: int = 3) -> float:
    """The best of ``reps`` timed calls on ``batch``, after one warm-up call."""
    with torch.inference_mode():
        runner(batch)
        best = float("inf")
        for _ in range(reps):
            began = time.perf_counter()
            runner(batch)
            best = min(best, time.perf_counter() - began)
    return best


def choose_engine(model: nn.Module, window: int, batch_size: int) -> tuple[Any, str, dict]:
    """Time both engines on one random ``(batch_size, in_planes, window)`` batch.

    Args:
        model: the network (timed in evaluation mode; its mode is restored).
        window: samples per window.
        batch_size: windows per call.

    Returns:
        ``(runner, name, seconds)``: the faster engine's callable and name, and the best
        time of one batch on each engine (``{"torch": s, "onnxruntime": s}``).
    """
    batch = torch.randn(batch_size, int(model.in_planes), window)
    was_training = model.training
    model.eval()
    try:
        seconds = {"torch": _time_batches(model, batch)}
        ort_model = OnnxRuntimeModel(model, window)
        seconds["onnxruntime"] = _time_batches(ort_model, batch)
    finally:
        model.train(was_training)
    if seconds["onnxruntime"] < seconds["torch"]:
        return ort_model, "onnxruntime", seconds
    return model, "torch", seconds


def prepare_engine(
    model: nn.Module,
    engine: str,
    window: int,
    batch_size: int,
    device: torch.device | str = "cpu",
    windows: int | None = None,
) -> tuple[Any, str]:
    """The callable that runs ``model``'s windows on ``engine``, and the engine's name.

    Args:
        model: the network.
        engine: one of :data:`ENGINES`.
        window: samples per window.
        batch_size: windows per call.
        device: where the network runs; ``"onnxruntime"`` needs the CPU.
        windows: how many windows the job has (``"auto"`` measures for at least
            :data:`AUTO_MIN_WINDOWS`); unknown: measure.

    Returns:
        ``(runner, name)``: ``model`` itself for ``"torch"``, an :class:`OnnxRuntimeModel`
        for ``"onnxruntime"``.

    Raises:
        ValueError: an unknown engine, or ``"onnxruntime"`` on another device than the CPU.
        ImportError: ``"onnxruntime"`` without ONNX Runtime installed.
    """
    engine = check_choice("engine", engine, ENGINES)
    on_cpu = torch.device(device).type == "cpu"
    if engine == "torch":
        return model, "torch"
    if engine == "onnxruntime":
        if not on_cpu:
            raise ValueError(
                f"engine 'onnxruntime' runs on the CPU only, got device {device}; use "
                f"engine 'torch' there."
            )
        return OnnxRuntimeModel(model, window), "onnxruntime"
    if not on_cpu or not onnxruntime_available():
        return model, "torch"
    if windows is not None and windows < AUTO_MIN_WINDOWS:
        return model, "torch"
    runner, name, _ = choose_engine(model, window, batch_size)
    return runner, name
