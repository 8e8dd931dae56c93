"""Reading, writing and finding recordings: every format, atomic writes, every bad input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile

from mdnc.data import (
    SUPPORTED_SUFFIXES,
    DataError,
    check_channels,
    find_recordings,
    read_recording,
    read_recordings,
    write_recording,
)
from mdnc.data import io as data_io
from mdnc.data.formats import get_format

RNG = np.random.default_rng(0)
SIGNAL = RNG.uniform(-0.9, 0.9, size=(2, 500)).astype(np.float32)

# suffix -> absolute tolerance of a round trip written without a template recording.
ROUND_TRIP_TOL = {
    ".npy": 0.0,
    ".npz": 0.0,
    ".h5": 0.0,
    ".hdf5": 0.0,
    ".csv": 0.0,
    ".wav": 0.0,  # 32-bit float
    ".flac": 2.0**-22,  # 24-bit PCM
}


def _files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_round_trip_every_format(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"rec{suffix}"
    write_recording(path, SIGNAL, sample_rate=8000)
    rec = read_recording(path)
    assert rec.data.dtype == np.float32
    assert rec.data.shape == SIGNAL.shape
    assert rec.data.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(rec.data, SIGNAL, rtol=0, atol=ROUND_TRIP_TOL[suffix])
    assert rec.path == path
    if suffix in (".wav", ".flac", ".h5", ".hdf5"):
        assert rec.sample_rate == 8000
    # Writing back like the recording gives the same data and format again.
    again = tmp_path / f"again{suffix}"
    write_recording(again, rec.data, like=rec)
    back = read_recording(again)
    np.testing.assert_allclose(back.data, rec.data, rtol=0, atol=ROUND_TRIP_TOL[suffix])
    assert (back.format, back.key, back.sample_rate) == (rec.format, rec.key, rec.sample_rate)
    assert _files_in(tmp_path) == sorted([path.name, again.name])


@pytest.mark.parametrize(
    ("suffix", "subtype", "atol"),
    [(".wav", "PCM_16", 2.0**-15), (".wav", "PCM_24", 2.0**-23), (".flac", "PCM_16", 2.0**-15)],
)
def test_audio_keeps_sample_rate_channels_and_subtype(
    tmp_path: Path, suffix: str, subtype: str, atol: float
) -> None:
    source = tmp_path / f"in{suffix}"
    soundfile.write(source, SIGNAL.T[:, [0, 1, 0]], 22050, subtype=subtype)
    rec = read_recording(source)
    assert (rec.channels, rec.length, rec.sample_rate, rec.subtype) == (3, 500, 22050, subtype)
    np.testing.assert_allclose(rec.data, SIGNAL[[0, 1, 0]], atol=atol)
    out = tmp_path / f"out{suffix}"
    write_recording(out, rec.data * 0.5, like=rec)
    info = soundfile.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (22050, 3, subtype)
    np.testing.assert_allclose(read_recording(out).data, rec.data * 0.5, atol=atol)


def test_pcm_audio_is_clipped(tmp_path: Path) -> None:
    path = tmp_path / "loud.wav"
    soundfile.write(path, np.zeros((10, 1)), 1000, subtype="PCM_16")
    rec = read_recording(path)
    loud = np.array([[2.0, -3.0, 0.5, 1.0, -1.0]], dtype=np.float32)
    write_recording(path, loud, like=rec)
    np.testing.assert_allclose(read_recording(path).data, [[1.0, -1.0, 0.5, 1.0, -1.0]], atol=1e-4)


def test_audio_needs_a_sample_rate(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    with pytest.raises(DataError, match=r"x\.wav: writing a \.wav file needs a sample rate"):
        write_recording(path, SIGNAL)
    assert _files_in(tmp_path) == []


def test_npy_one_dimensional_and_dtype(tmp_path: Path) -> None:
    path = tmp_path / "mono.npy"
    np.save(path, SIGNAL[0].astype(np.float64))
    rec = read_recording(path)
    assert (rec.data.shape, rec.ndim, rec.dtype) == ((1, 500), 1, "float64")
    write_recording(path, rec.data, like=rec)
    stored = np.load(path)
    assert (stored.shape, stored.dtype) == ((500,), np.float64)


def test_integer_data_is_written_as_float32(tmp_path: Path) -> None:
    path = tmp_path / "counts.npy"
    np.save(path, np.arange(12, dtype=np.int16).reshape(2, 6))
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.data, np.arange(12).reshape(2, 6))
    write_recording(path, rec.data / 2, like=rec)
    assert np.load(path).dtype == np.float32


def test_rows_are_channels_never_transposed(tmp_path: Path) -> None:
    path = tmp_path / "tall.npy"
    np.save(path, SIGNAL.T)  # (500, 2): 500 channels of 2 samples
    with pytest.warns(UserWarning, match=r"500 channels of 2 samples .*\(channels, samples\)"):
        rec = read_recording(path)
    assert rec.data.shape == (500, 2)


def test_npz_key_selection(tmp_path: Path) -> None:
    path = tmp_path / "pair.npz"
    np.savez(path, clean=SIGNAL, noisy=SIGNAL[:1] + 1)
    assert read_recording(path).key == "clean"  # the first array by default
    rec = read_recording(path, key="noisy")
    assert (rec.key, rec.data.shape) == ("noisy", (1, 500))
    np.savez(path, only=SIGNAL)
    assert read_recording(path).key == "only"


def test_hdf5_key_selection_and_nested_datasets(tmp_path: Path) -> None:
    path = tmp_path / "set.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("group/ecg", data=SIGNAL)
        handle.create_dataset("other", data=SIGNAL[:1])
    rec = read_recording(path, key="group/ecg")
    np.testing.assert_array_equal(rec.data, SIGNAL)
    out = tmp_path / "out.h5"
    write_recording(out, rec.data, like=rec)
    with h5py.File(out, "r") as handle:
        assert list(handle["group"]) == ["ecg"]


@pytest.mark.parametrize(
    ("text", "header", "expected"),
    [
        ("a,b\n1,2\n3,4\n", ["a", "b"], [[1, 3], [2, 4]]),
        ("1,2\n3,4\n5,6\n", None, [[1, 3, 5], [2, 4, 6]]),
        ("x;y\n1;2\n3;4\n", ["x", "y"], [[1, 3], [2, 4]]),
        ("1\t2\n3\t4\n", None, [[1, 3], [2, 4]]),
        ("1 2\n3 4\n", None, [[1, 3], [2, 4]]),
        ('"time ms"\n1.5\n-2e-3\n', ["time ms"], [[1.5, -2e-3]]),
        ("# comment\nv\n1\n\n2\n", ["v"], [[1, 2]]),
    ],
)
def test_csv_layouts(tmp_path: Path, text: str, header: list[str] | None, expected: list) -> None:
    path = tmp_path / "table.csv"
    path.write_text(text)
    rec = read_recording(path)
    assert rec.header == header
    np.testing.assert_allclose(rec.data, expected)
    write_recording(path, rec.data, like=rec)
    again = read_recording(path)
    assert (again.header, again.delimiter) == (rec.header, rec.delimiter)
    np.testing.assert_array_equal(again.data, rec.data)


def test_recording_with_data_keeps_metadata(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    soundfile.write(path, SIGNAL.T, 16000, subtype="PCM_16")
    rec = read_recording(path)
    out = rec.with_data(rec.data[:, :100])
    assert (out.sample_rate, out.subtype, out.length, out.path) == (16000, "PCM_16", 100, path)


# --- bad input -------------------------------------------------------------------------------


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a recording\x00\x01\x02" * 8)


def _h5_datasets(path: Path, **arrays: np.ndarray) -> None:
    with h5py.File(path, "w") as handle:
        for name, value in arrays.items():
            handle.create_dataset(name, data=value)


def _with_nan(path: Path) -> None:
    data = SIGNAL.copy()
    data[0, 17] = np.nan
    data[1, 3] = np.inf
    np.save(path, data)


BAD_INPUTS = [
    ("empty.npy", lambda p: np.save(p, np.zeros(0, np.float32)), None, r"empty recording"),
    ("empty2d.npy", lambda p: np.save(p, np.zeros((2, 0))), None, r"empty recording"),
    ("empty.csv", lambda p: p.write_text(""), None, r"empty recording"),
    ("header.csv", lambda p: p.write_text("a,b\n"), None, r"empty recording"),
    ("none.npz", lambda p: np.savez(p), None, r"empty recording"),
    ("silent.wav", lambda p: soundfile.write(p, np.zeros((0, 1)), 8000), None, r"empty recording"),
    ("nan.npy", _with_nan, None, r"contains NaN or Inf samples at channel 0, sample 17 \(2 in all"),
    (
        "inf.csv",
        lambda p: p.write_text("1,2\n3,4\n5,inf\n"),
        None,
        r"NaN or Inf samples at channel 1, sample 2",
    ),
    ("bad.wav", _garbage, None, r"unreadable \.wav file \("),
    ("bad.flac", _garbage, None, r"unreadable \.flac file \("),
    ("bad.npy", _garbage, None, r"unreadable \.npy file \("),
    ("bad.npz", _garbage, None, r"unreadable \.npz file \("),
    ("bad.h5", _garbage, None, r"unreadable \.h5 file \("),
    ("ragged.csv", lambda p: p.write_text("1,2\n3\n"), None, r"unreadable \.csv file \("),
    ("text.csv", lambda p: p.write_text("a,b\n1,2\nx,4\n"), None, r"unreadable \.csv file \("),
    (
        "header_width.csv",
        lambda p: p.write_text("a,b,c\n1,2\n"),
        None,
        r"header has 3 column\(s\) but the rows have 2",
    ),
    ("cube.npy", lambda p: np.save(p, np.zeros((2, 3, 4))), None, r"got shape \(2, 3, 4\)"),
    ("complex.npy", lambda p: np.save(p, np.ones(4) * 1j), None, r"expected real numbers"),
    (
        "notes.txt",
        lambda p: p.write_text("1\n"),
        None,
        r"unsupported file suffix '\.txt'; "
        r"supported suffixes: \.npy, \.npz, \.h5, \.hdf5, \.csv, \.wav, \.flac",
    ),
    ("missing.npy", lambda p: None, None, r"no such file"),
    (
        "keys.npz",
        lambda p: np.savez(p, a=SIGNAL, b=SIGNAL),
        "nope",
        r"no array named 'nope'; available arrays: a, b",
    ),
    (
        "keys.h5",
        lambda p: _h5_datasets(p, x=SIGNAL, y=SIGNAL),
        "nope",
        r"no dataset named 'nope'; available datasets: x, y",
    ),
    (
        "several.hdf5",
        lambda p: _h5_datasets(p, x=SIGNAL, y=SIGNAL),
        None,
        r"holds 2 datasets; choose one with a key; available datasets: x, y",
    ),
    ("nothing.h5", lambda p: _h5_datasets(p), None, r"holds no datasets"),
    ("key.npy", lambda p: np.save(p, SIGNAL), "data", r"a \.npy file holds one array"),
]


@pytest.mark.parametrize(
    ("name", "make", "key", "message"), BAD_INPUTS, ids=[case[0] for case in BAD_INPUTS]
)
def test_bad_input_names_file_and_problem(
    tmp_path: Path, name: str, make, key: str | None, message: str
) -> None:
    path = tmp_path / name
    make(path)
    with pytest.raises(DataError, match="^" + re.escape(str(path)) + ": .*" + message):
        read_recording(path, key=key)


def test_folder_given_as_file(tmp_path: Path) -> None:
    folder = tmp_path / "looks.npy"
    folder.mkdir()
    with pytest.raises(DataError, match=r"looks\.npy: is a folder"):
        read_recording(folder)


def test_data_error_is_a_value_error() -> None:
    assert issubclass(DataError, ValueError)


def test_check_channels(tmp_path: Path) -> None:
    for name, channels in [("a.npy", 2), ("b.npy", 2), ("c.npy", 1), ("d.npy", 3)]:
        np.save(tmp_path / name, SIGNAL[:1].repeat(channels, axis=0))
    recs = [read_recording(tmp_path / n) for n in ("a.npy", "b.npy", "c.npy", "d.npy")]
    assert check_channels(recs[:2]) == 2
    with pytest.raises(DataError, match=r"c\.npy: has 1 channel\(s\) but .*a\.npy has 2"):
        check_channels(recs)
    with pytest.raises(DataError, match=r"a\.npy: has 2 channel\(s\), expected 3 \(as the model\)"):
        check_channels(recs, expected=3, source="the model")
    with pytest.raises(DataError, match=r"c\.npy: has 1 channel"):
        read_recordings([tmp_path / "a.npy", tmp_path / "c.npy"])


# --- finding files ---------------------------------------------------------------------------


def test_find_recordings(tmp_path: Path) -> None:
    for name in ["b.npy", "a.WAV", "notes.txt", ".hidden.npy", "sub/c.csv", "sub/.x/d.npy"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert find_recordings([tmp_path]) == [tmp_path / "a.WAV", tmp_path / "b.npy"]
    assert find_recordings([str(tmp_path)], recursive=True) == [
        tmp_path / "a.WAV",
        tmp_path / "b.npy",
        tmp_path / "sub" / "c.csv",
    ]
    # Arguments keep their order; a file named twice is listed once.
    assert find_recordings([tmp_path / "sub/c.csv", tmp_path, tmp_path / "b.npy"]) == [
        tmp_path / "sub" / "c.csv",
        tmp_path / "a.WAV",
        tmp_path / "b.npy",
    ]
    assert find_recordings([]) == []


def _empty_folder(path: Path) -> Path:
    path.mkdir()
    return path


def _folder_of_text(path: Path) -> Path:
    path.mkdir()
    (path / "x.txt").write_text("")
    return path


def _text_file(path: Path) -> Path:
    path.write_text("")
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, r"no such file or folder"),
        (_empty_folder, r"folder holds no recordings \(searched for \.npy"),
        (_folder_of_text, r"folder holds no recordings"),
        (_text_file, r"unsupported file suffix"),
    ],
)
def test_find_recordings_errors(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path / "input")
    with pytest.raises(DataError, match="^" + re.escape(str(path)) + ": " + message):
        find_recordings([path])


# --- atomic writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", SUPPORTED_SUFFIXES)
def test_failed_write_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    path = tmp_path / f"out{suffix}"

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data_io.os, "replace", refuse)
    with pytest.raises(DataError, match=rf"out\{suffix}: cannot write \{suffix} file \(No space"):
        write_recording(path, SIGNAL, sample_rate=8000)
    assert _files_in(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError("disk exploded"), KeyboardInterrupt()])
def test_failure_midway_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    path = tmp_path / "out.npy"
    np.save(path, SIGNAL)
    before = path.read_bytes()

    def partial(self: object, stage, spec, data) -> None:
        stage(spec.path).write_bytes(b"\x93NUMPY half a file")
        raise error

    monkeypatch.setattr(type(get_format("npy")), "write", partial)
    expected = DataError if isinstance(error, Exception) else type(error)
    with pytest.raises(expected):
        write_recording(path, SIGNAL * 2)
    assert _files_in(tmp_path) == ["out.npy"]
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.full((1, 4), np.nan), r"contains NaN or Inf samples at channel 0, sample 0"),
        (np.zeros((1, 0)), r"refusing to write an empty recording"),
        (np.zeros((2, 2, 2)), r"expected a 1-D \(samples,\) or 2-D \(channels, samples\) array"),
    ],
)
def test_write_refuses_bad_data(tmp_path: Path, data: np.ndarray, message: str) -> None:
    with pytest.raises(DataError, match=r"x\.npy: " + message):
        write_recording(tmp_path / "x.npy", data)
    assert _files_in(tmp_path) == []


def test_write_into_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"x\.npy: cannot write \.npy file"):
        write_recording(tmp_path / "nope" / "x.npy", SIGNAL)


def test_write_accepts_torch_tensors_and_keeps_permissions(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    path = tmp_path / "t.npy"
    write_recording(path, torch.from_numpy(SIGNAL).requires_grad_())
    np.testing.assert_array_equal(np.load(path), SIGNAL)
    reference = tmp_path / "ref"
    reference.write_bytes(b"")
    assert os.stat(path).st_mode == os.stat(reference).st_mode  # not mkstemp's 0600


def test_import_is_lazy() -> None:
    code = "import sys, mdnc.data; print('h5py' in sys.modules, 'soundfile' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split() == ["False", "False"]
