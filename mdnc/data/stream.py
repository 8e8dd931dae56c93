"""Streaming writers: a recording written block by block, atomically, in bounded memory.

A denoised recording of billions of samples need never be held whole: a
:class:`RecordingWriter` takes it in ``(channels, n)`` blocks, in time order, and writes
the same file that :func:`~mdnc.data.io.write_recording` would write for the whole array
(same format by suffix, with the metadata taken from ``like`` as there). Memory stays
bounded by the block in every format that can be written in parts (see each module of
:mod:`mdnc.data.formats`; e.g. ``.npy`` rows at their offsets, HDF5 chunks, EDF data
records, miniSEED records).

Writing is atomic as in :mod:`mdnc.data.io`: the data goes to a hidden temporary sibling,
renamed over the target by :meth:`RecordingWriter.close` only once every sample is in;
:meth:`RecordingWriter.abort` (or an exception in a ``with`` block) removes it and leaves
the target as it was. A killed process leaves temporaries that
:func:`mdnc._utils.remove_leftovers` recognises.

Example:
    >>> rec = read_recording("noisy.h5")  # doctest: +SKIP
    >>> with open_writer("clean.h5", rec.channels, rec.length, like=rec) as out:  # doctest: +SKIP
    ...     for block in denoised_blocks:
    ...         out.write(block)
"""

from __future__ import annotations

import contextlib
import numbers
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from .._utils import is_int, staged_files
from .formats import Backend, WriteSpec, format_of
from .io import write_spec
from .recording import DataError, as_channels_samples, check_finite, reason

__all__ = ["RecordingWriter", "open_writer"]


def _plan(
    path: Path,
    channels: Any,
    length: Any,
    like: Any,
    sample_rate: Any,
    key: Any,
    parts: Any = None,
) -> WriteSpec:
    """Check the arguments and work out the file to write, before touching the disk.

    Raises:
        DataError: unsupported suffix, bad channels/length/key/sample rate, audio without a
            sample rate, a missing folder or a folder at ``path``.
    """
    format_of(path)
    for name, value in (("channels", channels), ("length", length)):
        if not is_int(value) or value < 1:
            raise DataError(f"{path}: {name} must be an int >= 1, got {value!r}")
    if key is not None and not isinstance(key, str):
        raise DataError(f"{path}: key must be a string or None, got {key!r}")
    if not path.parent.is_dir():
        raise DataError(f"{path}: cannot write {path.suffix} file (no such folder: {path.parent})")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a {path.suffix} file")
    if sample_rate is not None and not _is_rate(sample_rate):
        raise DataError(f"{path}: sample_rate must be a number of Hz > 0, got {sample_rate!r}")
    parts = _checked_parts(path, parts, int(channels), int(length))
    spec = write_spec(path, int(channels), int(length), like, sample_rate, key, parts)
    rate = spec.like.sample_rate
    if rate is not None and not _is_rate(rate):
        raise DataError(f"{path}: sample_rate must be a number of Hz > 0, got {rate!r}")
    return spec


def _checked_parts(path: Path, parts: Any, channels: int, length: int) -> tuple:
    """``((channels, length), ...)`` of every part; the first is ``(channels, length)``."""
    if parts is None:
        return ((channels, length),)
    try:
        checked = tuple((int(c), int(n)) for c, n in parts)
    except (TypeError, ValueError):
        raise DataError(f"{path}: parts must be (channels, length) pairs, got {parts!r}") from None
    if not checked or checked[0] != (channels, length) or min(min(p) for p in checked) < 1:
        raise DataError(
            f"{path}: parts must be (channels >= 1, length >= 1) pairs starting with "
            f"({channels}, {length}), got {parts!r}"
        )
    return checked


def _is_rate(rate: Any) -> bool:
    """Whether ``rate`` is a finite number > 0 (an int, or a float such as ``8000.0``)."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        return False
    value = float(rate)
    return bool(np.isfinite(value)) and value > 0


def _check_block_finite(block: np.ndarray, path: Path, start: int) -> None:
    """:func:`check_finite` on a block, naming the bad sample's index in the recording."""
    try:
        check_finite(block, path)
    except DataError:
        bad = np.argwhere(~np.isfinite(block))
        channel, sample = (int(i) for i in bad[0])
        last = start + block.shape[1] - 1
        raise DataError(
            f"{path}: contains NaN or Inf samples at channel {channel}, sample "
            f"{start + sample} ({len(bad)} in the block of samples {start} to {last})"
        ) from None


class _Aborted(Exception):
    """Thrown into the staging context to make it remove the temporary files."""


# --------------------------------------------------------------------------------------------
# The writer


class RecordingWriter:
    """Write a ``(channels, length)`` recording block by block, atomically.

    The file is the one :func:`~mdnc.data.io.write_recording` writes for the whole array
    with the same ``like``, ``sample_rate`` and ``key`` (see there for what each format
    takes from ``like``), but memory stays bounded by one block. Blocks come in time order;
    the file appears at ``path`` (replacing any file there) only when :meth:`close` finds
    all ``length`` samples written. A bad block (:meth:`write` raising on its shape, its
    values or its length) writes nothing and leaves the writer open; a failure of the file
    system aborts it.

    Args:
        path: the file to write; its folder must exist; the suffix chooses the format.
        channels: the number of channels (>= 1).
        length: the number of samples per channel (>= 1) the file will hold.
        like: a :class:`~mdnc.data.io.Recording`, or any object with some of its metadata
            attributes (``format``, ``key``, ``sample_rate``, ``dtype``, ``ndim``,
            ``subtype``, ``header``, ``delimiter``; missing ones take the defaults), or
            ``None``.
        sample_rate: overrides ``like.sample_rate``; needed for audio without ``like``.
        key: overrides ``like.key`` for ``.npz`` and HDF5.
        parts: for the formats whose files hold several parts (the segments of a seismic
            file): ``(channels, length)`` of every part, the first being ``(channels,
            length)``; the blocks of each part follow those of the one before.

    Raises:
        DataError: an unsupported suffix, channels or length not ints >= 1, a key that is
            not a string, audio without a sample rate (or a rate not a whole number >= 1),
            a missing folder, or the file system refused the temporary file (the message
            names the file). Nothing is left on disk then.

    Example:
        >>> with RecordingWriter("clean.npy", 2, 48000) as out:  # doctest: +SKIP
        ...     for start in range(0, 48000, 4800):
        ...         out.write(denoise(noisy[:, start : start + 4800]))
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        channels: int,
        length: int,
        like: Any = None,
        *,
        sample_rate: int | None = None,
        key: str | None = None,
        parts: Any = None,
    ) -> None:
        self._spec = _plan(Path(path), channels, length, like, sample_rate, key, parts)
        self.path: Path = self._spec.path
        self.channels: int = self._spec.channels
        self.length: int = self._spec.length
        self._written = 0
        self._part = 0
        self._state = "open"
        self._backend: Backend | None = None
        self._stage: contextlib.AbstractContextManager[Any] | None = None
        with self._filesystem():
            stage = staged_files()
            stager = stage.__enter__()
            self._stage = stage
            self._backend = format_of(self.path).open_backend(stager, self._spec)

    @property
    def part(self) -> int:
        """The part the next block goes to (files of several parts, e.g. seismic segments)."""
        return self._part

    @property
    def written(self) -> int:
        """The number of samples per channel written so far."""
        return self._written

    def write(self, block: Any) -> None:
        """Write the next ``(channels, n)`` block, after the blocks written before.

        Args:
            block: array-like (numpy or torch) of shape ``(channels, n)``, converted to
                float32 as :func:`~mdnc.data.io.write_recording` converts its data.

        Raises:
            DataError: the writer is closed or aborted, the block is not 2-D, has another
                channel count, holds NaN/Inf (the message names the sample's index in the
                whole recording) or goes past ``length``; or the file system failed (the
                writer is then aborted).
        """
        self._check_open()
        array = self._block(block)
        if array.shape[1] == 0:
            return
        with self._filesystem():
            assert self._backend is not None
            self._backend.write(array, self._written, self._part)
        self._written += array.shape[1]
        if self._written == self.length and self._part + 1 < len(self._spec.parts):
            self._part += 1  # the next part starts
            self.channels, self.length = self._spec.parts[self._part]
            self._written = 0

    def close(self) -> Path:
        """Finish the file and rename it into place (once; later calls return the path).

        Returns:
            ``path`` as a :class:`~pathlib.Path`.

        Raises:
            DataError: fewer than ``length`` samples were written (``"... wrote N of L
                samples"``), the writer was aborted, or the file system failed. The
                writer is aborted then: the temporary file is gone, ``path`` unchanged.
        """
        if self._state == "closed":
            return self.path
        self._check_open()
        if self._written != self.length or self._part + 1 != len(self._spec.parts):
            self._discard()
            part = f" of part {self._part}" if len(self._spec.parts) > 1 else ""
            raise DataError(
                f"{self.path}: wrote {self._written} of {self.length} samples{part}; "
                "the file was not written"
            )
        with self._filesystem():
            assert self._backend is not None and self._stage is not None
            self._backend.finish()
            stage, self._stage = self._stage, None
            stage.__exit__(None, None, None)  # flushes and renames over the targets
        self._state = "closed"
        return self.path

    def abort(self) -> None:
        """Remove the temporary file; ``path`` stays as it was. Nothing happens once the
        writer is closed or aborted."""
        if self._state == "open":
            self._discard()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __repr__(self) -> str:
        return (
            f"RecordingWriter({str(self.path)!r}, channels={self.channels}, "
            f"length={self.length}, written={self._written}, {self._state})"
        )

    def _check_open(self) -> None:
        if self._state != "open":
            raise DataError(f"{self.path}: the writer is {self._state}; open a new one")

    def _block(self, block: Any) -> np.ndarray:
        """The block as float32 ``(channels, n)``, checked; nothing is written yet."""
        ndim = block.ndim if hasattr(block, "ndim") else np.ndim(block)
        if ndim != 2:
            raise DataError(
                f"{self.path}: expected a 2-D (channels, samples) block, got {ndim} dimension(s)"
            )
        array = as_channels_samples(block, self.path)
        if array.shape[0] != self.channels:
            raise DataError(
                f"{self.path}: block has {array.shape[0]} channel(s), expected {self.channels}"
            )
        end = self._written + array.shape[1]
        if end > self.length:
            raise DataError(
                f"{self.path}: a block of {array.shape[1]} samples after {self._written} "
                f"goes past the length of {self.length} samples"
            )
        _check_block_finite(array, self.path, self._written)
        return array

    @contextlib.contextmanager
    def _filesystem(self) -> Iterator[None]:
        """Abort on any failure inside; a foreign one becomes a DataError naming the file."""
        try:
            yield
        except DataError:
            self._discard()
            raise
        except Exception as error:  # KeyboardInterrupt and the like propagate as they are
            self._discard()
            raise DataError(
                f"{self.path}: cannot write {self.path.suffix} file ({reason(error)})"
            ) from error

    def _discard(self) -> None:
        """Release the handles and remove the temporary files."""
        self._state = "aborted"
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.discard()
        stage, self._stage = self._stage, None
        if stage is not None:
            # The staging context removes its temporary file when the block fails.
            with contextlib.suppress(_Aborted, OSError):
                stage.__exit__(_Aborted, _Aborted(), None)


def open_writer(
    path: str | os.PathLike[str],
    channels: int,
    length: int,
    like: Any = None,
    *,
    sample_rate: int | None = None,
    key: str | None = None,
) -> RecordingWriter:
    """Open a :class:`RecordingWriter`; use it in a ``with`` block.

    Args:
        path: the file to write; its folder must exist; the suffix chooses the format.
        channels: the number of channels (>= 1).
        length: the number of samples per channel (>= 1) the file will hold.
        like: the recording whose metadata to reuse (see :class:`RecordingWriter`), or
            ``None``.
        sample_rate: overrides ``like.sample_rate``; needed for audio without ``like``.
        key: overrides ``like.key`` for ``.npz`` and HDF5.

    Returns:
        The open writer.

    Raises:
        DataError: as :class:`RecordingWriter`.

    Example:
        >>> with open_writer("clean.wav", 1, n, like=rec) as out:  # doctest: +SKIP
        ...     out.write(block)
    """
    return RecordingWriter(path, channels, length, like, sample_rate=sample_rate, key=key)
