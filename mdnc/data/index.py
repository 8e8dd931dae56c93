"""Recordings described from their headers, and read lazily, a window at a time.

For data sets larger than memory: :func:`describe_recording` reads what a file holds
(channels, length, stored dtype, sample rate) from its header only; :func:`index_recordings`
does so for files and folders, checks that the channel counts agree, and keeps the result
in a cache file (a run folder's ``index.json``) that is reused for every file whose size
and modification time are unchanged. :class:`LazyRecording` reads any span of a recording
from disk when asked, as float32 ``(channels, samples)``:

==================  ==========================================================================
``.npy``            ``os.pread`` at the span's offsets (no memory map: mapped pages would
                    count in the process's memory).
``.npz``            the same, inside the archive, for members stored uncompressed (as
                    ``numpy.savez`` writes them); a compressed member is read whole.
``.h5``/``.hdf5``   ``h5py`` slicing (chunked or contiguous datasets).
``.wav``/``.flac``  ``soundfile`` seek and read.
``.csv``            read whole (text has no offsets): keep ``.csv`` data sets small.
==================  ==========================================================================

File handles are opened in the process that reads (so ``DataLoader`` workers and
``torchrun`` processes each open their own) and at most :data:`MAX_OPEN_FILES` stay open per
process. The values read are those :func:`~mdnc.data.io.read_recording` gives, sample for
sample, and every span read is checked for NaN/Inf (a :class:`~mdnc.data.io.DataError`
naming the file and the sample).

Example:
    >>> infos = index_recordings(["archive/"], cache="run/index.json")  # doctest: +SKIP
    >>> rec = LazyRecording(infos[0])  # doctest: +SKIP
    >>> rec.shape, rec.read(1000, 1512).shape  # doctest: +SKIP
    ((3, 86400000), (3, 512))
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import struct
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._utils import atomic_path
from .io import (
    DataError,
    _format_of,
    _hdf5_rate,
    _reason,
    check_channels,
    find_recordings,
    hdf5_dataset,
    read_recording,
)

__all__ = [
    "INDEX_NAME",
    "INDEX_VERSION",
    "MAX_OPEN_FILES",
    "RecordingInfo",
    "LazyRecording",
    "channel_power",
    "describe_recording",
    "index_recordings",
    "read_span",
    "save_index",
    "check_same_channels",
    "LOADING_MODES",
    "use_lazy",
    "open_recordings",
]

#: The name of the index cache in a run folder.
INDEX_NAME = "index.json"
#: The version of the ``index.json`` layout; a cache of another version is ignored.
INDEX_VERSION = 2
#: File handles kept open per process by :class:`LazyRecording` (least recently used go).
MAX_OPEN_FILES = 32
#: Samples per channel read at a time by :func:`channel_power`.
POWER_CHUNK = 1 << 20
#: How training recordings are read (``DataConfig.loading``): see :func:`use_lazy`.
LOADING_MODES = ("auto", "memory", "lazy")
#: ``"auto"`` reads lazily above this many bytes of float32 samples (or an eighth of the
#: memory available, if less).
AUTO_LAZY_BYTES = 512 * 2**20


@dataclass
class RecordingInfo:
    """What a recording file holds, read from its header.

    Attributes:
        path: the file.
        format: ``"npy"``, ``"npz"``, ``"hdf5"``, ``"csv"``, ``"wav"`` or ``"flac"``.
        channels: rows of the ``(channels, samples)`` recording.
        length: samples per channel.
        dtype: the stored numpy dtype (``"float32"``, ``">i2"`` ...); float32 for audio.
        ndim: 1 when the stored array is 1-D.
        key: the ``.npz`` array or the HDF5 dataset.
        sample_rate: samples per second (audio, HDF5 ``sample_rate`` attribute), or None.
        subtype: the soundfile subtype of an audio file.
        offset: where the samples start in the file (``.npy``, stored ``.npz`` members);
            None when they are not read by offset.
        fortran: the ``.npy`` array is stored in Fortran order (samples interleaved).
        size: the file's size in bytes: a cached description is reused only while the
            size and the modification time are unchanged.
        mtime_ns: the file's modification time in nanoseconds.
        header: the column names of a ``.csv`` file with a header row, else None.
        delimiter: the ``.csv`` column delimiter (None for white space).
    """

    path: Path
    format: str
    channels: int
    length: int
    dtype: str
    ndim: int = 2
    key: str | None = None
    sample_rate: int | None = None
    subtype: str | None = None
    offset: int | None = None
    fortran: bool = False
    size: int = 0
    mtime_ns: int = 0
    header: list[str] | None = field(default=None, repr=False)
    delimiter: str | None = field(default=",", repr=False)

    @property
    def lazy(self) -> bool:
        """Whether spans are read from disk on demand (else the file is read whole)."""
        return self.format in ("hdf5", "wav", "flac") or self.offset is not None

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


# --------------------------------------------------------------------------------------------
# Headers


def _checked_shape(path: Path, shape: Sequence[int], dtype: np.dtype) -> tuple[int, int, int]:
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


def _npy_header(handle: Any) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` of the ``.npy`` stream at its start."""
    fmt = np.lib.format
    version = fmt.read_magic(handle)
    if version == (1, 0):
        return fmt.read_array_header_1_0(handle)
    if version == (2, 0):
        return fmt.read_array_header_2_0(handle)
    raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")


def _describe_npy(
    path: Path, key: str | None, start: int = 0, end: int | None = None
) -> RecordingInfo:
    """A ``.npy`` file, or the stored ``.npy`` member at bytes ``start:end`` of an archive."""
    if key is not None and start == 0:
        raise DataError(f"{path}: a .npy file holds one array; got key {key!r}")
    with open(path, "rb") as handle:
        handle.seek(start)
        if handle.read(6) != b"\x93NUMPY":
            raise DataError(f"{path}: unreadable .npy file (no NumPy header)")
        handle.seek(start)
        shape, fortran, dtype = _npy_header(handle)
        offset = handle.tell()
    channels, length, ndim = _checked_shape(path, shape, dtype)
    end = path.stat().st_size if end is None else end
    if offset + channels * length * dtype.itemsize > end:
        raise DataError(
            f"{path}: truncated file (its header announces {channels} x {length} samples of "
            f"{dtype}; the data ends before)"
        )
    return RecordingInfo(
        path, "npy", channels, length, dtype.str, ndim, offset=offset, fortran=bool(fortran)
    )


def _member_offset(path: Path, member: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes start: after its local header (30 bytes, the name and
    an extra field whose lengths are at bytes 26-29)."""
    with open(path, "rb") as handle:
        handle.seek(member.header_offset)
        local = handle.read(30)
    name_length, extra_length = struct.unpack("<HH", local[26:30])
    return member.header_offset + 30 + name_length + extra_length


def _describe_npz(path: Path, key: str | None) -> RecordingInfo:
    with open(path, "rb") as handle:
        if handle.read(2) != b"PK":
            raise DataError(f"{path}: unreadable .npz file (not a zip archive)")
    with zipfile.ZipFile(path) as archive:
        members = {m.filename[:-4]: m for m in archive.infolist() if m.filename.endswith(".npy")}
        if not members:
            raise DataError(f"{path}: empty recording (the archive holds no arrays)")
        if key is None:
            key = next(iter(members))
        elif key not in members:
            listed = ", ".join(members)
            raise DataError(f"{path}: no array named {key!r}; available arrays: {listed}")
        member = members[key]
        if member.compress_type == zipfile.ZIP_STORED:
            start = _member_offset(path, member)
            info = _describe_npy(path, None, start, start + member.file_size)
            return dataclasses.replace(info, format="npz", key=key)
        with archive.open(member) as stream:
            shape, _, dtype = _npy_header(stream)
    channels, length, ndim = _checked_shape(path, shape, dtype)
    return RecordingInfo(path, "npz", channels, length, dtype.str, ndim, key=key)


def _describe_hdf5(path: Path, key: str | None) -> RecordingInfo:
    import h5py

    with h5py.File(path, "r") as handle:
        key, dataset = hdf5_dataset(handle, path, key)
        if dataset.dtype.fields is not None:
            raise DataError(f"{path}: dataset {key!r} is not a numeric array")
        channels, length, ndim = _checked_shape(path, dataset.shape, dataset.dtype)
        rate = _hdf5_rate(dataset.attrs.get("sample_rate"), path, key)
        return RecordingInfo(
            path, "hdf5", channels, length, dataset.dtype.str, ndim, key=key, sample_rate=rate
        )


def _describe_audio(path: Path, key: str | None) -> RecordingInfo:
    import soundfile

    if key is not None:
        raise DataError(f"{path}: an audio file holds one signal; got key {key!r}")
    info = soundfile.info(str(path))
    if info.frames <= 0:
        raise DataError(f"{path}: empty recording (0 frames)")
    fmt = _format_of(path)
    return RecordingInfo(
        path, fmt, int(info.channels), int(info.frames), "float32", 2,
        sample_rate=int(info.samplerate), subtype=info.subtype,
    )  # fmt: skip


def _describe_csv(path: Path, key: str | None) -> RecordingInfo:
    rec = read_recording(path, key)  # text has no header to read the size from
    return RecordingInfo(
        path, "csv", rec.channels, rec.length, "float64", 2,
        header=rec.header, delimiter=rec.delimiter,
    )  # fmt: skip


_DESCRIBERS = {
    "npy": _describe_npy,
    "npz": _describe_npz,
    "hdf5": _describe_hdf5,
    "wav": _describe_audio,
    "flac": _describe_audio,
    "csv": _describe_csv,
}


def describe_recording(path: str | os.PathLike[str], key: str | None = None) -> RecordingInfo:
    """What a recording file holds, from its header (a ``.csv`` file is read whole).

    Args:
        path: a file with one of :data:`~mdnc.data.io.SUPPORTED_SUFFIXES`.
        key: the ``.npz`` array or HDF5 dataset, as for :func:`~mdnc.data.io.read_recording`.

    Returns:
        The :class:`RecordingInfo`.

    Raises:
        DataError: the file is missing, unreadable, empty, not 1-D or 2-D, not of real
            numbers, or the key does not exist; the message starts with the file name.

    Example:
        >>> info = describe_recording("quake.h5", key="HHZ")  # doctest: +SKIP
        >>> info.channels, info.length, info.sample_rate  # doctest: +SKIP
        (1, 8640000, 100)
    """
    path = Path(path)
    fmt = _format_of(path)
    if key is not None and not isinstance(key, str):
        raise TypeError(f"key must be a string or None, got {key!r} ({type(key).__name__}).")
    try:
        stat = path.stat()
    except OSError:
        raise DataError(f"{path}: no such file") from None
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a {path.suffix} file")
    try:
        info = _DESCRIBERS[fmt](path, key)
    except DataError:
        raise
    except Exception as error:  # every library has its own exceptions for a bad file
        raise DataError(f"{path}: unreadable {path.suffix} file ({_reason(error)})") from error
    return dataclasses.replace(info, size=stat.st_size, mtime_ns=stat.st_mtime_ns)


# --------------------------------------------------------------------------------------------
# The index and its cache


def _cache_key(path: Path, key: str | None) -> tuple[str, str | None]:
    return os.path.abspath(path), key


def _read_cache(cache: Path | None) -> dict[tuple[str, str | None], RecordingInfo]:
    """The descriptions of a cache file, by file and the key asked for; nothing when it is
    absent, of another version or unreadable (it is only a cache: it is rebuilt)."""
    if cache is None or not cache.is_file():
        return {}
    try:
        with open(cache, encoding="utf-8") as handle:
            content = json.load(handle)
        if content.get("version") != INDEX_VERSION or content.get("fields") != _FIELDS:
            return {}
        entries = [(row[0], _from_row(row[1:])) for row in content["recordings"]]
    except (OSError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        return {}
    return {_cache_key(i.path, k): i for k, i in entries}


def _still_valid(info: RecordingInfo | None, path: Path) -> bool:
    """Whether a cached description still describes ``path`` (same size and mtime)."""
    if info is None:
        return False
    try:
        stat = path.stat()
    except OSError:
        return False
    return stat.st_size == info.size and stat.st_mtime_ns == info.mtime_ns


def save_index(
    cache: str | os.PathLike[str], infos: Sequence[RecordingInfo], key: str | None = None
) -> Path:
    """Write descriptions to an index file (atomically), for :func:`index_recordings`.

    Args:
        cache: the index file.
        infos: the descriptions.
        key: the key they were described with (``index_recordings(..., key=)``).
    """
    return _write_cache(Path(cache), {_cache_key(i.path, key): i for i in infos})


#: The columns of a cached description: the key asked for, then the fields.
_FIELDS = ["requested_key", *(f.name for f in dataclasses.fields(RecordingInfo))]


def _from_row(row: list[Any]) -> RecordingInfo:
    return RecordingInfo.from_json(dict(zip(_FIELDS[1:], row, strict=True)))


def _write_cache(cache: Path, known: dict[tuple[str, str | None], RecordingInfo]) -> Path:
    """The descriptions as rows of a table, written a row at a time (an index of many
    thousand files costs its rows, not a document of them, in memory)."""
    with atomic_path(cache) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(f'{{"version": {INDEX_VERSION}, "fields": {json.dumps(_FIELDS)}, ')
        handle.write('"recordings": [')
        for n, ((_, key), info) in enumerate(known.items()):
            row = [key, *info.to_json().values()]
            handle.write(("," if n else "") + "\n" + json.dumps(row, allow_nan=False))
        handle.write("\n]}\n")
    return cache


def check_same_channels(infos: Sequence[RecordingInfo]) -> int:
    """The common channel count of described recordings (see
    :func:`~mdnc.data.io.check_channels`, which takes descriptions as it takes recordings).

    Raises:
        DataError: naming the first recording whose channel count differs from the first's.
    """
    return check_channels(infos)


def index_recordings(
    paths: Iterable[str | os.PathLike[str]],
    key: str | None = None,
    recursive: bool = False,
    *,
    cache: str | os.PathLike[str] | None = None,
    progress: bool = False,
    update: bool = True,
) -> list[RecordingInfo]:
    """Describe the recordings of files and folders from their headers, with a cache.

    Args:
        paths: files or folders (see :func:`~mdnc.data.io.find_recordings`).
        key: the ``.npz`` array or HDF5 dataset of every file.
        recursive: scan folders recursively.
        cache: an index file (e.g. a run folder's ``index.json``): descriptions of files
            whose size and modification time are unchanged are taken from it, and it is
            rewritten when anything changed (if its folder exists).
        progress: show a progress bar over the files, with the samples indexed per second.
        update: rewrite ``cache`` when anything was described afresh (False: only read
            it, e.g. before the folder is locked for the run that writes it).

    Returns:
        One :class:`RecordingInfo` per file, in the order of ``find_recordings``.

    Raises:
        DataError: as :func:`describe_recording`, or the channel counts differ.

    Example:
        >>> infos = index_recordings(["data/"], cache="run/index.json")  # doctest: +SKIP
        >>> sum(i.length for i in infos)  # doctest: +SKIP
        2160000000
    """
    files = find_recordings(paths, recursive)
    cache = None if cache is None else Path(cache)
    known = _read_cache(cache)
    infos, fresh = [], 0
    bar = _index_bar(len(files)) if progress else None
    for path in files:
        info = known.get(_cache_key(path, key))
        if not _still_valid(info, path):
            info, fresh = describe_recording(path, key), fresh + 1
        infos.append(dataclasses.replace(info, path=path))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(samples=f"{sum(i.length * i.channels for i in infos):.3g}")
    if bar is not None:
        bar.close()
    check_same_channels(infos)
    if update and cache is not None and fresh and cache.parent.is_dir():
        _write_cache(cache, {**known, **{_cache_key(i.path, key): i for i in infos}})
    return infos


def _index_bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="index", leave=False)


# --------------------------------------------------------------------------------------------
# Lazy reads


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
                _close(self.handles.popitem(last=False)[1])
        self.handles.move_to_end(what)
        return handle

    def clear(self) -> None:
        """Close every handle of this process."""
        if self.pid == os.getpid():
            for handle in self.handles.values():
                _close(handle)
        self.handles.clear()


def _close(handle: Any) -> None:
    if isinstance(handle, int):
        os.close(handle)
    else:
        handle.close()


_OPEN = _OpenFiles(MAX_OPEN_FILES)


def _identity(info: RecordingInfo) -> tuple[Path, int, int]:
    """The file as described: a file replaced since (a new size or modification time) is
    opened afresh, not read through the handle of the one it replaced."""
    return info.path, info.size, info.mtime_ns


def _pread(fd: int, size: int, offset: int, path: Path) -> bytes:
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


def _read_npy_span(info: RecordingInfo, start: int, stop: int, fd: int | None = None) -> np.ndarray:
    """Samples ``start:stop`` of a C- or Fortran-order array at ``info.offset`` of a file
    (an ``.npy`` file, a stored ``.npz`` member; ``fd``: the file, if open)."""
    if fd is None:
        flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
        fd = _OPEN.get(("fd", *_identity(info)), lambda: os.open(info.path, flags))
    dtype = np.dtype(info.dtype)
    item, n, channels = dtype.itemsize, stop - start, info.channels
    assert info.offset is not None
    if info.fortran or channels == 1:  # samples interleaved: one contiguous block
        raw = _pread(fd, n * channels * item, info.offset + start * channels * item, info.path)
        return np.frombuffer(raw, dtype).reshape(n, channels).T
    rows = [
        np.frombuffer(
            _pread(fd, n * item, info.offset + (c * info.length + start) * item, info.path), dtype
        )
        for c in range(channels)
    ]
    return np.stack(rows)


class _Hdf5Span:
    """Spans of an HDF5 dataset. An uncompressed one (no filters) is read like a ``.npy``:
    ``os.pread`` of the bytes of each channel at their offsets in the file (in each chunk
    of a chunked dataset: HDF5 itself would read every chunk touched whole); any other
    through ``h5py`` slicing."""

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
            return _read_npy_span(dataclasses.replace(info, offset=offset, fortran=False),
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
                raw = _pread(self.fd, (b - a) * item, at, info.path)
                out[c, a - start : b - start] = np.frombuffer(raw, dtype)
        return out


def _read_hdf5_span(info: RecordingInfo, start: int, stop: int) -> np.ndarray:
    handle = _OPEN.get(("hdf5", *_identity(info), info.key), lambda: _Hdf5Span(info))
    return handle.read(start, stop)


def _read_audio_span(info: RecordingInfo, start: int, stop: int) -> np.ndarray:
    import soundfile

    handle = _OPEN.get(("audio", *_identity(info)), lambda: soundfile.SoundFile(info.path))
    handle.seek(start)
    frames = handle.read(stop - start, dtype="float32", always_2d=True)
    if frames.shape[0] != stop - start:
        raise DataError(f"{info.path}: truncated file (ends before sample {stop})")
    return frames.T


_SPAN_READERS = {"npy": _read_npy_span, "npz": _read_npy_span, "hdf5": _read_hdf5_span}


class LazyRecording:
    """A recording on disk, read a span at a time: an array-like of shape
    ``(channels, samples)`` whose spans are float32 and checked finite.

    Args:
        info: the file's :class:`RecordingInfo` (of a format read lazily: ``info.lazy``).
        start: the first sample of the file this recording covers (a part of a file).
        stop: the sample after its last one (default: the end of the file).

    Raises:
        DataError: the format cannot be read lazily (``.csv``, compressed ``.npz``).
        ValueError: ``start``/``stop`` outside the file.

    Example:
        >>> rec = LazyRecording(describe_recording("day.npy"))  # doctest: +SKIP
        >>> first_hour = rec.view(0, 3_600_000).read(0, 1024)  # doctest: +SKIP
    """

    def __init__(self, info: RecordingInfo, start: int = 0, stop: int | None = None) -> None:
        if not info.lazy:
            raise DataError(
                f"{info.path}: a {info.format} file cannot be read a span at a time; read it "
                "whole (read_recording)"
            )
        stop = info.length if stop is None else stop
        if not 0 <= start <= stop <= info.length:
            raise ValueError(
                f"span {start}:{stop} outside the {info.length} samples of {info.path}"
            )
        self.info, self.start, self.stop = info, int(start), int(stop)

    @property
    def shape(self) -> tuple[int, int]:
        """``(channels, samples)``."""
        return self.info.channels, self.stop - self.start

    ndim = 2

    @property
    def name(self) -> str:
        """The file, for messages."""
        return str(self.info.path)

    def __repr__(self) -> str:
        part = "" if self.shape[1] == self.info.length else f"[{self.start}:{self.stop}]"
        return f"LazyRecording({self.info.path}{part}, shape={self.shape})"

    def __getitem__(self, key: Any) -> LazyRecording:
        """``rec[:, a:b]``: samples ``a:b`` of every channel, still on disk (a view, as
        slicing an array is; :meth:`read` gives the samples)."""
        if not (
            isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None)
            and isinstance(key[1], slice)
        ):  # fmt: skip
            raise TypeError(f"a LazyRecording is sliced as rec[:, start:stop], got {key!r}")
        start, stop, step = key[1].indices(self.shape[1])
        if step != 1:
            raise TypeError(f"a LazyRecording is sliced with step 1, got {key!r}")
        return self.view(start, max(start, stop))

    def view(self, start: int, stop: int) -> LazyRecording:
        """Samples ``start:stop`` of this recording, still on disk.

        Raises:
            ValueError: the span is not within ``0 <= start <= stop <= length``.
        """
        if not 0 <= start <= stop <= self.shape[1]:
            raise ValueError(f"span {start}:{stop} outside the {self.shape[1]} samples of {self}")
        return LazyRecording(self.info, self.start + start, self.start + stop)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start:stop`` (0 <= start <= stop <= length) as float32 ``(C, n)``.

        Raises:
            DataError: the span holds NaN/Inf (naming the channel and the file's sample),
                or the file cannot be read.
        """
        a, b = self.start + start, self.start + stop
        if not self.start <= a <= b <= self.stop:
            raise ValueError(f"span {start}:{stop} outside the {self.shape[1]} samples of {self}")
        try:
            raw = _SPAN_READERS.get(self.info.format, _read_audio_span)(self.info, a, b)
        except DataError:
            raise
        except Exception as error:
            raise DataError(
                f"{self.name}: unreadable at samples {a}-{b} ({_reason(error)})"
            ) from error
        block = np.ascontiguousarray(raw, dtype=np.float32)
        if not block.flags.writeable:  # a view of the bytes read: the caller may write
            block = block.copy()
        finite = np.isfinite(block)
        if not finite.all():
            channel, sample = (int(i) for i in np.argwhere(~finite)[0])
            raise DataError(
                f"{self.name}: contains NaN or Inf samples at channel {channel}, sample "
                f"{a + sample}"
            )
        return block

    def load(self) -> np.ndarray:
        """The whole recording in memory (float32 ``(C, L)``)."""
        return self.read(0, self.shape[1])


def read_span(source: Any, start: int, stop: int) -> np.ndarray:
    """Samples ``start:stop`` of a ``(C, L)`` array or :class:`LazyRecording`, float32."""
    if isinstance(source, LazyRecording):
        return source.read(start, stop)
    return np.ascontiguousarray(source[:, start:stop], dtype=np.float32)


def channel_power(source: Any) -> np.ndarray:
    """The mean square of every channel, ``(C, 1)`` float64, read :data:`POWER_CHUNK`
    samples at a time (the same sums for arrays and lazy recordings alike).

    Args:
        source: a ``(C, L)`` array or a :class:`LazyRecording`.

    Example:
        >>> channel_power(np.array([[1.0, -1.0], [2.0, 0.0]], dtype=np.float32)).ravel()
        array([1., 2.])
    """
    channels, length = source.shape
    total = np.zeros((channels, 1), dtype=np.float64)
    for a in range(0, length, POWER_CHUNK):
        block = read_span(source, a, min(length, a + POWER_CHUNK))
        total += np.square(block, dtype=np.float64).sum(axis=-1, keepdims=True)
    return total / length


def use_lazy(loading: str, infos: Sequence[RecordingInfo]) -> bool:
    """Whether recordings are read lazily: ``"lazy"``, ``"memory"``, or ``"auto"`` (lazily
    when their float32 samples exceed :data:`AUTO_LAZY_BYTES` or an eighth of the memory
    available, or of ``MDNC_MAX_MEMORY`` when it is set).

    Raises:
        ValueError: ``loading`` is not one of :data:`LOADING_MODES`.
    """
    from .._utils import check_choice

    if check_choice("loading", loading, LOADING_MODES) != "auto":
        return loading == "lazy"
    from ..limits import available_memory, get_limits

    limit = get_limits().max_memory  # MDNC_MAX_MEMORY, when set, instead of what is free
    memory = available_memory() if limit is None else limit
    return sum(i.nbytes for i in infos) > min(AUTO_LAZY_BYTES, memory // 8)


def open_recordings(infos: Sequence[RecordingInfo], lazy: bool) -> list[Any]:
    """The recordings ``infos`` describe: :class:`LazyRecording` objects when ``lazy``
    (except the formats read whole: ``.csv``, compressed ``.npz``), else float32 arrays.

    Args:
        infos: the descriptions (from :func:`index_recordings`).
        lazy: open them for lazy reads (see :func:`use_lazy`), else read them whole.

    Raises:
        DataError: as :func:`~mdnc.data.io.read_recording`.
    """
    return [
        LazyRecording(i) if lazy and i.lazy else read_recording(i.path, i.key).data for i in infos
    ]
