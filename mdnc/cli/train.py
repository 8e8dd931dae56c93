"""``mdnc train``: train a denoising or reconstruction auto-encoder on recordings.

The options are generated from :class:`mdnc.training.DataConfig` and
:class:`mdnc.training.TrainConfig` (documented there, once). ``--config FILE.toml``
reads options from a file; options on the command line override it. Every run folder
keeps its options as ``config.toml``, so ``--config RUN/config.toml`` repeats
a run.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._models import add_command
from ._options import add_dataclass_options, flag, given, given_all

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

#: Options that may be changed when resuming a run (the rest is the run's own).
RESUMABLE = ("epochs", "device", "workers")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from mdnc.training import DataConfig

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
    for cls in _train_classes():
        add_dataclass_options(parser, cls, groups)
    parser.set_defaults(run=run)


def _train_classes() -> list[type]:
    """:class:`~mdnc.training.TrainConfig` and the options class of every objective (their
    fields are the options of the ``[train]`` table)."""
    from mdnc.training import TrainConfig
    from mdnc.training.objectives import list_objectives, objective_class

    return [TrainConfig, *(objective_class(n).options_class for n in list_objectives())]


def _checked_file(make: Any, options: dict[str, Any], path: str) -> None:
    """Check options of the file ``path`` (those the command line does not override) by
    making ``make(options)``; an error names the file."""
    from mdnc.training import ConfigError

    try:
        make(options)
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


def _new_run(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments of :func:`~mdnc.training.run.train_run` for a new run: the file's
    options, overridden by the command line's."""
    from mdnc.training import DataConfig, TrainConfig

    from . import UsageError

    if not args.out:
        raise UsageError("--out RUN_DIR is required (or --resume RUN_DIR).")
    file = _read_file(args.config) if args.config else {"data": {}, "train": {}}
    data_cli, train_cli = given(args, DataConfig), given_all(args, _train_classes())
    if "paths" in data_cli:  # recordings given here replace the file's, and their pairs
        file["data"].pop("paths", None)
        file["data"].pop("noisy", None)
    if args.config:
        data = {k: v for k, v in file["data"].items() if k not in data_cli}
        train = {k: v for k, v in file["train"].items() if k not in train_cli}
        if "objective" in train_cli:  # the file's options checked for the objective asked for
            train["objective"] = train_cli["objective"]
        _checked_file(lambda o: DataConfig(**o), data, args.config)
        _checked_file(TrainConfig.from_flat, train, args.config)
    return {
        "out": args.out, "data": DataConfig(**{**file["data"], **data_cli}),
        "force": args.force, "noise_given": "noise" in train_cli,
        **file["train"], **train_cli,
    }  # fmt: skip


def _resumed_run(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments of :func:`~mdnc.training.run.train_run` that resume ``--resume``
    (only ``--epochs``, ``--device`` and ``--workers`` may be given with it)."""
    from mdnc.training import DataConfig

    from . import UsageError

    other = [
        "DATA" if k == "paths" else flag(k)
        for k in {**given(args, DataConfig), **given_all(args, _train_classes())}
    ]
    other += ["--out"] * bool(args.out) + ["--config"] * bool(args.config)
    other += ["--force"] * bool(args.force)
    other = [o for o in other if o[2:].replace("-", "_") not in RESUMABLE]
    if other:
        raise UsageError(
            f"--resume continues {args.resume} with its saved options; only "
            f"{', '.join(map(flag, RESUMABLE))} may be given with it, not {', '.join(other)}."
        )
    return {"resume": args.resume, **given_all(args, _train_classes())}


def run(args: argparse.Namespace) -> int:
    """Run ``mdnc train`` with parsed arguments; return the exit code."""
    from mdnc.training.run import train_run

    options = _resumed_run(args) if args.resume else _new_run(args)
    metrics = train_run(progress=not args.quiet, **options)
    if metrics and not args.quiet:
        out = Path(args.resume or args.out)
        print(f"report: {out / 'metrics.json'}, {out / 'loss.png'}, {out / 'examples.png'}")
    return 0
