"""``mdnc train``: train a denoising or reconstruction auto-encoder on recordings.

The options are generated from :class:`mdnc.training.DataConfig` and
:class:`mdnc.training.TrainConfig` (documented there, once). ``--config FILE.toml``
reads options from a file; options on the command line override it. Every run folder
keeps its options as ``config.toml``, so ``--config RUN/config.toml`` repeats
a run.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ._models import add_command
from ._options import add_dataclass_options, flag, given

HELP = "train an auto-encoder (UNet1d by default) on recordings or built-in synthetic signals"
EXAMPLES = """\
examples:
  mdnc train --out runs/demo                        # built-in synthetic signals, 5 dB noise
  mdnc train recordings/ --snr-db 5 --out runs/ecg  # a folder of .npy/.wav/.csv/... files
  mdnc train clean/*.npy --noisy noisy/*.npy --out runs/paired
  mdnc train noisy/ --objective self-supervised --out runs/n2v  # noisy recordings only
  mdnc train trial1/ --noisy-pair trial2/ --objective noise2noise --out runs/n2n
  mdnc train clean/ --noise pink --snr-db 0:10 --out runs/pink  # SNR drawn per window
  mdnc train clean/ --noise hum --hum-hz 60 --sample-rate 500 --snr-db 5 --out runs/hum
  mdnc train clean/ --noise-files noise_only/ --snr-db 5 --out runs/recorded
  mdnc train data.h5 --key ecg --snr-db 0 --epochs 60 --device cuda --amp --out runs/gpu
  mdnc train --resume runs/ecg                      # continue after a crash or a kill
  mdnc train --config runs/ecg/config.toml --out runs/ecg2         # repeat a run
  mdnc train --config runs/ecg/config.toml --lr 1e-3 --out runs/b  # ... with one change
  mdnc train new/ --snr-db 5 --init-from runs/ecg --out runs/tuned # fine-tune a run
  torchrun --nproc_per_node=2 -m mdnc train recordings/ --snr-db 5 --out runs/ddp
  mdnc train archive/ --snr-db 5 --loading lazy --steps-per-epoch 2000 --workers 4 --out runs/big

Recordings are (channels, samples) arrays of any length (.npy, .npz, .h5/.hdf5, .csv with
columns = channels, .wav, .flac); they are cut into windows. Above 512 MiB they are read
lazily, each window from disk when drawn (--loading). The run folder receives
model.safetensors + config.json (load with mdnc.load), optimizer.pt (for --resume),
config.toml (the options; --config reads it), metrics.json, loss.png, examples.png and,
for data read lazily, index.json (the recordings' headers, reused by the next run).
"""

#: SNR of the noise added to the built-in synthetic data when none is given, and of the
#: noisy synthetic recordings of the objectives without clean data.
SYNTHETIC_SNR_DB = 5.0
#: Seed offset of the noise of the noisy synthetic recordings.
SYNTHETIC_NOISE_SEED = 424242
#: Options that may be changed when resuming a run (the rest is the run's own).
RESUMABLE = ("epochs", "device", "workers")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from mdnc.training import DataConfig, TrainConfig

    parser = add_command(subparsers, "train", HELP, EXAMPLES)
    group = parser.add_argument_group("run")
    group.add_argument("--out", metavar="RUN_DIR", help="the run folder (required unless --resume)")
    group.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    group.add_argument(
        "--config",
        metavar="FILE.toml",
        help="read options from a TOML file with [data] and [train] tables (a run's "
        "config.toml); options given here override it; relative paths in the file are "
        "taken from the file's folder",
    )
    group.add_argument(
        "--force", action="store_true",
        help="write the run into a folder that holds other files (never into another run)",
    )  # fmt: skip
    group.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    groups = add_dataclass_options(parser, DataConfig)
    add_dataclass_options(parser, TrainConfig, groups)
    parser.set_defaults(run=run)


class _Data(NamedTuple):
    """What ``mdnc train`` hands the trainer."""

    recordings: list
    noisy: list | None
    names: list[str]
    truth: list | None = None
    noise: Any = None


def _synthetic(source: Any, config: Any) -> _Data:
    """The built-in data set: clean for the supervised objective; else noisy copies at
    :data:`SYNTHETIC_SNR_DB` (two for noise2noise), scored against the clean truth."""
    from mdnc.data import get_noise_model, make_synthetic
    from mdnc.limits import check_memory

    n, length = source.synthetic
    # float32 samples, generated through float64, with the noisy copies of the objectives
    # without clean data: checked before any is made.
    copies = 4 if config.objective == "supervised" else 6
    check_memory(
        copies * 4.0 * n * length * source.channels, f"--synthetic {n} {length}",
        "give fewer or shorter recordings",
    )  # fmt: skip
    clean = make_synthetic(n, length, channels=source.channels, seed=config.seed)
    names = [f"synthetic {i}" for i in range(n)]
    if config.objective == "supervised":
        return _Data(clean, None, names)
    noise = get_noise_model(config.noise, **config.noise_params())
    rng = np.random.default_rng([config.seed, SYNTHETIC_NOISE_SEED])
    first = [noise.add(c, SYNTHETIC_SNR_DB, rng) for c in clean]
    second = [noise.add(c, SYNTHETIC_SNR_DB, rng) for c in clean]
    return _Data(first, second if config.objective == "noise2noise" else None, names, clean)


def _noise_files(source: Any, channels: int, first: str) -> Any:
    """The recorded noise of ``--noise-files``, checked against the recordings' channels."""
    from mdnc.data import DataError, RecordedNoise, check_channels, read_recordings

    recordings = read_recordings(source.noise_files, key=source.key)
    check_channels(recordings, expected=channels, source=first)
    try:
        return RecordedNoise([r.data for r in recordings], [str(r.path) for r in recordings])
    except ValueError as err:  # e.g. a channel that is all zeros
        raise DataError(f"--noise-files: {err}") from None


def _load_data(source: Any, config: Any, cache: Path | None = None, progress: bool = True) -> _Data:
    """The recordings that ``source`` (a DataConfig) describes, for ``config``'s objective:
    described from their headers (``cache``: the run's index, only read here: the trainer
    writes it once it holds the folder), then read whole or opened for lazy reads as
    ``source.loading`` says."""
    from mdnc.data import DataError, check_channels, find_recordings
    from mdnc.data.index import index_recordings, open_recordings, use_lazy

    if not source.paths:
        return _synthetic(source, config)
    if source.noisy:  # counted before anything is read
        n_data, n_noisy = len(find_recordings(source.paths)), len(find_recordings(source.noisy))
        if n_data != n_noisy:
            raise DataError(
                f"--noisy/--noisy-pair: {n_noisy} recordings for {n_data} DATA recordings; "
                "they pair up one to one, in the same order."
            )
    found = index_recordings(
        source.paths, key=source.key, cache=cache, progress=progress, update=False
    )
    first = str(found[0].path)
    paired = []
    if source.noisy:
        paired = index_recordings(
            source.noisy, key=source.key, cache=cache, progress=progress, update=False
        )
        check_channels(paired, expected=found[0].channels, source=first)
    lazy = use_lazy(source.loading, found + paired)
    if not lazy:  # read whole: refused, before reading, when the samples do not fit
        from mdnc.limits import check_memory

        check_memory(
            sum(i.nbytes for i in found + paired), f"--loading memory of {len(found)} DATA "
            "recording(s)", "use --loading lazy",
        )  # fmt: skip
    noise = _noise_files(source, found[0].channels, first) if source.noise_files else None
    return _Data(
        open_recordings(found, lazy), open_recordings(paired, lazy) if paired else None,
        [str(i.path) for i in found], noise=noise,
    )  # fmt: skip


def _checked_file(cls: type, file: dict[str, Any], cli: dict[str, Any], path: str) -> None:
    """Check the file's options that the command line does not override, naming the file."""
    from mdnc.training import ConfigError

    try:
        cls(**{k: v for k, v in file.items() if k not in cli})
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def _read_file(path: str) -> dict[str, dict[str, Any]]:
    """The options of a TOML file, its relative paths taken from the file's folder."""
    from mdnc.training import read_toml

    found = read_toml(path)
    folder = Path(path).parent

    def anchored(p: Any) -> Any:
        return str(folder / p) if isinstance(p, str) and not Path(p).is_absolute() else p

    for name in ("paths", "noisy", "noise_files"):
        if isinstance(found["data"].get(name), list):
            found["data"][name] = [anchored(p) for p in found["data"][name]]
    if "init_from" in found["train"]:
        found["train"]["init_from"] = anchored(found["train"]["init_from"])
    return found


def _run_files() -> set[str]:
    """What a run folder holds (a run killed before its first checkpoint, some of it)."""
    from mdnc.checkpoint import BEST_NAME, CONFIG_NAME, TRAINING_NAME, WEIGHTS_NAME
    from mdnc.data.index import INDEX_NAME
    from mdnc.training.report import EXAMPLES_PLOT_NAME, LOSS_PLOT_NAME, METRICS_NAME
    from mdnc.training.trainer import CONFIG_TOML

    return {CONFIG_NAME, CONFIG_TOML, WEIGHTS_NAME, BEST_NAME, TRAINING_NAME, METRICS_NAME,
            LOSS_PLOT_NAME, EXAMPLES_PLOT_NAME, INDEX_NAME}  # fmt: skip


def _check_out(out: Path, force: bool) -> None:
    """Refuse an ``--out`` that is a file, holds a run, or holds files of the user's."""
    from mdnc._utils import LOCK_NAME, is_leftover

    from . import UsageError

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: a file is there; give a folder for the run.")
    if (out / "config.json").exists():
        raise UsageError(f"{out} already holds a run; use --resume {out} or another --out.")
    if not out.is_dir() or force:
        return
    ours = _run_files() | {LOCK_NAME}
    foreign = sorted(
        p.name for p in out.iterdir() if p.name not in ours and not is_leftover(p.name)
    )
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise UsageError(
            f"--out {out} is a folder of other files ({', '.join(foreign[:3])}{more}), not a "
            "run: give a new or empty folder, or --force to write the run's files among them."
        )


def _new_run(args: argparse.Namespace) -> tuple[Any, Any, Path]:
    """The options of a new run: the file's, overridden by the command line's."""
    from mdnc.training import DataConfig, TrainConfig

    from . import UsageError

    if not args.out:
        raise UsageError("--out RUN_DIR is required (or --resume RUN_DIR).")
    out = Path(args.out)
    _check_out(out, args.force)
    file = _read_file(args.config) if args.config else {"data": {}, "train": {}}
    data_cli, train_cli = given(args, DataConfig), given(args, TrainConfig)
    if "paths" in data_cli:  # recordings given here replace the file's, and their pairs
        file["data"].pop("paths", None)
        file["data"].pop("noisy", None)
    if args.config:
        _checked_file(DataConfig, file["data"], data_cli, args.config)
        _checked_file(TrainConfig, file["train"], train_cli, args.config)
    source = DataConfig(**{**file["data"], **data_cli}).resolved()
    options = {**file["train"], **train_cli}
    if not source.paths and options.get("objective", "supervised") == "supervised":
        options.setdefault("snr_db", SYNTHETIC_SNR_DB)
    if options.get("init_from"):
        options["init_from"] = str(Path(options["init_from"]).resolve())
    config = TrainConfig(**options)
    _check_objective(config, source, "noise" in train_cli)
    return source, config, out


def _check_objective(config: Any, source: Any, noise_given: bool) -> None:
    """The objective's check of the data, and the noise options, before any recording is
    read."""
    from mdnc.training import ConfigError, SplitData, get_objective

    # The synthetic data of noise2noise comes in pairs (see _synthetic).
    paired = bool(source.noisy) or (not source.paths and config.objective == "noise2noise")
    get_objective(config).check(SplitData([], [], [] if paired else None))
    if source.noise_files:
        if config.objective != "supervised" or config.snr_db is None or not source.paths:
            raise ConfigError(
                "noise_files (--noise-files) are mixed into clean DATA recordings at snr_db: "
                "they need --objective supervised, DATA and --snr-db."
            )
        if noise_given:
            raise ConfigError(
                "give either a noise model (--noise) or recorded noise (--noise-files), not both."
            )


def _refuse_running(out: Path) -> None:
    """A run that has no checkpoint yet but whose training is running: say so (rather
    than "not a checkpoint folder")."""
    from mdnc._utils import FolderLockedError, folder_lock
    from mdnc.training import RunInUseError

    if out.is_dir() and not (out / "config.json").exists():
        try:
            with folder_lock(out):
                pass
        except FolderLockedError as err:
            raise RunInUseError(str(err)) from None


def _resumed_run(args: argparse.Namespace) -> tuple[Any, Any, Path]:
    """The saved options of the run in ``--resume`` (``--epochs`` etc. may change)."""
    from mdnc.checkpoint import CheckpointError, read_config
    from mdnc.training import DataConfig, TrainConfig
    from mdnc.training.config import LEGACY_OPTIONS

    from . import UsageError

    out = Path(args.resume)
    other = [
        "DATA" if k == "paths" else flag(k)
        for k in {**given(args, DataConfig), **given(args, TrainConfig)}
    ]
    other += ["--out"] * bool(args.out) + ["--config"] * bool(args.config)
    other += ["--force"] * bool(args.force)
    other = [o for o in other if o[2:].replace("-", "_") not in RESUMABLE]
    if other:
        raise UsageError(
            f"--resume continues {out} with its saved options; only "
            f"{', '.join(map(flag, RESUMABLE))} may be given with it, not {', '.join(other)}."
        )
    _refuse_running(out)
    saved = read_config(out).get("extra", {})
    saved = saved if isinstance(saved, dict) else {}
    if not all(isinstance(saved.get(k), dict) for k in ("train", "data")):
        raise UsageError(f"{out}: not a run folder of `mdnc train` (no training options saved).")
    fields = {f.name for f in dataclasses.fields(DataConfig)}
    try:
        source = DataConfig(**{k: v for k, v in dict(saved["data"]).items() if k in fields})
        options = {**LEGACY_OPTIONS, **dict(saved["train"]), **given(args, TrainConfig)}
        config = TrainConfig(**options)
    except (TypeError, ValueError) as err:
        raise CheckpointError(
            f"{out / 'config.json'}: the training options saved there are not valid ({err}); "
            "the file was changed or comes from another version of mdnc."
        ) from None
    return source, config, out


def run(args: argparse.Namespace) -> int:
    """Run ``mdnc train`` with parsed arguments; return the exit code."""
    from mdnc.data.index import INDEX_NAME
    from mdnc.training import train

    source, config, out = _resumed_run(args) if args.resume else _new_run(args)
    data = _load_data(source, config, out / INDEX_NAME, progress=not args.quiet)
    metrics = train(
        config,
        data.recordings,
        out,
        noisy=data.noisy,
        names=data.names,
        resume=bool(args.resume),
        progress=not args.quiet,
        source=source,
        truth=data.truth,
        noise=data.noise,
    )
    if metrics and not args.quiet:
        print(f"report: {out / 'metrics.json'}, {out / 'loss.png'}, {out / 'examples.png'}")
    return 0
