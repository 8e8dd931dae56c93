"""Private helpers shared by the whole package: atomic writes, evaluation mode, devices, checks.

Everything here imports the standard library only (torch on first use), so that
``mdnc.modules`` may use it and still stay as light as PyTorch.

* Atomic writes: :func:`staged_files` stages several files (each written to a hidden
  temporary sibling and flushed to disk) and renames them into place in the order they
  were staged, only when the whole block succeeds; :func:`atomic_path` is the one-file
  form; :func:`write_text_atomic` and :func:`write_json_atomic` write text and JSON.
  Temporary names are unique (created exclusively, like ``mkstemp``, but with the
  permissions of any new file rather than ``0600``), hidden and end in ``.tmp`` plus the
  suffix the writer needs, so two processes never share one and a crash leaves nothing
  that looks like a recording.
* :func:`remove_leftovers` removes the temporary files that a killed write left behind;
  :func:`folder_lock` locks a folder (a run being written) for one process.
* :func:`finite_json`: non-finite floats replaced by ``None`` (strict JSON has no NaN).
* :func:`eval_mode`: evaluation mode for a block, each submodule's own mode restored.
* :func:`resolve_device`: ``"auto"`` and device strings, checked; :data:`DEVICE_HELP`
  describes them in command-line help.
* :func:`is_int`; :func:`check_int`, :func:`check_real`, :func:`check_choice`,
  :func:`check_order`: argument checks with the house message ("NAME must be ..., got
  VALUE."): ``TypeError`` for a wrong type, ``ValueError`` for a value out of range.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import numbers
import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import MdncError

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "DEVICE_HELP",
    "NameRegistry",
    "atomic_path",
    "check_choice",
    "check_int",
    "check_order",
    "check_real",
    "eval_mode",
    "finite_json",
    "folder_lock",
    "FolderLockedError",
    "fsync_path",
    "LOCK_NAME",
    "is_int",
    "is_leftover",
    "remove_leftovers",
    "resolve_device",
    "staged_files",
    "write_json_atomic",
    "write_text_atomic",
]

PathLike = str | os.PathLike[str]


# ---------------------------------------------------------------------------------------
# Atomic writes
# ---------------------------------------------------------------------------------------


def fsync_path(path: PathLike, directory: bool = False) -> None:
    """Flush a file (or, with ``directory``, a folder's entries) to disk."""
    if directory and os.name == "nt":  # folders cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: The names :func:`_temporary_sibling` gives: ``.NAME.<12 hex digits>.tmp[SUFFIX]``.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{12}\.tmp[^/]*$")


def _temporary_sibling(path: Path, suffix: str) -> Path:
    """Create (exclusively) and return a new empty hidden sibling of ``path``.

    Unlike ``tempfile.mkstemp`` the file gets the mode any new file gets (``0666`` less the
    umask), which the target keeps after the rename.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp{suffix}")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary name found beside {path}")


@contextlib.contextmanager
def staged_files(*, sync_folder: bool = True) -> Iterator[Callable[..., Path]]:
    """Stage files and rename them into place, in staging order, when the block succeeds.

    Inside the block, ``stage(path, suffix="")`` returns a fresh temporary sibling of
    ``path`` for the caller to write (it exists, empty: open it for writing, not for
    exclusive creation). When the block ends without an exception every
    temporary file is flushed to disk and renamed over its target in the order staged
    (so a file that makes the others valid can go last); on any exception the targets
    are left as they were. No temporary file remains either way.

    Args:
        sync_folder: also flush the folders' entries after the renames.

    Example:
        >>> with staged_files() as stage:                      # doctest: +SKIP
        ...     np.save(stage(Path("run/a.npy"), ".npy"), a)
        ...     stage_b = stage(Path("run/config.json"))
        ...     stage_b.write_text("{}")
    """
    staged: list[tuple[Path, Path]] = []

    def stage(path: PathLike, suffix: str = "") -> Path:
        target = Path(path)
        try:
            tmp = _temporary_sibling(target, suffix)
        except OSError as err:  # a read-only or missing folder: name the file asked for
            err.filename = os.fspath(target)
            raise
        staged.append((tmp, target))
        return tmp

    try:
        try:
            yield stage
            for tmp, _ in staged:
                fsync_path(tmp)
        except OSError as err:  # name the file the user asked for, not its temporary twin
            _name_target(err, staged)
            raise
        folders = []
        while staged:
            tmp, target = staged[0]
            os.replace(tmp, target)
            staged.pop(0)
            if target.parent not in folders:
                folders.append(target.parent)
        if sync_folder:
            for folder in folders:
                fsync_path(folder, directory=True)
    finally:
        for tmp, _ in staged:
            # A failing clean-up (a read-only or vanished folder) must not mask the error.
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def _name_target(err: OSError, staged: list[tuple[Path, Path]]) -> None:
    """Put the target's name in ``err`` when it names one of the temporary files, or names
    none (a write to an open file: a full disk), then the last one staged."""
    if err.filename is None and staged:
        err.filename = os.fspath(staged[-1][1])
    for tmp, target in staged:
        if err.filename is not None and os.fspath(err.filename) == os.fspath(tmp):
            err.filename = os.fspath(target)


def remove_leftovers(folder: PathLike, names: Sequence[str] | None = None) -> list[Path]:
    """Remove the temporary files that killed writes left in ``folder``.

    Only names of the form :func:`staged_files` gives (``.NAME.<hex>.tmp...``) are
    touched, and with ``names`` only those of these targets.

    Args:
        folder: the folder to clean (nothing happens when it does not exist).
        names: the target file names whose leftovers go; None: every leftover.

    Returns:
        The files removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in folder.iterdir():
        found = _TEMPORARY.match(entry.name)
        if found and (names is None or found["name"] in names) and entry.is_file():
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def is_leftover(name: str) -> bool:
    """Whether a file name is one of :func:`staged_files`' temporary names."""
    return _TEMPORARY.match(name) is not None


#: The lock file of a folder being written, on Windows only (see :func:`folder_lock`).
LOCK_NAME = ".mdnc.lock"


class FolderLockedError(MdncError, RuntimeError):
    """Another process holds the lock of a folder (see :func:`folder_lock`)."""


@contextlib.contextmanager
def folder_lock(folder: PathLike) -> Iterator[Path]:
    """Hold ``folder``'s lock for the block; the folder is created if needed, and removed
    again afterwards when this call created it and it is still empty (a failed start).

    The lock is the operating system's (``flock`` on the folder itself; on Windows, a
    byte-range lock on a hidden ``.mdnc.lock`` file): a killed process releases it, so
    no stale lock is ever left, and no file is added to the folder.

    Raises:
        FolderLockedError: another process holds the lock.
    """
    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with _locked(folder):
            yield folder
    finally:
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    busy = FolderLockedError(
        f"{folder} is being written by another process (a training running there): wait "
        "for it to finish, or stop it, before writing into that folder."
    )
    try:
        import fcntl
    except ImportError:  # Windows: the C runtime's byte-range lock on a lock file
        import msvcrt

        with open(folder / LOCK_NAME, "a+b") as f:
            try:
                msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            except OSError:
                raise busy from None
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    f.seek(0)
                    msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise busy from None
            raise
        yield
    finally:
        os.close(fd)  # releases the lock


def finite_json(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, inf) replaced by ``None``, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str = "") -> Iterator[Path]:
    """A temporary sibling of ``path`` to write, renamed over ``path`` if the block succeeds.

    Args:
        path: the final file; its folder must exist.
        suffix: appended to the temporary name (e.g. ``".png"`` for writers that choose
            the format from the name).
    """
    with staged_files() as stage:
        yield stage(path, suffix)


def write_text_atomic(path: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json_atomic(
    path: PathLike, data: Any, default: Callable[[Any], Any] | None = None
) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically; return the path.

    Raises:
        TypeError, ValueError: ``data`` is not JSON-serialisable (nothing is written).
    """
    text = json.dumps(finite_json(data), indent=2, default=default, allow_nan=False) + "\n"
    return write_text_atomic(path, text)


# ---------------------------------------------------------------------------------------
# Modules and devices
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Evaluation mode for ``model``; afterwards each submodule gets its own mode back.

    A model with some submodules frozen in evaluation mode (a common fine-tuning set-up)
    keeps them so: ``model.train(was_training)`` alone would switch them all.
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


DEVICE_HELP = "auto, cpu, cuda or cuda:N"
"""The device names :func:`resolve_device` takes, for command-line help."""


#: The device types that run a network and its training (``meta`` holds no data).
_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu")


def resolve_device(name: str) -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; any other name is used as given.

    Raises:
        ValueError: CUDA is asked for but not available, or the name is not a device
            that runs networks (``meta`` and the like are refused).

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {name!r}."
        ) from err
    if device.type not in _DEVICE_TYPES:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {name!r}.")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for, but CUDA is not available here.")
    backend = getattr(torch, device.type, None) if device.type in ("mps", "xpu") else None
    if backend is not None and not backend.is_available():
        raise ValueError(f"device {name!r} was asked for, but it is not available here.")
    return device


# ---------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or numpy), ``bool`` excluded."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(name: str, value: Any, minimum: int | None = None, why: str = "") -> int:
    """Return ``value`` as an ``int`` if it is an integer (not ``bool``) >= ``minimum``.

    Args:
        name: the argument's name, for the message.
        value: the value to check (Python or numpy integers).
        minimum: the smallest accepted value, or None for any integer.
        why: appended to the requirement in the message (e.g. ``" (the window)"``).

    Raises:
        TypeError: not an integer.
        ValueError: below ``minimum``.
    """
    need = f"an int >= {minimum}{why}" if minimum is not None else f"an int{why}"
    if not is_int(value):
        raise TypeError(f"{name} must be {need}, got {value!r} ({type(value).__name__}).")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be {need}, got {value!r}.")
    return int(value)


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    what: str = "a number",
) -> float:
    """Return ``value`` as a finite ``float`` within the given bounds.

    Args:
        name: the argument's name, for the message.
        value: the value to check (Python or numpy reals, not ``bool``).
        low, high: the bounds (None: unbounded on that side).
        low_open, high_open: exclude the bound itself.
        what: how the value is described in the message, with its article
            (``"a number of dB"``; unbounded, it reads ``"a finite number of dB"``).

    Raises:
        TypeError: not a real number.
        ValueError: NaN, infinite or out of bounds.
    """
    lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
    hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
    need = f"{what} in {lo}, {hi}" if lo and hi else (
        f"{what} {'>' if low_open else '>='} {low:g}" if lo else
        f"{what} {'<' if high_open else '<='} {high:g}" if hi else
        f"a finite {what.split(' ', 1)[-1]}"
    )  # fmt: skip
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {need}, got {value!r} ({type(value).__name__}).")
    try:
        v = float(value)
    except OverflowError:  # an int beyond the float range
        v = math.inf
    bad = not math.isfinite(v)
    bad = bad or (low is not None and (v <= low if low_open else v < low))
    bad = bad or (high is not None and (v >= high if high_open else v > high))
    if bad:
        raise ValueError(f"{name} must be {need}, got {value!r}.")
    return v


def check_order(order: Any, name: str = "order") -> int:
    """Return ``order`` as an ``int`` if it is 1, 2 or 3 (a number of spatial axes).

    Args:
        order: the value to check (Python or numpy integers, not ``bool``).
        name: how the argument is called in the message.

    Raises:
        ValueError: anything else (of any type).
    """
    if not is_int(order) or order not in (1, 2, 3):
        raise ValueError(f"{name} must be 1, 2 or 3 (the number of spatial axes), got {order!r}.")
    return int(order)


def check_choice(name: str, value: Any, choices: Sequence[str], *, casefold: bool = False) -> str:
    """Return ``value`` if it is one of ``choices`` (exact match unless ``casefold``).

    Args:
        name: the argument's name, for the message.
        value: the value to check.
        choices: the accepted strings (lower case when ``casefold``).
        casefold: compare case-insensitively and return ``value`` case-folded.

    Raises:
        TypeError: not a string.
        ValueError: not one of ``choices`` (the message lists them).
    """
    valid = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {valid}, got {value!r} ({type(value).__name__}).")
    folded = value.casefold() if casefold else value
    if folded not in choices:
        how = " (case-insensitive)" if casefold else ""
        raise ValueError(f"{name} must be one of {valid}{how}, got {value!r}.")
    return folded


# ---------------------------------------------------------------------------------------
# Classes chosen by name
# ---------------------------------------------------------------------------------------


class NameRegistry:
    """Classes chosen by their ``name`` attribute (noise models, training objectives).

    Args:
        what: how one entry is called in messages, e.g. ``"noise model"``.

    Example:
        >>> shapes = NameRegistry("shape")
        >>> @shapes.register
        ... class Square:
        ...     name = "square"
        >>> shapes.names(), shapes.get("square").__name__
        (['square'], 'Square')
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._classes: dict[str, type] = {}

    def register(self, cls: type) -> type:
        """Class decorator: make ``cls`` available by its ``name``.

        Raises:
            ValueError: the class has no name, or the name is taken.
        """
        name = getattr(cls, "name", "")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{cls.__name__} needs a class attribute 'name' to be registered.")
        if name in self._classes:
            raise ValueError(f"a {self.what} named {name!r} is already registered.")
        self._classes[name] = cls
        return cls

    def unregister(self, name: str) -> None:
        """Forget ``name`` (for tests that register a class of their own)."""
        self._classes.pop(name, None)

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._classes)

    def get(self, name: Any) -> type:
        """The class registered as ``name``.

        Raises:
            ValueError: no class of that name (the message lists the valid names).
        """
        cls = self._classes.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(
                f"unknown {self.what} {name!r}; valid {self.what}s: {', '.join(self._classes)}."
            )
        return cls
