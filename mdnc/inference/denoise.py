"""Denoise recording files with a trained run: the one call behind ``mdnc denoise``.

:func:`denoise` takes files and folders, checks every input's header first (channels,
sampling rate, a target that would overwrite an input) and only then writes, each output
in its input's format with its input's header, a batch of windows at a time (memory is
bounded by the window and the batch, not by the recording). A run trained on one-channel
recordings denoises every channel of a multichannel recording in turn (the channels go
through the model as windows of their own). The parts of a file (the segments of a
seismic channel with gaps) are denoised one by one and written back as parts.

Example:
    >>> import mdnc
    >>> mdnc.denoise("runs/eeg", ["night.edf"], "clean/")  # doctest: +SKIP
    [PosixPath('clean/night.edf')]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor

from ..errors import UsageError
from .spec import InferenceSpec

__all__ = ["denoise", "ChannelWise", "DenoiseJob"]

#: Relative difference of two sampling rates that still counts as the same rate.
RATE_TOLERANCE = 1e-6


class ChannelWise:
    """A one-channel model applied to each channel of ``(batch, channels, window)``
    windows, as ``batch * channels`` windows of one channel.

    Args:
        model: a callable mapping ``(n, 1, window)`` to ``(n, C_out, window)``.
        channels: the channels of the recordings it is given.
        min_size: the model's smallest window (``model.min_size``).
    """

    def __init__(self, model: Callable[[Tensor], Tensor], channels: int, min_size: Any) -> None:
        self.model, self.in_planes, self.min_size = model, channels, min_size

    def __call__(self, x: Tensor) -> Tensor:
        b, c, w = x.shape
        y = self.model(x.reshape(b * c, 1, w))
        return y.reshape(b, c * y.shape[1], w)


@dataclass
class DenoiseJob:
    """One input file: its parts (descriptions), its output, and how it runs."""

    parts: list
    target: Path
    per_channel: bool

    @property
    def path(self) -> Path:
        return self.parts[0].path


def _check_part(info: Any, model: Any, spec: InferenceSpec, any_rate: bool, run: Any) -> bool:
    """Whether a part is denoised channel by channel; DataError when it cannot be."""
    from ..data import DataError

    planes = int(getattr(model, "in_planes", info.channels))
    if planes != info.channels and planes != 1:
        raise DataError(
            f"{info.path}: has {info.channels} channel(s); the model in {run} takes {planes} "
            "(a one-channel model denoises each channel in turn)"
        )
    rate, trained = info.sample_rate, spec.sample_rate
    if not any_rate and rate and trained and abs(rate - trained) > RATE_TOLERANCE * trained:
        raise DataError(
            f"{info.path}: sampled at {rate:g} Hz, but the run in {run} was trained at "
            f"{trained:g} Hz; resample it, or allow another rate (--any-rate, any_rate=True) "
            "if that is intended"
        )
    return planes == 1 and info.channels > 1


def plan_jobs(
    inputs: Sequence[Any], output: Any, key: str | None, model: Any, spec: InferenceSpec,
    any_rate: bool, run: Any,
) -> list[DenoiseJob]:  # fmt: skip
    """Every input described and checked, and its output path, before anything is written.

    Raises:
        DataError: an input cannot be read or used with the model; inputs share a name.
        UsageError: an output would overwrite an input.
    """
    from ..data import DataError, find_recordings
    from ..data.index import describe_parts

    paths = find_recordings(inputs)
    if not paths:
        raise DataError(f"no recordings found in {' '.join(map(str, inputs))}")
    output = Path(output)
    to_folder = len(paths) > 1 or any(Path(p).is_dir() for p in inputs) or output.is_dir()
    to_folder = to_folder or output.suffix == ""
    jobs = []
    for path in paths:
        parts = describe_parts(path, key)
        modes = {_check_part(p, model, spec, any_rate, run) for p in parts}
        target = output / path.name if to_folder else output
        jobs.append(DenoiseJob(parts, target, True in modes))
    _check_targets(jobs, output)
    return jobs


def _check_targets(jobs: list[DenoiseJob], output: Path) -> None:
    from ..data import DataError
    from ..data.formats import format_of

    targets = [j.target for j in jobs]
    if len(set(targets)) != len(targets):
        raise DataError(f"several inputs share a file name; outputs in {output} would collide")
    inputs = [p for j in jobs for p in [j.path, *format_of(j.path).companions(j.path)]]
    for job in jobs:
        names = [p.name for p in format_of(job.path).companions(job.path)]
        for target in [job.target, *(job.target.parent / n for n in names)]:
            hit = _same_file(target, inputs)
            if hit is not None:
                raise UsageError(
                    f"--output {output} would overwrite the input {hit}; denoise never "
                    "writes over its inputs: give another output path."
                )


def _same_file(target: Path, inputs: Iterable[Path]) -> Path | None:
    """The input that ``target`` is (the same path, a link to it, a hard link), or None."""
    for p in inputs:
        if target.resolve() == p.resolve() or (target.exists() and os.path.samefile(p, target)):
            return p
    return None


class _PartSink:
    """The output array-like of one part: blocks go to the file's writer in time order."""

    def __init__(self, writer: Any, channels: int, length: int) -> None:
        self.writer, self.shape = writer, (channels, length)

    def __setitem__(self, key: Any, block: Any) -> None:
        self.writer.write(block)


def _output_channels(model: Any, job: DenoiseJob, part: Any) -> int:
    out = int(getattr(model, "out_planes", getattr(model, "in_planes", part.channels)))
    return part.channels * out if job.per_channel else out


def _denoise_file(runner: Any, model: Any, job: DenoiseJob, settings: dict[str, Any]) -> Path:
    """The file of one job, part after part, written atomically."""
    from ..data import open_recordings
    from ..data.stream import RecordingWriter
    from . import stream_overlap_add

    first = job.parts[0]
    shapes = [(_output_channels(model, job, p), p.length) for p in job.parts]
    writer = RecordingWriter(job.target, *shapes[0], like=first, parts=shapes)
    batch = settings["batch_size"]
    try:
        for part, (channels, length) in zip(job.parts, shapes, strict=True):
            source = open_recordings([part], lazy=True)[0]
            run, per_call = runner, batch
            if job.per_channel and part.channels > 1:
                run = ChannelWise(runner, part.channels, getattr(model, "min_size", (1,)))
                per_call = max(1, batch // part.channels)
            stream_overlap_add(
                run, source, _PartSink(writer, channels, length), window=settings["window"],
                overlap=settings["overlap"], batch_size=per_call,
                standardize=settings["standardize"], progress=settings["progress"],
            )  # fmt: skip
        return writer.close()
    finally:
        writer.abort()


def _window(requested: int, jobs: list[DenoiseJob], model: Any) -> int:
    """The window: the one asked for, or the longest part when that is shorter (a window
    longer than every recording only pads them; the result is the same)."""
    longest = max(p.length for j in jobs for p in j.parts)
    min_size = getattr(model, "min_size", (1,))
    return min(requested, max(longest, int(min_size[0]))) if requested > 0 else requested


def _runner(model: Any, jobs: list[DenoiseJob], settings: dict[str, Any], device: Any) -> Any:
    """The engine's callable, prepared once for every file of the job."""
    from ..engines import prepare_engine
    from ..limits import check_forward_memory
    from . import check_arguments, window_layout

    window, overlap, batch = check_arguments(
        model, settings["window"], settings["overlap"], settings["batch_size"]
    )
    windows = sum(window_layout(p.length, window, overlap)[1] * (p.channels if j.per_channel
                  else 1) for j in jobs for p in j.parts)  # fmt: skip
    check_forward_memory(
        model.eval(), min(batch, windows), (window,),
        f"--window {window} x --batch-size {batch}", "lower --batch-size or --window",
    )  # fmt: skip
    runner, name = prepare_engine(model.eval(), settings["engine"], window, batch, device, windows)
    settings["engine_name"] = name
    return runner


def denoise(
    run: str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    key: str | None = None,
    window: int | None = None,
    overlap: float = 0.5,
    batch_size: int = 64,
    device: str = "auto",
    weights: str = "best",
    engine: str = "torch",
    any_rate: bool = False,
    threads: int | None = None,
    progress: bool = False,
    echo: Callable[[str], None] | None = None,
) -> list[Path]:
    """Denoise recording files with a trained run, each into a file of its own format.

    Args:
        run: the run folder (``mdnc train --out``) or a checkpoint folder.
        inputs: files or folders of recordings (any registered format).
        output: a file (one input file) or a folder (created when missing).
        key: what to read of each input (an ``.npz`` array, an HDF5 dataset, EDF signal
            labels, seismic trace ids).
        window: samples per window (default: the run's training window).
        overlap: fraction of a window shared with the next, in ``[0, 1)``.
        batch_size: windows per model call.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        weights: ``"best"`` (lowest validation loss) or ``"last"`` (the last epoch).
        engine: ``"torch"``, ``"onnxruntime"`` or ``"auto"`` (see :mod:`mdnc.engines`).
        any_rate: allow inputs sampled at another rate than the training recordings.
        threads: CPU threads for the model (default: PyTorch's, one per core).
        progress: show a progress bar per recording.
        echo: called with a line per file written (e.g. ``print``).

    Returns:
        The files written, in the order of the inputs.

    Raises:
        DataError: an input cannot be read, does not fit the model (channels, sampling
            rate) or cannot be written; nothing is written for a bad input found first.
        CheckpointError: the run cannot be loaded.
        UsageError: an argument is not valid, or an output would overwrite an input.
    """
    import torch

    from .._utils import check_int, remove_leftovers, resolve_device
    from ..checkpoint import load_checkpoint

    inputs = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    try:
        if threads is not None:
            torch.set_num_threads(check_int("--threads", threads, 1))
        where = resolve_device(device)
    except (TypeError, ValueError) as err:
        raise UsageError(str(err)) from err
    model, config = load_checkpoint(run, map_location=where, weights=weights)
    spec = InferenceSpec.from_config(config, run)
    jobs = plan_jobs(inputs, output, key, model, spec, any_rate, run)
    settings = {"window": _window(spec.window if window is None else window, jobs, model),
                "overlap": overlap, "batch_size": batch_size, "engine": engine,
                "standardize": spec.standardize, "progress": progress}  # fmt: skip
    runner = _checked(lambda: _runner(model, jobs, settings, where), None, f"--engine {engine}")
    if echo is not None and engine == "auto":
        echo(f"engine: {settings['engine_name']}")
    written = []
    for job in jobs:
        job.target.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(job.target.parent, [job.target.name])  # of a killed earlier write
        written.append(_checked(lambda job=job: _denoise_file(runner, model, job, settings),
                                str(job.path), str(job.path)))  # fmt: skip
        if echo is not None:
            echo(f"{job.path} -> {job.target}")
    return written


def _checked(call: Callable[[], Any], prefix: str | None, import_prefix: str) -> Any:
    """``call()``, its argument errors (not mdnc's own refusals) as a UsageError, with
    ``prefix`` (a file) when given; a missing library with ``import_prefix``."""
    from ..errors import MdncError

    try:
        return call()
    except MdncError:
        raise
    except (TypeError, ValueError) as err:
        raise UsageError(f"{prefix}: {err}" if prefix else str(err)) from err
    except ImportError as err:
        raise UsageError(f"{import_prefix}: {err}") from err
