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
    from mdnc._utils import remove_leftovers
    from mdnc.checkpoint import CheckpointError, load
    from mdnc.export import example_input, export_onnx, export_torchscript
    from mdnc.limits import check_forward_memory

    from . import UsageError

    model = load(args.checkpoint)
    if args.length is not None and args.length < model.min_size[0]:
        raise UsageError(
            f"--length must be at least {model.min_size[0]} for this model, got {args.length}."
        )
    if args.length is not None:  # tracing and checking hold several copies of the graph
        check_forward_memory(
            model,
            3,
            (args.length,) * len(model.min_size),
            f"--length {args.length}",
            "give a smaller --length",
            factor=4,
        )
    out = Path(args.out)
    example = example_input(model, length=args.length)
    for name, fmt in (("model.pt", "torchscript"), ("model.onnx", "onnx")):
        if fmt not in args.format:
            continue
        remove_leftovers(out, [name])  # of a killed earlier export
        try:
            if fmt == "torchscript":
                report = export_torchscript(model, out / name, check_inputs=[example])
            else:
                report = export_onnx(model, out / name, example)
        except ImportError as err:
            raise UsageError(str(err)) from err
        except ValueError as err:  # outputs that are not finite: a broken model
            raise CheckpointError(f"{args.checkpoint}: {err}") from err
        # The bound that was checked, not the difference itself: that is rounding, and
        # changes with the CPU and the thread count.
        print(f"wrote {report.path} (checked: within {report.atol:g} of PyTorch's outputs)")
    return 0
