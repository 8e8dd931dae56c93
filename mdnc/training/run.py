"""Train a run on recording files: the one call behind ``mdnc train``.

:func:`train_run` takes what the command line takes (files and folders, the options of
:class:`DataConfig` and :class:`TrainConfig` as keywords or as configs), checks the run
folder and the options before reading any recording, describes the recordings from their
headers (reusing the run's ``index.json``), reads them whole or lazily, and trains. The
sampling rates and channel names the files give travel with the run: into
``metrics.json`` and into the settings denoising uses (:class:`~mdnc.inference.spec.
InferenceSpec`). Recordings of different rates are refused unless ``any_rate``.

Example:
    >>> import mdnc
    >>> metrics = mdnc.train(["eeg/"], "runs/eeg", snr_db=5, epochs=20)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import UsageError
from .config import ConfigError, DataConfig, TrainConfig, objective_option_fields
from .objectives import SplitData, get_objective, objective_class

__all__ = ["RESUMABLE", "SYNTHETIC_SNR_DB", "train_run", "load_data", "resumed_options"]

#: SNR of the noise added to the built-in synthetic data when none is given, and of the
#: noisy synthetic recordings of the objectives without clean data.
SYNTHETIC_SNR_DB = 5.0
#: Seed offset of the noise of the noisy synthetic recordings.
SYNTHETIC_NOISE_SEED = 424242
#: Options that may be changed when resuming a run (the rest is the run's own).
RESUMABLE = ("epochs", "device", "workers")
#: Relative difference of two sampling rates that still counts as the same rate.
RATE_TOLERANCE = 1e-6


class TrainingData(NamedTuple):
    """What the trainer is given."""

    recordings: list
    noisy: list | None
    names: list[str]
    truth: list | None = None
    noise: Any = None
    fields: dict[str, Any] | None = None  # sample_rate, channel_names of the files


def _synthetic(source: DataConfig, config: TrainConfig) -> TrainingData:
    """The built-in data set: clean for an objective trained on clean recordings; else as
    many noisy copies as the objective takes, at :data:`SYNTHETIC_SNR_DB`, scored
    against the clean truth."""
    from ..data import get_noise_model, make_synthetic
    from ..limits import check_memory

    n, length = source.synthetic
    copies = objective_class(config.objective).noisy_copies
    # float32 samples, generated through float64, with the noisy copies: checked first.
    check_memory(
        (4 + 2 * min(copies, 1) * 1.0) * 4.0 * n * length * source.channels,
        f"--synthetic {n} {length}", "give fewer or shorter recordings",
    )  # fmt: skip
    clean = make_synthetic(n, length, channels=source.channels, seed=config.seed)
    names = [f"synthetic {i}" for i in range(n)]
    if copies == 0:
        return TrainingData(clean, None, names)
    noise = get_noise_model(config.noise, **config.noise_params())
    rng = np.random.default_rng([config.seed, SYNTHETIC_NOISE_SEED])
    first = [noise.add(c, SYNTHETIC_SNR_DB, rng) for c in clean]
    second = [noise.add(c, SYNTHETIC_SNR_DB, rng) for c in clean]
    return TrainingData(first, second if copies > 1 else None, names, clean)


def _noise_files(source: DataConfig, channels: int, first: str) -> Any:
    """The recorded noise of ``noise_files``, checked against the recordings' channels."""
    from ..data import DataError, RecordedNoise, check_channels, read_recordings

    recordings = read_recordings(source.noise_files, key=source.key)
    check_channels(recordings, expected=channels, source=first)
    try:
        return RecordedNoise([r.data for r in recordings], [str(r.path) for r in recordings])
    except ValueError as err:  # e.g. a channel that is all zeros
        raise DataError(f"--noise-files: {err}") from None


def _check_rates(infos: Sequence[Any], any_rate: bool) -> float | None:
    """The common sampling rate the files say (None when none says one).

    Raises:
        DataError: two files say different rates and ``any_rate`` is not set.
    """
    from ..data import DataError

    rated = [i for i in infos if i.sample_rate]
    if not rated:
        return None
    first = rated[0]
    for info in rated[1:]:
        if abs(info.sample_rate - first.sample_rate) > RATE_TOLERANCE * first.sample_rate:
            if any_rate:
                return None
            raise DataError(
                f"{info.path}: sampled at {info.sample_rate:g} Hz, but {first.path} at "
                f"{first.sample_rate:g} Hz; resample them to one rate, or train on both "
                "(--any-rate, any_rate=True) if that is intended"
            )
    return float(first.sample_rate)


def _split(infos: list[Any], lazy: bool, split: bool) -> tuple[list[Any], list[str]]:
    """The recordings to train on, and their names: each channel on its own if ``split``."""
    from ..data.index import open_recordings

    opened = open_recordings(infos, lazy)
    if not split:
        return opened, [str(i.path) for i in infos]
    out, names = [], []
    for info, rec in zip(infos, opened, strict=True):
        labels = info.channel_names or [str(c) for c in range(info.channels)]
        for c in range(info.channels):
            out.append(rec.channel(c) if hasattr(rec, "channel") else rec[c : c + 1])
            names.append(f"{info.path} [{labels[c]}]")
    return out, names


def _described(source: DataConfig, cache: Path | None, progress: bool) -> tuple[list, list]:
    """The DATA recordings and their noisy pairs, described from their headers."""
    from ..data import DataError, check_channels, find_recordings
    from ..data.index import index_recordings

    if source.noisy:  # counted before anything is read
        n_data, n_noisy = len(find_recordings(source.paths)), len(find_recordings(source.noisy))
        if n_data != n_noisy:
            raise DataError(
                f"--noisy/--noisy-pair: {n_noisy} recordings for {n_data} DATA recordings; "
                "they pair up one to one, in the same order."
            )
    found = index_recordings(source.paths, key=source.key, cache=cache, progress=progress,
                             update=False, check=not source.split_channels)  # fmt: skip
    paired = []
    if source.noisy:
        paired = index_recordings(source.noisy, key=source.key, cache=cache, progress=progress,
                                  update=False, check=not source.split_channels)  # fmt: skip
        check_channels(paired, expected=found[0].channels, source=str(found[0].path))
    return found, paired


def load_data(
    source: DataConfig, config: TrainConfig, cache: Path | None = None, progress: bool = True
) -> TrainingData:
    """The recordings that ``source`` describes, for ``config``'s objective: described from
    their headers (``cache``: the run's index, only read here: the trainer writes it once
    it holds the folder), then read whole or opened for lazy reads as ``source.loading``
    says (or the built-in synthetic set, without paths).

    Raises:
        DataError: a file cannot be read; pairs or channel counts do not match; rates
            differ (without ``any_rate``).
        ResourceError: the recordings read whole would not fit in memory.
    """
    from ..data.index import use_lazy

    if not source.paths:
        return _synthetic(source, config)
    found, paired = _described(source, cache, progress)
    rate = _check_rates(found + paired, source.any_rate)
    lazy = use_lazy(source.loading, found + paired)
    if not lazy:  # read whole: refused, before reading, when the samples do not fit
        from ..limits import check_memory

        check_memory(
            sum(i.nbytes for i in found + paired), f"--loading memory of {len(found)} DATA "
            "recording(s)", "use --loading lazy",
        )  # fmt: skip
    recordings, names = _split(found, lazy, source.split_channels)
    noisy = _split(paired, lazy, source.split_channels)[0] if paired else None
    channels = 1 if source.split_channels else found[0].channels
    noise = _noise_files(source, channels, str(found[0].path)) if source.noise_files else None
    labels = None if source.split_channels else found[0].channel_names
    fields = {"sample_rate": rate, "channel_names": labels}
    return TrainingData(recordings, noisy, names, noise=noise, fields=fields)


def check_objective(config: TrainConfig, source: DataConfig, noise_given: bool) -> None:
    """The objective's check of the data, and of the noise options, before any recording
    is read.

    Raises:
        ConfigError: the options do not go together.
    """
    cls = objective_class(config.objective)
    # The synthetic data of an objective of two noisy copies comes in pairs.
    paired = bool(source.noisy) or (not source.paths and cls.noisy_copies > 1)
    get_objective(config).check(SplitData([], [], [] if paired else None))
    if source.noise_files:
        if not cls.trains_on_clean or config.snr_db is None or not source.paths:
            raise ConfigError(
                "noise_files (--noise-files) are mixed into clean DATA recordings at snr_db: "
                "they need --objective supervised, DATA and --snr-db."
            )
        if noise_given:
            raise ConfigError(
                "give either a noise model (--noise) or recorded noise (--noise-files), not both."
            )


def _with_file_rate(config: TrainConfig, rate: float, given: bool) -> TrainConfig:
    """``config`` with the sampling rate the files say (for the hum noise model).

    Raises:
        ConfigError: ``sample_rate`` was given and differs from the files' rate.
    """
    if given and abs(config.sample_rate - rate) > RATE_TOLERANCE * rate:
        raise ConfigError(
            f"sample_rate (--sample-rate) is {config.sample_rate:g} Hz but the recordings say "
            f"they are sampled at {rate:g} Hz; leave it out, the files' rate is used."
        )
    try:
        return dataclasses.replace(config, sample_rate=rate)
    except ConfigError as err:  # e.g. a rate that is no whole number of Hz, or hum_hz above
        raise ConfigError(f"the recordings' sampling rate of {rate:g} Hz: {err}") from None


def new_options(
    inputs: Sequence[Any], data: DataConfig | None, config: TrainConfig | None,
    options: dict[str, Any],
) -> tuple[DataConfig, TrainConfig]:  # fmt: skip
    """The configs of a new run: ``data``/``config`` (or the defaults), updated with the
    keyword ``options`` and the ``inputs``."""
    data_fields = {f.name for f in dataclasses.fields(DataConfig)}
    train_fields = {*TrainConfig().flat(), *objective_option_fields()}
    unknown = sorted(set(options) - data_fields - train_fields)
    if unknown:
        raise UsageError(f"unknown option(s) {', '.join(unknown)}; see DataConfig, TrainConfig")
    data_options = {k: v for k, v in options.items() if k in data_fields}
    if inputs:
        data_options["paths"] = [os.fspath(p) for p in inputs]
        if data is not None and "noisy" not in data_options:
            data_options["noisy"] = []  # the pairs of other recordings do not carry over
    base = dataclasses.asdict(data) if data is not None else {}
    source = DataConfig(**{**base, **data_options}).resolved()
    given = {k: v for k, v in options.items() if k in train_fields}
    same = config is not None and given.get("objective", config.objective) == config.objective
    # The options of another objective than the one asked for do not carry over.
    train = {**(config.flat(objective_options=same) if config is not None else {}), **given}
    objective = train.get("objective", "supervised")
    if not source.paths and objective_class(objective).trains_on_clean:
        train.setdefault("snr_db", SYNTHETIC_SNR_DB)  # the synthetic set is clean
    if train.get("init_from"):
        train["init_from"] = str(Path(train["init_from"]).resolve())
    return source, TrainConfig.from_flat(train)


def resumed_options(out: Path, overrides: dict[str, Any]) -> tuple[DataConfig, TrainConfig]:
    """The saved options of the run in ``out``, with the :data:`RESUMABLE` ones changed.

    Raises:
        UsageError: another option is given, or ``out`` is no run of ``mdnc train``.
        CheckpointError: the saved options are not valid.
    """
    from ..checkpoint import CheckpointError, read_config

    other = sorted(set(overrides) - set(RESUMABLE))
    if other:
        raise UsageError(
            f"resuming continues {out} with its saved options; only {', '.join(RESUMABLE)} "
            f"may change, not {', '.join(other)}."
        )
    _refuse_running(out)
    saved = read_config(out).get("extra", {})
    saved = saved if isinstance(saved, dict) else {}
    if not all(isinstance(saved.get(k), dict) for k in ("train", "data")):
        raise UsageError(f"{out}: not a run folder of `mdnc train` (no training options saved).")
    fields = {f.name for f in dataclasses.fields(DataConfig)}
    try:
        source = DataConfig(**{k: v for k, v in dict(saved["data"]).items() if k in fields})
        config = TrainConfig.from_flat({**dict(saved["train"]), **overrides}, legacy=True)
    except (TypeError, ValueError) as err:
        raise CheckpointError(
            f"{out / 'config.json'}: the training options saved there are not valid ({err}); "
            "the file was changed or comes from another version of mdnc."
        ) from None
    return source, config


def _refuse_running(out: Path) -> None:
    """A run that has no checkpoint yet but whose training is running: say so (rather
    than "not a checkpoint folder")."""
    from .._utils import FolderLockedError, folder_lock
    from .trainer import RunInUseError

    if out.is_dir() and not (out / "config.json").exists():
        try:
            with folder_lock(out):
                pass
        except FolderLockedError as err:
            raise RunInUseError(str(err)) from None


def train_run(
    inputs: Sequence[str | os.PathLike[str]] = (),
    out: str | os.PathLike[str] | None = None,
    *,
    data: DataConfig | None = None,
    config: TrainConfig | None = None,
    resume: str | os.PathLike[str] | None = None,
    force: bool = False,
    progress: bool = True,
    noise_given: bool | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Train a run on recording files (or the built-in synthetic set) into ``out``.

    Args:
        inputs: files or folders of recordings (DATA); none: the synthetic set, or
            ``data.paths``.
        out: the run folder (new, empty, or ``force``).
        data: the data options (:class:`DataConfig`); ``options`` override them.
        config: the training options (:class:`TrainConfig`); ``options`` override them.
        resume: continue the run in this folder with its saved options (only
            ``epochs``, ``device`` and ``workers`` may be given).
        force: write a new run into a folder that holds other files (never into a run).
        progress: progress bars and a line per epoch.
        noise_given: whether a noise model was chosen (default: ``"noise" in options``),
            which recorded noise (``noise_files``) excludes.
        **options: any field of :class:`DataConfig` or :class:`TrainConfig`.

    Returns:
        The content of the run's ``metrics.json``.

    Raises:
        ConfigError: options that do not go together, or a folder that may not take the
            run (:func:`~mdnc.training.folder.check_run_folder`).
        DataError, ResourceError, DivergenceError, CheckpointError: as the training.
        UsageError: an unknown option, or options given with ``resume``.
    """
    from ..data.index import INDEX_NAME
    from . import train
    from .folder import check_run_folder

    if resume is not None:
        out = Path(resume)
        source, cfg = resumed_options(out, options)
    else:
        if out is None:
            raise UsageError("out (--out RUN_DIR) is required, or resume (--resume RUN_DIR).")
        out = check_run_folder(out, force=force)
        source, cfg = new_options(inputs, data, config, options)
        check_objective(cfg, source, "noise" in options if noise_given is None else noise_given)
    loaded = load_data(source, cfg, out / INDEX_NAME, progress=progress)
    if resume is None and loaded.fields and loaded.fields["sample_rate"]:
        cfg = _with_file_rate(cfg, loaded.fields["sample_rate"], "sample_rate" in options)
    extra = {"recordings": loaded.fields} if loaded.fields else None
    return train(
        cfg, loaded.recordings, out, noisy=loaded.noisy, names=loaded.names,
        resume=resume is not None, progress=progress, source=source, truth=loaded.truth,
        noise=loaded.noise, force=force, extra=extra,
    )  # fmt: skip
