"""``mdnc export``: TorchScript and ONNX files from a trained run, each checked once."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._models import add_command

HELP = "write TorchScript and ONNX (dynamic batch and length) files from a checkpoint"
EXAMPLES = """\
examples:
  mdnc export --checkpoint runs/demo --out exported/
  mdnc export --checkpoint runs/demo --out exported/ --format onnx --length 4096

Both files are run once against PyTorch and only written when they match.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "export", HELP, EXAMPLES)
    parser.add_argument("--checkpoint", required=True, metavar="RUN_DIR", help="a trained run")
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="folder for model.pt/model.onnx"
    )
    parser.add_argument(
        "--format",
        nargs="+",
        choices=("torchscript", "onnx"),
        default=["torchscript", "onnx"],
        help="what to write (default: both)",
    )
    parser.add_argument(
        "--length", type=int, default=None, help="length of the example input used for checking"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mdnc.checkpoint import load
    from mdnc.export import example_input, export_onnx, export_torchscript

    from . import UsageError

    model = load(args.checkpoint)
    if args.length is not None and args.length < model.min_size[0]:
        raise UsageError(
            f"--length must be at least {model.min_size[0]} for this model, got {args.length}."
        )
    out = Path(args.out)
    example = example_input(model, length=args.length)
    if "torchscript" in args.format:
        report = export_torchscript(model, out / "model.pt", check_inputs=[example])
        print(f"wrote {report.path} (max abs difference from PyTorch {report.max_abs_error:.2e})")
    if "onnx" in args.format:
        try:
            report = export_onnx(model, out / "model.onnx", example)
        except ImportError as err:
            raise UsageError(str(err)) from err
        print(f"wrote {report.path} (max abs difference from PyTorch {report.max_abs_error:.2e})")
    return 0
