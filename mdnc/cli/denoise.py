"""``mdnc denoise`` (alias ``apply``): run a trained model over recordings of any length."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mdnc._utils import DEVICE_HELP

from ._models import add_command

HELP = "denoise recordings of any length with a trained run (overlap-add over windows)"
EXAMPLES = """\
examples:
  mdnc denoise --checkpoint runs/ecg noisy.npy --output clean.npy
  mdnc denoise --checkpoint runs/ecg recordings/ --output denoised/   # a folder in, a folder out
  mdnc apply --checkpoint runs/audio a.wav b.flac --output out/ --window 4096 --overlap 0.75
  mdnc denoise --checkpoint runs/ecg noisy.npy --output last.npy --weights last  # last epoch
  mdnc denoise --checkpoint runs/ecg archive/ --output out/ --engine auto --threads 4

Outputs keep the input file names and formats (an output file named *.npy is written as
.npy). Windows are blended by weighted overlap-add. Recordings are streamed: read and
written a batch of windows at a time, so memory is bounded by the window and batch size,
not by the length of the recording (.csv inputs are read whole). Every input's header is
checked before anything is written; an output appears only once complete.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "denoise", HELP, EXAMPLES, aliases=["apply"])
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files or folders")
    parser.add_argument("--checkpoint", required=True, metavar="RUN_DIR", help="a trained run")
    parser.add_argument(
        "--output", required=True, metavar="OUT", help="a file (one input file) or a folder"
    )
    parser.add_argument("--key", help="array/dataset name inside .npz/.h5 inputs")
    parser.add_argument(
        "--window", type=int, help="samples per window (default: the training window)"
    )
    parser.add_argument("--overlap", type=float, default=0.5, help="window overlap in [0, 1) (0.5)")
    parser.add_argument(
        "--batch-size", type=int, default=64,
        help="windows per model call (64: measured faster than fewer, with little memory)",
    )  # fmt: skip
    parser.add_argument("--device", default="auto", help=f"{DEVICE_HELP} (auto)")
    parser.add_argument(
        "--weights", choices=("best", "last"), default="best",
        help="best: the epoch of lowest validation loss (best.safetensors, when the run has "
        "it); last: the last epoch (best)",
    )  # fmt: skip
    parser.add_argument(
        "--engine", choices=("torch", "onnxruntime", "auto"), default="torch",
        help="what runs the windows: torch (the network, fused kernels on CPU), onnxruntime "
        "(the network exported to ONNX, CPU only; needs mdnc[onnx]) or auto (the faster of "
        "the two, timed on one batch, for jobs of 256 windows or more) (torch)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int, metavar="N",
        help="CPU threads for the model (default: PyTorch's, one per core)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run, command="denoise")


def run(args: argparse.Namespace) -> int:
    from mdnc._utils import remove_leftovers
    from mdnc.checkpoint import load_checkpoint
    from mdnc.data import DataError, open_recordings
    from mdnc.inference import stream_overlap_add

    from . import UsageError

    device = _device(args)
    model, config = load_checkpoint(args.checkpoint, map_location=device, weights=args.weights)
    saved_window, standardize = _saved_options(config, args.checkpoint)
    inputs, targets = _inputs_and_targets(args, model)
    window = _window(args.window if args.window is not None else saved_window, inputs, model)
    runner = _runner(args, model, inputs, window, device)
    for info, target in zip(inputs, targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(target.parent, [target.name])  # of a killed earlier write
        try:  # read (as described above, not again) and written a batch of windows at a time
            stream_overlap_add(
                runner, open_recordings([info], lazy=True)[0], target, window=window,
                overlap=args.overlap, batch_size=args.batch_size, standardize=standardize,
                progress=not args.quiet, like=info,
            )  # fmt: skip
        except DataError:
            raise
        except (TypeError, ValueError) as err:
            raise UsageError(f"{info.path}: {err}") from err
        if not args.quiet:
            print(f"{info.path} -> {target}")
    return 0


def _saved_options(config: dict, checkpoint: str) -> tuple[int, bool]:
    """The training window and standardisation that the run saved (``extra``), checked.

    Raises:
        CheckpointError: they are not a whole number of samples >= 1 and a bool.
    """
    from mdnc._utils import is_int
    from mdnc.checkpoint import CheckpointError

    extra = config.get("extra", {})
    if not isinstance(extra, dict):
        raise CheckpointError(
            f"{Path(checkpoint) / 'config.json'}: 'extra' must be a JSON object, got "
            f"{type(extra).__name__}; the file was edited."
        )
    window, standardize = extra.get("window", 1024), extra.get("standardize", False)
    if not (is_int(window) and window >= 1 and isinstance(standardize, bool)):
        raise CheckpointError(
            f"{Path(checkpoint) / 'config.json'}: the saved window must be an int >= 1 and "
            f"standardize a bool, got {window!r} and {standardize!r}; the file was edited."
        )
    return int(window), standardize


def _device(args: argparse.Namespace) -> Any:
    """The checked ``--device``; ``--threads`` applied."""
    import torch

    from mdnc._utils import check_int, resolve_device

    from . import UsageError

    try:
        if args.threads is not None:
            torch.set_num_threads(check_int("--threads", args.threads, 1))
        return resolve_device(args.device)
    except (TypeError, ValueError) as err:
        raise UsageError(str(err)) from err


def _inputs_and_targets(args: argparse.Namespace, model: Any) -> tuple[list, list[Path]]:
    """Every input read and checked, and its output path, before anything is written."""
    from mdnc.data import DataError, check_channels, find_recordings
    from mdnc.data.index import describe_recording

    from . import UsageError

    paths = find_recordings(args.inputs)
    if not paths:
        raise DataError(f"no recordings found in {' '.join(args.inputs)}")
    output = Path(args.output)
    to_folder = len(paths) > 1 or any(Path(p).is_dir() for p in args.inputs) or output.is_dir()
    if not to_folder and output.suffix == "":
        to_folder = True
    # Check every input's header before writing anything: a bad file leaves no output.
    recordings = [describe_recording(p, key=args.key) for p in paths]
    check_channels(recordings, expected=model.in_planes, source=f"the model in {args.checkpoint}")
    targets = [output / r.path.name if to_folder else output for r in recordings]
    overwritten = _inputs_among(recordings, targets)
    if overwritten:
        raise UsageError(
            f"--output {output} would overwrite the input {overwritten}; "
            "denoise never writes over its inputs: give another output path."
        )
    if len(set(targets)) != len(targets):
        raise DataError(f"several inputs share a file name; outputs in {output} would collide")
    return recordings, targets


def _inputs_among(recordings: list, targets: list[Path]) -> Path | None:
    """An input that one of ``targets`` is (the same path, a link to it, a hard link)."""
    import os

    inputs = [r.path for r in recordings]
    resolved = {p.resolve(): p for p in inputs}
    for target in targets:
        if target.resolve() in resolved:
            return resolved[target.resolve()]
        if target.exists():
            for p in inputs:
                if os.path.samefile(p, target):
                    return p
    return None


def _window(requested: int, recordings: list, model: Any) -> int:
    """The window: the one asked for, or the longest recording when that is shorter (a
    window longer than every recording only pads them; the result is the same)."""
    longest = max(r.length for r in recordings)
    min_size = getattr(model, "min_size", (1,))
    return min(requested, max(longest, int(min_size[0]))) if requested > 0 else requested


def _runner(
    args: argparse.Namespace, model: Any, recordings: list, window: int, device: Any
) -> Any:
    """The ``--engine``'s callable, prepared once for every recording of the job."""
    from mdnc.engines import prepare_engine
    from mdnc.inference import check_arguments, window_layout
    from mdnc.limits import check_forward_memory

    from . import UsageError

    try:  # the window is checked before an engine is built for it
        window, overlap, batch_size = check_arguments(model, window, args.overlap, args.batch_size)
        windows = sum(window_layout(r.length, window, overlap)[1] for r in recordings)
        check_forward_memory(
            model.eval(), min(batch_size, windows), (window,),
            f"--window {window} x --batch-size {batch_size}", "lower --batch-size or --window",
        )  # fmt: skip
        runner, name = prepare_engine(
            model.eval(), args.engine, window, batch_size, device, windows
        )
    except (TypeError, ValueError) as err:
        raise UsageError(str(err)) from err
    except ImportError as err:
        raise UsageError(f"--engine {args.engine}: {err}") from err
    if not args.quiet and args.engine == "auto":
        print(f"engine: {name}")
    return runner
