"""Reading and writing recordings as float32 arrays of shape ``(channels, samples)``.

Supported formats, chosen by the file suffix (case-insensitive):

========================  ==================================================================
``.npy``                  1-D array = one channel; 2-D array = ``(channels, samples)``.
``.npz``                  one array of the archive: ``key``, else the only or the first one.
``.h5`` / ``.hdf5``       one dataset (h5py): ``key``, else the only dataset in the file.
``.csv``                  columns = channels, rows = samples; an optional header row.
``.wav`` / ``.flac``      soundfile; frames x channels is transposed to channels x frames.
========================  ==================================================================

The convention is always ``(channels, samples)``: a 2-D array with more rows than columns is
read as it is (many channels of few samples), with a warning, never transposed behind the
user's back. Save the transpose if your rows are samples.

Every problem with a file raises :class:`DataError` (a ``ValueError``) whose message starts
with the file name, so that a command line can print it as a one-line error. Writing is
atomic: the data goes to a temporary file in the target folder, which is renamed over the
target only once complete; on failure neither a partial file nor the temporary file is left.

h5py and soundfile are imported only when a file of their format is read or written.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._utils import atomic_path

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

#: Suffix (lower case) -> format name.
_FORMATS: dict[str, str] = {
    ".npy": "npy",
    ".npz": "npz",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".csv": "csv",
    ".wav": "wav",
    ".flac": "flac",
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(_FORMATS)
_SUPPORTED_TEXT = ", ".join(SUPPORTED_SUFFIXES)

# soundfile subtypes stored as floating point; every other subtype is integer-coded and needs
# samples in [-1, 1] (libsndfile wraps around rather than clipping by default).
_FLOAT_SUBTYPES = frozenset({"FLOAT", "DOUBLE"})
# Subtypes used when writing audio without a matching recording to copy the subtype from:
# float for WAV keeps every value; FLAC stores integers only.
_DEFAULT_SUBTYPES = {"wav": "FLOAT", "flac": "PCM_24"}


class DataError(ValueError):
    """A recording that cannot be read, written or used; the message names the file."""


@dataclass(eq=False)
class Recording:
    """A recording and what is needed to write it back in the format it came from.

    Attributes:
        data: float32 array of shape ``(channels, samples)``.
        path: the file it was read from.
        format: ``"npy"``, ``"npz"``, ``"hdf5"``, ``"csv"``, ``"wav"`` or ``"flac"``.
        sample_rate: samples per second for audio files (and HDF5 datasets with a
            ``sample_rate`` attribute), else ``None``.
        key: the array name in an ``.npz`` file or the dataset path in an HDF5 file.
        dtype: the stored numpy dtype (``"int16"``, ``"float64"`` ...) before conversion.
        ndim: 1 when the stored array was 1-D (written back 1-D if it still has one channel).
        subtype: the soundfile subtype of an audio file (``"PCM_16"``, ``"FLOAT"`` ...).
        header: the column names of a ``.csv`` file with a header row.
        delimiter: the ``.csv`` column delimiter (``None`` for white space).
    """

    data: np.ndarray
    path: Path
    format: str
    sample_rate: int | None = None
    key: str | None = None
    dtype: str | None = None
    ndim: int = 2
    subtype: str | None = None
    header: list[str] | None = None
    delimiter: str | None = ","

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
        return dataclasses.replace(self, data=_as_channels_samples(data, self.path))


# --------------------------------------------------------------------------------------------
# Checks


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        shown = path.suffix or "(none)"
        raise DataError(
            f"{path}: unsupported file suffix {shown!r}; supported suffixes: {_SUPPORTED_TEXT}"
        )
    return fmt


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


def check_channels(
    recordings: Sequence[Recording], expected: int | None = None, source: str | None = None
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


def _as_channels_samples(data: Any, path: str | os.PathLike[str]) -> np.ndarray:
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


def _finish(data: np.ndarray, path: Path, fmt: str, warn_shape: bool, **meta: Any) -> Recording:
    """Validate the raw stored array and wrap it into a :class:`Recording`."""
    stored_dtype = str(data.dtype)
    ndim = data.ndim
    if ndim in (1, 2) and data.size == 0:
        raise DataError(f"{path}: empty recording (array of shape {tuple(data.shape)})")
    array = _as_channels_samples(data, path)
    if warn_shape and ndim == 2 and array.shape[0] > array.shape[1]:
        warnings.warn(
            f"{path}: read a {array.shape[0]} x {array.shape[1]} array as {array.shape[0]} "
            f"channels of {array.shape[1]} samples (the convention is (channels, samples)); "
            "save its transpose if the rows are samples",
            UserWarning,
            stacklevel=4,
        )
    check_finite(array, path)
    return Recording(data=array, path=path, format=fmt, dtype=stored_dtype, ndim=ndim, **meta)


# --------------------------------------------------------------------------------------------
# Readers: each returns the Recording or raises; foreign exceptions become "unreadable".


def _read_npy(path: Path, key: str | None) -> Recording:
    if key is not None:
        raise DataError(f"{path}: a .npy file holds one array; got key {key!r}")
    with open(path, "rb") as handle:
        if handle.read(6) != b"\x93NUMPY":
            raise DataError(f"{path}: unreadable .npy file (no NumPy header)")
    data = np.load(path, allow_pickle=False)
    return _finish(data, path, "npy", warn_shape=True)


def _read_npz(path: Path, key: str | None) -> Recording:
    with open(path, "rb") as handle:
        if handle.read(2) != b"PK":
            raise DataError(f"{path}: unreadable .npz file (not a zip archive)")
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        if not names:
            raise DataError(f"{path}: empty recording (the archive holds no arrays)")
        if key is None:
            key = names[0]
        elif key not in names:
            raise DataError(f"{path}: no array named {key!r}; available arrays: {', '.join(names)}")
        data = archive[key]
    return _finish(data, path, "npz", warn_shape=True, key=key)


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


def _read_hdf5(path: Path, key: str | None) -> Recording:
    import h5py

    with h5py.File(path, "r") as handle:
        key, dataset = hdf5_dataset(handle, path, key)
        data = dataset[()]
        rate = dataset.attrs.get("sample_rate")
    if not isinstance(data, np.ndarray) or data.dtype.fields is not None:
        raise DataError(f"{path}: dataset {key!r} is not a numeric array")
    sample_rate = _hdf5_rate(rate, path, key)
    return _finish(data, path, "hdf5", warn_shape=True, key=key, sample_rate=sample_rate)


def _hdf5_rate(rate: Any, path: Path, key: str) -> int | None:
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


def _detect_delimiter(sample: list[str]) -> str | None:
    """The delimiter of a table from its first lines: ``,``, ``;``, tab, or white space."""
    text = "\n".join(sample)
    counts = {d: text.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    if counts[best]:
        return best
    # The last sampled line is a data row even when the first is a header of quoted names.
    return None if len(sample[-1].split()) > 1 else ","


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _split_row(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [f.strip() for f in next(csv.reader([line], delimiter=delimiter))]


def _csv_problem(lines: list[str], rows: list[int], delimiter: str | None) -> str:
    """Find the first bad row for a precise message (only called once numpy has failed)."""
    width = None
    for i in rows:
        fields = _split_row(lines[i].split("#", 1)[0], delimiter)
        width = len(fields) if width is None else width
        if len(fields) != width:
            return f"line {i + 1} has {len(fields)} column(s), expected {width}"
        for column, text in enumerate(fields):
            if not _is_number(text):
                return f"line {i + 1}, column {column + 1}: {text!r} is not a number"
    return ""


def _read_csv(path: Path, key: str | None) -> Recording:
    if key is not None:
        raise DataError(f"{path}: a .csv file holds one table; got key {key!r}")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    rows = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    if not rows:
        raise DataError(f"{path}: empty recording (no rows)")
    delimiter = _detect_delimiter([lines[i] for i in rows[:2]])
    fields = _split_row(lines[rows[0]], delimiter)
    header = None
    if not all(_is_number(f) for f in fields):
        header = fields
        rows = rows[1:]
        if not rows:
            raise DataError(f"{path}: empty recording (a header but no rows)")
    try:
        table = np.loadtxt(
            [lines[i] for i in rows],
            delimiter=delimiter,
            ndmin=2,
            dtype=np.float64,
            quotechar='"',
            comments="#",
        )
    except ValueError as error:
        problem = _csv_problem(lines, rows, delimiter) or _reason(error)
        raise DataError(f"{path}: unreadable .csv file ({problem})") from error
    if header is not None and len(header) != table.shape[1]:
        raise DataError(
            f"{path}: the header has {len(header)} column(s) but the rows have {table.shape[1]}"
        )
    return _finish(table.T, path, "csv", warn_shape=False, header=header, delimiter=delimiter)


def _read_audio(path: Path, key: str | None) -> Recording:
    import soundfile

    if key is not None:
        raise DataError(f"{path}: an audio file holds one signal; got key {key!r}")
    fmt = _FORMATS[path.suffix.lower()]
    with soundfile.SoundFile(path) as handle:
        subtype = handle.subtype
        rate = int(handle.samplerate)
        frames = handle.read(dtype="float32", always_2d=True)
    if frames.size == 0:
        raise DataError(f"{path}: empty recording (0 frames)")
    return _finish(frames.T, path, fmt, warn_shape=False, sample_rate=rate, subtype=subtype)


_READERS: dict[str, Callable[[Path, str | None], Recording]] = {
    "npy": _read_npy,
    "npz": _read_npz,
    "hdf5": _read_hdf5,
    "csv": _read_csv,
    "wav": _read_audio,
    "flac": _read_audio,
}


def _reason(error: BaseException) -> str:
    """A short reason for a message that already names the file."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror  # without the "[Errno N] ... 'path'" decoration
    return str(error).strip() or type(error).__name__


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
    fmt = _format_of(path)
    if key is not None and not isinstance(key, str):
        raise TypeError(f"key must be a string or None, got {key!r} ({type(key).__name__}).")
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a {path.suffix} file")
    try:
        return _READERS[fmt](path, key)
    except (DataError, Warning):  # a warning that a filter made an error is not a bad file
        raise
    except Exception as error:  # every library has its own exceptions for a bad file
        reason = _reason(error)
        raise DataError(f"{path}: unreadable {path.suffix} file ({reason})") from error


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
            pattern = "**/*" if recursive else "*"
            files = sorted(
                p
                for p in path.glob(pattern)
                if p.is_file()
                and p.suffix.lower() in _FORMATS
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not files:
                where = "recursively " if recursive else ""
                raise DataError(
                    f"{path}: folder holds no recordings ({where}searched for {_SUPPORTED_TEXT})"
                )
            found.extend(files)
        elif path.exists():
            _format_of(path)
            found.append(path)
        else:
            raise DataError(f"{path}: no such file or folder")
    unique: dict[Path, None] = dict.fromkeys(found)
    return list(unique)


# --------------------------------------------------------------------------------------------
# Writers: each writes the complete file at a temporary path (which exists, empty).


def _stored_array(data: np.ndarray, like: Recording | None) -> np.ndarray:
    """Array to store in npy/npz/hdf5: the original float dtype and 1-D shape where possible."""
    out: np.ndarray = data
    if like is not None and like.dtype is not None:
        dtype = np.dtype(like.dtype)
        # A processed signal is no longer integer-valued: integer data is stored as float32.
        if np.issubdtype(dtype, np.floating):
            out = data.astype(dtype, copy=False)
    if like is not None and like.ndim == 1 and data.shape[0] == 1:
        out = out[0]
    return out


def _write_npy(tmp: Path, data: np.ndarray, like: Recording | None, meta: dict[str, Any]) -> None:
    with open(tmp, "wb") as handle:
        np.save(handle, _stored_array(data, like), allow_pickle=False)


def _write_npz(tmp: Path, data: np.ndarray, like: Recording | None, meta: dict[str, Any]) -> None:
    with open(tmp, "wb") as handle:
        np.savez(handle, **{meta["key"] or "data": _stored_array(data, like)})


def _write_hdf5(tmp: Path, data: np.ndarray, like: Recording | None, meta: dict[str, Any]) -> None:
    import h5py

    with h5py.File(tmp, "w") as handle:
        dataset = handle.create_dataset(meta["key"] or "data", data=_stored_array(data, like))
        if meta["sample_rate"] is not None:
            dataset.attrs["sample_rate"] = int(meta["sample_rate"])


def _write_csv(tmp: Path, data: np.ndarray, like: Recording | None, meta: dict[str, Any]) -> None:
    delimiter = meta["delimiter"]
    separator = " " if delimiter is None else delimiter
    buffer = io.StringIO()
    header = meta["header"]
    if header is not None:
        csv.writer(buffer, delimiter=separator, lineterminator="\n").writerow(header)
    # 9 significant digits give back every float32 exactly.
    np.savetxt(buffer, data.T, fmt="%.9g", delimiter=separator)
    with open(tmp, "w", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())


def _write_audio(tmp: Path, data: np.ndarray, like: Recording | None, meta: dict[str, Any]) -> None:
    import soundfile

    subtype = meta["subtype"]
    if subtype not in _FLOAT_SUBTYPES:
        data = np.clip(data, -1.0, 1.0)
    with open(tmp, "wb") as handle:
        soundfile.write(
            handle,
            data.T,
            int(meta["sample_rate"]),
            subtype=subtype,
            format=meta["format"].upper(),
        )


_WRITERS: dict[str, Callable[[Path, np.ndarray, Recording | None, dict[str, Any]], None]] = {
    "npy": _write_npy,
    "npz": _write_npz,
    "hdf5": _write_hdf5,
    "csv": _write_csv,
    "wav": _write_audio,
    "flac": _write_audio,
}


def _write_metadata(
    path: Path,
    fmt: str,
    data: np.ndarray,
    like: Recording | None,
    sample_rate: int | None,
    key: str | None,
) -> dict[str, Any]:
    """What to write besides the samples, taken from ``like`` where it applies."""
    meta: dict[str, Any] = {
        "format": fmt,
        "key": key if key is not None else (like.key if like is not None else None),
        "sample_rate": sample_rate
        if sample_rate is not None
        else (like.sample_rate if like is not None else None),
        "header": None,
        "delimiter": ",",
        "subtype": None,
    }
    if like is not None and like.format == "csv":
        meta["delimiter"] = like.delimiter
        if like.header is not None and len(like.header) == data.shape[0]:
            meta["header"] = like.header
    if fmt in ("wav", "flac"):
        import soundfile

        if meta["sample_rate"] is None:
            raise DataError(
                f"{path}: writing a .{fmt} file needs a sample rate; pass like= a recording "
                "that has one, or sample_rate="
            )
        subtype = like.subtype if like is not None else None
        if subtype is None or not soundfile.check_format(fmt.upper(), subtype):
            subtype = _DEFAULT_SUBTYPES[fmt]
        meta["subtype"] = subtype
    return meta


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
    fmt = _format_of(path)
    array = _as_channels_samples(data, path)
    if array.size == 0:
        raise DataError(f"{path}: refusing to write an empty recording (shape {array.shape})")
    check_finite(array, path)
    meta = _write_metadata(path, fmt, array, like, sample_rate, key)
    try:
        # No suffix: the writers take a handle (h5py a name, of any suffix), and a hidden
        # ".x.npy.<random>.tmp" is ignored by find_recordings, so a crash leaves no input.
        with atomic_path(path) as tmp:
            _WRITERS[fmt](tmp, array, like, meta)
    except DataError:
        raise
    except Exception as error:  # KeyboardInterrupt and the like propagate as they are
        reason = _reason(error)
        raise DataError(f"{path}: cannot write {path.suffix} file ({reason})") from error
    return path
