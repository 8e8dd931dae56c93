"""What a format is, and the low-level pieces the formats share.

A format is a subclass of :class:`Format` registered with
:func:`mdnc.data.formats.register_format`. It says which files it claims and how to
describe one from its header, read it whole, read a span of it, and write one, whole or a
block at a time (:class:`Backend`). Nothing outside :mod:`mdnc.data.formats` knows a format
by name: :mod:`mdnc.data.io`, :mod:`mdnc.data.index` and :mod:`mdnc.data.stream` ask the
registry.
"""

from __future__ import annotations

import collections
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..recording import DataError, Recording, RecordingInfo, recording_of

__all__ = ["Backend", "Format", "WriteSpec", "MAX_OPEN_FILES", "open_handle", "pread", "pwrite"]

#: File handles kept open per process for lazy reads (least recently used go).
MAX_OPEN_FILES = 32

#: ``stage(path, suffix="")`` of :func:`mdnc._utils.staged_files`: a fresh temporary sibling
#: of ``path``, renamed over it when the write succeeds.
Stage = Callable[..., Path]


@dataclass(frozen=True)
class WriteSpec:
    """Everything a writer needs to know about the file it writes.

    Attributes:
        path: the final file.
        format: the name of its format.
        channels: channels of the ``(channels, length)`` recording.
        length: samples per channel.
        like: the metadata to write the file with (a :class:`Like`).
        options: what the format worked out from ``like`` (:meth:`Format.prepare`).
        parts: ``(channels, length)`` of every part, written in order (one part, but for
            the formats that hold several: :attr:`Format.multipart`).
    """

    path: Path
    format: str
    channels: int
    length: int
    like: Any
    options: dict[str, Any]
    parts: tuple[tuple[int, int], ...] = ()


class Backend:
    """A file of one format being written, a block at a time, in time order.

    ``_file`` is its open handle, closed by the default :meth:`finish` and :meth:`discard`.
    """

    _file: Any = None

    def write(self, block: np.ndarray, start: int, part: int = 0) -> None:
        """Write a float32 ``(channels, n)`` block at sample ``start`` (of ``part``)."""
        raise NotImplementedError

    def finish(self) -> None:
        """Complete the file and release every handle."""
        if self._file is not None:
            self._file.close()

    def discard(self) -> None:
        """Release every handle; raises nothing (the temporary files are the stage's)."""
        with contextlib.suppress(Exception):
            if self._file is not None:
                self._file.close()


class Format:
    """One file format: claims files, describes, reads and writes recordings.

    Class attributes:
        name: the registry name (``"npy"``, ``"edf"`` ...).
        suffixes: the file suffixes it claims (lower case, with the dot).
        summary: one line for the documentation and ``--help``.
        requires: the Python modules it needs beyond mdnc's own dependencies.
        extra: the pip extra that installs them (``"biosignal"`` for ``mdnc[biosignal]``).
        key_help: what a key selects in a file of this format; empty: no key is taken.
        multipart: a file may hold several parts (recordings of their own channels,
            lengths and start times, such as the segments of a seismic file).

    A subclass implements :meth:`describe` and :meth:`read_span` (or :meth:`read`, for a
    format read whole) and :meth:`open_backend`; the rest has defaults built on them.
    """

    name: ClassVar[str] = ""
    suffixes: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    extra: ClassVar[str | None] = None
    key_help: ClassVar[str] = ""
    multipart: ClassVar[bool] = False

    # ---- claiming and checking ----

    def claims(self, path: Path) -> bool:
        """Whether ``path`` is a file of this format (by its suffix)."""
        return path.suffix.lower() in self.suffixes

    def check_available(self, path: Path) -> None:
        """Raise a one-line :class:`DataError` when a library this format needs is missing."""
        import importlib.util

        missing = [m for m in self.requires if importlib.util.find_spec(m) is None]
        if missing:
            extra = f' (pip install "mdnc[{self.extra}]")' if self.extra else ""
            raise DataError(
                f"{path}: reading and writing {self.name} files needs "
                f"{', '.join(missing)}{extra}"
            )

    def check_key(self, path: Path, key: str | None) -> None:
        """Refuse a key for a format that takes none."""
        if key is not None and not self.key_help:
            raise DataError(f"{path}: a {self.name} file takes no key; got key {key!r}")

    # ---- reading ----

    def describe(self, path: Path, key: str | None) -> RecordingInfo:
        """What the file holds, from its header (``size``/``mtime_ns`` are added later)."""
        raise NotImplementedError

    def describe_parts(self, path: Path, key: str | None) -> list[RecordingInfo]:
        """Every part of the file (one, but for :attr:`multipart` formats)."""
        return [self.describe(path, key)]

    def is_lazy(self, info: RecordingInfo) -> bool:
        """Whether spans of this file are read from disk on demand."""
        return type(self).read_span is not Format.read_span

    def read_span(self, info: RecordingInfo, start: int, stop: int) -> np.ndarray:
        """Samples ``start:stop`` of every channel, ``(channels, stop - start)``."""
        raise NotImplementedError

    def read(self, path: Path, key: str | None) -> Recording:
        """The whole recording (default: described, then read as one span)."""
        info = self.describe(path, key)
        data = np.ascontiguousarray(self.read_span(info, 0, info.length), dtype=np.float32)
        from ..recording import check_finite

        check_finite(data, path)
        return recording_of(info, data)

    # ---- writing ----

    def prepare(self, spec: WriteSpec) -> dict[str, Any]:
        """Check what writing ``spec`` needs and work it out (e.g. a sample rate), before
        anything is written; the result becomes ``spec.options``.

        Raises:
            DataError: the file cannot be written so (naming ``spec.path``).
        """
        return {}

    def open_backend(self, stage: Stage, spec: WriteSpec) -> Backend:
        """Open the temporary file(s) of ``spec`` through ``stage`` and return the writer."""
        raise NotImplementedError

    def write(self, stage: Stage, spec: WriteSpec, data: np.ndarray) -> None:
        """Write the whole ``(channels, length)`` float32 array (default: one block)."""
        backend = self.open_backend(stage, spec)
        try:
            backend.write(data, 0)
            backend.finish()
        except BaseException:
            backend.discard()
            raise

    def companions(self, path: Path) -> list[Path]:
        """The files besides ``path`` that a recording written at ``path`` occupies."""
        return []


# --------------------------------------------------------------------------------------------
# Handles and byte-level I/O


class _OpenFiles:
    """The file handles of this process, least recently used closed beyond the limit;
    forgotten (not closed: they are the parent's) in a forked child."""

    def __init__(self, limit: int) -> None:
        self.limit, self.pid = limit, os.getpid()
        self.handles: collections.OrderedDict[tuple, Any] = collections.OrderedDict()

    def get(self, what: tuple, opener: Any) -> Any:
        if self.pid != os.getpid():
            self.handles, self.pid = collections.OrderedDict(), os.getpid()
        handle = self.handles.get(what)
        if handle is None:
            handle = self.handles[what] = opener()
            while len(self.handles) > self.limit:
                close_handle(self.handles.popitem(last=False)[1])
        self.handles.move_to_end(what)
        return handle

    def clear(self) -> None:
        """Close every handle of this process."""
        if self.pid == os.getpid():
            for handle in self.handles.values():
                close_handle(handle)
        self.handles.clear()


def close_handle(handle: Any) -> None:
    """Close a descriptor or a file-like handle."""
    if isinstance(handle, int):
        os.close(handle)
    else:
        handle.close()


OPEN = _OpenFiles(MAX_OPEN_FILES)


def identity(info: RecordingInfo) -> tuple[Path, int, int]:
    """The file as described: a file replaced since (a new size or modification time) is
    opened afresh, not read through the handle of the one it replaced."""
    return info.path, info.size, info.mtime_ns


def open_handle(info: RecordingInfo, kind: str, opener: Callable[[], Any], *more: Any) -> Any:
    """The handle of kind ``kind`` of the described file, opened once per process."""
    return OPEN.get((kind, *identity(info), *more), opener)


def open_fd(info: RecordingInfo) -> int:
    """A read-only descriptor of the described file, opened once per process."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    return open_handle(info, "fd", lambda: os.open(info.path, flags))


def pread(fd: int, size: int, offset: int, path: Path) -> bytes:
    """Exactly ``size`` bytes at ``offset`` (several reads when the system gives fewer)."""
    parts, done = [], 0
    while done < size:
        if hasattr(os, "pread"):
            part = os.pread(fd, min(size - done, 1 << 30), offset + done)
        else:  # Windows: one handle per process, so seek-and-read is safe here
            os.lseek(fd, offset + done, os.SEEK_SET)
            part = os.read(fd, min(size - done, 1 << 30))
        if not part:
            raise DataError(f"{path}: truncated file (ends before byte {offset + size})")
        parts.append(part)
        done += len(part)
    return b"".join(parts)


def pwrite(handle: Any, data: Any, offset: int) -> None:
    """Write the bytes of a contiguous array (or bytes) at ``offset`` of an open file."""
    view = memoryview(np.ascontiguousarray(data).view(np.uint8)) if isinstance(
        data, np.ndarray
    ) else memoryview(data)
    if not hasattr(os, "pwrite"):  # Windows: seek and write through the buffered handle
        handle.seek(offset)
        handle.write(view)
        return
    fd = handle.fileno()
    while len(view):  # pwrite may write less than asked (2 GiB per call on Linux)
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written
