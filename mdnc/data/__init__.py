"""Data layer of the mdnc workflow: recordings in, training windows out.

* :mod:`mdnc.data.io`: read and write recordings (``.npy``, ``.npz``, ``.h5``/``.hdf5``,
  ``.csv``, ``.wav``, ``.flac``) as float32 ``(channels, samples)`` arrays; atomic writes;
  :class:`DataError` for every bad file, its message starting with the file name.
* :mod:`mdnc.data.synthetic`: the built-in synthetic data set (sinusoids, chirps, steps,
  spike trains, AR processes), deterministic given a seed.
* :mod:`mdnc.data.noise`: noise models by name (:class:`GaussianNoise`, :class:`PinkNoise`,
  :class:`BrownNoise`, :class:`HumNoise`, :class:`ImpulsiveNoise`; :class:`ColouredNoise`
  of any 1/f^alpha spectrum) and :class:`RecordedNoise` cut from noise recordings, added
  at a given SNR; the SNR of an estimate.
* :mod:`mdnc.data.windows`: the training-window ``Dataset`` and per-window standardisation.
* :mod:`mdnc.data.index`: recordings described from their headers (an index, cached in a
  run folder) and read lazily, a window at a time, for data sets larger than memory.
* :mod:`mdnc.data.stream`: recordings written block by block (:class:`RecordingWriter`),
  atomically, for outputs larger than memory.

Importing this package loads numpy and torch only; h5py and soundfile are imported when a
file of their format is read or written.

Example:
    >>> from mdnc.data import WindowDataset, make_synthetic
    >>> ds = WindowDataset(make_synthetic(8, 2000, channels=2), window=512, snr_db=5.0)
    >>> noisy, clean = ds[0]
"""

from .index import (
    LazyRecording,
    RecordingInfo,
    channel_power,
    describe_recording,
    index_recordings,
    open_recordings,
)
from .io import (
    SUPPORTED_SUFFIXES,
    DataError,
    Recording,
    check_channels,
    check_finite,
    find_recordings,
    read_recording,
    read_recordings,
    write_recording,
)
from .noise import (
    SNR_LIMIT_DB,
    BrownNoise,
    ColouredNoise,
    GaussianNoise,
    HumNoise,
    ImpulsiveNoise,
    NoiseModel,
    PinkNoise,
    RecordedNoise,
    add_gaussian_noise,
    get_noise_model,
    list_noise_models,
    noise_std,
    register_noise,
    snr_db,
)
from .stream import RecordingWriter, open_writer
from .synthetic import FAMILIES, make_synthetic, synthetic_signal
from .windows import WindowDataset, WindowStats, destandardize, standardize, window_starts

__all__ = [
    "LazyRecording",
    "RecordingInfo",
    "RecordingWriter",
    "channel_power",
    "describe_recording",
    "index_recordings",
    "open_recordings",
    "open_writer",
    "SUPPORTED_SUFFIXES",
    "DataError",
    "Recording",
    "check_channels",
    "check_finite",
    "find_recordings",
    "read_recording",
    "read_recordings",
    "write_recording",
    "SNR_LIMIT_DB",
    "GaussianNoise",
    "ColouredNoise",
    "PinkNoise",
    "BrownNoise",
    "HumNoise",
    "ImpulsiveNoise",
    "RecordedNoise",
    "NoiseModel",
    "add_gaussian_noise",
    "get_noise_model",
    "list_noise_models",
    "register_noise",
    "noise_std",
    "snr_db",
    "FAMILIES",
    "make_synthetic",
    "synthetic_signal",
    "WindowDataset",
    "WindowStats",
    "destandardize",
    "standardize",
    "window_starts",
]
