"""``mdnc train``: train a denoising or reconstruction auto-encoder on recordings."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._models import add_command

HELP = "train an auto-encoder (UNet1d by default) on recordings or built-in synthetic signals"
EXAMPLES = """\
examples:
  mdnc train --out runs/demo                        # built-in synthetic signals, 5 dB noise
  mdnc train recordings/ --snr-db 5 --out runs/ecg  # a folder of .npy/.wav/.csv/... files
  mdnc train clean/*.npy --noisy noisy/*.npy --out runs/paired
  mdnc train data.h5 --key ecg --snr-db 0 --epochs 60 --device cuda --amp --out runs/gpu
  mdnc train --resume runs/ecg                      # continue after a crash or a kill
  torchrun --nproc_per_node=2 -m mdnc train recordings/ --snr-db 5 --out runs/ddp

Recordings are (channels, samples) arrays of any length (.npy, .npz, .h5/.hdf5, .csv with
columns = channels, .wav, .flac); they are cut into windows. The run folder receives
model.safetensors + config.json (load with mdnc.load), optimizer.pt (for --resume),
metrics.json, loss.png and examples.png.
"""

SYNTHETIC = {"recordings": 100, "length": 2000, "channels": 1, "snr_db": 5.0}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from mdnc.training import TrainConfig

    d = TrainConfig()
    parser = add_command(subparsers, "train", HELP, EXAMPLES)
    parser.add_argument(
        "data",
        nargs="*",
        metavar="DATA",
        help="files or folders of recordings (none: the built-in synthetic data set)",
    )
    parser.add_argument(
        "--out", metavar="RUN_DIR", help="the run folder (required unless --resume)"
    )
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    data = parser.add_argument_group("data")
    data.add_argument("--key", help="array/dataset name inside .npz/.h5 files")
    data.add_argument(
        "--noisy",
        nargs="+",
        metavar="FILE",
        help="paired noisy recordings (inputs), one per DATA recording, in the same order",
    )
    data.add_argument(
        "--snr-db",
        type=float,
        help="add gaussian noise at this SNR to the clean "
        f"recordings (default: none; {SYNTHETIC['snr_db']} for the synthetic data)",
    )
    data.add_argument(
        "--window", type=int, default=d.window, help=f"samples per window ({d.window})"
    )
    data.add_argument("--hop", type=int, help="samples between windows (window/2)")
    data.add_argument(
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help=f"fraction of recordings held out ({d.val_fraction})",
    )
    data.add_argument(
        "--no-standardize",
        action="store_true",
        help="do not standardise each window by its own mean and std",
    )
    data.add_argument(
        "--synthetic",
        type=int,
        nargs=2,
        metavar=("N", "LENGTH"),
        default=[SYNTHETIC["recordings"], SYNTHETIC["length"]],
        help="size of the synthetic data set (100 2000)",
    )
    data.add_argument("--channels", type=int, default=1, help="channels of the synthetic data (1)")
    model = parser.add_argument_group("model")
    model.add_argument("--arch", choices=("UNet1d", "AE1d"), default=d.arch, help=f"({d.arch})")
    model.add_argument(
        "--channel", type=int, default=d.channel, help=f"first-stage width ({d.channel})"
    )
    model.add_argument(
        "--layers",
        type=int,
        nargs="+",
        default=d.layers,
        metavar="N",
        help=f"blocks per stage ({' '.join(map(str, d.layers))})",
    )
    model.add_argument("--block", choices=("bottleneck", "plain"), default=d.block)
    model.add_argument("--kernel-size", type=int, default=d.kernel_size)
    fit = parser.add_argument_group("optimisation")
    fit.add_argument(
        "--epochs",
        type=int,
        help="passes over the data (default: about 4000 steps, 10 to 60 epochs); with --resume: "
        "extend the schedule to this",
    )
    fit.add_argument(
        "--batch-size", type=int, default=d.batch_size, help=f"global batch ({d.batch_size})"
    )
    fit.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate ({d.lr})")
    fit.add_argument("--seed", type=int, default=d.seed)
    fit.add_argument("--device", default=d.device, help="auto, cpu, cuda or cuda:N (auto)")
    fit.add_argument("--amp", action="store_true", help="bfloat16 mixed precision on GPU")
    fit.add_argument("--workers", type=int, default=d.workers, help="DataLoader workers (0)")
    fit.add_argument("--quiet", action="store_true", help="no progress bar or epoch lines")
    parser.set_defaults(run=run)


def _load_data(spec: dict[str, Any]) -> tuple[list, list | None, list[str]]:
    """The clean and noisy arrays described by ``spec`` (paths or synthetic parameters)."""
    from mdnc.data import check_channels, make_synthetic, read_recordings

    if not spec["paths"]:
        n, length = spec["synthetic"]
        clean = make_synthetic(n, length, channels=spec["channels"], seed=spec["seed"])
        return clean, None, [f"synthetic {i}" for i in range(n)]
    recordings = read_recordings(spec["paths"], key=spec["key"])
    clean = [r.data for r in recordings]
    names = [str(r.path) for r in recordings]
    noisy = None
    if spec["noisy"]:
        noisy_recs = read_recordings(spec["noisy"], key=spec["key"])
        check_channels(noisy_recs, expected=recordings[0].channels, source=str(recordings[0].path))
        noisy = [r.data for r in noisy_recs]
    return clean, noisy, names


def run(args: argparse.Namespace) -> int:
    from mdnc.checkpoint import read_config
    from mdnc.training import TrainConfig, train

    from . import UsageError

    if args.resume:
        out = Path(args.resume)
        saved = read_config(out).get("extra", {})
        if "train" not in saved or "data" not in saved:
            raise UsageError(
                f"{out}: not a run folder of `mdnc train` (no training options saved)."
            )
        options = dict(saved["train"])
        if args.epochs is not None:
            options["epochs"] = args.epochs
        config, spec = TrainConfig(**options), saved["data"]
    else:
        if not args.out:
            raise UsageError("--out RUN_DIR is required (or --resume RUN_DIR).")
        out = Path(args.out)
        if (out / "config.json").exists():
            raise UsageError(f"{out} already holds a run; use --resume {out} or another --out.")
        if args.noisy and args.snr_db is not None:
            raise UsageError("give either --noisy (paired recordings) or --snr-db, not both.")
        if args.noisy and not args.data:
            raise UsageError("--noisy needs the clean recordings as DATA.")
        snr = args.snr_db if (args.snr_db is not None or args.data) else SYNTHETIC["snr_db"]
        try:
            config = TrainConfig(
                arch=args.arch,
                channel=args.channel,
                layers=args.layers,
                block=args.block,
                kernel_size=args.kernel_size,
                window=args.window,
                hop=args.hop,
                batch_size=args.batch_size,
                epochs=TrainConfig().epochs if args.epochs is None else args.epochs,
                lr=args.lr,
                snr_db=snr,
                val_fraction=args.val_fraction,
                seed=args.seed,
                device=args.device,
                amp=args.amp,
                standardize=not args.no_standardize,
                workers=args.workers,
            )
        except ValueError as err:
            raise UsageError(str(err)) from err
        spec = {
            "paths": [str(Path(p).resolve()) for p in args.data],
            "noisy": [str(Path(p).resolve()) for p in args.noisy or []],
            "key": args.key,
            "synthetic": args.synthetic,
            "channels": args.channels,
            "seed": args.seed,
        }
    clean, noisy, names = _load_data(spec)
    try:
        metrics = train(
            config,
            clean,
            out,
            noisy=noisy,
            names=names,
            resume=bool(args.resume),
            progress=not args.quiet,
            extra={"data": spec},
        )
    except ValueError as err:
        if type(err) is ValueError:
            raise UsageError(str(err)) from err
        raise
    if metrics and not args.quiet:
        print(f"report: {out / 'metrics.json'}, {out / 'loss.png'}, {out / 'examples.png'}")
    return 0
