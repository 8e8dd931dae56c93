"""Reading and writing recordings as float32 arrays of shape ``(channels, samples)``.

The format follows the file (see :mod:`mdnc.data.formats`): NumPy ``.npy``/``.npz``, HDF5,
``.csv``, WAV/FLAC, and the formats of the fields (EDF/BDF, WFDB, miniSEED/SAC) when their
libraries are installed. Each keeps what its file says besides the samples (sample rate,
channel names, units, start time, its own header) so that a processed recording is
written back as the file it came from.

The convention is always ``(channels, samples)``: a 2-D array with more rows than columns is
read as it is (many channels of few samples), with a warning, never transposed behind the
user's back. Save the transpose if your rows are samples.

Every problem with a file raises :class:`DataError` (a ``ValueError``) whose message starts
with the file name, so that a command line can print it as a one-line error. Writing is
atomic: the data goes to a temporary file in the target folder, which is renamed over the
target only once complete; on failure neither a partial file nor the temporary file is left.

Each format's library is imported only when a file of that format is read or written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .._utils import staged_files
from .formats import ARRAY_SUFFIXES, WriteSpec, claimed, format_of, supported_suffixes
from .recording import (
    DataError,
    Recording,
    as_channels_samples,
    check_finite,
    reason,
)

__all__ = [
    "DataError",
    "Recording",
    "SUPPORTED_SUFFIXES",
    "read_recording",
    "read_recordings",
    "write_recording",
    "find_recordings",
    "check_finite",
    "check_channels",
]

#: The suffixes of the general-purpose array formats, to which any array can be written
#: (:func:`mdnc.data.formats.supported_suffixes` lists every suffix, the fields' too).
SUPPORTED_SUFFIXES: tuple[str, ...] = ARRAY_SUFFIXES


def check_channels(
    recordings: Sequence[Any], expected: int | None = None, source: str | None = None
) -> int:
    """Check that every recording has the same number of channels, and return it.

    Args:
        recordings: the recordings to compare.
        expected: the channel count they must all have; default: the first one's.
        source: what ``expected`` comes from, for the message (e.g. ``"the checkpoint"``).

    Returns:
        The common channel count (``expected`` when there are no recordings).

    Raises:
        DataError: naming the first recording that differs and both counts, e.g.
            ``"b.wav: has 1 channel(s) but a.wav has 2; all recordings need the same channel
            count"``, or with ``expected``: ``"b.wav: has 1 channel(s), expected 2 (as the
            checkpoint)"``.

    Example:
        >>> channels = check_channels(read_recordings(["a.wav", "b.wav"]))  # doctest: +SKIP
    """
    if not recordings:
        if expected is None:
            raise DataError("no recordings given; expected at least one")
        return expected
    if expected is None:
        first = recordings[0]
        for rec in recordings[1:]:
            if rec.channels != first.channels:
                raise DataError(
                    f"{rec.path}: has {rec.channels} channel(s) but {first.path} has "
                    f"{first.channels}; all recordings need the same channel count"
                )
        return first.channels
    origin = f" (as {source})" if source else ""
    for rec in recordings:
        if rec.channels != expected:
            raise DataError(
                f"{rec.path}: has {rec.channels} channel(s), expected {expected}{origin}"
            )
    return expected


def read_recording(path: str | os.PathLike[str], key: str | None = None) -> Recording:
    """Read one recording as a float32 ``(channels, samples)`` array with its metadata.

    Args:
        path: a file with one of :data:`SUPPORTED_SUFFIXES`.
        key: the array of an ``.npz`` file (default: the only or the first array in the
            archive) or the dataset of an HDF5 file (default: the only dataset; an error
            listing them when there are several). Not accepted for the other formats.

    Returns:
        The :class:`Recording`; its ``data`` is float32, C-contiguous and finite.

    Raises:
        DataError: the file is missing, of an unsupported suffix, unreadable, empty, holds
            NaN/Inf samples, has more than 2 dimensions, or the key does not exist; the
            message starts with the file name.
        TypeError: ``key`` is neither a string nor ``None``.

    Example:
        >>> rec = read_recording("ecg.csv")  # doctest: +SKIP
        >>> rec.data.shape, rec.format  # doctest: +SKIP
        ((2, 5000), 'csv')
    """
    path = Path(path)
    fmt = format_of(path)
    if key is not None and not isinstance(key, str):
        raise TypeError(f"key must be a string or None, got {key!r} ({type(key).__name__}).")
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a {path.suffix} file")
    try:
        return fmt.read(path, key)
    except (DataError, Warning):  # a warning that a filter made an error is not a bad file
        raise
    except Exception as error:  # every library has its own exceptions for a bad file
        raise DataError(f"{path}: unreadable {path.suffix} file ({reason(error)})") from error


def read_recordings(
    paths: Iterable[str | os.PathLike[str]], key: str | None = None, recursive: bool = False
) -> list[Recording]:
    """Find (see :func:`find_recordings`) and read recordings, checking their channel counts.

    Args:
        paths: files or folders.
        key: passed to :func:`read_recording` for every file.
        recursive: whether folders are scanned recursively.

    Returns:
        The recordings, in the order of :func:`find_recordings`.

    Raises:
        DataError: as :func:`find_recordings`, :func:`read_recording` and
            :func:`check_channels`.
    """
    recordings = [read_recording(p, key=key) for p in find_recordings(paths, recursive)]
    if recordings:
        check_channels(recordings)
    return recordings


def find_recordings(paths: Iterable[str | os.PathLike[str]], recursive: bool = False) -> list[Path]:
    """Expand files and folders into the list of recording files.

    A file is taken as it is (its suffix must be supported). A folder contributes its files
    with a supported suffix, sorted by path; only its top level unless ``recursive``. Hidden
    files (names starting with ``.``) are skipped. The result keeps the order of ``paths``
    and lists each file once.

    Args:
        paths: files or folders.
        recursive: scan folders recursively.

    Returns:
        The recording files.

    Raises:
        DataError: a path does not exist, a file has an unsupported suffix, or a folder holds
            no recordings.

    Example:
        >>> find_recordings(["data/"])  # doctest: +SKIP
        [PosixPath('data/a.npy'), PosixPath('data/b.npy')]
    """
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(_folder_recordings(path, recursive))
        elif path.exists():
            format_of(path)
            found.append(path)
        else:
            raise DataError(f"{path}: no such file or folder")
    unique: dict[Path, None] = dict.fromkeys(found)
    return list(unique)


def _folder_recordings(folder: Path, recursive: bool) -> list[Path]:
    """The files of ``folder`` that a format claims, sorted, hidden ones skipped."""
    pattern = "**/*" if recursive else "*"
    files = sorted(
        p
        for p in folder.glob(pattern)
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and claimed(p) is not None
    )
    if not files:
        where = "recursively " if recursive else ""
        raise DataError(
            f"{folder}: folder holds no recordings ({where}searched for "
            f"{', '.join(supported_suffixes())})"
        )
    for path in files:
        format_of(path)  # a missing library is said here, not at the first read
    return files


class Like:
    """The metadata a writer takes from ``like`` (any object: a :class:`Recording`, a
    :class:`~mdnc.data.index.RecordingInfo`, or one with some of their attributes), with
    ``sample_rate`` and ``key`` overridden when given."""

    _FIELDS = ("path", "format", "key", "sample_rate", "dtype", "ndim", "subtype", "header",
               "delimiter", "channel_names", "units", "start_time", "meta")  # fmt: skip

    def __init__(self, like: Any = None, sample_rate: Any = None, key: Any = None) -> None:
        defaults = {"ndim": 2, "delimiter": ",", "meta": {}}
        for name in self._FIELDS:
            setattr(self, name, getattr(like, name, defaults.get(name)))
        if sample_rate is not None:
            self.sample_rate = sample_rate
        if key is not None:
            self.key = key


def write_spec(path: Path, channels: int, length: int, like: Any, sample_rate: Any,
               key: Any, parts: tuple = ()) -> WriteSpec:  # fmt: skip
    """The checked plan of writing a ``(channels, length)`` recording at ``path`` (or one
    of several ``parts``, for the formats that hold them)."""
    fmt = format_of(path)
    parts = parts or ((channels, length),)
    if len(parts) > 1 and not fmt.multipart:
        raise DataError(
            f"{path}: a {path.suffix} file holds one (channels, samples) array; got "
            f"{len(parts)} parts"
        )
    spec = WriteSpec(path, fmt.name, channels, length, Like(like, sample_rate, key), {}, parts)
    options = fmt.prepare(spec)
    return WriteSpec(path, fmt.name, channels, length, spec.like, options, parts)


def write_recording(
    path: str | os.PathLike[str],
    data: Any,
    like: Recording | None = None,
    *,
    sample_rate: int | None = None,
    key: str | None = None,
) -> Path:
    """Write a ``(channels, samples)`` array atomically, in the format of the path's suffix.

    The format follows the suffix of ``path`` (so ``out/x.wav`` is a WAV file). ``like``,
    usually the recording the data was computed from, supplies what that format needs
    besides the samples:

    * ``.npy``/``.npz``/HDF5: the original floating dtype (integer data is written as
      float32, since a processed signal is no longer integer-valued), 1-D storage when the
      original was 1-D and there is still one channel, the array/dataset key (default
      ``"data"``; an ``.npz`` gets that single array), the HDF5 ``sample_rate`` attribute.
    * ``.csv``: the delimiter and the header row (when the channel count still matches).
    * ``.wav``/``.flac``: the sample rate and the subtype (e.g. ``PCM_16``). Without a
      matching subtype, WAV is written as 32-bit float and FLAC as 24-bit PCM. Samples are
      clipped to [-1, 1] for every integer (PCM) subtype.

    The file is written to a hidden temporary file in the same folder and renamed over
    ``path`` when complete; on any failure the temporary file is removed and an existing
    file at ``path`` is left untouched.

    Args:
        path: the file to write; its folder must exist.
        data: array-like (numpy or torch) of shape ``(channels, samples)`` or ``(samples,)``.
        like: the recording whose metadata to reuse, or ``None``.
        sample_rate: overrides ``like.sample_rate``; needed for audio without ``like``.
        key: overrides ``like.key`` for ``.npz`` and HDF5.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        DataError: unsupported suffix, bad shape, NaN/Inf samples, audio without a sample
            rate, or the file system refused the write (message names the file).

    Example:
        >>> rec = read_recording("noisy.wav")  # doctest: +SKIP
        >>> write_recording("clean.wav", denoised, like=rec)  # doctest: +SKIP
    """
    path = Path(path)
    array = as_channels_samples(data, path)
    if array.size == 0:
        raise DataError(f"{path}: refusing to write an empty recording (shape {array.shape})")
    check_finite(array, path)
    spec = write_spec(path, array.shape[0], array.shape[1], like, sample_rate, key)
    fmt = format_of(path)
    try:
        # The writers take the temporary names from ``stage``: hidden ".x.npy.<random>.tmp"
        # names that find_recordings ignores, so a crash leaves no input behind.
        with staged_files() as stage:
            fmt.write(stage, spec, array)
    except DataError:
        raise
    except Exception as error:  # KeyboardInterrupt and the like propagate as they are
        raise DataError(f"{path}: cannot write {path.suffix} file ({reason(error)})") from error
    return path

