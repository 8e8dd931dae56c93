"""``mdnc summary``: the summary table of a model, in the documented format."""

from __future__ import annotations

import argparse

from ._models import add_command, add_model_arguments, model_from_arguments

HELP = "print the summary table of a model (preset, arguments or checkpoint)"
EXAMPLES = """\
examples:
  mdnc summary --preset unet32 --order 1 --input-size 1 1024
  mdnc summary --arch AE1d --channel 64 --layers 2 2 2 2 3 --in-planes 3 --input-size 3 128
  mdnc summary --checkpoint runs/demo --input-size 1 2048
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = add_command(subparsers, "summary", HELP, EXAMPLES)
    add_model_arguments(parser, presets=True)
    parser.add_argument(
        "--checkpoint", metavar="RUN_DIR", help="summarize the model of a trained run instead"
    )
    parser.add_argument(
        "--input-size",
        type=int,
        nargs="+",
        required=True,
        metavar="N",
        help="input shape without the batch axis, e.g. 1 1024 (channels, length)",
    )
    parser.add_argument("--batch-size", type=int, default=-1, help="batch size shown (default -1)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mdnc.contribs.torchsummary import summary
    from mdnc.limits import check_forward_memory

    if args.checkpoint:
        from mdnc.checkpoint import load

        model = load(args.checkpoint)
    else:
        model = model_from_arguments(args)
    from . import UsageError

    size = tuple(args.input_size)
    if len(size) >= 2 and all(n >= 1 for n in size) and hasattr(model, "in_planes"):
        check_forward_memory(model, 2, size[1:], f"--input-size {' '.join(map(str, size))}",
                             "give a smaller --input-size")  # fmt: skip
    try:
        summary(model, size, batch_size=args.batch_size, device="cpu")
    except (TypeError, ValueError) as err:
        raise UsageError(f"--input-size {' '.join(map(str, size))}: {err}") from err
    return 0
