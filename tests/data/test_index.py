"""Header-only descriptions, the index cache and lazy reads: the same values as read_recording."""

from __future__ import annotations

import json
import os
import pickle
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from mdnc.data import index
from mdnc.data.index import (
    INDEX_VERSION,
    LazyRecording,
    RecordingInfo,
    channel_power,
    check_same_channels,
    describe_recording,
    index_recordings,
    open_recordings,
    read_span,
    save_index,
    use_lazy,
)
from mdnc.data.io import SUPPORTED_SUFFIXES, DataError, read_recording, write_recording
from tests.conftest import property_settings

SETTINGS = property_settings(40, HealthCheck.function_scoped_fixture, HealthCheck.too_slow)
LENGTH = 1000
RNG = np.random.default_rng(0)
SIGNAL = RNG.uniform(-0.9, 0.9, size=(3, LENGTH)).astype(np.float32)


@pytest.fixture(autouse=True)
def _close_handles() -> None:
    """Every test starts and ends without cached handles (tmp files differ per test)."""
    index._OPEN.clear()
    yield
    index._OPEN.clear()


def _exact(path: Path, message: str) -> str:
    """A regex for the whole one-line message ``"<path>: <message>"``."""
    return "^" + re.escape(str(path)) + ": " + message + "$"


def _h5(path: Path, rate: object = None, **datasets: np.ndarray) -> None:
    with h5py.File(path, "w") as handle:
        for name, value in datasets.items():
            chunks = (1, 64) if value.ndim == 2 and name == "chunked" else None
            dataset = handle.create_dataset(name, data=value, chunks=chunks)
            if rate is not None:
                dataset.attrs["sample_rate"] = rate


# --------------------------------------------------------------------------------------------
# Every format and layout: (file name, writer, key, expected description fields)

FORMATS = [
    ("c.npy", lambda p: np.save(p, SIGNAL), None,
     dict(format="npy", channels=3, dtype="<f4", ndim=2, fortran=False, lazy=True)),
    ("fortran.npy", lambda p: np.save(p, np.asfortranarray(SIGNAL[:2])), None,
     dict(format="npy", channels=2, dtype="<f4", ndim=2, fortran=True, lazy=True)),
    ("f64.npy", lambda p: np.save(p, SIGNAL.astype(np.float64)), None,
     dict(format="npy", channels=3, dtype="<f8", ndim=2, fortran=False, lazy=True)),
    ("i16.npy", lambda p: np.save(p, (SIGNAL * 30000).astype(np.int16)), None,
     dict(format="npy", channels=3, dtype="<i2", ndim=2, fortran=False, lazy=True)),
    ("be_f4.npy", lambda p: np.save(p, SIGNAL.astype(">f4")), None,
     dict(format="npy", channels=3, dtype=">f4", ndim=2, fortran=False, lazy=True)),
    ("be_i2.npy", lambda p: np.save(p, np.asfortranarray((SIGNAL * 9000).astype(">i2"))), None,
     dict(format="npy", channels=3, dtype=">i2", ndim=2, fortran=True, lazy=True)),
    ("one.npy", lambda p: np.save(p, SIGNAL[0].astype(np.float64)), None,
     dict(format="npy", channels=1, dtype="<f8", ndim=1, fortran=False, lazy=True)),
    ("stored.npz", lambda p: np.savez(p, a=SIGNAL, b=SIGNAL[1], c=SIGNAL[:2].astype(">i2")), None,
     dict(format="npz", channels=3, dtype="<f4", ndim=2, key="a", lazy=True)),
    ("stored.npz", lambda p: np.savez(p, a=SIGNAL, b=SIGNAL[1], c=SIGNAL[:2].astype(">i2")), "b",
     dict(format="npz", channels=1, dtype="<f4", ndim=1, key="b", lazy=True)),
    ("stored.npz", lambda p: np.savez(p, a=SIGNAL, b=SIGNAL[1], c=(SIGNAL[:2] * 9).astype(">i2")),
     "c", dict(format="npz", channels=2, dtype=">i2", ndim=2, key="c", lazy=True)),
    ("fortran.npz", lambda p: np.savez(p, x=np.asfortranarray(SIGNAL)), None,
     dict(format="npz", channels=3, dtype="<f4", ndim=2, key="x", fortran=True, lazy=True)),
    ("zipped.npz", lambda p: np.savez_compressed(p, z=SIGNAL, y=SIGNAL), "y",
     dict(format="npz", channels=3, dtype="<f4", ndim=2, key="y", offset=None, lazy=False)),
    ("chunked.h5", lambda p: _h5(p, 250, chunked=SIGNAL), None,
     dict(format="hdf5", channels=3, dtype="<f4", ndim=2, key="chunked", sample_rate=250,
          lazy=True)),
    ("contiguous.h5", lambda p: _h5(p, None, flat=SIGNAL[:2].astype(np.float64)), None,
     dict(format="hdf5", channels=2, dtype="<f8", ndim=2, key="flat", sample_rate=None,
          lazy=True)),
    ("one.hdf5", lambda p: _h5(p, 100.0, **{"g/sig": SIGNAL[0]}), None,
     dict(format="hdf5", channels=1, dtype="<f4", ndim=1, key="g/sig", sample_rate=100,
          lazy=True)),
    ("chunked1d.hdf5", lambda p: _h5(p, np.int32(8), x=SIGNAL[0], chunked=SIGNAL[:2]), "/x",
     dict(format="hdf5", channels=1, dtype="<f4", ndim=1, key="/x", sample_rate=8, lazy=True)),
    ("pcm16.wav", lambda p: soundfile.write(p, SIGNAL.T, 8000, subtype="PCM_16"), None,
     dict(format="wav", channels=3, dtype="float32", ndim=2, sample_rate=8000,
          subtype="PCM_16", lazy=True)),
    ("float.wav", lambda p: soundfile.write(p, SIGNAL[0], 44100, subtype="FLOAT"), None,
     dict(format="wav", channels=1, dtype="float32", ndim=2, sample_rate=44100,
          subtype="FLOAT", lazy=True)),
    ("a.flac", lambda p: soundfile.write(p, SIGNAL[:2].T, 16000, subtype="PCM_24"), None,
     dict(format="flac", channels=2, dtype="float32", ndim=2, sample_rate=16000,
          subtype="PCM_24", lazy=True)),
    ("t.csv", lambda p: p.write_text("a;b\n" + "\n".join(f"{u:.9g};{v:.9g}" for u, v in
                                                          SIGNAL[:2].T)), None,
     dict(format="csv", channels=2, dtype="float64", ndim=2, header=["a", "b"], delimiter=";",
          offset=None, lazy=False)),
]  # fmt: skip
FORMAT_IDS = [f"{name}-{key}" for name, _, key, _ in FORMATS]


@pytest.mark.parametrize(("name", "make", "key", "expected"), FORMATS, ids=FORMAT_IDS)
def test_description_matches_read_recording(
    tmp_path: Path, name: str, make: Callable, key: str | None, expected: dict
) -> None:
    path = tmp_path / name
    make(path)
    info = describe_recording(path, key)
    rec = read_recording(path, key)
    assert info.path == path and info.length == LENGTH
    for field, value in expected.items():
        assert getattr(info, field) == value, field
    assert (info.format, info.channels, info.length, info.ndim, info.key) == (
        rec.format, rec.channels, rec.length, rec.ndim, rec.key
    )  # fmt: skip
    assert (info.sample_rate, info.subtype) == (rec.sample_rate, rec.subtype)
    assert (info.header, info.delimiter) == (rec.header, rec.delimiter)
    assert np.dtype(info.dtype) == np.dtype(rec.dtype)
    assert info.nbytes == 4 * rec.data.size
    stat = path.stat()
    assert (info.size, info.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    if info.offset is not None:  # the samples start exactly there
        raw = np.frombuffer(path.read_bytes(), np.uint8)[info.offset :]
        order = "F" if info.fortran else "C"
        stored = np.ndarray(rec.data.shape, np.dtype(info.dtype), raw, order=order)
        np.testing.assert_array_equal(stored.astype(np.float32), rec.data)
    assert RecordingInfo.from_json(json.loads(json.dumps(info.to_json()))) == info


SPANS = [(0, 1), (LENGTH - 1, LENGTH), (0, LENGTH), (123, 877), (500, 500)]


@pytest.mark.parametrize(
    ("name", "make", "key", "expected"), [f for f in FORMATS if f[3]["lazy"]],
    ids=[i for i, f in zip(FORMAT_IDS, FORMATS, strict=True) if f[3]["lazy"]],
)  # fmt: skip
def test_lazy_spans_equal_read_recording(
    tmp_path: Path, name: str, make: Callable, key: str | None, expected: dict
) -> None:
    path = tmp_path / name
    make(path)
    data = read_recording(path, key).data
    rec = LazyRecording(describe_recording(path, key))
    assert rec.shape == data.shape and rec.ndim == 2
    for a, b in SPANS:
        block = rec.read(a, b)
        assert block.dtype == np.float32 and block.flags["C_CONTIGUOUS"]
        assert np.array_equal(block, data[:, a:b]), (a, b)
    assert np.array_equal(rec.load(), data)
    view = rec[:, 100:900][:, 50:-50].view(10, 700)  # samples 160:860 of the file
    assert view.shape == (data.shape[0], 690) and (view.start, view.stop) == (160, 850)
    assert np.array_equal(view.read(0, 690), data[:, 160:850])
    assert np.array_equal(view[:, -5:].load(), data[:, 845:850])
    assert np.array_equal(read_span(view, 3, 9), data[:, 163:169])


def test_repr_name_and_read_span_of_arrays(tmp_path: Path) -> None:
    path = tmp_path / "r.npy"
    np.save(path, SIGNAL)
    rec = LazyRecording(describe_recording(path))
    assert repr(rec) == f"LazyRecording({path}, shape=(3, {LENGTH}))"
    assert repr(rec[:, 5:9]) == f"LazyRecording({path}[5:9], shape=(3, 4))"
    assert rec.name == str(path)
    block = read_span(SIGNAL.astype(np.float64)[:, ::-1], 2, 6)
    assert block.dtype == np.float32 and block.flags["C_CONTIGUOUS"]
    assert np.array_equal(block, SIGNAL[:, ::-1][:, 2:6])


# --------------------------------------------------------------------------------------------
# Bad input: the same one-line DataError as read_recording


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a recording\x00\x01\x02" * 8)


def _rate(rate: object) -> Callable[[Path], None]:
    return lambda p: _h5(p, rate, d=SIGNAL)


NOT_REAL = r"expected real numbers \(integer or floating dtype\), got dtype "
RATE = r"the sample_rate attribute of dataset 'd' must be a whole number of Hz >= 1, got "
# (file name, writer, key, describe message, read_recording message when it differs)
BAD_INPUTS = [
    ("missing.npy", lambda p: None, None, r"no such file", None),
    ("missing.h5", lambda p: None, None, r"no such file", None),
    ("notes.txt", lambda p: p.write_text("1\n"), None,
     r"unsupported file suffix '\.txt'; supported suffixes: "
     r"\.npy, \.npz, \.h5, \.hdf5, \.csv, \.wav, \.flac, \.edf, .*", None),
    ("noheader.npy", _garbage, None, r"unreadable \.npy file \(no NumPy header\)", None),
    ("zero.npy", lambda p: p.write_bytes(b""), None,
     r"unreadable \.npy file \(no NumPy header\)", None),
    ("cube.npy", lambda p: np.save(p, np.zeros((2, 3, 4))), None,
     r"expected a 1-D \(samples,\) or 2-D \(channels, samples\) array, got shape \(2, 3, 4\)",
     None),
    ("object.npy", lambda p: np.save(p, np.array([1, "a"], dtype=object)), None,
     NOT_REAL + "object",
     r"unreadable \.npy file \(Object arrays cannot be loaded when allow_pickle=False\)"),
    ("complex.npy", lambda p: np.save(p, np.ones(4) * 1j), None, NOT_REAL + "complex128", None),
    ("bool.npy", lambda p: np.save(p, np.ones((2, 4), bool)), None, NOT_REAL + "bool", None),
    ("empty.npy", lambda p: np.save(p, np.zeros(0, np.float32)), None,
     r"empty recording \(array of shape \(0,\)\)", None),
    ("empty2d.npy", lambda p: np.save(p, np.zeros((2, 0))), None,
     r"empty recording \(array of shape \(2, 0\)\)", None),
    ("none.npz", lambda p: np.savez(p), None,
     r"empty recording \(the archive holds no arrays\)", None),
    ("keys.npz", lambda p: np.savez(p, a=SIGNAL, b=SIGNAL), "nope",
     r"no array named 'nope'; available arrays: a, b", None),
    ("keys_zipped.npz", lambda p: np.savez_compressed(p, a=SIGNAL, b=SIGNAL), "c",
     r"no array named 'c'; available arrays: a, b", None),
    ("notzip.npz", _garbage, None, r"unreadable \.npz file \(not a zip archive\)", None),
    ("complex.npz", lambda p: np.savez(p, a=np.ones(3) * 1j), None, NOT_REAL + "complex128",
     None),
    ("empty_zipped.npz", lambda p: np.savez_compressed(p, a=np.zeros((2, 0))), None,
     r"empty recording \(array of shape \(2, 0\)\)", None),
    ("nothing.h5", lambda p: _h5(p), None,
     r"holds no datasets; choose one with a key; available datasets: \(none\)", None),
    ("two.hdf5", lambda p: _h5(p, None, x=SIGNAL, y=SIGNAL), None,
     r"holds 2 datasets; choose one with a key; available datasets: x, y", None),
    ("keys.h5", lambda p: _h5(p, None, x=SIGNAL, y=SIGNAL), "nope",
     r"no dataset named 'nope'; available datasets: x, y", None),
    ("cube.h5", lambda p: _h5(p, None, x=np.zeros((2, 2, 2))), None,
     r"expected a 1-D \(samples,\) or 2-D \(channels, samples\) array, got shape \(2, 2, 2\)",
     None),
    ("empty.h5", lambda p: _h5(p, None, x=np.zeros((2, 0))), None,
     r"empty recording \(array of shape \(2, 0\)\)", None),
    ("bool.h5", lambda p: _h5(p, None, x=np.ones(3, bool)), None, NOT_REAL + "bool", None),
    ("nan_rate.h5", _rate(np.nan), None, RATE + r"np\.float64\(nan\)", None),
    ("half_rate.h5", _rate(44100.5), None, RATE + r"np\.float64\(44100\.5\)", None),
    ("zero_rate.h5", _rate(0), None, RATE + r"np\.int64\(0\)", None),
    ("word_rate.h5", _rate("fast"), None, RATE + r"'fast'", None),
    ("garbage.h5", _garbage, None,
     r"unreadable \.h5 file \(Unable to synchronously open file \(file signature not found\)\)",
     None),
    ("silent.wav", lambda p: soundfile.write(p, np.zeros((0, 1)), 8000), None,
     r"empty recording \(0 frames\)", None),
    ("garbage.flac", _garbage, None, r"unreadable \.flac file \(Error opening .*\)", None),
    ("key.npy", lambda p: np.save(p, SIGNAL), "data",
     r"a \.npy file holds one array; got key 'data'", None),
    ("key.wav", lambda p: soundfile.write(p, SIGNAL.T, 8000), "data",
     r"an audio file holds one signal; got key 'data'", None),
    ("key.csv", lambda p: p.write_text("1,2\n"), "data",
     r"a \.csv file holds one table; got key 'data'", None),
    ("empty.csv", lambda p: p.write_text(""), None, r"empty recording \(no rows\)", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "make", "key", "message", "read_message"), BAD_INPUTS,
    ids=[case[0] for case in BAD_INPUTS],
)  # fmt: skip
def test_bad_input_is_the_data_error_of_read_recording(
    tmp_path: Path, name: str, make: Callable, key: str | None, message: str, read_message: str
) -> None:
    path = tmp_path / name
    make(path)
    with pytest.raises(DataError, match=_exact(path, message)):
        describe_recording(path, key)
    with pytest.raises(DataError, match=_exact(path, read_message or message)):
        read_recording(path, key)
    if message == "no such file":  # find_recordings words it for files and folders
        message += " or folder"
    with pytest.raises(DataError, match=_exact(path, message)):
        index_recordings([path], key)


def test_folder_and_bad_key_type(tmp_path: Path) -> None:
    folder = tmp_path / "looks.npy"
    folder.mkdir()
    with pytest.raises(DataError, match=_exact(folder, r"is a folder, expected a \.npy file")):
        describe_recording(folder)
    with pytest.raises(TypeError, match=r"^key must be a string or None, got 3 \(int\)\.$"):
        describe_recording(tmp_path / "x.h5", key=3)


def _truncated_npy(path: Path, data: np.ndarray, keep: int) -> None:
    np.save(path, data)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - keep])


@pytest.mark.parametrize(
    ("data", "span", "byte"),
    [
        (SIGNAL, (LENGTH - 1, LENGTH), 128 + 3 * LENGTH * 4),  # C order: the last row
        (SIGNAL, (0, LENGTH), 128 + 3 * LENGTH * 4),
        (np.asfortranarray(SIGNAL), (LENGTH - 1, LENGTH), 128 + 3 * LENGTH * 4),
        (SIGNAL[0], (990, 1000), 128 + LENGTH * 4),
    ],
    ids=["c-last", "c-whole", "fortran-last", "1d-tail"],
)
def test_truncated_npy_is_refused_described_and_found_when_read(
    tmp_path: Path, data: np.ndarray, span: tuple[int, int], byte: int
) -> None:
    path = tmp_path / "short.npy"
    _truncated_npy(path, data, keep=6)
    with pytest.raises(DataError, match=_exact(path, r"truncated file \(its header announces .*")):
        describe_recording(path)
    # Truncated after it was described: found by the read that runs past the end.
    np.save(path, data)
    info = describe_recording(path)
    _truncated_npy(path, data, keep=6)
    rec = LazyRecording(info)
    assert np.array_equal(rec.read(0, 1), np.atleast_2d(data)[:, :1])
    with pytest.raises(
        DataError, match=_exact(path, rf"truncated file \(ends before byte {byte}\)")
    ):
        rec.read(*span)
    with pytest.raises(DataError, match=_exact(path, r"unreadable \.npy file \(.*\)")):
        read_recording(path)


def test_npz_member_shorter_than_its_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.npz"
    np.savez(path, a=SIGNAL[0, :10], b=SIGNAL)
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"(10,)", b"(12,)", 1))  # 2 samples more than stored
    with pytest.raises(DataError, match=_exact(path, r"unreadable \.npz file \(Bad CRC-32 .*\)")):
        read_recording(path)
    with pytest.raises(
        DataError, match=_exact(path, r"truncated file \(its header announces 1 x 12 .*")
    ):
        describe_recording(path)  # the member holds 10 samples: refused before any read


def test_file_removed_after_description(tmp_path: Path) -> None:
    path = tmp_path / "gone.npy"
    np.save(path, SIGNAL)
    rec = LazyRecording(describe_recording(path))
    path.unlink()
    with pytest.raises(
        DataError, match=_exact(path, r"unreadable at samples 5-9 \(No such file or directory\)")
    ):
        rec.read(5, 9)


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("nan.npy", lambda p, x: np.save(p, x)),
        ("nan.npz", lambda p, x: np.savez(p, x=x)),
        ("nan.h5", lambda p, x: _h5(p, None, chunked=x)),
        ("nan.wav", lambda p, x: soundfile.write(p, x.T, 8000, subtype="FLOAT")),
        ("nan_fortran.npy", lambda p, x: np.save(p, np.asfortranarray(x))),
    ],
)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_span_names_file_channel_and_absolute_sample(
    tmp_path: Path, name: str, write: Callable, bad: float
) -> None:
    path = tmp_path / name
    data = SIGNAL.copy()
    data[2, 734] = bad
    data[1, 900] = bad
    write(path, data)
    rec = LazyRecording(describe_recording(path))
    view = rec[:, 234:]  # file samples from 234 on: file sample 734 is view sample 500
    assert np.array_equal(view.read(0, 500), data[:, 234:734])
    message = r"contains NaN or Inf samples at channel 2, sample 734"
    with pytest.raises(DataError, match=_exact(path, message)):
        view.read(400, 600)
    with pytest.raises(DataError, match=_exact(path, message)):
        rec.view(700, 800).read(0, 100)
    with pytest.raises(DataError, match=_exact(path, r"contains NaN or Inf .* sample 900")):
        rec.read(800, 1000)  # channel 1 at 900 only


# --------------------------------------------------------------------------------------------
# Random and damaged bytes: only DataError


def _described(path: Path) -> RecordingInfo | None:
    try:
        return describe_recording(path)
    except DataError as error:
        message = str(error)
        assert message.startswith(f"{path}: ") and "\n" not in message, message
        return None


def _read_ends(info: RecordingInfo) -> list[np.ndarray]:
    """The first and the last few samples (never a whole, possibly huge, claimed length)."""
    rec = LazyRecording(info)
    n = min(16, info.length)
    blocks = []
    for span in ((0, n), (info.length - n, info.length)):
        try:
            blocks.append(rec.read(*span))
        except DataError as error:
            assert str(error).startswith(f"{info.path}: ") and "\n" not in str(error)
    return blocks


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzzed")


@SETTINGS
@given(suffix=st.sampled_from(SUPPORTED_SUFFIXES), payload=st.binary(max_size=600))
def test_random_bytes_give_only_data_errors(fuzz_folder: Path, suffix: str, payload: bytes) -> None:
    index._OPEN.clear()  # each example rewrites the file
    path = fuzz_folder / f"random{suffix}"
    path.write_bytes(payload)
    info = _described(path)
    if info is not None and info.lazy:
        _read_ends(info)


def _valid_bytes(suffix: str, data: np.ndarray, path: Path) -> bytes:
    if suffix == ".npy":
        np.save(path, data)
    elif suffix == ".npz":
        np.savez(path, data=data)
    elif suffix in (".h5", ".hdf5"):
        _h5(path, 100, chunked=data)
    elif suffix == ".csv":
        np.savetxt(path, data.T, delimiter=",", fmt="%.6g")
    else:
        subtype = "FLOAT" if suffix == ".wav" else "PCM_16"
        soundfile.write(path, data.T, 100, subtype=subtype, format=suffix[1:].upper())
    return path.read_bytes()


@SETTINGS
@given(
    suffix=st.sampled_from(SUPPORTED_SUFFIXES),
    keep=st.one_of(st.just(1.0), st.floats(0.0, 1.0)),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=3),
)
def test_damaged_files_give_data_errors_or_read_recordings_values(
    fuzz_folder: Path, suffix: str, keep: float, flips: list[tuple[float, int]]
) -> None:
    index._OPEN.clear()
    path = fuzz_folder / f"damaged{suffix}"
    raw = bytearray(_valid_bytes(suffix, SIGNAL[:2, :200], path))
    for where, mask in flips:
        raw[min(int(where * len(raw)), len(raw) - 1)] ^= mask
    path.write_bytes(bytes(raw[: max(1, int(keep * len(raw)))]))
    info = _described(path)
    if info is None or not info.lazy:
        return
    blocks = _read_ends(info)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the "more channels than samples" notice
            data = read_recording(path).data
    except DataError:
        return
    if len(blocks) == 2 and data.shape == (info.channels, info.length):
        n = blocks[0].shape[1]
        assert np.array_equal(blocks[0], data[:, :n]) and np.array_equal(blocks[1], data[:, -n:])


# --------------------------------------------------------------------------------------------
# The index and its cache


def _make_set(folder: Path) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = [folder / "a.npy", folder / "b.wav", folder / "c.csv", folder / "d.flac"]
    np.save(paths[0], SIGNAL[:2])
    soundfile.write(paths[1], SIGNAL[:2].T, 8000, subtype="FLOAT")
    np.savetxt(paths[2], SIGNAL[:2, :50].T, delimiter=",", fmt="%.9g")
    soundfile.write(paths[3], SIGNAL[:2, :300].T, 8000, subtype="PCM_16")
    return paths


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file names describe_recording is called for, through index_recordings."""
    calls: list[str] = []
    describe = index.describe_parts

    def counting(path: Path, key: str | None = None) -> RecordingInfo:
        calls.append(Path(path).name)
        return describe(path, key)

    monkeypatch.setattr(index, "describe_parts", counting)
    return calls


def _cached_entries(cache: Path) -> list[dict]:
    """The rows of an index file as dicts of its columns."""
    content = json.loads(cache.read_text(encoding="utf-8"))
    assert content["version"] == INDEX_VERSION
    return [dict(zip(content["fields"], row, strict=True)) for row in content["recordings"]]


def _cached_names(cache: Path) -> list[str]:
    return sorted(Path(e["path"]).name for e in _cached_entries(cache))


def test_cache_written_then_reused(tmp_path: Path, counted: list[str]) -> None:
    paths = _make_set(tmp_path / "data")
    cache = tmp_path / "index.json"
    first = index_recordings([tmp_path / "data"], cache=cache, progress=True)
    assert counted == ["a.npy", "b.wav", "c.csv", "d.flac"]
    assert [i.path for i in first] == paths
    assert [(i.format, i.length) for i in first] == [
        ("npy", LENGTH), ("wav", LENGTH), ("csv", 50), ("flac", 300)
    ]  # fmt: skip
    assert first == [describe_recording(p) for p in paths]
    assert _cached_names(cache) == ["a.npy", "b.wav", "c.csv", "d.flac"]
    written = cache.stat().st_mtime_ns
    counted.clear()
    again = index_recordings(paths, cache=cache)
    assert counted == [] and again == first
    assert cache.stat().st_mtime_ns == written  # nothing new: not rewritten


@pytest.mark.parametrize(
    ("change", "expected_length"),
    [
        (lambda p: np.save(p, SIGNAL[:2, :700]), 700),  # another size
        (lambda p: os.utime(p, ns=(p.stat().st_atime_ns, p.stat().st_mtime_ns + 1)), LENGTH),
    ],
    ids=["size", "mtime"],
)
def test_changed_file_alone_described_again(
    tmp_path: Path, counted: list[str], change: Callable, expected_length: int
) -> None:
    paths = _make_set(tmp_path / "data")
    cache = tmp_path / "index.json"
    index_recordings(paths, cache=cache)
    counted.clear()
    change(paths[0])
    infos = index_recordings(paths, cache=cache)
    assert counted == ["a.npy"]
    assert infos[0].length == expected_length
    assert infos[0].mtime_ns == paths[0].stat().st_mtime_ns
    counted.clear()
    assert index_recordings(paths, cache=cache) == infos and counted == []


@pytest.mark.parametrize(
    "make",
    [lambda p: np.savez(p.with_suffix(".npz"), x=SIGNAL), lambda p: _h5(p.with_suffix(".h5"),
                                                                        None, d=SIGNAL)],
    ids=["npz", "h5"],
)  # fmt: skip
def test_cache_hit_for_keyless_npz_and_h5(
    tmp_path: Path, counted: list[str], make: Callable
) -> None:
    make(tmp_path / "rec")
    cache = tmp_path / "index.json"
    index_recordings([tmp_path], cache=cache)
    counted.clear()
    index_recordings([tmp_path], cache=cache)
    assert counted == []


@pytest.mark.parametrize(("name", "key"), [("rec.npz", "x"), ("rec.h5", "d"), ("rec.h5", "/d")])
def test_cache_hit_with_a_key(tmp_path: Path, counted: list[str], name: str, key: str) -> None:
    path = tmp_path / name
    np.savez(path, x=SIGNAL) if name.endswith(".npz") else _h5(path, None, d=SIGNAL)
    cache = tmp_path / "index.json"
    first = index_recordings([path], key, cache=cache)
    assert first[0].key == key
    counted.clear()
    assert index_recordings([path], key, cache=cache) == first and counted == []


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"version": INDEX_VERSION + 1, "recordings": []}),
        json.dumps([1, 2, 3]),
        json.dumps({"version": INDEX_VERSION}),
        json.dumps({"version": INDEX_VERSION, "recordings": [{"path": "x.npy"}]}),
        json.dumps({"version": INDEX_VERSION, "recordings": {"a": 1}}),
        "\xff\xfe",
    ],
    ids=["garbage", "version", "list", "no-recordings", "bad-entry", "dict-entries", "bytes"],
)
def test_corrupt_cache_is_rebuilt(tmp_path: Path, counted: list[str], content: str) -> None:
    paths = _make_set(tmp_path / "data")
    cache = tmp_path / "index.json"
    cache.write_text(content, encoding="latin-1")
    infos = index_recordings(paths, cache=cache)
    assert counted == ["a.npy", "b.wav", "c.csv", "d.flac"]
    assert infos == [describe_recording(p) for p in paths]
    assert _cached_names(cache) == ["a.npy", "b.wav", "c.csv", "d.flac"]


def test_cache_in_missing_folder_is_not_written(tmp_path: Path, counted: list[str]) -> None:
    paths = _make_set(tmp_path / "data")
    cache = tmp_path / "run" / "index.json"
    assert len(index_recordings(paths, cache=cache)) == 4
    assert not cache.parent.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_channel_mismatch_names_the_second_file(tmp_path: Path) -> None:
    first, second = tmp_path / "a.npy", tmp_path / "b.h5"
    np.save(first, SIGNAL[:2])
    _h5(second, None, d=SIGNAL)
    cache = tmp_path / "index.json"
    message = rf"has 3 channel\(s\) but {re.escape(str(first))} has 2; all recordings need the " \
        "same channel count"  # fmt: skip
    with pytest.raises(DataError, match=_exact(second, message)):
        index_recordings([tmp_path], cache=cache)
    assert not cache.exists()
    infos = [describe_recording(first), describe_recording(second)]
    with pytest.raises(DataError, match=_exact(second, message)):
        check_same_channels(infos)
    assert check_same_channels(infos[:1]) == 2
    with pytest.raises(DataError, match=r"^no recordings given; expected at least one$"):
        check_same_channels([])


def test_data_and_noisy_share_one_cache(tmp_path: Path, counted: list[str]) -> None:
    data = _make_set(tmp_path / "data")
    noisy = _make_set(tmp_path / "noisy")
    cache = tmp_path / "index.json"
    index_recordings(data, cache=cache)
    index_recordings(noisy, cache=cache)
    assert sorted(e["path"] for e in _cached_entries(cache)) == sorted(map(str, data + noisy))
    counted.clear()
    index_recordings(data, cache=cache)
    index_recordings(noisy, cache=cache)
    assert counted == []


def test_save_index_round_trip(tmp_path: Path) -> None:
    infos = [describe_recording(p) for p in _make_set(tmp_path / "data")]
    out = save_index(tmp_path / "i.json", infos)
    assert out == tmp_path / "i.json"
    entries = _cached_entries(out)
    assert [e.pop("requested_key") for e in entries] == [None] * len(infos)
    assert [RecordingInfo.from_json(e) for e in entries] == infos
    assert index_recordings([i.path for i in infos], cache=out) == infos
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "i.json"]


# --------------------------------------------------------------------------------------------
# Loading modes


def _info(channels: int, length: int, fmt: str = "npy", offset: int | None = 128) -> RecordingInfo:
    return RecordingInfo(Path(f"x.{fmt}"), fmt, channels, length, "<f4", offset=offset)


@pytest.mark.parametrize(
    ("loading", "sizes", "expected"),
    [
        ("memory", [(2, 10**9)], False),
        ("lazy", [(1, 1)], True),
        ("auto", [(2, 10), (1, 5)], False),  # 100 bytes: not above the limit
        ("auto", [(2, 10), (1, 6)], True),  # 104 bytes
        ("auto", [(25, 1)], False),
        ("auto", [(1, 26)], True),
    ],
)
def test_use_lazy(
    monkeypatch: pytest.MonkeyPatch, loading: str, sizes: list, expected: bool
) -> None:
    monkeypatch.setattr(index, "AUTO_LAZY_BYTES", 100)
    assert use_lazy(loading, [_info(c, n) for c, n in sizes]) is expected


@pytest.mark.parametrize(
    ("loading", "error", "message"),
    [
        ("disk", ValueError, r"^loading must be one of 'auto', 'memory', 'lazy', got 'disk'\.$"),
        ("Lazy", ValueError, r"^loading must be one of 'auto', 'memory', 'lazy', got 'Lazy'\.$"),
        (None, TypeError, r"^loading must be one of 'auto', 'memory', 'lazy', got None"),
    ],
)
def test_use_lazy_bad_mode(loading: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        use_lazy(loading, [])


def test_info_properties() -> None:
    assert _info(3, 7).nbytes == 84
    assert [_info(1, 1, f, o).lazy for f, o in [("npy", 128), ("npz", None), ("npz", 9),
            ("hdf5", None), ("wav", None), ("flac", None), ("csv", None)]] == [
        True, False, True, True, True, True, False
    ]  # fmt: skip


def test_open_recordings(tmp_path: Path) -> None:
    names = ["a.npy", "b.npz", "c.npz", "d.h5", "e.wav", "f.csv", "g.flac"]
    paths = [tmp_path / n for n in names]
    data = SIGNAL[:2, :100]
    np.save(paths[0], data)
    np.savez(paths[1], x=data)
    np.savez_compressed(paths[2], x=data)
    _h5(paths[3], None, d=data)
    soundfile.write(paths[4], data.T, 8000, subtype="FLOAT")
    np.savetxt(paths[5], data.T, delimiter=",", fmt="%.9g")
    soundfile.write(paths[6], data.T, 8000, subtype="PCM_24")
    infos = [describe_recording(p) for p in paths]
    lazy = open_recordings(infos, lazy=True)
    kinds = [type(r).__name__ for r in lazy]
    assert kinds == ["LazyRecording", "LazyRecording", "ndarray", "LazyRecording",
                     "LazyRecording", "ndarray", "LazyRecording"]  # fmt: skip
    memory = open_recordings(infos, lazy=False)
    assert all(type(r) is np.ndarray and r.dtype == np.float32 for r in memory)
    for path, a, b in zip(paths, lazy, memory, strict=True):
        expected = read_recording(path).data
        assert np.array_equal(read_span(a, 0, 100), expected) and np.array_equal(b, expected)


# --------------------------------------------------------------------------------------------
# The handle cache


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc/self/fd")
def test_at_most_the_limit_of_handles_stay_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index._OPEN, "limit", 2)
    recs = []
    for i in range(5):
        path = tmp_path / f"r{i}.npy"
        np.save(path, SIGNAL * i)
        recs.append(LazyRecording(describe_recording(path)))
    before = _open_fds()
    for i, rec in enumerate(recs):
        assert np.array_equal(rec.read(10, 20), SIGNAL[:, 10:20] * i)
        assert len(index._OPEN.handles) == min(i + 1, 2)
    assert _open_fds() == before + 2
    assert [key[1].name for key in index._OPEN.handles] == ["r3.npy", "r4.npy"]
    assert np.array_equal(recs[0].read(0, 5), SIGNAL[:, :5] * 0)  # opened again
    assert [key[1].name for key in index._OPEN.handles] == ["r4.npy", "r0.npy"]
    assert _open_fds() == before + 2
    index._OPEN.clear()
    assert _open_fds() == before and not index._OPEN.handles


def test_handles_of_another_process_are_forgotten(tmp_path: Path) -> None:
    paths = [tmp_path / "a.npy", tmp_path / "b.wav", tmp_path / "c.h5"]
    np.save(paths[0], SIGNAL)
    soundfile.write(paths[1], SIGNAL.T, 8000, subtype="FLOAT")
    _h5(paths[2], None, d=SIGNAL)
    recs = [LazyRecording(describe_recording(p)) for p in paths]
    for rec in recs:
        rec.read(0, 10)
    inherited = dict(index._OPEN.handles)
    index._OPEN.pid = -1  # as in a forked child: these handles are the parent's
    try:
        for rec in recs:
            assert np.array_equal(rec.read(500, 600), SIGNAL[:, 500:600])
        assert index._OPEN.pid == os.getpid()
        assert len(index._OPEN.handles) == 3
        assert all(index._OPEN.handles[k] is not h for k, h in inherited.items())
    finally:
        for handle in inherited.values():  # not closed by the cache: close them here
            index._close(handle)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_reads_with_its_own_handles(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    soundfile.write(path, SIGNAL.T, 8000, subtype="FLOAT")
    rec = LazyRecording(describe_recording(path))
    rec.read(0, 10)
    parent_handle = next(iter(index._OPEN.handles.values()))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: read a span, send it, leave at once
        try:
            os.write(write_end, rec.read(300, 310).tobytes())
            os.write(write_end, bytes([next(iter(index._OPEN.handles.values())) is parent_handle]))
        finally:
            os._exit(0)
    os.close(write_end)
    got = b""
    while chunk := os.read(read_end, 1 << 16):
        got += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    assert np.array_equal(np.frombuffer(got[:-1], np.float32).reshape(3, 10), SIGNAL[:, 300:310])
    assert got[-1:] == b"\x00"  # the child opened its own
    assert np.array_equal(rec.read(600, 610), SIGNAL[:, 600:610])  # the parent's still works


@pytest.mark.parametrize("suffix", [".npy", ".wav", ".h5"])
def test_replaced_file_is_read_afresh(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"rec{suffix}"
    write_recording(path, SIGNAL, sample_rate=8000)
    assert np.array_equal(LazyRecording(describe_recording(path)).read(0, 10), SIGNAL[:, :10])
    write_recording(path, -SIGNAL, sample_rate=8000)  # atomically: a new file at that path
    fresh = LazyRecording(describe_recording(path))
    assert np.array_equal(fresh.read(0, 10), read_recording(path).data[:, :10])


# --------------------------------------------------------------------------------------------
# Channel power


@pytest.mark.parametrize("chunk", [None, 7, 1000, 1001])
@pytest.mark.parametrize("dtype", ["<f4", ">f4", "<f8", "<i2"])
def test_channel_power(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int | None, dtype: str
) -> None:
    if chunk is not None:
        monkeypatch.setattr(index, "POWER_CHUNK", chunk)
    stored = (SIGNAL * (30000 if dtype == "<i2" else 3)).astype(dtype)
    path = tmp_path / "p.npy"
    np.save(path, stored)
    data = read_recording(path).data
    expected = np.mean(data.astype(np.float64) ** 2, axis=-1, keepdims=True)
    from_array = channel_power(data)
    from_disk = channel_power(LazyRecording(describe_recording(path)))
    assert from_array.shape == (3, 1) and from_array.dtype == np.float64
    np.testing.assert_allclose(from_array, expected, rtol=1e-12, atol=0)
    assert np.array_equal(from_array, from_disk)
    assert np.array_equal(channel_power(stored), from_array)  # stored dtype read as float32


def test_channel_power_of_a_view(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index, "POWER_CHUNK", 7)
    path = tmp_path / "p.h5"
    _h5(path, None, chunked=SIGNAL)
    view = LazyRecording(describe_recording(path))[:, 100:350]
    assert np.array_equal(channel_power(view), channel_power(SIGNAL[:, 100:350]))
    assert channel_power(np.array([[1.0, -1.0], [2.0, 0.0]])).ravel().tolist() == [1.0, 2.0]


# --------------------------------------------------------------------------------------------
# LazyRecording: slicing, spans, pickling


@pytest.fixture
def lazy(tmp_path: Path) -> LazyRecording:
    path = tmp_path / "l.npy"
    np.save(path, SIGNAL)
    return LazyRecording(describe_recording(path), 100, 200)


SLICED = r"^a LazyRecording is sliced as rec\[:, start:stop\], got "
STEP = r"^a LazyRecording is sliced with step 1, got "
ALL = r"\(slice\(None, None, None\), "


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (0, r"^a LazyRecording is sliced as rec\[:, start:stop\], got 0$"),
        (slice(0, 5), SLICED + r"slice\(0, 5, None\)$"),
        ((0, slice(0, 5)), SLICED + r"\(0, slice\(0, 5, None\)\)$"),
        ((slice(None), slice(0, 5), 1), SLICED + ALL + r"slice\(0, 5, None\), 1\)$"),
        ((slice(None), slice(None, None, 2)), STEP + ALL + r"slice\(None, None, 2\)\)$"),
        ((slice(None), slice(None, None, -1)), STEP + ALL + r"slice\(None, None, -1\)\)$"),
        ((slice(None), 5), SLICED + ALL + r"5\)$"),
    ],
)  # fmt: skip
def test_bad_slices(lazy: LazyRecording, key: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        lazy[key]


@pytest.mark.parametrize(
    ("key", "span"),
    [
        ((slice(None), slice(None)), (100, 200)),
        ((slice(None), slice(-10, None)), (190, 200)),
        ((slice(None), slice(50, 10**9)), (150, 200)),
        ((slice(None), slice(60, 20)), (160, 160)),
        ((slice(None), slice(-(10**9), 3)), (100, 103)),
    ],
)
def test_slices_are_views_clamped_as_for_arrays(
    lazy: LazyRecording, key: tuple, span: tuple[int, int]
) -> None:
    view = lazy[key]
    assert (view.start, view.stop) == span
    assert np.array_equal(view.load(), SIGNAL[:, 100:200][key])


@pytest.mark.parametrize(("start", "stop"), [(-1, 5), (0, 101), (50, 40), (100, 101)])
def test_read_outside_the_span(lazy: LazyRecording, start: int, stop: int) -> None:
    message = rf"^span {start}:{stop} outside the 100 samples of LazyRecording\(.*\[100:200\], "
    with pytest.raises(ValueError, match=message):
        lazy.read(start, stop)


@pytest.mark.parametrize(("start", "stop"), [(50, 150), (-5, 10)])
def test_view_outside_the_span(lazy: LazyRecording, start: int, stop: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        lazy.view(start, stop)


@pytest.mark.parametrize(("start", "stop"), [(-1, None), (0, LENGTH + 1), (10, 5)])
def test_constructor_span_outside_the_file(tmp_path: Path, start: int, stop: int | None) -> None:
    path = tmp_path / "c.npy"
    np.save(path, SIGNAL)
    shown = LENGTH if stop is None else stop
    message = rf"^span {start}:{shown} outside the {LENGTH} samples of {re.escape(str(path))}$"
    with pytest.raises(ValueError, match=message):
        LazyRecording(describe_recording(path), start, stop)


@pytest.mark.parametrize(
    ("name", "make", "fmt"),
    [
        ("t.csv", lambda p: p.write_text("1,2\n3,4\n"), "csv"),
        ("z.npz", lambda p: np.savez_compressed(p, x=SIGNAL), "npz"),
    ],
)
def test_formats_read_whole_are_refused(
    tmp_path: Path, name: str, make: Callable, fmt: str
) -> None:
    path = tmp_path / name
    make(path)
    message = rf"a {fmt} file cannot be read a span at a time; read it whole \(read_recording\)"
    with pytest.raises(DataError, match=_exact(path, message)):
        LazyRecording(describe_recording(path))


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".h5", ".wav", ".flac"])
def test_pickled_recording_reads_the_same(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"p{suffix}"
    write_recording(path, SIGNAL * 0.5, sample_rate=8000)
    view = LazyRecording(describe_recording(path))[:, 200:800]
    view.read(0, 10)  # a handle is cached: it must not travel
    copy = pickle.loads(pickle.dumps(view))
    assert copy is not view and (copy.start, copy.stop, copy.info) == (200, 800, view.info)
    assert np.array_equal(copy.load(), view.load())
    assert np.array_equal(copy.load(), read_recording(path).data[:, 200:800])


def test_hdf5_datasets_of_one_file_each_read_their_own_samples(tmp_path: Path) -> None:
    """Raw reads (chunked, contiguous, partly written) and h5py reads (compressed) of the
    datasets of one file, interleaved: each span comes from its own dataset."""
    import h5py

    path = tmp_path / "many.h5"
    x = np.random.default_rng(3).standard_normal((3, 5000)).astype(np.float32)
    with h5py.File(path, "w") as handle:
        handle.create_dataset("chunked", data=x, chunks=(2, 700))
        handle.create_dataset("flat", data=x[1])
        handle.create_dataset("gzip", data=-x, chunks=(3, 1000), compression="gzip")
        part = handle.create_dataset("part", shape=(3, 5000), dtype="f4", chunks=(1, 1000))
        part[:, :2500] = 2 * x[:, :2500]
    recordings = {k: LazyRecording(describe_recording(path, key=k)) for k in
                  ("chunked", "flat", "gzip", "part")}  # fmt: skip
    for a, b in [(0, 5000), (699, 1401), (2490, 2510), (4999, 5000), (3, 4)]:
        for key, rec in recordings.items():
            expected = read_recording(path, key=key).data[:, a:b]
            assert np.array_equal(rec.read(a, b), expected), (key, a, b)
