"""What a recording is: its samples, and what its file says about them.

:class:`Recording` holds the samples of a file in memory; :class:`RecordingInfo` describes
a file from its header alone (for indexes and lazy reads). Both carry the fields every
format may fill in (sample rate, channel names, physical units, start time) and ``meta``,
the rest of the file's own header, kept so that the file can be written back as it was.
Every problem with a file is a :class:`DataError` whose message starts with the file.

This module imports numpy only; the formats are in :mod:`mdnc.data.formats`.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MdncError

__all__ = ["DataError", "Recording", "RecordingInfo", "check_finite", "reason"]


class DataError(MdncError, ValueError):
    """A recording that cannot be read, written or used; the message names the file."""


@dataclass(eq=False)
class Recording:
    """A recording and what is needed to write it back in the format it came from.

    Attributes:
        data: float32 array of shape ``(channels, samples)``.
        path: the file it was read from.
        format: the name of its format (see :func:`mdnc.data.formats.list_formats`).
        sample_rate: samples per second when the file says it, else ``None``.
        key: the array name in an ``.npz`` file or the dataset path in an HDF5 file (or
            what the format selects with a key: EDF signals, seismic traces).
        dtype: the stored numpy dtype (``"int16"``, ``"float64"`` ...) before conversion.
        ndim: 1 when the stored array was 1-D (written back 1-D if it still has one channel).
        subtype: the soundfile subtype of an audio file (``"PCM_16"``, ``"FLOAT"`` ...).
        header: the column names of a ``.csv`` file with a header row.
        delimiter: the ``.csv`` column delimiter (``None`` for white space).
        channel_names: one name per channel when the file names them (EDF labels, WFDB
            signal names, seismic ``NET.STA.LOC.CHA`` codes), else ``None``.
        units: one physical unit per channel when the file says them, else ``None``.
        start_time: when the first sample was taken (ISO 8601), when the file says it.
        meta: the rest of the file's header, as its format keeps it (JSON-ready).
    """

    data: np.ndarray
    path: Path
    format: str
    sample_rate: float | None = None
    key: str | None = None
    dtype: str | None = None
    ndim: int = 2
    subtype: str | None = None
    header: list[str] | None = None
    delimiter: str | None = ","
    channel_names: list[str] | None = None
    units: list[str] | None = None
    start_time: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def channels(self) -> int:
        """Number of channels (rows of ``data``)."""
        return int(self.data.shape[0])

    @property
    def length(self) -> int:
        """Number of samples per channel (columns of ``data``)."""
        return int(self.data.shape[1])

    def with_data(self, data: np.ndarray) -> Recording:
        """Return a copy of this recording's metadata holding ``data`` instead.

        Example:
            >>> out = rec.with_data(denoised)  # doctest: +SKIP
            >>> write_recording(out_dir / rec.path.name, out.data, like=out)  # doctest: +SKIP
        """
        return dataclasses.replace(self, data=as_channels_samples(data, self.path))


@dataclass
class RecordingInfo:
    """What a recording file holds, read from its header.

    Attributes:
        path: the file.
        format: the name of its format.
        channels: rows of the ``(channels, samples)`` recording.
        length: samples per channel.
        dtype: the stored numpy dtype (``"float32"``, ``">i2"`` ...); float32 for audio.
        ndim: 1 when the stored array is 1-D.
        key: the ``.npz`` array, the HDF5 dataset, or what the format selects with a key.
        sample_rate: samples per second when the file says it, else None.
        subtype: the soundfile subtype of an audio file.
        offset: where the samples start in the file (``.npy``, stored ``.npz`` members);
            None when they are not read by offset.
        fortran: the ``.npy`` array is stored in Fortran order (samples interleaved).
        size: the file's size in bytes: a cached description is reused only while the
            size and the modification time are unchanged.
        mtime_ns: the file's modification time in nanoseconds.
        header: the column names of a ``.csv`` file with a header row, else None.
        delimiter: the ``.csv`` column delimiter (None for white space).
        channel_names: one name per channel when the file names them, else None.
        units: one physical unit per channel when the file says them, else None.
        start_time: when the first sample was taken (ISO 8601), when the file says it.
        meta: the rest of the header as the format keeps it (JSON-ready), for lazy reads
            and for writing the file back.
    """

    path: Path
    format: str
    channels: int
    length: int
    dtype: str
    ndim: int = 2
    key: str | None = None
    sample_rate: float | None = None
    subtype: str | None = None
    offset: int | None = None
    fortran: bool = False
    size: int = 0
    mtime_ns: int = 0
    header: list[str] | None = field(default=None, repr=False)
    delimiter: str | None = field(default=",", repr=False)
    channel_names: list[str] | None = field(default=None, repr=False)
    units: list[str] | None = field(default=None, repr=False)
    start_time: str | None = field(default=None, repr=False)
    meta: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def lazy(self) -> bool:
        """Whether spans are read from disk on demand (else the file is read whole)."""
        from .formats import get_format

        return get_format(self.format).is_lazy(self)

    @property
    def nbytes(self) -> int:
        """The size of the recording as float32 samples in memory."""
        return 4 * self.channels * self.length

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the path as a string)."""
        return {**dataclasses.asdict(self), "path": str(self.path)}

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> RecordingInfo:
        """The inverse of :meth:`to_json`."""
        return cls(**{**entry, "path": Path(entry["path"])})


#: The metadata fields a Recording and a RecordingInfo share (copied from one to the other).
SHARED_FIELDS = tuple(
    f.name for f in dataclasses.fields(Recording) if f.name not in ("data",)
)


def recording_of(info: RecordingInfo, data: np.ndarray) -> Recording:
    """The :class:`Recording` of ``data`` read from the file ``info`` describes."""
    return Recording(data=data, **{name: getattr(info, name) for name in SHARED_FIELDS})


def reason(error: BaseException) -> str:
    """A short reason for a message that already names the file."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror  # without the "[Errno N] ... 'path'" decoration
    return " ".join(str(error).split()) or type(error).__name__  # one line


def check_finite(data: np.ndarray, path: str | os.PathLike[str]) -> None:
    """Raise if ``data`` (channels, samples) holds a NaN or an infinity.

    Args:
        data: array of shape ``(channels, samples)``.
        path: the file name used in the message.

    Raises:
        DataError: naming the first bad channel and sample, e.g.
            ``"x.npy: contains NaN or Inf samples at channel 0, sample 17 (3 in all)"``.
    """
    finite = np.isfinite(data)
    if finite.all():
        return
    bad = np.argwhere(~finite)
    channel, sample = (int(i) for i in bad[0][-2:])
    raise DataError(
        f"{path}: contains NaN or Inf samples at channel {channel}, sample {sample} "
        f"({len(bad)} in all)"
    )


def as_channels_samples(data: Any, path: str | os.PathLike[str]) -> np.ndarray:
    """Convert an array-like (numpy or torch) of 1 or 2 dims to float32 (C, L)."""
    if hasattr(data, "detach"):  # a torch tensor, without importing torch here
        data = data.detach().cpu().numpy()
    array = np.asarray(data)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise DataError(
            f"{path}: expected a 1-D (samples,) or 2-D (channels, samples) array, "
            f"got shape {tuple(array.shape)}"
        )
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise DataError(
            f"{path}: expected real numbers (integer or floating dtype), got dtype {array.dtype}"
        )
    return np.ascontiguousarray(array, dtype=np.float32)


def finish(data: np.ndarray, path: Path, fmt: str, warn_shape: bool, **meta: Any) -> Recording:
    """Validate the raw stored array and wrap it into a :class:`Recording`."""
    stored_dtype = str(data.dtype)
    ndim = data.ndim
    if ndim in (1, 2) and data.size == 0:
        raise DataError(f"{path}: empty recording (array of shape {tuple(data.shape)})")
    array = as_channels_samples(data, path)
    if warn_shape and ndim == 2 and array.shape[0] > array.shape[1]:
        warnings.warn(
            f"{path}: read a {array.shape[0]} x {array.shape[1]} array as {array.shape[0]} "
            f"channels of {array.shape[1]} samples (the convention is (channels, samples)); "
            "save its transpose if the rows are samples",
            UserWarning,
            stacklevel=5,
        )
    check_finite(array, path)
    meta.setdefault("dtype", stored_dtype)
    meta.setdefault("ndim", ndim)
    return Recording(data=array, path=path, format=fmt, **meta)


def checked_shape(path: Path, shape: Any, dtype: np.dtype) -> tuple[int, int, int]:
    """``(channels, length, ndim)`` of a stored array; DataError when it is no recording."""
    if len(shape) not in (1, 2):
        raise DataError(
            f"{path}: expected a 1-D (samples,) or 2-D (channels, samples) array, "
            f"got shape {tuple(shape)}"
        )
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
        raise DataError(
            f"{path}: expected real numbers (integer or floating dtype), got dtype {dtype}"
        )
    if 0 in shape:
        raise DataError(f"{path}: empty recording (array of shape {tuple(shape)})")
    channels, length = (1, shape[0]) if len(shape) == 1 else shape
    return int(channels), int(length), len(shape)
