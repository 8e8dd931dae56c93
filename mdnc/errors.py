"""The one base of every error mdnc raises on bad input.

Each error keeps the standard base it had (``ValueError`` for bad data, options and
checkpoints; ``RuntimeError`` for a run folder in use), so ``except ValueError`` still
works; :class:`MdncError` is what the command line catches to print one line and exit
with code 2, and what a program catches to tell mdnc's refusals from its own bugs.

Example:
    >>> from mdnc.errors import MdncError
    >>> from mdnc.data import DataError
    >>> issubclass(DataError, MdncError) and issubclass(DataError, ValueError)
    True
"""

from __future__ import annotations

__all__ = ["MdncError", "UsageError"]


class MdncError(Exception):
    """Base of the errors mdnc raises when a file, an option or a folder is not usable.

    The message is one line that names the file or the argument, what was expected and
    what was found.
    """


class UsageError(MdncError, ValueError):
    """An argument of a library call or of the command line is not valid (the message
    names it)."""
