"""Streaming writers: a recording written block by block, atomically, in bounded memory.

A denoised recording of billions of samples need never be held whole: a
:class:`RecordingWriter` takes it in ``(channels, n)`` blocks, in time order, and writes
the same file that :func:`~mdnc.data.io.write_recording` would write for the whole array
(same format by suffix, stored dtype, 1-D storage, key, sample rate, subtype, csv header
and delimiter, all taken from ``like`` as there). Memory stays bounded by the block:

* ``.npy``: the NumPy header, then each block's channel rows written at their offsets in
  a pre-sized file (``os.pwrite``), so that C-order ``(channels, samples)`` data fills in
  block by block; no memory map, whose dirty pages would count in the process memory.
* ``.npz``: a hidden temporary ``.npy`` written as above, then copied in blocks into an
  uncompressed zip archive member ``<key>.npy`` (what :func:`numpy.savez` writes).
* ``.h5``/``.hdf5``: a chunked dataset (about 1 MiB chunks along time) written by slices.
* ``.wav``/``.flac``: soundfile frames, clipped to [-1, 1] for the integer subtypes.
* ``.csv``: the header row where it applies, then rows of ``%.9g`` numbers.

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
import csv
import dataclasses
import numbers
import os
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from .._utils import _temporary_sibling, atomic_path, is_int
from .io import (
    _FLOAT_SUBTYPES,
    DataError,
    _as_channels_samples,
    _format_of,
    _reason,
    _stored_array,
    _write_metadata,
    check_finite,
)

__all__ = ["RecordingWriter", "open_writer"]

#: Target size of one HDF5 chunk (all channels, a run of samples).
_CHUNK_BYTES = 1 << 20
#: Smallest HDF5 chunk cache: a partly written chunk stays in memory until complete.
_CACHE_BYTES = 4 << 20
#: Block size of the copy of the temporary ``.npy`` into the ``.npz`` archive.
_COPY_BYTES = 16 << 20


@dataclass(frozen=True)
class _Like:
    """The metadata of ``like`` that the writers use, with a :class:`Recording`'s defaults."""

    format: str | None = None
    key: str | None = None
    sample_rate: int | None = None
    dtype: str | None = None
    ndim: int = 2
    subtype: str | None = None
    header: list[str] | None = None
    delimiter: str | None = ","

    @classmethod
    def of(cls, like: Any) -> _Like | None:
        """Copy the attributes of ``like`` (any object; missing ones get the defaults)."""
        if like is None:
            return None
        fields = dataclasses.fields(cls)
        return cls(**{f.name: getattr(like, f.name, f.default) for f in fields})


@dataclass(frozen=True)
class _Spec:
    """Everything a backend needs to know about the file it writes."""

    path: Path
    fmt: str
    channels: int
    length: int
    dtype: np.dtype  # stored dtype of npy/npz/hdf5
    one_d: bool  # stored as a 1-D array (npy/npz/hdf5)
    meta: dict[str, Any]  # as _write_metadata returns it


def _plan(
    path: Path,
    channels: Any,
    length: Any,
    like: Any,
    sample_rate: Any,
    key: Any,
) -> _Spec:
    """Check the arguments and work out the file to write, before touching the disk.

    Raises:
        DataError: unsupported suffix, bad channels/length/key/sample rate, audio without a
            sample rate, a missing folder or a folder at ``path``.
    """
    fmt = _format_of(path)
    for name, value in (("channels", channels), ("length", length)):
        if not is_int(value) or value < 1:
            raise DataError(f"{path}: {name} must be an int >= 1, got {value!r}")
    if key is not None and not isinstance(key, str):
        raise DataError(f"{path}: key must be a string or None, got {key!r}")
    if not path.parent.is_dir():
        raise DataError(f"{path}: cannot write {path.suffix} file (no such folder: {path.parent})")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a {path.suffix} file")
    meta_like = _Like.of(like)
    probe = np.empty((int(channels), 0), dtype=np.float32)
    meta = _write_metadata(path, fmt, probe, meta_like, sample_rate, key)
    rate = meta["sample_rate"]
    if rate is not None and not _is_whole_rate(rate):
        raise DataError(f"{path}: sample_rate must be a whole number of Hz >= 1, got {rate!r}")
    try:
        stored = _stored_array(probe, meta_like)
    except TypeError as error:
        raise DataError(f"{path}: cannot store dtype {meta_like.dtype!r} ({error})") from None
    return _Spec(path, fmt, int(channels), int(length), stored.dtype, stored.ndim == 1, meta)


def _is_whole_rate(rate: Any) -> bool:
    """Whether ``rate`` is a whole number >= 1 (an int, or a float such as ``8000.0``)."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        return False
    value = float(rate)
    return value.is_integer() and value >= 1


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


def _write_at(handle: Any, data: np.ndarray, offset: int) -> None:
    """Write the bytes of a contiguous array at ``offset`` of an open binary file."""
    view = memoryview(np.ascontiguousarray(data).view(np.uint8))
    if not hasattr(os, "pwrite"):  # Windows: seek and write through the buffered handle
        handle.seek(offset)
        handle.write(view)
        return
    fd = handle.fileno()
    while len(view):  # pwrite may write less than asked (2 GiB per call on Linux)
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


# --------------------------------------------------------------------------------------------
# Backends: each writes one format into the temporary file, which exists and is empty.


class _Backend:
    """The file of one format being written at a temporary path (``_file``: its open
    handle, closed by the default :meth:`finish` and :meth:`discard`)."""

    _file: Any

    def write(self, block: np.ndarray, start: int) -> None:
        """Write a float32 ``(channels, n)`` block at sample ``start``."""
        raise NotImplementedError

    def finish(self) -> None:
        """Complete the file and release every handle."""
        self._file.close()

    def discard(self) -> None:
        """Release every handle and remove any extra temporary file; raises nothing."""
        with contextlib.suppress(Exception):
            self._file.close()


class _NpyBackend(_Backend):
    def __init__(self, tmp: Path, spec: _Spec) -> None:
        self._spec = spec
        self._file = open(tmp, "r+b")
        try:
            shape = (spec.length,) if spec.one_d else (spec.channels, spec.length)
            header = {
                "descr": np.lib.format.dtype_to_descr(spec.dtype),
                "fortran_order": False,
                "shape": shape,
            }
            try:
                np.lib.format.write_array_header_1_0(self._file, header)
            except ValueError:  # a header too long for version 1.0, as np.save does
                np.lib.format.write_array_header_2_0(self._file, header)
            self._offset = self._file.tell()
            size = spec.channels * spec.length * spec.dtype.itemsize
            self._file.truncate(self._offset + size)
            self._file.flush()  # the header is on the file before writes by descriptor
        except BaseException:
            self._file.close()
            raise

    def write(self, block: np.ndarray, start: int) -> None:
        data = block.astype(self._spec.dtype, copy=False)
        itemsize = self._spec.dtype.itemsize
        for channel, row in enumerate(data):
            offset = self._offset + (channel * self._spec.length + start) * itemsize
            _write_at(self._file, row, offset)


class _NpzBackend(_Backend):
    def __init__(self, tmp: Path, spec: _Spec) -> None:
        self._tmp = tmp
        self._member = f"{spec.meta['key'] or 'data'}.npy"
        # A name that remove_leftovers knows, should the process be killed.
        self._npy_path = _temporary_sibling(spec.path, ".npy")
        try:
            self._npy = _NpyBackend(self._npy_path, spec)
        except BaseException:
            self._npy_path.unlink(missing_ok=True)
            raise

    def write(self, block: np.ndarray, start: int) -> None:
        self._npy.write(block, start)

    def finish(self) -> None:
        self._npy.finish()
        # What np.savez writes: stored (uncompressed) members, zip64 headers.
        with (
            zipfile.ZipFile(self._tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as archive,
            archive.open(self._member, "w", force_zip64=True) as member,
            open(self._npy_path, "rb") as source,
        ):
            shutil.copyfileobj(source, member, _COPY_BYTES)
        self._npy_path.unlink()

    def discard(self) -> None:
        self._npy.discard()
        with contextlib.suppress(OSError):
            self._npy_path.unlink(missing_ok=True)


class _Hdf5Backend(_Backend):
    def __init__(self, tmp: Path, spec: _Spec) -> None:
        import h5py

        frame = spec.channels * spec.dtype.itemsize
        step = max(1, min(spec.length, _CHUNK_BYTES // frame))
        if spec.one_d:
            shape, chunks = (spec.length,), (step,)
        else:
            shape, chunks = (spec.channels, spec.length), (spec.channels, step)
        self._one_d = spec.one_d
        self._file = h5py.File(tmp, "w", rdcc_nbytes=max(_CACHE_BYTES, 2 * step * frame))
        try:
            self._data = self._file.create_dataset(
                spec.meta["key"] or "data", shape=shape, dtype=spec.dtype, chunks=chunks
            )
            if spec.meta["sample_rate"] is not None:
                self._data.attrs["sample_rate"] = int(spec.meta["sample_rate"])
        except BaseException:
            self._file.close()
            raise

    def write(self, block: np.ndarray, start: int) -> None:
        # Converted here, not by HDF5, so that the values are numpy's as in write_recording.
        data = block.astype(self._data.dtype, copy=False)
        stop = start + data.shape[1]
        if self._one_d:
            self._data[start:stop] = data[0]
        else:
            self._data[:, start:stop] = data


class _AudioBackend(_Backend):
    def __init__(self, tmp: Path, spec: _Spec) -> None:
        import soundfile

        meta = spec.meta
        self._clip = meta["subtype"] not in _FLOAT_SUBTYPES
        self._file = soundfile.SoundFile(
            os.fspath(tmp),
            "w",
            samplerate=int(meta["sample_rate"]),
            channels=spec.channels,
            subtype=meta["subtype"],
            format=meta["format"].upper(),
        )

    def write(self, block: np.ndarray, start: int) -> None:
        if self._clip:  # libsndfile wraps integer samples around rather than clipping
            block = np.clip(block, -1.0, 1.0)
        self._file.write(block.T)


class _CsvBackend(_Backend):
    def __init__(self, tmp: Path, spec: _Spec) -> None:
        delimiter = spec.meta["delimiter"]
        self._separator = " " if delimiter is None else delimiter
        self._file = open(tmp, "w", encoding="utf-8", newline="")
        try:
            if spec.meta["header"] is not None:
                writer = csv.writer(self._file, delimiter=self._separator, lineterminator="\n")
                writer.writerow(spec.meta["header"])
        except BaseException:
            self._file.close()
            raise

    def write(self, block: np.ndarray, start: int) -> None:
        # 9 significant digits give back every float32 exactly (as write_recording).
        np.savetxt(self._file, block.T, fmt="%.9g", delimiter=self._separator)


_BACKENDS: dict[str, type[_Backend]] = {
    "npy": _NpyBackend,
    "npz": _NpzBackend,
    "hdf5": _Hdf5Backend,
    "wav": _AudioBackend,
    "flac": _AudioBackend,
    "csv": _CsvBackend,
}


class _Aborted(Exception):
    """Thrown into the staging context to make it remove the temporary file."""


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
    ) -> None:
        self._spec = _plan(Path(path), channels, length, like, sample_rate, key)
        self.path: Path = self._spec.path
        self.channels: int = self._spec.channels
        self.length: int = self._spec.length
        self._written = 0
        self._state = "open"
        self._backend: _Backend | None = None
        self._stage: contextlib.AbstractContextManager[Path] | None = None
        with self._filesystem():
            stage = atomic_path(self.path)
            tmp = stage.__enter__()
            self._stage = stage
            self._backend = _BACKENDS[self._spec.fmt](tmp, self._spec)

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
            self._backend.write(array, self._written)
        self._written += array.shape[1]

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
        if self._written != self.length:
            self._discard()
            raise DataError(
                f"{self.path}: wrote {self._written} of {self.length} samples; "
                "the file was not written"
            )
        with self._filesystem():
            assert self._backend is not None and self._stage is not None
            self._backend.finish()
            stage, self._stage = self._stage, None
            stage.__exit__(None, None, None)  # flushes and renames over the target
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
        array = _as_channels_samples(block, self.path)
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
            reason = _reason(error)
            raise DataError(
                f"{self.path}: cannot write {self.path.suffix} file ({reason})"
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
