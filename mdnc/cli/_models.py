"""Command-line arguments that describe a network, shared by ``summary`` and ``train``."""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from torch import nn

from mdnc.registry import BLOCKS, get_model_info, list_models

__all__ = [
    "HelpFormatter",
    "add_command",
    "add_model_arguments",
    "model_kwargs",
    "model_from_arguments",
]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs kept as written; option help wrapped at spaces only, so that
    names such as ``self-supervised`` or ``--noisy-pair`` are never split across lines."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.wrap(text, width, break_on_hyphens=False)


def add_command(
    subparsers: argparse._SubParsersAction, name: str, help_text: str, examples: str, **kwargs: Any
) -> argparse.ArgumentParser:
    """A subcommand parser whose ``--help`` ends with ``examples`` (kept as written)."""
    return subparsers.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=examples,
        formatter_class=HelpFormatter,
        **kwargs,
    )


def add_model_arguments(
    parser: argparse.ArgumentParser, *, presets: bool, defaults: dict[str, Any] | None = None
) -> None:
    """Add ``--arch``, ``--channel``, ``--layers``, ``--block``, ``--kernel-size``, ...

    Args:
        parser: the parser of a subcommand.
        presets: also offer ``--preset NAME --order N``.
        defaults: default values (``arch``, ``channel``, ``layers``, ...); None leaves an
            option unset so that the class default applies.
    """
    defaults = defaults or {}
    # Read when the parser is built, so that models registered after import are offered.
    networks = list_models(kind="network")
    group = parser.add_argument_group("model")
    group.add_argument(
        "--arch",
        choices=networks,
        default=defaults.get("arch"),
        metavar="CLASS",
        help=f"network class of mdnc.registry: {', '.join(networks)}"
        + (f" (default {defaults['arch']})" if "arch" in defaults else ""),
    )
    if presets:
        group.add_argument("--preset", choices=list_models(kind="preset"), help="a preset network")
        group.add_argument(
            "--order", type=int, default=2, help="preset order: 1, 2 or 3 (default 2)"
        )
    group.add_argument(
        "--channel", type=int, default=defaults.get("channel"), help="width of the first stage"
    )
    group.add_argument(
        "--layers",
        type=int,
        nargs="+",
        default=defaults.get("layers"),
        metavar="N",
        help="blocks per stage, e.g. 2 2 2 2",
    )
    group.add_argument("--block", choices=BLOCKS, default=defaults.get("block"))
    group.add_argument("--kernel-size", type=int, nargs="+", default=defaults.get("kernel_size"))
    group.add_argument("--in-planes", type=int, help="input channels")
    group.add_argument("--out-planes", type=int, help="output channels")
    group.add_argument("--out-size", type=int, nargs="+", help="decoders: output size")
    group.add_argument(
        "--out-length", type=int, help="encoders: output vector length (0: feature map)"
    )
    group.add_argument(
        "--in-length", type=int, help="decoders: input vector length (0: feature map)"
    )


def model_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The constructor keyword arguments given on the command line (unset ones left out)."""
    kwargs: dict[str, Any] = {}
    for name in (
        "channel",
        "layers",
        "block",
        "in_planes",
        "out_planes",
        "out_length",
        "in_length",
    ):
        value = getattr(args, name, None)
        if value is not None:
            kwargs[name] = value
    for name in ("kernel_size", "out_size"):
        value = getattr(args, name, None)
        if value is not None:
            kwargs[name] = value[0] if len(value) == 1 else tuple(value)
    return kwargs


def model_from_arguments(args: argparse.Namespace) -> nn.Module:
    """Build the network that ``--preset`` or ``--arch`` and the other options describe.

    Raises:
        UsageError: neither or both of ``--preset`` and ``--arch`` are given, or the
            network rejects the arguments.
    """
    from . import UsageError

    preset = getattr(args, "preset", None)
    if (preset is None) == (args.arch is None):
        raise UsageError("give exactly one of --preset NAME or --arch CLASS.")
    kwargs = model_kwargs(args)
    try:
        if preset is not None:
            for fixed in ("channel", "layers", "block"):
                if kwargs.pop(fixed, None) is not None:
                    raise UsageError(f"--{fixed} cannot be changed for a preset ({preset}).")
            out_size = kwargs.pop("out_size", None)
            info = get_model_info(preset)
            if info.family == "decoder":
                if out_size is None:
                    raise UsageError(f"{preset} needs --out-size.")
                return info.builder(out_size, order=args.order, **kwargs)
            return info.builder(order=args.order, **kwargs)
        info = get_model_info(args.arch)
        for name in ("channel", "layers"):
            if name not in kwargs:
                raise UsageError(f"--arch {args.arch} needs --{name}.")
        if info.family == "decoder" and "out_size" not in kwargs:
            raise UsageError(f"--arch {args.arch} needs --out-size.")
        if info.family == "blindspot" and "block" in kwargs:
            raise UsageError(f"--block does not apply to {args.arch} (it has no residual blocks).")
        return info.builder(**kwargs)
    except (TypeError, ValueError) as err:
        if isinstance(err, UsageError):
            raise
        raise UsageError(str(err)) from err
