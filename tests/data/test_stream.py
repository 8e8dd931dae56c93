"""Streaming writers: every format equals write_recording's, atomicity, every bad input."""

from __future__ import annotations

import errno
import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import soundfile
import torch

from mdnc._utils import is_leftover
from mdnc.data import stream
from mdnc.data.formats import npy as npy_format
from mdnc.data.io import DataError, Recording, read_recording, write_recording
from mdnc.data.stream import RecordingWriter, open_writer

SUFFIXES = (".npy", ".npz", ".h5", ".hdf5", ".wav", ".flac", ".csv")
LENGTH = 2000
#: Uneven block sizes, the last one taking the rest.
BLOCKS = (1, 7, 1000)
#: Formats read back exactly as written, whatever the stored float dtype.
EXACT = (".npy", ".npz", ".h5", ".hdf5", ".csv")


def _files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _signal(channels: int, scale: float = 1.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (scale * rng.uniform(-1.0, 1.0, size=(channels, LENGTH))).astype(np.float32)


def _blocks(data: np.ndarray) -> list[np.ndarray]:
    edges = np.cumsum((0, *BLOCKS)).tolist() + [data.shape[1]]
    return [data[:, a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _stream(path: Path, data: np.ndarray, like: object = None, **kw: object) -> Path:
    with open_writer(path, data.shape[0], data.shape[1], like, **kw) as out:
        for block in _blocks(data):
            out.write(block)
    return out.path


# --------------------------------------------------------------------------------------------
# Recordings to copy the metadata from: each returns (like, channels, data scale).


def _like_none(folder: Path) -> tuple[None, int, float]:
    return None, 2, 1.0


def _like_int16(folder: Path) -> tuple[Recording, int, float]:
    np.save(folder / "src.npy", np.arange(2 * 50, dtype=np.int16).reshape(2, 50))
    return read_recording(folder / "src.npy"), 2, 1.0


def _like_float64_h5(folder: Path) -> tuple[Recording, int, float]:
    with h5py.File(folder / "src.h5", "w") as handle:
        dataset = handle.create_dataset("signal", data=np.zeros((2, 50)))
        dataset.attrs["sample_rate"] = 16000
    return read_recording(folder / "src.h5"), 2, 1.0


def _like_1d(folder: Path) -> tuple[Recording, int, float]:
    np.save(folder / "src.npy", np.zeros(50, dtype=np.float32))
    return read_recording(folder / "src.npy"), 1, 1.0


def _like_pcm16(folder: Path) -> tuple[Recording, int, float]:
    soundfile.write(folder / "src.wav", np.zeros((50, 2)), 22050, subtype="PCM_16")
    # Samples beyond [-1, 1]: integer subtypes clip them, as write_recording does.
    return read_recording(folder / "src.wav"), 2, 1.25


def _like_csv_header(folder: Path) -> tuple[Recording, int, float]:
    (folder / "src.csv").write_text("left;right\n0.5;1\n0.25;2\n", encoding="utf-8")
    return read_recording(folder / "src.csv"), 2, 1.0


LIKES: dict[str, Callable[[Path], tuple[Recording | None, int, float]]] = {
    "none": _like_none,
    "int16": _like_int16,
    "float64-h5": _like_float64_h5,
    "1-d": _like_1d,
    "pcm16-wav": _like_pcm16,
    "csv-header": _like_csv_header,
}


@pytest.mark.parametrize("like_case", list(LIKES))
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_blocks_give_the_file_write_recording_gives(
    tmp_path: Path, suffix: str, like_case: str
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    like, channels, scale = LIKES[like_case](source)
    data = _signal(channels, scale)
    rate = None if like is not None and like.sample_rate else 8000
    streamed = _stream(tmp_path / f"streamed{suffix}", data, like, sample_rate=rate)
    whole = write_recording(tmp_path / f"whole{suffix}", data, like=like, sample_rate=rate)
    got, want = read_recording(streamed), read_recording(whole)
    assert np.array_equal(got.data, want.data)
    for name in ("format", "dtype", "ndim", "key", "sample_rate", "subtype", "header"):
        assert getattr(got, name) == getattr(want, name), name
    assert got.delimiter == want.delimiter
    if suffix in EXACT:
        assert np.array_equal(got.data, data)  # bit-exact, whatever float dtype is stored
    if suffix in (".npy", ".csv"):
        assert streamed.read_bytes() == whole.read_bytes()
    assert _files_in(tmp_path) == sorted(["source", streamed.name, whole.name])


@pytest.mark.parametrize(
    ("like_case", "suffix", "expected"),
    [
        ("int16", ".npy", {"dtype": "float32", "ndim": 2}),
        ("float64-h5", ".npz", {"dtype": "float64", "key": "signal"}),
        ("float64-h5", ".h5", {"dtype": "float64", "key": "signal", "sample_rate": 16000}),
        ("1-d", ".hdf5", {"ndim": 1, "key": "data"}),
        ("pcm16-wav", ".flac", {"subtype": "PCM_16", "sample_rate": 22050}),
        ("none", ".flac", {"subtype": "PCM_24", "sample_rate": 8000}),
        ("csv-header", ".csv", {"header": ["left", "right"], "delimiter": ";"}),
    ],
)
def test_metadata_taken_from_like(
    tmp_path: Path, like_case: str, suffix: str, expected: dict[str, object]
) -> None:
    like, channels, _ = LIKES[like_case](tmp_path)
    rate = None if like is not None else 8000
    got = read_recording(
        _stream(tmp_path / f"out{suffix}", _signal(channels), like, sample_rate=rate)
    )
    for name, value in expected.items():
        assert getattr(got, name) == value, name


def test_like_without_header_or_delimiter_and_key_override(tmp_path: Path) -> None:
    described = SimpleNamespace(format="csv", key="old", sample_rate=None, dtype="float64", ndim=2)
    data = _signal(2)
    csv_path = _stream(tmp_path / "a.csv", data, described)
    assert csv_path.read_text().splitlines()[0].count(",") == 1  # no header, comma-separated
    npz = _stream(tmp_path / "a.npz", data, described, key="new")
    with np.load(npz) as archive:
        assert archive.files == ["new"]
        assert archive["new"].dtype == np.float64
        assert np.array_equal(archive["new"], data.astype(np.float64))


def test_torch_blocks_and_written_count(tmp_path: Path) -> None:
    data = _signal(2)
    with RecordingWriter(tmp_path / "t.npy", 2, LENGTH) as out:
        out.write(torch.from_numpy(data[:, :5]))
        out.write(data[:, 5:5])  # an empty block writes nothing
        assert out.written == 5
        out.write(data[:, 5:].astype(np.float64).tolist())
    assert np.array_equal(np.load(tmp_path / "t.npy"), data)


def test_npy_without_pwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(stream.os, "pwrite")  # as on Windows: seek and write
    data = _signal(3)
    streamed = _stream(tmp_path / "a.npy", data)
    assert streamed.read_bytes() == write_recording(tmp_path / "b.npy", data).read_bytes()


def test_hdf5_chunks_of_about_one_mebibyte(tmp_path: Path) -> None:
    length = 300_000
    with open_writer(tmp_path / "x.h5", 2, length) as out:
        for start in range(0, length, 100_000):
            out.write(np.full((2, 100_000), start, np.float32))
    with h5py.File(tmp_path / "x.h5", "r") as handle:
        assert handle["data"].chunks == (2, (1 << 20) // 8)
        assert handle["data"][1, 250_000] == 200_000


# --------------------------------------------------------------------------------------------
# Atomicity


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_exception_in_with_leaves_nothing(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(RuntimeError, match="denoiser failed"):
        with open_writer(tmp_path / f"x{suffix}", 2, LENGTH, sample_rate=8000) as out:
            out.write(_signal(2)[:, :100])
            raise RuntimeError("denoiser failed")
    assert _files_in(tmp_path) == []


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_existing_file_replaced_only_at_close(tmp_path: Path, suffix: str) -> None:
    path = write_recording(tmp_path / f"x{suffix}", _signal(2, seed=1), sample_rate=8000)
    before = path.read_bytes()
    data = _signal(2)
    out = open_writer(path, 2, LENGTH, sample_rate=8000)
    for block in _blocks(data):
        out.write(block)
    assert path.read_bytes() == before
    hidden = [name for name in _files_in(tmp_path) if name != path.name]
    assert hidden and all(is_leftover(name) for name in hidden)  # remove_leftovers knows them
    out.abort()
    assert path.read_bytes() == before
    assert _files_in(tmp_path) == [path.name]
    assert _stream(path, data, sample_rate=8000) == path
    assert path.read_bytes() != before
    assert _files_in(tmp_path) == [path.name]
    assert read_recording(path).data.shape == data.shape


def test_close_and_abort_once_done(tmp_path: Path) -> None:
    data = _signal(1)
    out = open_writer(tmp_path / "x.npy", 1, LENGTH)
    out.write(data)
    assert out.close() == tmp_path / "x.npy"
    assert out.close() == tmp_path / "x.npy"
    out.abort()  # too late: the file stays
    assert np.array_equal(np.load(tmp_path / "x.npy"), data[0][None])
    with pytest.raises(DataError, match="the writer is closed"):
        out.write(data)
    aborted = open_writer(tmp_path / "y.npy", 1, LENGTH)
    aborted.abort()
    with pytest.raises(DataError, match="the writer is aborted"):
        aborted.close()
    assert _files_in(tmp_path) == ["x.npy"]


def test_file_system_failure_aborts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    out = open_writer(tmp_path / "x.npz", 2, LENGTH)
    monkeypatch.setattr(npy_format, "pwrite", full)
    with pytest.raises(DataError, match=r"x\.npz: cannot write \.npz file \(No space left"):
        out.write(_signal(2)[:, :10])
    assert _files_in(tmp_path) == []
    with pytest.raises(DataError, match="aborted"):
        out.write(_signal(2)[:, :10])


# --------------------------------------------------------------------------------------------
# Bad blocks and bad arguments


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (np.zeros((3, 10), np.float32), "block has 3 channel(s), expected 2"),
        (np.zeros(10, np.float32), "expected a 2-D (channels, samples) block, got 1 dimension"),
        (np.zeros((2, 10, 1), np.float32), "got 3 dimension(s)"),
        (np.full((2, 10), "a"), "expected real numbers"),
        (np.zeros((2, 11), np.float32), "a block of 11 samples after 0 goes past the length of 10"),
    ],
)
def test_bad_block_writes_nothing(tmp_path: Path, block: np.ndarray, message: str) -> None:
    path = tmp_path / "x.h5"
    with open_writer(path, 2, 10) as out:
        with pytest.raises(DataError, match=re.escape(f"{path}: ") + ".*" + re.escape(message)):
            out.write(block)
        assert out.written == 0
        out.write(np.ones((2, 10), np.float32))  # the writer is still usable
    assert np.array_equal(read_recording(path).data, np.ones((2, 10), np.float32))


def test_nan_in_third_block_names_the_absolute_sample(tmp_path: Path) -> None:
    data = _signal(2)
    bad = 1 + 7 + 4  # the 5th sample of the 3rd block
    data[1, bad] = np.nan
    data[0, bad + 3] = np.inf
    path = tmp_path / "x.wav"
    with pytest.raises(DataError) as caught:
        _stream(path, data, sample_rate=8000)
    assert str(caught.value).startswith(
        f"{path}: contains NaN or Inf samples at channel 0, sample {bad + 3} (2 in the block "
        "of samples 8 to 1007)"
    )
    assert _files_in(tmp_path) == []


def test_too_many_then_too_few_samples(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    out = open_writer(path, 1, 10)
    out.write(np.zeros((1, 6), np.float32))
    with pytest.raises(DataError, match="a block of 5 samples after 6 goes past the length of 10"):
        out.write(np.zeros((1, 5), np.float32))
    out.write(np.zeros((1, 3), np.float32))
    with pytest.raises(DataError, match=re.escape(f"{path}: wrote 9 of 10 samples")):
        out.close()
    assert _files_in(tmp_path) == []


def test_too_few_samples_in_with_leaves_existing_file(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "x.flac", _signal(1), sample_rate=8000)
    before = path.read_bytes()
    with pytest.raises(DataError, match="wrote 1000 of 2000 samples"):
        with open_writer(path, 1, LENGTH, sample_rate=8000) as out:
            out.write(_signal(1)[:, :1000])
    assert path.read_bytes() == before
    assert _files_in(tmp_path) == ["x.flac"]


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "message"),
    [
        ("x.txt", (2, 10), {}, "unsupported file suffix '.txt'"),
        ("x", (2, 10), {}, "unsupported file suffix '(none)'"),
        ("missing/x.npy", (2, 10), {}, "cannot write .npy file (no such folder: "),
        ("x.npy", (0, 10), {}, "channels must be an int >= 1, got 0"),
        ("x.npy", (2.0, 10), {}, "channels must be an int >= 1, got 2.0"),
        ("x.npy", (2, True), {}, "length must be an int >= 1, got True"),
        ("x.npy", (2, 0), {}, "length must be an int >= 1, got 0"),
        ("x.h5", (2, 10), {"key": 3}, "key must be a string or None, got 3"),
        ("x.wav", (2, 10), {}, "writing a .wav file needs a sample rate"),
        ("x.flac", (2, 10), {"sample_rate": 0}, "sample_rate must be a number of Hz > 0"),
        ("x.h5", (2, 10), {"sample_rate": 44100.5}, "sample_rate must be a whole number of Hz"),
        ("sub.npy", (2, 10), {}, "is a folder, expected a .npy file"),
    ],
)
def test_bad_arguments_create_nothing(
    tmp_path: Path, name: str, args: tuple, kwargs: dict, message: str
) -> None:
    (tmp_path / "sub.npy").mkdir()
    path = tmp_path / name
    with pytest.raises(DataError, match=re.escape(f"{path}: ") + ".*" + re.escape(message)):
        RecordingWriter(path, *args, **kwargs)
    assert _files_in(tmp_path) == ["sub.npy"]


def test_whole_number_float_sample_rate(tmp_path: Path) -> None:
    path = _stream(tmp_path / "x.wav", _signal(1), sample_rate=8000.0)
    assert read_recording(path).sample_rate == 8000


# --------------------------------------------------------------------------------------------
# Memory


def test_memory_bounded_by_the_block(tmp_path: Path) -> None:
    channels, length, step = 2, 3_000_000, 65_536
    size = channels * length * 4

    def block(start: int) -> np.ndarray:
        n = min(step, length - start)
        return np.arange(start, start + n, dtype=np.float32)[None, :] * np.float32([[1], [-1]])

    tracemalloc.start()
    try:
        with open_writer(tmp_path / "big.npy", channels, length) as out:
            for start in range(0, length, step):
                out.write(block(start))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size / 8, f"peak {peak} bytes for a {size} byte file"
    stored = np.load(tmp_path / "big.npy", mmap_mode="r")
    assert stored.shape == (channels, length) and stored.dtype == np.float32
    for start in (0, 65_536 * 7, length - length % step):
        assert np.array_equal(stored[:, start : start + step], block(start))
