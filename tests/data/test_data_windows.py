"""Training windows: counts, noise, pairing, standardisation, determinism, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from mdnc.data import (
    DataError,
    RecordedNoise,
    Recording,
    WindowDataset,
    destandardize,
    make_synthetic,
    snr_db,
    standardize,
    window_starts,
)

DATA = make_synthetic(3, 1000, channels=2, seed=0)


@pytest.mark.parametrize(
    ("length", "window", "hop", "starts"),
    [
        (10, 4, 3, [0, 3, 6]),
        (11, 4, 3, [0, 3, 6, 7]),
        (8, 4, 4, [0, 4]),
        (9, 4, 4, [0, 4, 5]),
        (4, 4, 2, [0]),
        (3, 4, 1, []),
        (10, 1, 5, [0, 5, 9]),
    ],
)
def test_window_starts(length: int, window: int, hop: int, starts: list[int]) -> None:
    assert window_starts(length, window, hop).tolist() == starts


def test_counts_shapes_and_order() -> None:
    data = [DATA[0], DATA[1][:, :700], DATA[2][:, :256]]
    ds = WindowDataset(data, window=256, hop=128)
    # 1000: 0..640 by 128 and 744; 700: 0..384 and 444; 256: 0.
    assert len(ds) == 7 + 5 + 1
    assert [ds.locate(i) for i in (0, 6, 7, 11, 12, -1)] == [
        (0, 0), (0, 744), (1, 0), (1, 444), (2, 0), (2, 0)
    ]  # fmt: skip
    noisy, clean = ds[6]
    assert noisy.shape == clean.shape == (2, 256)
    assert noisy.dtype == clean.dtype == torch.float32
    np.testing.assert_array_equal(clean.numpy(), DATA[0][:, 744:1000])
    np.testing.assert_array_equal(noisy.numpy(), clean.numpy())  # no noise model: reconstruction
    with pytest.raises(IndexError, match="window index 13 out of range for 13 windows"):
        ds[13]


def test_default_hop_is_the_window() -> None:
    assert len(WindowDataset(DATA, window=250)) == 3 * 4


def test_noise_is_fresh_at_every_fetch_and_target_is_clean() -> None:
    ds = WindowDataset(DATA, window=256, hop=256, snr_db=5.0, seed=0)
    first_input, first_target = ds[2]
    second_input, second_target = ds[2]
    assert not torch.equal(first_input, second_input)
    assert torch.equal(first_target, second_target)
    np.testing.assert_array_equal(first_target.numpy(), DATA[0][:, 512:768])
    # Modifying a returned tensor never touches the data set.
    first_target.zero_()
    assert torch.equal(ds[2][1], second_target)


def test_noise_level_matches_the_snr() -> None:
    ds = WindowDataset(DATA, window=100, hop=100, snr_db=3.0, seed=0)
    pairs = [ds[i] for i in range(len(ds))]
    inputs = np.stack([p[0].numpy() for p in pairs])
    targets = np.stack([p[1].numpy() for p in pairs])
    assert snr_db(targets, inputs) == pytest.approx(3.0, abs=0.2)


def test_an_snr_range_spreads_the_window_snrs() -> None:
    sine = np.sin(np.arange(40_000) / 7.0)[None].astype(np.float32)
    ds = WindowDataset([sine], window=200, snr_db=(0, 20), snr_reference="window", seed=0)
    assert ds.snr_db == (0.0, 20.0)
    pairs = [ds[i] for i in range(len(ds))]
    measured = [snr_db(y, x) for x, y in pairs]
    assert len(measured) == 200
    assert min(measured) < 5 and max(measured) > 15
    assert -2 < min(measured) and max(measured) < 22
    again = WindowDataset([sine], window=200, snr_db=[0, 20], snr_reference="window", seed=0)
    assert torch.equal(again[7][0], pairs[7][0])  # reproducible, as with a fixed SNR


def test_an_empty_snr_range_is_the_fixed_snr() -> None:
    fixed = WindowDataset(DATA, window=256, snr_db=5.0, random_offsets=True, seed=3)
    empty = WindowDataset(DATA, window=256, snr_db=(5, 5), random_offsets=True, seed=3)
    assert fixed.snr_db == 5.0 and empty.snr_db == (5.0, 5.0)
    for index in range(len(fixed)):
        assert all(torch.equal(a, b) for a, b in zip(fixed[index], empty[index], strict=True))


def test_recorded_noise_in_the_windows() -> None:
    noise = RecordedNoise([np.random.default_rng(0).standard_normal((2, 5000))])
    ds = WindowDataset(DATA, window=250, snr_db=3.0, noise=noise, seed=0)
    pairs = [ds[i] for i in range(len(ds))]
    inputs = np.stack([p[0].numpy() for p in pairs])
    targets = np.stack([p[1].numpy() for p in pairs])
    assert snr_db(targets, inputs) == pytest.approx(3.0, abs=0.5)
    mono = WindowDataset(DATA, window=250, snr_db=3.0, noise=RecordedNoise([np.ones(10)]))
    with pytest.raises(ValueError, match=r"^noise recordings have 1 channels, the signal has 2\.$"):
        mono[0]


def test_noise_level_follows_the_recording_not_the_window() -> None:
    recording = np.zeros((1, 2000), dtype=np.float32)
    recording[0, 1000:] = np.sin(np.arange(1000) / 5.0)  # a silent first half
    by_recording = WindowDataset([recording], window=500, snr_db=0.0, seed=0)
    by_window = WindowDataset([recording], window=500, snr_db=0.0, seed=0, snr_reference="window")
    quiet = by_recording[0][0].numpy()
    assert np.std(quiet) == pytest.approx(np.sqrt(np.mean(recording**2)), rel=0.15)
    np.testing.assert_array_equal(by_window[0][0].numpy(), 0.0)
    assert snr_db(by_window[3][1], by_window[3][0]) == pytest.approx(0.0, abs=0.6)


def test_same_seed_same_epoch_same_windows_and_epochs_differ() -> None:
    kwargs = {"window": 200, "hop": 100, "snr_db": 0.0, "random_offsets": True, "seed": 5}
    a, b = WindowDataset(DATA, **kwargs), WindowDataset(DATA, **kwargs)
    for index in (0, 7, 20):
        assert all(torch.equal(x, y) for x, y in zip(a[index], b[index], strict=True))
    first = a[3][0]
    a.set_epoch(1)
    b.set_epoch(1)
    assert torch.equal(a[3][0], b[3][0])
    assert not torch.equal(a[3][0], first)
    c = WindowDataset(DATA, **(kwargs | {"seed": 6}))
    assert not torch.equal(c[0][0], WindowDataset(DATA, **kwargs)[0][0])


def test_random_offsets_cut_real_windows() -> None:
    ds = WindowDataset(DATA, window=128, hop=128, random_offsets=True, seed=1)
    assert len(ds) == 3 * 8
    starts = set()
    for _ in range(20):
        target = ds[9][1].numpy()  # recording 1
        rows = np.lib.stride_tricks.sliding_window_view(DATA[1][0], 128)
        (matches,) = np.nonzero((rows == target[0]).all(axis=1))
        assert len(matches) == 1
        np.testing.assert_array_equal(DATA[1][:, matches[0] : matches[0] + 128], target)
        starts.add(int(matches[0]))
    assert len(starts) > 10


def _batches(ds: WindowDataset, workers: int) -> list[torch.Tensor]:
    loader = DataLoader(ds, batch_size=4, shuffle=False, num_workers=workers)
    return [batch[0] for batch in loader]


def test_workers_do_not_change_the_data() -> None:
    ds = WindowDataset(DATA, window=256, hop=128, snr_db=5.0, random_offsets=True, seed=2)
    ds.set_epoch(3)
    serial = _batches(ds, 0)
    parallel = _batches(WindowDataset(DATA, window=256, hop=128, snr_db=5.0,
                                      random_offsets=True, seed=2), 2)  # fmt: skip
    assert len(serial) == len(parallel) == 6
    assert not all(torch.equal(s, p) for s, p in zip(serial, parallel, strict=True))  # epoch 0
    fresh = WindowDataset(DATA, window=256, hop=128, snr_db=5.0, random_offsets=True, seed=2)
    fresh.set_epoch(3)
    for s, p in zip(serial, _batches(fresh, 2), strict=True):
        assert torch.equal(s, p)


def test_distributed_sampler_shards_the_windows() -> None:
    ds = WindowDataset(DATA, window=100, hop=50, snr_db=10.0, seed=0)
    shards = []
    for rank in range(2):
        sampler = DistributedSampler(ds, num_replicas=2, rank=rank, shuffle=True, seed=0)
        sampler.set_epoch(1)
        shards.append(list(sampler))
    assert set(shards[0]) | set(shards[1]) == set(range(len(ds)))  # padded to equal halves
    # A rank that fetches only its shard gets the same windows as a process that fetches
    # every window, in another order: items depend on their index, not on the call order.
    everything = WindowDataset(DATA, window=100, hop=50, snr_db=10.0, seed=0)
    everything.set_epoch(1)
    expected = {i: everything[i][0] for i in reversed(range(len(ds)))}
    rank1 = WindowDataset(DATA, window=100, hop=50, snr_db=10.0, seed=0)
    rank1.set_epoch(1)
    for index in dict.fromkeys(shards[1]):
        assert torch.equal(rank1[index][0], expected[index])


def test_paired_recordings() -> None:
    noisy = [x + 0.5 for x in DATA]
    ds = WindowDataset(DATA, window=300, hop=300, noisy=noisy)
    source, target = ds[5]  # recording 1 (starts 0, 300, 600, 700), start 300
    np.testing.assert_array_equal(source.numpy(), noisy[1][:, 300:600])
    np.testing.assert_array_equal(target.numpy(), DATA[1][:, 300:600])


def test_standardised_windows_and_stats() -> None:
    loud = [3.0 * x + 10.0 for x in DATA]
    ds = WindowDataset(loud, window=256, snr_db=10.0, standardize=True, return_stats=True, seed=0)
    source, target, mean, std = ds[1]
    assert mean.shape == std.shape == (2, 1)
    np.testing.assert_allclose(source.mean(dim=-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(source.std(dim=-1, correction=0), 1.0, atol=1e-5)
    np.testing.assert_allclose((target * std + mean).numpy(), loud[0][:, 256:512], atol=1e-4)
    plain = WindowDataset(DATA, window=256, return_stats=True)[0]
    assert torch.equal(plain[2], torch.zeros(2, 1)) and torch.equal(plain[3], torch.ones(2, 1))


@pytest.mark.parametrize("kind", ["numpy", "torch"])
@pytest.mark.parametrize("shape", [(7,), (2, 100), (4, 3, 64)])
def test_standardize_round_trip(kind: str, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    x = (rng.normal(size=shape) * 5 + 2).astype(np.float32)
    if kind == "torch":
        x = torch.from_numpy(x)
    y, stats = standardize(x)
    assert type(y) is type(x) and y.shape == x.shape and y.dtype == x.dtype
    np.testing.assert_allclose(np.asarray(y).mean(axis=-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(y).std(axis=-1), 1.0, atol=1e-5)
    assert stats.mean.shape == shape[:-1] + (1,)
    np.testing.assert_allclose(np.asarray(destandardize(y, stats)), np.asarray(x), atol=1e-5)


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_standardize_constant_and_integer_windows(kind: str) -> None:
    x = np.full((2, 16), 0.1, dtype=np.float32)
    x[1] = 0.0
    if kind == "torch":
        x = torch.from_numpy(x)
    y, stats = standardize(x)
    np.testing.assert_array_equal(np.asarray(y), 0.0)
    np.testing.assert_array_equal(np.asarray(stats.std), 1.0)
    np.testing.assert_allclose(np.asarray(destandardize(y, stats)), np.asarray(x))
    y_int, _ = standardize(np.arange(10) if kind == "numpy" else torch.arange(10))
    assert y_int.dtype in (np.float32, torch.float32)


def test_standardize_half_precision_keeps_float32_stats() -> None:
    y, stats = standardize(torch.randn(2, 3, 32).half() * 100 + 1000)
    assert y.dtype == torch.float16 and stats.mean.dtype == torch.float32


def test_recording_objects_name_their_files(tmp_path) -> None:
    recs = [
        Recording(data=DATA[0], path=tmp_path / "long.npy", format="npy"),
        Recording(data=DATA[1][:, :100], path=tmp_path / "short.npy", format="npy"),
    ]
    with pytest.raises(DataError, match=r"short\.npy: 100 samples, shorter than the window of 512"):
        WindowDataset(recs, window=512)


@pytest.mark.parametrize(
    ("recordings", "kwargs", "message"),
    [
        (
            [DATA[0][:, :300], DATA[1][:, :400]],
            {"names": ["a.npy", "b.npy"]},
            r"^the window of 512 samples is longer than every recording; the longest, b\.npy, "
            r"has 400 samples",
        ),
        ([DATA[0], DATA[1][:, :300]], {}, r"^recording 1: 300 samples, shorter than the window"),
        ([DATA[0], DATA[1][:1]], {}, r"^recording 1: has 1 channel\(s\) but recording 0 has 2"),
        ([DATA[0], np.zeros((2, 0))], {}, r"^recording 1: empty recording"),
        ([np.zeros((2, 2, 600))], {}, r"^recording 0: expected a \(channels, samples\) array"),
        (
            [np.where(np.arange(600) == 42, np.nan, 0.0)],
            {},
            r"^recording 0: contains NaN or Inf samples at channel 0, sample 42",
        ),
        ([], {}, r"no recordings given"),
        ([DATA[0]], {"noisy": [DATA[0], DATA[1]]}, r"^got 2 noisy recordings for 1 clean ones"),
        (
            [DATA[0]],
            {"noisy": [DATA[0][:, :999]], "names": ["clean.wav"]},
            r"^noisy recording 0: shape \(2, 999\) .* does not match its clean recording "
            r"clean\.wav of shape \(2, 1000\)",
        ),
    ],
)
def test_bad_recordings(recordings: list, kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        WindowDataset(recordings, window=512, **kwargs)


RANGE = r"^snr_db must be a number of dB or a range \(low, high\) with low <= high, "


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"window": 0}, ValueError, r"window must be an int >= 1, got 0"),
        ({"window": 1.5}, TypeError, r"window must be an int >= 1, got 1\.5 \(float\)"),
        ({"hop": 0}, ValueError, r"hop must be an int >= 1"),
        ({"snr_db": float("nan")}, ValueError, r"snr_db must be a finite number of dB"),
        ({"snr_db": (5.0, 2.0)}, ValueError, RANGE + r"got \(5\.0, 2\.0\)\.$"),
        ({"snr_db": [0, 1, 2]}, ValueError, RANGE + r"got \[0, 1, 2\]\.$"),
        ({"snr_db": (0, float("inf"))}, ValueError, RANGE + r"got \(0, inf\)\.$"),
        ({"snr_db": (0, "5")}, TypeError, RANGE + r"got \(0, '5'\)\.$"),
        ({"snr_db": "5"}, TypeError, RANGE + r"got '5' \(str\)\.$"),
        ({"snr_db": 5.0, "noisy": DATA}, ValueError, r"either snr_db .* or noisy .*, not both"),
        ({"snr_reference": "batch"}, ValueError, r"snr_reference must be 'recording' or 'window'"),
        ({"seed": -1}, ValueError, r"seed must be an int >= 0"),
        ({"names": ["a"]}, ValueError, r"got 1 names for 3 recordings"),
    ],
)
def test_bad_options(kwargs: dict, error: type, message: str) -> None:
    arguments = {"window": 100} | kwargs
    with pytest.raises(error, match=message):
        WindowDataset(DATA, **arguments)
