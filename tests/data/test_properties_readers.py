"""Property tests of the recording readers: garbage in, a DataError (naming the file) out.

Whatever bytes a file holds (random, a valid file truncated or with bytes flipped, arrays of
every odd shape and dtype, odd HDF5 layouts and attributes, odd CSV text), ``read_recording``
either returns a float32 ``(channels, samples)`` array that is non-empty, finite and
C-contiguous, or raises :class:`mdnc.data.DataError` whose message starts with the file
name. Nothing else escapes. The examples are derandomized: CI runs the same ones each time.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mdnc.data import SUPPORTED_SUFFIXES, DataError, Recording, read_recording
from tests.conftest import property_settings

SETTINGS = property_settings(40, HealthCheck.function_scoped_fixture, HealthCheck.too_slow)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the whole module: each example overwrites its file."""
    return tmp_path_factory.mktemp("fuzzed")


def _read(path: Path, key: str | None = None) -> Recording | None:
    """``read_recording(path)``: the recording, or ``None`` after a well-formed DataError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the "more channels than samples" notice
            rec = read_recording(path, key=key)
    except DataError as err:
        message = str(err)
        assert message.startswith(str(path)), message
        assert "\n" not in message.strip(), message
        return None
    data = rec.data
    assert isinstance(data, np.ndarray) and data.dtype == np.float32
    assert data.ndim == 2 and data.size > 0 and data.flags["C_CONTIGUOUS"]
    assert np.isfinite(data).all()
    assert (rec.channels, rec.length) == data.shape
    return rec


# ---------------------------------------------------------------------------------------
# Bytes: random, and valid files damaged


@SETTINGS
@given(suffix=st.sampled_from(SUPPORTED_SUFFIXES), payload=st.binary(max_size=600))
def test_random_bytes_are_a_data_error(folder: Path, suffix: str, payload: bytes) -> None:
    path = folder / f"random{suffix}"
    path.write_bytes(payload)
    _read(path)


def _valid_bytes(suffix: str, data: np.ndarray) -> bytes:
    """The bytes of a valid recording file of ``data`` (channels, samples)."""
    buffer = io.BytesIO()
    if suffix == ".npy":
        np.save(buffer, data)
    elif suffix == ".npz":
        np.savez(buffer, data=data)
    elif suffix in (".h5", ".hdf5"):
        with h5py.File(buffer, "w") as handle:
            handle.create_dataset("data", data=data).attrs["sample_rate"] = 100
    elif suffix == ".csv":
        buffer.write(b"a,b\n" if data.shape[0] == 2 else b"")
        np.savetxt(buffer, data.T, delimiter=",", fmt="%.6g")
    else:
        subtype = "FLOAT" if suffix == ".wav" else "PCM_16"
        soundfile.write(buffer, data.T, 100, subtype=subtype, format=suffix[1:].upper())
    return buffer.getvalue()


DAMAGE = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)),
                                        min_size=1, max_size=8)),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=64)),
)  # fmt: skip


def _damage(raw: bytes, how: tuple) -> bytes:
    """``raw`` truncated, with some bytes XOR-ed, or with bytes appended."""
    kind, arg = how
    if kind == "truncate":
        return raw[: int(arg * len(raw))]
    if kind == "append":
        return raw + arg
    out = bytearray(raw)
    for where, mask in arg:
        i = min(int(where * len(out)), len(out) - 1)
        out[i] ^= mask
    return bytes(out)


@SETTINGS
@given(
    suffix=st.sampled_from(SUPPORTED_SUFFIXES),
    channels=st.integers(1, 3),
    samples=st.integers(1, 40),
    how=DAMAGE,
)
def test_damaged_files_are_read_or_a_data_error(
    folder: Path, suffix: str, channels: int, samples: int, how: tuple
) -> None:
    data = np.random.default_rng(samples).uniform(-0.5, 0.5, (channels, samples))
    path = folder / f"damaged{suffix}"
    path.write_bytes(_damage(_valid_bytes(suffix, data.astype(np.float32)), how))
    _read(path)


# ---------------------------------------------------------------------------------------
# Odd arrays in .npy, .npz and HDF5


def _odd_array() -> st.SearchStrategy[np.ndarray]:
    """Arrays of 0 to 3 dimensions (empty ones too) of numeric, bool, complex, text and
    structured dtypes, with NaN, infinities and huge values among the floats."""
    dtypes = st.one_of(
        hnp.floating_dtypes(), hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(),
        hnp.boolean_dtypes(), hnp.complex_number_dtypes(), hnp.byte_string_dtypes(max_len=3),
        st.just(np.dtype([("a", "<f4"), ("b", "<i2")])),
    )  # fmt: skip
    shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
    return hnp.arrays(dtypes, shapes)


@SETTINGS
@given(array=_odd_array(), suffix=st.sampled_from([".npy", ".npz", ".h5"]))
def test_odd_arrays_are_read_or_a_data_error(folder: Path, array: np.ndarray, suffix: str) -> None:
    path = folder / f"odd{suffix}"
    if suffix == ".npy":
        np.save(path, array)
    elif suffix == ".npz":
        np.savez(path, array)
    else:
        with h5py.File(path, "w") as handle:
            handle.create_dataset("x", data=array)
    rec = _read(path)
    if rec is not None:  # only 1-D or 2-D arrays of real numbers are recordings
        assert array.ndim in (1, 2) and array.dtype.kind in "fiu"


def test_object_arrays_are_a_data_error(folder: Path) -> None:
    path = folder / "object.npy"
    np.save(path, np.array([[1.0, None]], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"object\.npy: unreadable \.npy file"):
        read_recording(path)


RATES = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5), st.booleans(), st.lists(st.integers(0, 9), max_size=3),
)  # fmt: skip


@SETTINGS
@given(rate=RATES, groups=st.integers(0, 2), extra=st.booleans())
def test_odd_hdf5_layouts_are_read_or_a_data_error(
    folder: Path, rate: object, groups: int, extra: bool
) -> None:
    path = folder / "layout.h5"
    with h5py.File(path, "w") as handle:
        where = handle
        for i in range(groups):
            where = where.create_group(f"g{i}")
        dataset = where.create_dataset("x", data=np.ones((1, 8)))
        try:
            dataset.attrs["sample_rate"] = rate
        except (TypeError, ValueError, OverflowError):  # h5py cannot store it
            pass
        if extra:
            handle.create_dataset("y", data=np.zeros(3))
    rec = _read(path)
    if rec is not None and rec.sample_rate is not None:
        assert isinstance(rec.sample_rate, int) and rec.sample_rate >= 1


# ---------------------------------------------------------------------------------------
# CSV text

CSV_TEXT = st.text(alphabet="0123456789.-+eE,; \t\n#\"'anifAxy", max_size=200)


@SETTINGS
@given(text=CSV_TEXT)
def test_odd_csv_text_is_read_or_a_data_error(folder: Path, text: str) -> None:
    path = folder / "odd.csv"
    path.write_text(text, encoding="utf-8")
    _read(path)


# ---------------------------------------------------------------------------------------
# Plain regressions of what the properties found


@pytest.mark.parametrize(
    ("rate", "pattern"),
    [(float("nan"), "nan"), (-8000, "-8000"), (0, "0"), (44100.5, "44100.5"), ("fast", "fast")],
)
def test_a_bad_hdf5_sample_rate_attribute_is_named(
    tmp_path: Path, rate: object, pattern: str
) -> None:
    # Was: "unreadable .h5 file (cannot convert float NaN to integer)", or a negative or
    # truncated rate accepted silently.
    path = tmp_path / "rate.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", data=np.ones((1, 8))).attrs["sample_rate"] = rate
    with pytest.raises(
        DataError,
        match=rf"rate\.h5: the sample_rate attribute of dataset 'x' "
        rf"must be a whole number of Hz >= 1, got .*{pattern}",
    ):
        read_recording(path)


def test_whole_number_hdf5_sample_rates_are_read(tmp_path: Path) -> None:
    path = tmp_path / "rate.h5"
    for rate in (8000, 8000.0, np.int16(8000), "8000"):
        with h5py.File(path, "w") as handle:
            handle.create_dataset("x", data=np.ones((1, 8))).attrs["sample_rate"] = rate
        assert read_recording(path).sample_rate == 8000


def test_a_warning_made_an_error_is_not_reported_as_an_unreadable_file(tmp_path: Path) -> None:
    # Was: under ``-W error`` the "more channels than samples" notice became
    # "DataError: unreadable .npy file (...)".
    path = tmp_path / "tall.npy"
    np.save(path, np.ones((5, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="5 channels of 2 samples"):
            read_recording(path)


@pytest.mark.parametrize("key", [3, b"x", ["x"]])
def test_a_key_that_is_not_a_string_is_a_type_error(tmp_path: Path, key: object) -> None:
    # Was, for HDF5: "unreadable .h5 file ('int' object has no attribute 'strip')".
    path = tmp_path / "k.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", data=np.ones((1, 8)))
    with pytest.raises(TypeError, match=r"^key must be a string or None, got "):
        read_recording(path, key=key)
