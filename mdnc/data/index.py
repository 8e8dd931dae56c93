"""Recordings described from their headers, and read lazily, a window at a time.

For data sets larger than memory: :func:`describe_recording` reads what a file holds
(channels, length, stored dtype, sample rate) from its header only; :func:`index_recordings`
does so for files and folders, checks that the channel counts agree, and keeps the result
in a cache file (a run folder's ``index.json``) that is reused for every file whose size
and modification time are unchanged. :class:`LazyRecording` reads any span of a recording
from disk when asked, as float32 ``(channels, samples)``, through its format (see
:mod:`mdnc.data.formats`: most read only the bytes of the span; a few, such as ``.csv``,
are read whole).

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

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._utils import atomic_path
from .formats import format_of, get_format
from .formats._base import MAX_OPEN_FILES, OPEN, close_handle
from .io import check_channels, find_recordings, read_recording
from .recording import DataError, RecordingInfo, reason

# The handles of this process (tests close them between examples).
_OPEN, _close = OPEN, close_handle

__all__ = [
    "INDEX_NAME",
    "INDEX_VERSION",
    "MAX_OPEN_FILES",
    "RecordingInfo",
    "LazyRecording",
    "channel_power",
    "describe_recording",
    "describe_parts",
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
INDEX_VERSION = 3
#: Samples per channel read at a time by :func:`channel_power`.
POWER_CHUNK = 1 << 20
#: How training recordings are read (``DataConfig.loading``): see :func:`use_lazy`.
LOADING_MODES = ("auto", "memory", "lazy")
#: ``"auto"`` reads lazily above this many bytes of float32 samples (or an eighth of the
#: memory available, if less).
AUTO_LAZY_BYTES = 512 * 2**20


# --------------------------------------------------------------------------------------------
# Headers


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
    parts = describe_parts(path, key)
    if len(parts) > 1:
        raise DataError(
            f"{path}: holds {len(parts)} parts (recordings of their own lengths or start "
            "times, such as the segments of a seismic channel with gaps); describe_parts "
            "gives each"
        )
    return parts[0]


def describe_parts(path: str | os.PathLike[str], key: str | None = None) -> list[RecordingInfo]:
    """Every part of a recording file, from its header: one for most formats; the
    segments of its channels for a seismic file with gaps or traces of their own lengths.

    Raises:
        DataError: as :func:`describe_recording`.

    Example:
        >>> [p.channel_names for p in describe_parts("day.mseed")]  # doctest: +SKIP
        [['IU.ANMO.00.BHZ'], ['IU.ANMO.00.BHZ']]
    """
    path = Path(path)
    fmt = format_of(path)
    if key is not None and not isinstance(key, str):
        raise TypeError(f"key must be a string or None, got {key!r} ({type(key).__name__}).")
    try:
        stat = path.stat()
    except OSError:
        raise DataError(f"{path}: no such file") from None
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a {path.suffix} file")
    try:
        parts = fmt.describe_parts(path, key)
    except DataError:
        raise
    except Exception as error:  # every library has its own exceptions for a bad file
        raise DataError(f"{path}: unreadable {path.suffix} file ({reason(error)})") from error
    return [dataclasses.replace(i, size=stat.st_size, mtime_ns=stat.st_mtime_ns) for i in parts]


# --------------------------------------------------------------------------------------------
# The index and its cache


def _cache_key(path: Path, key: str | None) -> tuple[str, str | None]:
    return os.path.abspath(path), key


def _read_cache(cache: Path | None) -> dict[tuple[str, str | None], list[RecordingInfo]]:
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
    known: dict[tuple[str, str | None], list[RecordingInfo]] = {}
    for k, i in entries:
        known.setdefault(_cache_key(i.path, k), []).append(i)
    return known


def _still_valid(parts: list[RecordingInfo] | None, path: Path) -> bool:
    """Whether a cached description still describes ``path`` (same size and mtime)."""
    if not parts:
        return False
    info = parts[0]
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
    return _write_cache(Path(cache), _by_file(infos, key))


def _by_file(
    infos: Sequence[RecordingInfo], key: str | None
) -> dict[tuple[str, str | None], list[RecordingInfo]]:
    """The descriptions grouped by file (the parts of a file together, in order)."""
    grouped: dict[tuple[str, str | None], list[RecordingInfo]] = {}
    for info in infos:
        grouped.setdefault(_cache_key(info.path, key), []).append(info)
    return grouped


#: The columns of a cached description: the key asked for, then the fields.
_FIELDS = ["requested_key", *(f.name for f in dataclasses.fields(RecordingInfo))]


def _from_row(row: list[Any]) -> RecordingInfo:
    return RecordingInfo.from_json(dict(zip(_FIELDS[1:], row, strict=True)))


def _write_cache(
    cache: Path, known: dict[tuple[str, str | None], list[RecordingInfo]]
) -> Path:
    """The descriptions as rows of a table, written a row at a time (an index of many
    thousand files costs its rows, not a document of them, in memory)."""
    with atomic_path(cache) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(f'{{"version": {INDEX_VERSION}, "fields": {json.dumps(_FIELDS)}, ')
        handle.write('"recordings": [')
        rows = ((key, info) for (_, key), parts in known.items() for info in parts)
        for n, (key, info) in enumerate(rows):
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
    check: bool = True,
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
        check: refuse recordings of different channel counts.

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
        parts = known.get(_cache_key(path, key))
        if not _still_valid(parts, path):
            parts, fresh = describe_parts(path, key), fresh + 1
        infos.extend(dataclasses.replace(info, path=path) for info in parts)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(samples=f"{sum(i.length * i.channels for i in infos):.3g}")
    if bar is not None:
        bar.close()
    if check:
        check_same_channels(infos)
    if update and cache is not None and fresh and cache.parent.is_dir():
        _write_cache(cache, {**known, **_by_file(infos, key)})
    return infos


def _index_bar(total: int) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="index", leave=False)


# --------------------------------------------------------------------------------------------
# Lazy reads


class LazyRecording:
    """A recording on disk, read a span at a time: an array-like of shape
    ``(channels, samples)`` whose spans are float32 and checked finite.

    Args:
        info: the file's :class:`RecordingInfo` (of a format read lazily: ``info.lazy``).
        start: the first sample of the file this recording covers (a part of a file).
        stop: the sample after its last one (default: the end of the file).
        rows: the channels it covers, by index (default: every channel of the file;
            :meth:`channel` gives one).

    Raises:
        DataError: the format cannot be read lazily (``.csv``, compressed ``.npz``).
        ValueError: ``start``/``stop`` outside the file.

    Example:
        >>> rec = LazyRecording(describe_recording("day.npy"))  # doctest: +SKIP
        >>> first_hour = rec.view(0, 3_600_000).read(0, 1024)  # doctest: +SKIP
    """

    def __init__(
        self, info: RecordingInfo, start: int = 0, stop: int | None = None,
        rows: Sequence[int] | None = None,
    ) -> None:  # fmt: skip
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
        self.rows = None if rows is None else [int(r) for r in rows]
        if self.rows is not None and not all(0 <= r < info.channels for r in self.rows):
            raise ValueError(f"channels {rows} outside the {info.channels} of {info.path}")

    @property
    def shape(self) -> tuple[int, int]:
        """``(channels, samples)``."""
        channels = self.info.channels if self.rows is None else len(self.rows)
        return channels, self.stop - self.start

    def channel(self, index: int) -> LazyRecording:
        """One channel of this recording, still on disk: ``(1, samples)``."""
        rows = list(range(self.info.channels)) if self.rows is None else self.rows
        return LazyRecording(self.info, self.start, self.stop, [rows[index]])

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
        return LazyRecording(self.info, self.start + start, self.start + stop, self.rows)

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
            raw = get_format(self.info.format).read_span(self.info, a, b)
        except DataError:
            raise
        except Exception as error:
            raise DataError(
                f"{self.name}: unreadable at samples {a}-{b} ({reason(error)})"
            ) from error
        if self.rows is not None:
            raw = np.asarray(raw)[self.rows]
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
