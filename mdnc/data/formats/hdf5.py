"""``.h5``/``.hdf5``: one dataset (h5py): ``key``, else the only dataset in the file.

A ``sample_rate`` attribute of the dataset is the recording's rate. Spans of an
uncompressed dataset are read with ``os.pread`` at their byte offsets (in each chunk of a
chunked one: HDF5 itself reads every chunk touched whole); any other through h5py slicing.
Streamed writes go to a chunked dataset (about 1 MiB chunks along time).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..recording import DataError, Recording, RecordingInfo, checked_shape, finish
from . import register_format
from ._base import Backend, Format, Stage, WriteSpec, open_handle, pread
from .npy import array_options, read_array_span, stored_array

__all__ = ["Hdf5Format", "hdf5_dataset"]

#: Target size of one HDF5 chunk (all channels, a run of samples).
_CHUNK_BYTES = 1 << 20
#: Smallest HDF5 chunk cache: a partly written chunk stays in memory until complete.
_CACHE_BYTES = 4 << 20


def hdf5_dataset(handle: Any, path: Path, key: str | None) -> tuple[str, Any]:
    """The dataset ``key`` of an open HDF5 file, or its only dataset: ``(key, dataset)``.

    Raises:
        DataError: no dataset of that name, or no key and not exactly one dataset (the
            message lists the datasets).
    """
    import h5py

    datasets: list[str] = []
    handle.visititems(
        lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None
    )
    listed = ", ".join(datasets) if datasets else "(none)"
    if key is None:
        if len(datasets) != 1:
            what = "no datasets" if not datasets else f"{len(datasets)} datasets"
            raise DataError(
                f"{path}: holds {what}; choose one with a key; available datasets: {listed}"
            )
        key = datasets[0]
    elif key.strip("/") not in datasets:
        raise DataError(f"{path}: no dataset named {key!r}; available datasets: {listed}")
    return key, handle[key]


def hdf5_rate(rate: Any, path: Path, key: str) -> int | None:
    """The ``sample_rate`` attribute of a dataset as an int; ``None`` if absent or not a
    single value.

    Raises:
        DataError: a single value that is not a whole number of Hz >= 1 (NaN, negative,
            44100.5, a word...).
    """
    if rate is None or np.ndim(rate) != 0:
        return None
    try:
        value = float(rate.decode() if isinstance(rate, bytes) else rate)
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        value = float("nan")
    if not (np.isfinite(value) and value.is_integer() and value >= 1):
        raise DataError(
            f"{path}: the sample_rate attribute of dataset {key!r} must be a whole number of "
            f"Hz >= 1, got {rate!r}"
        )
    return int(value)


class _Hdf5Span:
    """Spans of an HDF5 dataset. An uncompressed one (no filters) is read like a ``.npy``:
    ``os.pread`` of the bytes of each channel at their offsets in the file (in each chunk
    of a chunked dataset); any other through ``h5py`` slicing."""

    def __init__(self, info: RecordingInfo) -> None:
        import h5py

        self.info = info
        self.file = h5py.File(info.path, "r")
        self.dataset = self.file[info.key]
        self.fd: int | None = None
        self.offsets: dict[tuple[int, ...], int | None] = {}  # chunk -> its byte offset
        raw = self.dataset.id.get_create_plist().get_nfilters() == 0
        if raw and self.dataset.dtype.kind in "fiu" and self.dataset.external is None:
            self.fd = os.open(info.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
        self.file.close()

    def read(self, start: int, stop: int) -> np.ndarray:
        if self.fd is not None:
            block = self._read_raw(start, stop)
            if block is not None:
                return block
        data = self.dataset
        return data[start:stop][None] if self.info.ndim == 1 else data[:, start:stop]

    def _offset(self, coord: tuple[int, ...]) -> int | None:
        """The byte offset of the chunk at ``coord`` (None where it is not written)."""
        if coord not in self.offsets:
            found = self.dataset.id.get_chunk_info_by_coord(coord)
            self.offsets[coord] = None if found.byte_offset is None else int(found.byte_offset)
        return self.offsets[coord]

    def _read_raw(self, start: int, stop: int) -> np.ndarray | None:
        """The span from the bytes of the file; None when a chunk it needs is unwritten."""
        info, dtype = self.info, self.dataset.dtype
        item, chunks = dtype.itemsize, self.dataset.chunks
        if chunks is None:  # contiguous: the layout of a C-order .npy
            offset = self.dataset.id.get_offset()
            if offset is None:
                return None
            return read_array_span(dataclasses.replace(info, offset=offset, fortran=False),
                                   start, stop, self.fd)  # fmt: skip
        rows_per, width = (1, chunks[0]) if info.ndim == 1 else chunks
        out = np.empty((info.channels, stop - start), dtype)
        for k in range(start // width, (stop - 1) // width + 1):
            a, b = max(start, k * width), min(stop, (k + 1) * width)
            for c in range(info.channels):
                coord = (k * width,) if info.ndim == 1 else (c // rows_per * rows_per, k * width)
                base = self._offset(coord)
                if base is None:
                    return None
                at = base + ((c % rows_per) * width + a - k * width) * item
                raw = pread(self.fd, (b - a) * item, at, info.path)
                out[c, a - start : b - start] = np.frombuffer(raw, dtype)
        return out


class _Hdf5Backend(Backend):
    def __init__(self, tmp: Path, spec: WriteSpec) -> None:
        import h5py

        dtype, one_d = spec.options["dtype"], spec.options["one_d"]
        frame = spec.channels * dtype.itemsize
        step = max(1, min(spec.length, _CHUNK_BYTES // frame))
        if one_d:
            shape, chunks = (spec.length,), (step,)
        else:
            shape, chunks = (spec.channels, spec.length), (spec.channels, step)
        self._one_d = one_d
        self._file = h5py.File(tmp, "w", rdcc_nbytes=max(_CACHE_BYTES, 2 * step * frame))
        try:
            self._data = self._file.create_dataset(
                spec.options["key"] or "data", shape=shape, dtype=dtype, chunks=chunks
            )
            if spec.options["sample_rate"] is not None:
                self._data.attrs["sample_rate"] = int(spec.options["sample_rate"])
        except BaseException:
            self._file.close()
            raise

    def write(self, block: np.ndarray, start: int, part: int = 0) -> None:
        # Converted here, not by HDF5, so that the values are numpy's as in write_recording.
        data = block.astype(self._data.dtype, copy=False)
        stop = start + data.shape[1]
        if self._one_d:
            self._data[start:stop] = data[0]
        else:
            self._data[:, start:stop] = data


@register_format
class Hdf5Format(Format):
    name = "hdf5"
    suffixes = (".h5", ".hdf5")
    summary = "one HDF5 dataset (h5py); a sample_rate attribute gives the rate"
    key_help = "the dataset (default: the only one in the file)"

    def describe(self, path: Path, key: str | None) -> RecordingInfo:
        import h5py

        with h5py.File(path, "r") as handle:
            key, dataset = hdf5_dataset(handle, path, key)
            if dataset.dtype.fields is not None:
                raise DataError(f"{path}: dataset {key!r} is not a numeric array")
            channels, length, ndim = checked_shape(path, dataset.shape, dataset.dtype)
            rate = hdf5_rate(dataset.attrs.get("sample_rate"), path, key)
            return RecordingInfo(
                path, "hdf5", channels, length, dataset.dtype.str, ndim, key=key,
                sample_rate=rate,
            )  # fmt: skip

    def read_span(self, info: RecordingInfo, start: int, stop: int) -> np.ndarray:
        handle = open_handle(info, "hdf5", lambda: _Hdf5Span(info), info.key)
        return handle.read(start, stop)

    def read(self, path: Path, key: str | None) -> Recording:
        import h5py

        with h5py.File(path, "r") as handle:
            key, dataset = hdf5_dataset(handle, path, key)
            data = dataset[()]
            rate = dataset.attrs.get("sample_rate")
        if not isinstance(data, np.ndarray) or data.dtype.fields is not None:
            raise DataError(f"{path}: dataset {key!r} is not a numeric array")
        sample_rate = hdf5_rate(rate, path, key)
        return finish(data, path, "hdf5", warn_shape=True, key=key, sample_rate=sample_rate)

    def prepare(self, spec: WriteSpec) -> dict[str, Any]:
        rate = getattr(spec.like, "sample_rate", None)
        if rate is not None and not (float(rate).is_integer() and rate >= 1):
            raise DataError(
                f"{spec.path}: sample_rate must be a whole number of Hz >= 1 for the "
                f"sample_rate attribute of an HDF5 dataset, got {rate!r}"
            )
        return {**array_options(spec), "sample_rate": rate}

    def open_backend(self, stage: Stage, spec: WriteSpec) -> Backend:
        return _Hdf5Backend(stage(spec.path), spec)

    def write(self, stage: Stage, spec: WriteSpec, data: np.ndarray) -> None:
        import h5py

        with h5py.File(stage(spec.path), "w") as handle:
            dataset = handle.create_dataset(
                spec.options["key"] or "data", data=stored_array(data, spec.options)
            )
            if spec.options["sample_rate"] is not None:
                dataset.attrs["sample_rate"] = int(spec.options["sample_rate"])
