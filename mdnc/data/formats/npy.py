"""``.npy``: a 1-D array (one channel) or a 2-D ``(channels, samples)`` array.

Spans are read with ``os.pread`` at their offsets (no memory map: mapped pages would count
in the process's memory); streamed writes fill a pre-sized file at the channels' offsets.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from ..recording import DataError, Recording, RecordingInfo, checked_shape, finish
from . import register_format
from ._base import Backend, Format, Stage, WriteSpec, open_fd, pread, pwrite

__all__ = ["NpyFormat", "read_array_span", "stored_dtype", "NpyBackend"]


def npy_header(handle: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of the ``.npy`` stream at its start."""
    fmt = np.lib.format
    version = fmt.read_magic(handle)
    if version == (1, 0):
        return fmt.read_array_header_1_0(handle)
    if version == (2, 0):
        return fmt.read_array_header_2_0(handle)
    raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")


def describe_npy(path: Path, start: int = 0, end: int | None = None) -> RecordingInfo:
    """The ``.npy`` file, or the stored ``.npy`` member at bytes ``start:end`` of an archive."""
    with open(path, "rb") as handle:
        handle.seek(start)
        if handle.read(6) != b"\x93NUMPY":
            raise DataError(f"{path}: unreadable .npy file (no NumPy header)")
        handle.seek(start)
        shape, fortran, dtype = npy_header(handle)
        offset = handle.tell()
    channels, length, ndim = checked_shape(path, shape, dtype)
    end = path.stat().st_size if end is None else end
    if offset + channels * length * dtype.itemsize > end:
        raise DataError(
            f"{path}: truncated file (its header announces {channels} x {length} samples of "
            f"{dtype}; the data ends before)"
        )
    return RecordingInfo(
        path, "npy", channels, length, dtype.str, ndim, offset=offset, fortran=bool(fortran)
    )


def read_array_span(info: RecordingInfo, start: int, stop: int, fd: int | None = None) -> Any:
    """Samples ``start:stop`` of a C- or Fortran-order array at ``info.offset`` of a file
    (an ``.npy`` file, a stored ``.npz`` member; ``fd``: the file, if open)."""
    fd = open_fd(info) if fd is None else fd
    dtype = np.dtype(info.dtype)
    item, n, channels = dtype.itemsize, stop - start, info.channels
    assert info.offset is not None
    if info.fortran or channels == 1:  # samples interleaved: one contiguous block
        raw = pread(fd, n * channels * item, info.offset + start * channels * item, info.path)
        return np.frombuffer(raw, dtype).reshape(n, channels).T
    rows = [
        np.frombuffer(
            pread(fd, n * item, info.offset + (c * info.length + start) * item, info.path), dtype
        )
        for c in range(channels)
    ]
    return np.stack(rows)


def stored_dtype(like: Any) -> np.dtype:
    """What npy/npz/hdf5 store: the original floating dtype, else float32 (a processed
    signal is no longer integer-valued)."""
    dtype = getattr(like, "dtype", None)
    if dtype is None:
        return np.dtype(np.float32)
    try:
        dtype = np.dtype(dtype)
    except TypeError as error:
        raise DataError(f"cannot store dtype {dtype!r} ({error})") from None
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float32)


def array_options(spec: WriteSpec) -> dict[str, Any]:
    """The stored dtype, 1-D storage (the original was 1-D and one channel is left) and key."""
    like = spec.like
    try:
        dtype = stored_dtype(like)
    except DataError as error:
        raise DataError(f"{spec.path}: {error}") from None
    one_d = getattr(like, "ndim", 2) == 1 and spec.channels == 1
    return {"dtype": dtype, "one_d": one_d, "key": getattr(like, "key", None)}


def stored_array(data: np.ndarray, options: dict[str, Any]) -> np.ndarray:
    """The whole array as npy/npz/hdf5 store it (:func:`array_options`): its dtype, 1-D
    when it was."""
    out = data.astype(options["dtype"], copy=False)
    return out[0] if options["one_d"] else out


class NpyBackend(Backend):
    """The header, then each block's channel rows at their offsets in a pre-sized file
    (``os.pwrite``), so that C-order ``(channels, samples)`` data fills in block by block."""

    def __init__(self, tmp: Path, spec: WriteSpec) -> None:
        self._dtype, self._length = spec.options["dtype"], spec.length
        self._file = open(tmp, "r+b")
        try:
            shape = (spec.length,) if spec.options["one_d"] else (spec.channels, spec.length)
            header = {
                "descr": np.lib.format.dtype_to_descr(self._dtype),
                "fortran_order": False,
                "shape": shape,
            }
            try:
                np.lib.format.write_array_header_1_0(self._file, header)
            except ValueError:  # a header too long for version 1.0, as np.save does
                np.lib.format.write_array_header_2_0(self._file, header)
            self._offset = self._file.tell()
            self._file.truncate(self._offset + spec.channels * spec.length * self._dtype.itemsize)
            self._file.flush()  # the header is on the file before writes by descriptor
        except BaseException:
            self._file.close()
            raise

    def write(self, block: np.ndarray, start: int, part: int = 0) -> None:
        data = block.astype(self._dtype, copy=False)
        for channel, row in enumerate(data):
            offset = self._offset + (channel * self._length + start) * self._dtype.itemsize
            pwrite(self._file, row, offset)


@register_format
class NpyFormat(Format):
    name = "npy"
    suffixes = (".npy",)
    summary = "a 1-D (samples,) or 2-D (channels, samples) NumPy array"

    def check_key(self, path: Path, key: str | None) -> None:
        if key is not None:
            raise DataError(f"{path}: a .npy file holds one array; got key {key!r}")

    def describe(self, path: Path, key: str | None) -> RecordingInfo:
        self.check_key(path, key)
        return describe_npy(path)

    def read_span(self, info: RecordingInfo, start: int, stop: int) -> np.ndarray:
        return read_array_span(info, start, stop)

    def read(self, path: Path, key: str | None) -> Recording:
        self.check_key(path, key)
        with open(path, "rb") as handle:
            if handle.read(6) != b"\x93NUMPY":
                raise DataError(f"{path}: unreadable .npy file (no NumPy header)")
        return finish(np.load(path, allow_pickle=False), path, "npy", warn_shape=True)

    def prepare(self, spec: WriteSpec) -> dict[str, Any]:
        return array_options(spec)

    def open_backend(self, stage: Stage, spec: WriteSpec) -> Backend:
        return NpyBackend(stage(spec.path), spec)

    def write(self, stage: Stage, spec: WriteSpec, data: np.ndarray) -> None:
        with open(stage(spec.path), "wb") as handle:
            np.save(handle, stored_array(data, spec.options), allow_pickle=False)


def replace_format(info: RecordingInfo, name: str, **fields: Any) -> RecordingInfo:
    """``info`` of another format (an archive member described as a ``.npy``)."""
    return dataclasses.replace(info, format=name, **fields)
