"""The ``mdnc`` command: ``train``, ``denoise`` (alias ``apply``), ``summary``, ``export``.

Each subcommand lives in its own module with ``add_parser(subparsers)`` and
``run(args) -> int``; this module wires them together and is the command's one error
boundary: every failure a user can cause (bad data, checkpoints, options or arguments;
files that cannot be read or written, a full or read-only disk; sizes beyond the memory
limits; a diverged training; a run folder in use) ends in one line naming the file or
option, exit code 2, and Ctrl-C in exit code 130. Anything else is a bug in mdnc: its
traceback is shown and the last line says so (exit code 1).
"""

from __future__ import annotations

import argparse
import errno
import sys
import typing
from collections.abc import Sequence

from mdnc.errors import MdncError
from mdnc.errors import UsageError as _UsageError
from mdnc.plugins import PLUGIN_GROUP, load_plugins

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


# A command-line argument is invalid (reported as a one-line error, exit code 2).
UsageError = _UsageError


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
    """Every refusal of bad input derives from :class:`mdnc.errors.MdncError`."""
    return (MdncError,)


#: What to do about the operating-system errors a user meets, by ``errno``.
_OS_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is exceeded: free some space or write elsewhere",
    errno.EROFS: "the file system is read-only: write elsewhere",
    errno.EACCES: "permission denied: check the permissions or choose another path",
    errno.EPERM: "not permitted: check the permissions or choose another path",
    errno.ENOENT: "no such file or folder",
    errno.EISDIR: "a folder is there, a file was expected",
    errno.ENOTDIR: "a file is there, a folder was expected",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EIO: "input/output error: the disk or the file may be damaged",
}


def _os_message(err: OSError) -> str:
    """One line for an operating-system error: the file, what happened, what to do."""
    names = [n for n in (err.filename, err.filename2) if n is not None]
    where = " -> ".join(str(n) for n in names)
    what = _OS_ADVICE.get(err.errno or -1) or (err.strerror or str(err) or type(err).__name__)
    return f"{where}: {what}" if where else what


def _is_out_of_memory(err: BaseException) -> bool:
    if isinstance(err, MemoryError):
        return True
    text = str(err).lower()
    return isinstance(err, RuntimeError) and (
        "can't allocate memory" in text or "out of memory" in text
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _unwrapped(err: BaseException) -> str:
    """The message of an error, without the worker's traceback that ``DataLoader`` wraps
    around an error raised in a worker process ("Caught X in DataLoader worker ...")."""
    text = str(err)
    if "\nOriginal Traceback" not in text:
        return text
    last = [line for line in text.splitlines() if line.strip()][-1]
    name = f"{type(err).__name__}: "
    return last.split(name, 1)[1] if name in last else last


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mdnc`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Exit codes: 0 done; 2 a failure the user can fix (one line on stderr, nothing lost);
    130 interrupted (Ctrl-C); 1 a bug in mdnc (its traceback, then a line saying so).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"mdnc {args.command}"
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except _expected_errors() as err:
        message = _unwrapped(err)
    except OSError as err:
        message = _os_message(err)
    except Exception as err:  # a bug, unless the memory ran out
        if not _is_out_of_memory(err):
            import traceback

            traceback.print_exc()
            print(
                f"{prefix}: internal error ({type(err).__name__}): this is a bug in mdnc; "
                "please report it with the traceback above.",
                file=sys.stderr,
            )
            return 1
        message = (
            f"out of memory ({_one_line(err)[:200]}); lower --batch-size or --window, or "
            "free memory"
        )
    print(f"{prefix}: error: {_one_line(message)}", file=sys.stderr)
    return 2
