"""Windows and overlap-add read lazily from disk: the very values of the in-memory path."""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest
import soundfile
import torch
from torch.utils.data import DataLoader

from mdnc.data import WindowDataset, index
from mdnc.data.index import LazyRecording, describe_recording
from mdnc.data.io import DataError, read_recording
from mdnc.inference import apply_overlap_add, stream_overlap_add

RNG = np.random.default_rng(1)
WINDOW = 256


@pytest.fixture(autouse=True)
def _close_handles() -> None:
    index._OPEN.clear()
    yield
    index._OPEN.clear()


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> None:
    """Small convolutions: one thread is many times faster than two on a loaded machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _signal(channels: int, length: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.9, 0.9, size=(channels, length)).astype(np.float32)


def _h5(path: Path, data: np.ndarray, rate: int | None = None) -> None:
    with h5py.File(path, "w") as handle:
        chunks = (1, 64) if data.ndim == 2 else (64,)
        dataset = handle.create_dataset("sig", data=data, chunks=chunks)
        if rate is not None:
            dataset.attrs["sample_rate"] = rate


# name -> writer of a (channels, samples) float32 signal
WRITERS: dict[str, Callable[[Path, np.ndarray], None]] = {
    "c.npy": lambda p, x: np.save(p, x),
    "fortran.npy": lambda p, x: np.save(p, np.asfortranarray(x)),
    "i16.npy": lambda p, x: np.save(p, (x * 30000).astype(np.int16)),
    "big.npy": lambda p, x: np.save(p, x.astype(">f4")),
    "one.npy": lambda p, x: np.save(p, x[0].astype(np.float64)),
    "stored.npz": lambda p, x: np.savez(p, other=x[:, :10], sig=x),
    "zipped.npz": lambda p, x: np.savez_compressed(p, sig=x),
    "two.h5": lambda p, x: _h5(p, x, rate=250),
    "one.hdf5": lambda p, x: _h5(p, x[0]),
    "pcm16.wav": lambda p, x: soundfile.write(p, x.T, 8000, subtype="PCM_16"),
    "float.wav": lambda p, x: soundfile.write(p, x.T, 8000, subtype="FLOAT"),
    "pcm16.flac": lambda p, x: soundfile.write(p, x.T, 8000, subtype="PCM_16"),
    "header.csv": lambda p, x: p.write_text(
        ",".join(f"ch{c}" for c in range(len(x))) + "\n"
        + "\n".join(",".join(f"{v:.9g}" for v in row) for row in x.T)
    ),
}  # fmt: skip
KEYS = {"stored.npz": "sig"}

# (file names, lengths): two channels, and one channel (1-D storage)
SETS = {
    "two": (["c.npy", "fortran.npy", "stored.npz", "two.h5", "float.wav", "pcm16.flac"],
            [1500, 900, 1201, 700, 1000, 257]),
    "one": (["one.npy", "one.hdf5", "float.wav", "stored.npz", "big.npy"],
            [600, 1111, 256, 999, 800]),
}  # fmt: skip


def _files(folder: Path, which: str, seed: int = 0) -> tuple[list[Path], list[np.ndarray]]:
    """Files of a set, and their in-memory recordings (as read_recording gives them)."""
    folder.mkdir(exist_ok=True)
    names, lengths = SETS[which]
    channels = 2 if which == "two" else 1
    paths = []
    for i, (name, length) in enumerate(zip(names, lengths, strict=True)):
        path = folder / f"{i}_{name}"
        WRITERS[name](path, _signal(channels, length, seed + i))
        paths.append(path)
    return paths, [read_recording(p, KEYS.get(n)).data for p, n in zip(paths, names, strict=True)]


def _lazy(paths: list[Path]) -> list[LazyRecording]:
    return [LazyRecording(describe_recording(p, "sig" if p.suffix == ".npz" else None))
            for p in paths]  # fmt: skip


def _same_items(a: WindowDataset, b: WindowDataset, epochs: int = 2) -> int:
    """Every item of both data sets, fetched twice per epoch, is identical; returns the count."""
    assert len(a) == len(b)
    for epoch in range(epochs):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        for _ in range(2):
            for i in range(len(a)):
                x, y = a[i], b[i]
                assert len(x) == len(y) and all(
                    torch.equal(u, v) for u, v in zip(x, y, strict=True)
                )
    return len(a)


CONFIGS = [
    {},
    {"hop": 100},
    {"random_offsets": True},
    {"snr_db": 5},
    {"snr_db": (0, 10), "random_offsets": True},
    {"snr_db": 5, "snr_reference": "window"},
    {"snr_db": 3, "standardize": True, "return_stats": True},
    {"standardize": True},
    {"noisy": True, "standardize": True, "return_stats": True},
    {"noisy": True, "random_offsets": True},
]


@pytest.mark.parametrize("which", list(SETS))
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c)) or "grid")
def test_lazy_and_memory_windows_are_identical(tmp_path: Path, which: str, config: dict) -> None:
    paths, arrays = _files(tmp_path / "clean", which)
    kwargs = dict(config, seed=7)
    memory_kw, lazy_kw = dict(kwargs), dict(kwargs)
    if kwargs.pop("noisy", False):
        noisy_paths, noisy_arrays = _files(tmp_path / "noisy", which, seed=100)
        memory_kw["noisy"], lazy_kw["noisy"] = noisy_arrays, _lazy(noisy_paths)
    memory = WindowDataset(arrays, WINDOW, **memory_kw)
    lazy = WindowDataset(_lazy(paths), WINDOW, **lazy_kw)
    assert lazy.names == [str(p) for p in paths]
    assert _same_items(lazy, memory) > len(paths)
    if "snr_db" in config:  # noise was drawn: the input is not the target
        assert not torch.equal(*lazy[0][:2])


def test_views_of_files_are_windowed_as_slices(tmp_path: Path) -> None:
    paths, arrays = _files(tmp_path, "two")
    views = [rec[:, 100:-3] for rec in _lazy(paths)]
    memory = WindowDataset([a[:, 100:-3] for a in arrays], 128, hop=77, snr_db=2)
    assert _same_items(WindowDataset(views, 128, hop=77, snr_db=2), memory, epochs=1) == 63


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_dataloader_workers_read_their_own_handles(tmp_path: Path) -> None:
    paths, arrays = _files(tmp_path, "two")
    # snr_db reads the recording power at construction: the parent opens handles first.
    lazy = WindowDataset(_lazy(paths), WINDOW, hop=200, snr_db=4, random_offsets=True, seed=3)
    memory = WindowDataset(arrays, WINDOW, hop=200, snr_db=4, random_offsets=True, seed=3)
    assert index._OPEN.handles  # inherited by the workers, which must open their own
    loader = DataLoader(lazy, batch_size=4, num_workers=2, multiprocessing_context="fork")
    batches = list(loader)
    expected = list(DataLoader(memory, batch_size=4, num_workers=0))
    assert len(batches) == len(expected) == -(-len(memory) // 4)
    for got, want in zip(batches, expected, strict=True):
        assert all(torch.equal(u, v) for u, v in zip(got, want, strict=True))


# --------------------------------------------------------------------------------------------
# Bad data read lazily


def _exact(path: Path, message: str) -> str:
    return "^" + re.escape(str(path)) + ": " + message + "$"


def _nan_file(path: Path) -> np.ndarray:
    data = _signal(2, 1000, 5)
    data[1, 750] = np.nan  # in the windows at 512 and 744
    np.save(path, data)
    return data


NAN_750 = r"contains NaN or Inf samples at channel 1, sample 750"


@pytest.mark.parametrize(
    "kwargs", [{}, {"snr_db": 5, "snr_reference": "window"}, {"standardize": True}]
)
def test_nan_found_when_its_window_is_fetched(tmp_path: Path, kwargs: dict) -> None:
    path = tmp_path / "nan.npy"
    data = _nan_file(path)
    ds = WindowDataset(_lazy([path]), WINDOW, **kwargs)  # starts 0, 256, 512, 744
    assert len(ds) == 4
    clean = ds[1][1] if not kwargs.get("standardize") else None
    if clean is not None:
        assert np.array_equal(clean.numpy(), data[:, 256:512])
    for i in (2, 3, -1):
        with pytest.raises(DataError, match=_exact(path, NAN_750)):
            ds[i]
    assert ds[0][1].shape == (2, WINDOW)  # the other windows stay usable


def test_nan_found_at_construction_when_the_power_is_read(tmp_path: Path) -> None:
    path = tmp_path / "nan.npy"
    _nan_file(path)
    with pytest.raises(DataError, match=_exact(path, NAN_750)):
        WindowDataset(_lazy([path]), WINDOW, snr_db=5)


def _short(tmp_path: Path, lengths: list[int], channels: list[int]) -> list[Path]:
    paths = []
    for i, (n, c) in enumerate(zip(lengths, channels, strict=True)):
        paths.append(tmp_path / f"r{i}.npy")
        np.save(paths[-1], _signal(c, n, i))
    return paths


def test_short_lazy_recording_refused_naming_the_file(tmp_path: Path) -> None:
    paths = _short(tmp_path, [1000, 100], [2, 2])
    message = r"100 samples, shorter than the window of 256 samples; use a shorter window or " \
        "leave this recording out"  # fmt: skip
    with pytest.raises(DataError, match=_exact(paths[1], message)):
        WindowDataset(_lazy(paths), WINDOW)
    view = _lazy(paths[:1])[0][:, :255]
    message = r"255 samples, shorter than the window of 256 samples; use a shorter window or " \
        "leave this recording out"  # fmt: skip
    with pytest.raises(DataError, match=_exact(paths[0], message)):
        WindowDataset(_lazy(paths[:1]) + [view], WINDOW)
    message = rf"^the window of 256 samples is longer than every recording; the longest, " \
        rf"{re.escape(str(paths[0]))}, has 255 samples$"  # fmt: skip
    with pytest.raises(DataError, match=message):
        WindowDataset([view, _lazy(paths)[1]], WINDOW)


def test_noisy_lazy_recording_of_another_shape(tmp_path: Path) -> None:
    clean, noisy, other = _short(tmp_path, [1000, 900, 1000], [2, 2, 1])
    shown = re.escape(str(clean))
    for bad, shape in [(noisy, r"\(2, 900\)"), (other, r"\(1, 1000\)")]:
        message = rf"shape {shape} \(channels, samples\) does not match its clean recording " \
            rf"{shown} of shape \(2, 1000\)"  # fmt: skip
        with pytest.raises(DataError, match=_exact(bad, message)):
            WindowDataset(_lazy([clean]), WINDOW, noisy=_lazy([bad]))
    with pytest.raises(DataError, match=r"^got 2 noisy recordings for 1 clean ones"):
        WindowDataset(_lazy([clean]), WINDOW, noisy=_lazy([clean, clean]))


def test_channel_mismatch_of_lazy_recordings(tmp_path: Path) -> None:
    paths = _short(tmp_path, [1000, 1000], [2, 3])
    message = rf"has 3 channel\(s\) but {re.escape(str(paths[0]))} has 2; all recordings need " \
        "the same channel count"  # fmt: skip
    with pytest.raises(DataError, match=_exact(paths[1], message)):
        WindowDataset(_lazy(paths), WINDOW)
    with pytest.raises(DataError, match=_exact(paths[1], message)):  # mixed with arrays
        WindowDataset([np.zeros((2, 300), np.float32)] + _lazy(paths[1:]), WINDOW,
                      names=[str(paths[0]), str(paths[1])])  # fmt: skip


# --------------------------------------------------------------------------------------------
# stream_overlap_add


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


STREAM_FORMATS = [
    ("c.npy", 2), ("fortran.npy", 3), ("i16.npy", 2), ("big.npy", 2), ("one.npy", 1),
    ("stored.npz", 2), ("zipped.npz", 2), ("two.h5", 2), ("one.hdf5", 1), ("pcm16.wav", 2),
    ("float.wav", 1), ("pcm16.flac", 2), ("header.csv", 2),
]  # fmt: skip
LAYOUTS = [(128, 0.0), (128, 0.5), (100, 0.75), (4096, 0.5)]  # the last: longer than the file


@pytest.mark.parametrize(("window", "overlap"), LAYOUTS)
@pytest.mark.parametrize(("name", "channels"), STREAM_FORMATS)
def test_identity_streams_every_format_back(
    tmp_path: Path, name: str, channels: int, window: int, overlap: float
) -> None:
    source, out = tmp_path / name, tmp_path / "out" / name
    out.parent.mkdir()
    WRITERS[name](source, _signal(channels, 1003, 2))
    key = KEYS.get(name)
    returned = stream_overlap_add(
        identity, source, out, window=window, overlap=overlap, batch_size=3, key=key
    )
    assert returned == out
    back, original = read_recording(out, key), read_recording(source, key)
    assert np.array_equal(back.data, original.data)
    assert (back.format, back.key, back.ndim, back.sample_rate, back.subtype, back.header) == (
        original.format, original.key, original.ndim, original.sample_rate, original.subtype,
        original.header,
    )  # fmt: skip
    assert [p.name for p in out.parent.iterdir()] == [name]


@pytest.fixture(scope="module")
def conv() -> torch.nn.Module:
    torch.manual_seed(3)
    return torch.nn.Conv1d(2, 2, kernel_size=9, padding=4)


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3, 64])
@pytest.mark.parametrize("padding", ["reflect", "zeros"])
def test_streamed_model_equals_apply_overlap_add(
    tmp_path: Path, conv: torch.nn.Module, standardize: bool, batch_size: int, padding: str
) -> None:
    data = _signal(2, 2111, 4)
    np.save(tmp_path / "x.npy", data)
    kw = dict(window=128, overlap=0.5, batch_size=batch_size, standardize=standardize,
              padding=padding)  # fmt: skip
    expected = apply_overlap_add(conv, data, **kw)
    stream_overlap_add(conv, tmp_path / "x.npy", tmp_path / "y.npy", **kw)
    assert np.array_equal(read_recording(tmp_path / "y.npy").data, expected)


def _h5_dataset(path: Path, data: np.ndarray) -> h5py.Dataset:
    _h5(path, data)
    return h5py.File(path, "r")["sig"]


@pytest.mark.parametrize(
    ("make_source", "channels"),
    [
        (lambda p, x: (np.save(p / "m.npy", x), np.load(p / "m.npy", mmap_mode="r"))[1], 2),
        (lambda p, x: (np.save(p / "m.npy", x[0]), np.load(p / "m.npy", mmap_mode="r"))[1], 1),
        (lambda p, x: _h5_dataset(p / "d.h5", x), 2),
        (lambda p, x: _h5_dataset(p / "d.h5", x[0]), 1),
        (lambda p, x: (np.save(p / "l.npy", x), LazyRecording(describe_recording(p / "l.npy")))[1],
         2),
        (lambda p, x: x.astype(np.float64), 2),
    ],
    ids=["memmap", "memmap-1d", "h5py", "h5py-1d", "lazy", "array"],
)  # fmt: skip
@pytest.mark.parametrize("output", ["file", "memmap"])
def test_array_like_sources_and_outputs(
    tmp_path: Path, conv: torch.nn.Module, make_source: Callable, channels: int, output: str
) -> None:
    data = _signal(2, 1500, 6)[:channels]
    model = conv if channels == 2 else torch.nn.Conv1d(1, 1, 3, padding=1)
    source = make_source(tmp_path, data)
    expected = apply_overlap_add(model, data, window=200, overlap=0.75, batch_size=5)
    shape = data.shape if channels == 2 else (data.shape[1],)
    if output == "file":
        target = tmp_path / "y.npy"
    else:
        target = np.lib.format.open_memmap(tmp_path / "y.npy", "w+", np.float32, shape)
    got = stream_overlap_add(model, source, target, window=200, overlap=0.75, batch_size=5)
    assert got == target if output == "file" else got is target  # the path, or the array
    result = read_recording(tmp_path / "y.npy").data if output == "file" else np.asarray(got)
    assert result.shape == (expected.shape if output == "file" else shape)
    assert np.array_equal(result.reshape(expected.shape), expected)
    if isinstance(source, h5py.Dataset):
        source.file.close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("out_suffix", [".npy", ".npz", ".h5", ".wav", ".flac", ".csv"])
@pytest.mark.parametrize(
    ("where", "source_name"),
    [(1500, "c.npy"), (2999, "c.npy"), (1500, "two.h5"), (1, "float.wav"), (2000, "float.wav")],
)
def test_nan_in_the_source_leaves_no_output(
    tmp_path: Path, out_suffix: str, where: int, source_name: str
) -> None:
    data = _signal(2, 3000, 8) * 0.5
    data[0, where] = np.nan
    source = tmp_path / source_name
    WRITERS[source_name](source, data)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    like = SimpleNamespace(sample_rate=8000)  # for audio outputs of an .npy source
    message = rf"contains NaN or Inf samples at channel 0, sample {where}"
    with pytest.raises(DataError, match=_exact(source, message)):
        stream_overlap_add(identity, source, out_dir / f"y{out_suffix}", window=100,
                           batch_size=2, like=like)  # fmt: skip
    assert _leftovers(out_dir) == []


def test_nan_in_an_array_source(tmp_path: Path) -> None:
    data = _signal(2, 3000, 8)
    data[1, 2000] = np.inf
    out = np.zeros_like(data)
    message = r"^signal contains NaN or Inf: inf at channel 1, sample 2000; clean or interpolate"
    with pytest.raises(ValueError, match=message):
        stream_overlap_add(identity, data, out, window=100, batch_size=2)


@pytest.mark.parametrize(
    ("shape", "channels"),
    [((2, 999), 2), ((3, 1000), 2), ((1000,), 2), ((1, 999), 1), ((999,), 1), ((2, 1000), 1)],
)
def test_wrong_output_array_shape(tmp_path: Path, shape: tuple, channels: int) -> None:
    np.save(tmp_path / "x.npy", _signal(channels, 1000, 0))
    one = r" \(or \(1000,\) for one channel\)"
    message = rf"^output must have shape \({channels}, 1000\){one}, got {re.escape(str(shape))}\.$"
    with pytest.raises(ValueError, match=message):
        stream_overlap_add(identity, tmp_path / "x.npy", np.zeros(shape, np.float32), window=64)


@pytest.mark.parametrize(
    ("output", "name"), [(3, "int"), ([[0.0] * 10], "list"), (None, "NoneType")]
)
def test_output_neither_path_nor_array(tmp_path: Path, output: object, name: str) -> None:
    np.save(tmp_path / "x.npy", _signal(1, 10, 0))
    message = rf"^output must be a file path or a writable array-like, got {name}\.$"
    with pytest.raises(TypeError, match=message):
        stream_overlap_add(identity, tmp_path / "x.npy", output, window=4)
    assert _leftovers(tmp_path) == ["x.npy"]
