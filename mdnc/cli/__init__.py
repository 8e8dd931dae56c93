"""The ``mdnc`` command: ``train``, ``denoise`` (alias ``apply``), ``summary``, ``export``.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and
``run(args) -> int``; this module only wires them together and turns expected failures
(bad data, bad checkpoints, bad options, bad arguments) into one-line errors with exit
code 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Sequence

from . import denoise, export, summary, train
from ._models import HelpFormatter

__all__ = ["PLUGIN_GROUP", "build_parser", "load_plugins", "main"]

_COMMANDS = (train, denoise, summary, export)

_EPILOG = """\
examples:
  mdnc train --out runs/demo                  # built-in synthetic signals, a few minutes on a CPU
  mdnc train data/*.npy --snr-db 5 --out runs/ecg
  mdnc denoise --checkpoint runs/ecg noisy.wav --output clean.wav
  mdnc summary --preset unet32 --order 1 --input-size 1 1024
  mdnc export --checkpoint runs/ecg --out exported/

Run `mdnc COMMAND --help` for the options of each command.
"""


class UsageError(ValueError):
    """A command-line argument is invalid (reported as a one-line error, exit code 2)."""


#: Entry-point group of installed packages that add presets, noise models or objectives.
PLUGIN_GROUP = "mdnc.plugins"


def load_plugins() -> list[str]:
    """Import the modules that installed packages declare in the ``mdnc.plugins`` group.

    A package makes its own noise models, objectives or presets options of the ``mdnc``
    command by registering them in a module named in its metadata, e.g. in its
    ``pyproject.toml``::

        [project.entry-points."mdnc.plugins"]
        my_noise = "my_package.mdnc_plugin"

    A plugin that fails to import is reported with a ``RuntimeWarning`` and skipped.

    Returns:
        The names of the plugins loaded.
    """
    import warnings
    from importlib.metadata import entry_points

    loaded = []
    for entry in entry_points(group=PLUGIN_GROUP):
        try:
            entry.load()
        except Exception as err:  # a broken plugin must not break the command
            warnings.warn(
                f"mdnc: plugin {entry.name!r} ({entry.value}) was not loaded: "
                f"{type(err).__name__}: {err}",
                RuntimeWarning,
                stacklevel=2,
            )
        else:
            loaded.append(entry.name)
    return loaded


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit code 2."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mdnc`` command (installed plugins loaded first)."""
    load_plugins()
    parser = _Parser(
        prog="mdnc",
        description="Residual auto-encoders and U-Nets for 1-D signals: train, denoise, "
        "summarize and export.",
        epilog=_EPILOG,
        formatter_class=HelpFormatter,
    )
    from mdnc import __version__

    parser.add_argument("--version", action="version", version=f"mdnc {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.add_parser(subparsers)
    return parser


def _expected_errors() -> tuple[type[BaseException], ...]:
    from mdnc.checkpoint import CheckpointError
    from mdnc.data import DataError
    from mdnc.training.config import ConfigError

    return (DataError, CheckpointError, ConfigError, UsageError, FileNotFoundError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mdnc`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except _expected_errors() as err:
        print(f"mdnc {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mdnc {args.command}: interrupted", file=sys.stderr)
        return 130
