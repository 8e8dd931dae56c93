"""Cutting recordings of any length into training windows, with noise and standardisation.

:class:`WindowDataset` is a map-style ``torch.utils.data.Dataset`` over the windows of a list
of ``(channels, samples)`` recordings. Each item is an ``(input, target)`` pair of float32
tensors of shape ``(channels, window)``:

* ``snr_db=X``: the target is the clean window and the input the same window plus noise
  at ``X`` dB SNR (white gaussian by default, any :class:`~mdnc.data.noise.NoiseModel`
  with ``noise=``), drawn afresh at every fetch (a denoising auto-encoder); with
  ``snr_db=(low, high)`` every fetch draws its SNR uniformly in that range;
* ``noisy=[...]``: the input is the same window cut from a paired noisy recording;
* neither: input and target are the clean window (a reconstruction auto-encoder).

All randomness comes from a generator seeded by ``(seed, epoch, index, fetch count)``, so the
data set holds no global state and gives the same windows whatever the number of
``DataLoader`` workers and under a ``DistributedSampler``; call :meth:`WindowDataset.set_epoch`
at the start of every epoch, as for the sampler.

:func:`standardize` and :func:`destandardize` map a window to zero mean and unit standard
deviation per channel and back; the same functions serve training and inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from ._checks import check_db, check_int
from .index import LazyRecording, channel_power, read_span
from .io import DataError, Recording, check_finite
from .noise import NoiseModel, get_noise_model

__all__ = ["WindowStats", "standardize", "destandardize", "window_starts", "WindowDataset"]

Array = Any  # numpy.ndarray or torch.Tensor
SnrDb = float | tuple[float, float]


class WindowStats(NamedTuple):
    """Per-channel statistics of standardised windows, shaped ``(..., channels, 1)``.

    Attributes:
        mean: the mean of each channel.
        std: the scale divided by: the standard deviation, or 1 where it was at most ``eps``.
    """

    mean: Array
    std: Array


def standardize(x: Array, eps: float = 1e-8) -> tuple[Array, WindowStats]:
    """Subtract each channel's mean and divide by its standard deviation (last axis).

    Works on numpy arrays and torch tensors of shape ``(..., channels, samples)``, e.g. one
    window ``(C, L)`` or a batch ``(B, C, L)``. Statistics are computed in float64 (float32 on
    devices without it); a channel whose standard deviation is at most ``eps`` (a constant
    window) is only shifted, not scaled, so the result is always finite.

    Args:
        x: the windows.
        eps: the smallest standard deviation that is divided by.

    Returns:
        ``(y, stats)``: ``y`` of the same type, shape and dtype as ``x`` (float32 for integer
        numpy input), and the :class:`WindowStats` to undo it with :func:`destandardize`,
        at least float32.

    Example:
        >>> x = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)
        >>> y, stats = standardize(x)
        >>> np.allclose(destandardize(y, stats), x)
        True
    """
    if isinstance(x, torch.Tensor):
        work = x.float() if x.device.type == "mps" else x.double()
        mean = work.mean(dim=-1, keepdim=True)
        std = work.std(dim=-1, keepdim=True, correction=0)
        scale = torch.where(std > eps, std, torch.ones_like(std))
        out_dtype = x.dtype if x.is_floating_point() else torch.float32
        stats_dtype = torch.promote_types(out_dtype, torch.float32)
        y = ((work - mean) / scale).to(out_dtype)
        return y, WindowStats(mean.to(stats_dtype), scale.to(stats_dtype))
    array = np.asarray(x)
    out_dtype = array.dtype if np.issubdtype(array.dtype, np.floating) else np.dtype(np.float32)
    stats_dtype = np.promote_types(out_dtype, np.float32)
    work = array.astype(np.float64, copy=False)
    mean = work.mean(axis=-1, keepdims=True)
    std = work.std(axis=-1, keepdims=True)
    scale = np.where(std > eps, std, 1.0)
    y = ((work - mean) / scale).astype(out_dtype)
    return y, WindowStats(mean.astype(stats_dtype), scale.astype(stats_dtype))


def destandardize(y: Array, stats: WindowStats) -> Array:
    """Map standardised windows (e.g. a model's output) back: ``y * stats.std + stats.mean``.

    Args:
        y: numpy array or torch tensor of shape ``(..., channels, samples)``.
        stats: the :class:`WindowStats` returned by :func:`standardize` for the input.

    Returns:
        The windows in the original units, of the same type and dtype as ``y``.
    """
    if isinstance(y, torch.Tensor):
        mean = torch.as_tensor(stats.mean, device=y.device)
        std = torch.as_tensor(stats.std, device=y.device)
        return (y * std + mean).to(y.dtype)
    y = np.asarray(y)
    mean, std = stats
    if isinstance(mean, torch.Tensor):
        mean, std = mean.detach().cpu().numpy(), std.detach().cpu().numpy()
    return (y * std + mean).astype(y.dtype, copy=False)


def window_starts(length: int, window: int, hop: int) -> np.ndarray:
    """Start offsets of the windows that cover a recording on a regular grid.

    Windows start every ``hop`` samples; when the last one does not end at ``length``, one
    more window ending exactly at ``length`` is added so that the tail is covered.

    Args:
        length: samples in the recording.
        window: samples per window.
        hop: samples between window starts.

    Returns:
        An int64 array of start offsets (empty when ``length < window``).

    Example:
        >>> window_starts(10, 4, 3).tolist()
        [0, 3, 6]
        >>> window_starts(11, 4, 3).tolist()
        [0, 3, 6, 7]
    """
    if length < window:
        return np.empty(0, dtype=np.int64)
    starts = np.arange(0, length - window + 1, hop, dtype=np.int64)
    if starts[-1] != length - window:
        starts = np.append(starts, length - window)
    return starts


def _grid_counts(lengths: np.ndarray, window: int, hop: int) -> np.ndarray:
    """``len(window_starts(length, window, hop))`` for every length (all >= window)."""
    regular = (lengths - window) // hop + 1
    return regular + ((lengths - window) % hop != 0)


def _unpack(
    item: Any, index: int, names: Sequence[str] | None, what: str
) -> tuple[np.ndarray | LazyRecording, str]:
    """A recording (array, tensor or Recording) as float32 (C, L) and a name for messages;
    a :class:`~mdnc.data.index.LazyRecording` stays on disk (its spans are checked as read)."""
    if isinstance(item, LazyRecording):
        return item, (str(names[index]) if names is not None else item.name)
    if isinstance(item, Recording):
        name = str(item.path)
        item = item.data
    elif names is not None:
        name = str(names[index])
    else:
        name = f"{what} {index}"
    if isinstance(item, torch.Tensor):
        item = item.detach().cpu().numpy()
    array = np.asarray(item)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise DataError(
            f"{name}: expected a (channels, samples) array, got shape {tuple(array.shape)}"
        )
    array = np.ascontiguousarray(array, dtype=np.float32)
    if array.size == 0:
        raise DataError(f"{name}: empty recording (shape {tuple(array.shape)})")
    check_finite(array, name)
    return array, name


def _check_snr(snr_db: Any) -> SnrDb:
    """``snr_db`` as a float, or as a pair of floats ``(low, high)`` with ``low <= high``.

    Raises:
        TypeError: neither a real number nor a list or tuple of two real numbers.
        ValueError: not finite, not two numbers, or ``low > high``.
    """
    if isinstance(snr_db, Real):
        return check_db("snr_db", snr_db)
    need = "snr_db must be a number of dB or a range (low, high) with low <= high"
    if not isinstance(snr_db, (list, tuple)):
        raise TypeError(f"{need}, got {snr_db!r} ({type(snr_db).__name__}).")
    if any(isinstance(v, bool) or not isinstance(v, Real) for v in snr_db):
        raise TypeError(f"{need}, got {snr_db!r}.")
    try:
        low, high = (check_db("snr_db", v) for v in snr_db)
    except ValueError:  # not two values, or one is not finite
        raise ValueError(f"{need}, got {snr_db!r}.") from None
    if low > high:
        raise ValueError(f"{need}, got {snr_db!r}.")
    return low, high


class WindowDataset(Dataset):
    """Training windows of a list of recordings, as ``(input, target)`` tensor pairs.

    On the regular grid (the default) recording ``r`` gives the windows starting at
    :func:`window_starts` ``(length_r, window, hop)``; the items are these windows, recording
    after recording. With ``random_offsets=True`` each recording gives as many items, but
    every fetch cuts its window at a random offset of that recording (uniform over the
    valid starts), so every epoch sees new windows.

    Args:
        recordings: clean recordings: arrays or tensors of shape ``(channels, samples)`` (1-D
            is one channel), :class:`~mdnc.data.io.Recording` objects, or
            :class:`~mdnc.data.index.LazyRecording` objects read from disk a window at a
            time (the same windows, fetch for fetch, as the arrays they hold); any lengths,
            the same channel count.
        window: samples per window.
        hop: samples between window starts on the grid; default ``window`` (no overlap).
        snr_db: add noise at this SNR (dB) to make the input; or a range ``(low, high)``
            (``low <= high``): every fetch then draws its SNR uniformly in it, from the
            fetch's own generator (``(x, x)`` is the same as ``x``). ``self.snr_db`` is the
            float or the pair of floats.
        noise: the noise added with ``snr_db``: a :class:`~mdnc.data.noise.NoiseModel` or
            the name of a registered one (default ``"gaussian"``).
        noisy: paired noisy recordings, one per clean recording, of the same shape.
        random_offsets: draw the window offsets at random at every fetch.
        standardize: standardise the input window (zero mean, unit standard deviation per
            channel, see :func:`standardize`) and the target with the input's statistics.
        snr_reference: ``"recording"`` (default): the noise level is set from the power of
            the whole recording, so it is the same for all its windows, as when a recording
            is noisy; ``"window"``: from the power of each window.
        seed: the seed of all random draws; ``None`` for a fresh one (still shared by all
            workers, since it is drawn when the data set is made).
        names: names of the recordings for error messages (default: their paths for
            ``Recording`` objects, else ``"recording <i>"``).
        return_stats: also return the input window's ``mean`` and ``std`` (shape
            ``(channels, 1)``; 0 and 1 without ``standardize``) to map outputs back.

    Raises:
        DataError: a recording is empty, not 2-D, holds NaN/Inf, has another channel count
            than the first, is shorter than the window (or every recording is: the message
            gives the longest), or a noisy recording does not match its clean one.
        TypeError, ValueError: bad window, hop, SNR or options.

    Example:
        >>> data = [np.random.randn(2, 1000).astype(np.float32) for _ in range(3)]
        >>> ds = WindowDataset(data, window=256, hop=128, snr_db=5.0, seed=0)
        >>> len(ds), ds[0][0].shape
        (21, torch.Size([2, 256]))
        >>> ds.set_epoch(1)  # at the start of every epoch
        >>> WindowDataset(data, window=256, snr_db=(0, 10)).snr_db  # an SNR range
        (0.0, 10.0)
    """

    def __init__(
        self,
        recordings: Sequence[Any],
        window: int,
        hop: int | None = None,
        *,
        snr_db: float | tuple[float, float] | None = None,
        noise: NoiseModel | str = "gaussian",
        noisy: Sequence[Any] | None = None,
        random_offsets: bool = False,
        standardize: bool = False,
        snr_reference: str = "recording",
        seed: int | None = 0,
        names: Sequence[str] | None = None,
        return_stats: bool = False,
    ) -> None:
        self.window = check_int("window", window, 1)
        self.hop = self.window if hop is None else check_int("hop", hop, 1)
        snr_db, noise, seed = self._check_options(snr_db, noise, noisy, snr_reference, seed)
        self._unpack_recordings(recordings, names)
        self._check_lengths()
        self.noisy = None if noisy is None else self._pair_noisy(noisy)
        self.snr_db = snr_db
        self.noise = noise
        self.snr_reference = snr_reference
        self.random_offsets = bool(random_offsets)
        self.standardize = bool(standardize)
        self.return_stats = bool(return_stats)
        self.seed = int(np.random.SeedSequence().entropy) if seed is None else seed
        self.epoch = 0
        self._index_windows()

    @staticmethod
    def _check_options(
        snr_db: Any,
        noise: NoiseModel | str,
        noisy: Sequence[Any] | None,
        snr_reference: str,
        seed: int | None,
    ) -> tuple[SnrDb | None, NoiseModel, int | None]:
        """The checked ``snr_db``, noise model and seed; raises on a bad or clashing option."""
        if snr_db is not None:
            snr_db = _check_snr(snr_db)
        if snr_db is not None and noisy is not None:
            raise ValueError(
                "give either snr_db (synthetic noise) or noisy (paired recordings), not both"
            )
        if isinstance(noise, str):
            noise = get_noise_model(noise)
        if not isinstance(noise, NoiseModel):
            raise TypeError(
                f"noise must be a NoiseModel or the name of one, got {type(noise).__name__}"
            )
        if snr_reference not in ("recording", "window"):
            raise ValueError(
                f"snr_reference must be 'recording' or 'window', got {snr_reference!r}"
            )
        if seed is not None:
            seed = check_int("seed", seed, 0)
        return snr_db, noise, seed

    def _unpack_recordings(self, recordings: Sequence[Any], names: Sequence[str] | None) -> None:
        """Set ``recordings``, ``names`` and ``channels``; all need the same channel count."""
        if names is not None and len(names) != len(recordings):
            raise ValueError(f"got {len(names)} names for {len(recordings)} recordings")
        if len(recordings) == 0:
            raise DataError("no recordings given; expected at least one")
        unpacked = [_unpack(r, i, names, "recording") for i, r in enumerate(recordings)]
        self.recordings: list[np.ndarray | LazyRecording] = [a for a, _ in unpacked]
        self.names: list[str] = [n for _, n in unpacked]
        self.channels = self.recordings[0].shape[0]
        for array, name in unpacked:
            if array.shape[0] != self.channels:
                raise DataError(
                    f"{name}: has {array.shape[0]} channel(s) but {self.names[0]} has "
                    f"{self.channels}; all recordings need the same channel count"
                )

    def _pair_noisy(self, noisy: Sequence[Any]) -> list[np.ndarray | LazyRecording]:
        """The noisy recordings, checked to pair up one to one with the clean ones."""
        if len(noisy) != len(self.recordings):
            raise DataError(
                f"got {len(noisy)} noisy recordings for {len(self.recordings)} clean ones; "
                "they must pair up one to one"
            )
        paired = []
        for i, item in enumerate(noisy):
            array, name = _unpack(item, i, None, "noisy recording")
            if array.shape != self.recordings[i].shape:
                raise DataError(
                    f"{name}: shape {array.shape} (channels, samples) does not match its "
                    f"clean recording {self.names[i]} of shape {self.recordings[i].shape}"
                )
            paired.append(array)
        return paired

    def _index_windows(self) -> None:
        """Per recording, its power and grid starts; the item ends and fetch counters."""
        # Read once here (not in every worker), and only when noise is scaled to it.
        needed = self.snr_db is not None and self.snr_reference == "recording"
        self._powers = [channel_power(a) if needed else None for a in self.recordings]
        # Per recording its count of grid windows, not their starts (computed when needed):
        # the memory per window is the 2-byte fetch counter alone.
        lengths = np.array([a.shape[1] for a in self.recordings], dtype=np.int64)
        self._lengths = lengths
        self._ends = np.cumsum(_grid_counts(lengths, self.window, self.hop))
        # Fetches of each item this epoch; at 65,536 fetches of one item in one epoch the
        # count wraps around (and that item's draws repeat).
        self._fetches = np.zeros(int(self._ends[-1]), dtype=np.uint16)

    def _check_lengths(self) -> None:
        lengths = [a.shape[1] for a in self.recordings]
        longest = int(np.argmax(lengths))
        if lengths[longest] < self.window:
            raise DataError(
                f"the window of {self.window} samples is longer than every recording; the "
                f"longest, {self.names[longest]}, has {lengths[longest]} samples"
            )
        for length, name in zip(lengths, self.names, strict=True):
            if length < self.window:
                raise DataError(
                    f"{name}: {length} samples, shorter than the window of {self.window} "
                    "samples; use a shorter window or leave this recording out"
                )

    def __len__(self) -> int:
        return int(self._ends[-1])

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch that seeds the random draws (call before every epoch).

        With ``persistent_workers=True`` the workers keep their own copy and do not see the
        new epoch; their fetch counters still make every draw new, but the draws then depend
        on the worker layout. Without persistent workers (the default) they do not.

        Args:
            epoch: the epoch number (>= 0).
        """
        self.epoch = check_int("epoch", epoch, 0)
        # Each epoch starts from the first draw of every index, whatever was fetched before,
        # so that a resumed run sees the same data as an uninterrupted one.
        self._fetches[:] = 0

    def locate(self, index: int) -> tuple[int, int]:
        """The recording of item ``index`` and its grid start offset.

        Args:
            index: an item index in ``[0, len(self))`` (negative counts from the end).

        Returns:
            ``(recording index, start offset)``; with ``random_offsets`` the offset of a fetch
            is drawn at random instead.

        Raises:
            IndexError: ``index`` is out of range.
        """
        size = len(self)
        if not -size <= index < size:
            raise IndexError(f"window index {index} out of range for {size} windows")
        index %= size
        recording = int(np.searchsorted(self._ends, index, side="right"))
        first = 0 if recording == 0 else int(self._ends[recording - 1])
        regular = index - first  # the grid's window, or the one ending at the last sample
        start = min(regular * self.hop, int(self._lengths[recording]) - self.window)
        return recording, start

    def _draw_snr(self, rng: np.random.Generator) -> float:
        """The SNR of one fetch: ``snr_db``, or a uniform draw in its range."""
        if not isinstance(self.snr_db, tuple):
            return self.snr_db
        low, high = self.snr_db
        # No draw for an empty range, so that (x, x) gives the very windows of x.
        return low if low == high else float(rng.uniform(low, high))

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        recording, start = self.locate(index)
        index %= len(self)
        fetch = int(self._fetches[index])
        self._fetches[index] = (fetch + 1) & 0xFFFF
        # Seeded by position, not by call order, so DataLoader workers and a
        # DistributedSampler see the same data; the fetch count keeps repeats fresh.
        rng = np.random.default_rng([self.seed, self.epoch, index, fetch])
        clean_recording = self.recordings[recording]
        if self.random_offsets:
            start = int(rng.integers(0, clean_recording.shape[1] - self.window + 1))
        stop = start + self.window
        target = read_span(clean_recording, start, stop)
        if self.noisy is not None:
            source = read_span(self.noisy[recording], start, stop)
        elif self.snr_db is not None:
            power = self._powers[recording] if self.snr_reference == "recording" else None
            source = self.noise.add(target, self._draw_snr(rng), rng, power=power)
        else:
            source = target
        if self.standardize:
            source, stats = standardize(source)
            target = ((target - stats.mean) / stats.std).astype(np.float32)
            mean, std = stats.mean.astype(np.float32), stats.std.astype(np.float32)
        else:
            mean = np.zeros((self.channels, 1), dtype=np.float32)
            std = np.ones((self.channels, 1), dtype=np.float32)
        # Copies, so that callers never write into the recordings.
        items = [
            torch.tensor(source, dtype=torch.float32),
            torch.tensor(target, dtype=torch.float32),
        ]
        if self.return_stats:
            items += [torch.from_numpy(mean), torch.from_numpy(std)]
        return tuple(items)
