"""``mdnc denoise`` (alias ``apply``): run a trained model over recordings of any length."""

from __future__ import annotations

import argparse

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

  mdnc denoise --checkpoint runs/eeg night.edf --output clean/      # header and units kept
  mdnc denoise --checkpoint runs/quake day.mseed --output clean/    # segments kept

Outputs keep the input file names and formats (an output file named *.npy is written as
.npy), with the input's header: sampling rate, channel names, units, start time, the
field's own fields. A run trained on one-channel recordings denoises every channel of a
multichannel recording in turn. Windows are blended by weighted overlap-add. Recordings
are streamed: read and written a batch of windows at a time, so memory is bounded by the
window and batch size, not by the length of the recording (.csv inputs are read whole;
WFDB and SAC outputs are held whole until written). Every input's header is
checked before anything is written; an output appears only once complete.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "denoise", HELP, EXAMPLES, aliases=["apply"])
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files or folders")
    parser.add_argument("--checkpoint", required=True, metavar="RUN_DIR", help="a trained run")
    parser.add_argument(
        "--output", required=True, metavar="OUT", help="a file (one input file) or a folder"
    )
    parser.add_argument(
        "--key",
        help="what to read of each input: the array of an .npz, the dataset of an .h5, EDF "
        "signal labels or seismic trace ids (comma-separated)",
    )
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
    parser.add_argument(
        "--any-rate", action="store_true",
        help="denoise recordings sampled at another rate than the run's training recordings "
        "(refused otherwise, when both rates are known)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run, command="denoise")


def run(args: argparse.Namespace) -> int:
    from mdnc.inference.denoise import denoise

    denoise(
        args.checkpoint, args.inputs, args.output, key=args.key, window=args.window,
        overlap=args.overlap, batch_size=args.batch_size, device=args.device,
        weights=args.weights, engine=args.engine, any_rate=args.any_rate,
        threads=args.threads, progress=not args.quiet, echo=None if args.quiet else print,
    )  # fmt: skip
    return 0
