"""The options of a training run, each documented once: here, in its field's metadata.

Two dataclasses hold them: :class:`TrainConfig` (the network, the windows, the objective
and the optimisation: what :func:`mdnc.training.train` needs) and :class:`DataConfig`
(where the recordings come from, for the command line and configuration files). The
command line (``mdnc train --help``), the docstrings' ``Attributes`` sections and the
TOML files all read the field metadata made by :func:`option`.

A run folder keeps its options as ``config.toml`` (tables ``[data]`` and ``[train]``:
every option, defaults included, paths absolute), and ``mdnc train --config FILE.toml``
reads such a file back, so that a run can be repeated; :func:`read_toml` and
:func:`write_toml` do that. Options whose default is derived (``hop``: half the window;
``epochs``: the default schedule) stay unset in the file, so that they follow a changed
window or data set, and a comment at the end says what they resolved to; the same data
and options resolve them the same way.

Example:
    >>> config = TrainConfig(window=1024, snr_db=5.0)
    >>> TrainConfig(window=0)
    Traceback (most recent call last):
    ...
    mdnc.training.config.ConfigError: window must be an int >= 1, got 0.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mdnc._utils import check_choice, check_int, check_real
from mdnc.data.index import LOADING_MODES
from mdnc.errors import MdncError

__all__ = [
    "ConfigError",
    "DataConfig",
    "TrainConfig",
    "option",
    "option_help",
    "parse_snr",
    "read_toml",
    "signal_networks",
    "write_toml",
]


#: The SNRs (dB) that noise can be added at: beyond, the noise overflows float32 (or is 0).
SNR_RANGE_DB = (-100.0, 200.0)
#: The largest seed (what ``torch.manual_seed`` takes as a signed 64-bit integer).
MAX_SEED = 2**63 - 1


class ConfigError(MdncError, ValueError):
    """An option of a training run is invalid; the message names the option (or file)."""


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    group: str,
    default_factory: Callable[[], Any] | Any = dataclasses.MISSING,
    **cli: Any,
) -> Any:
    """A dataclass field with its documentation and command-line settings.

    Args:
        default: the default value.
        help: the one place the option is documented (docstring, ``--help``, TOML).
        group: the heading it is listed under in ``--help``.
        default_factory: for mutable defaults, as in ``dataclasses.field``.
        **cli: command-line settings: ``metavar``, ``nargs``, ``choices`` (a sequence or a
            callable returning one), ``aliases`` (more option names), ``type`` (a parser
            of the text, instead of the annotation's type), ``positional``.
    """
    metadata = {"help": help, "group": group, "cli": cli}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def signal_networks() -> list[str]:
    """Network classes that map ``(batch, channels, samples)`` to the same shape (1-D)."""
    from mdnc.registry import list_models

    return [
        name
        for family in ("unet", "ae", "blindspot")
        for name in list_models(kind="network", family=family, order=1)
    ]


#: Options added after runs were saved without them, with the value those runs behaved
#: by: a resumed run, or a run repeated from a ``config.toml`` that mdnc wrote, takes it
#: when its saved options lack the option.
LEGACY_OPTIONS: dict[str, Any] = {"prior_components": 0, "pair_mixing": 0}
#: The first line of the ``config.toml`` files mdnc writes (which list every option).
TOML_HEADER = "# The options of an mdnc training run. Repeat the run with\n"
#: The comment line of a ``config.toml`` naming the options left unset (derived when the
#: run starts): those are not options the file predates.
TOML_UNSET = "# Left unset (derived when the run starts, or not used): "


def is_blind_spot(arch: str) -> bool:
    """Whether the network class ``arch`` is a blind-spot network (no masking needed)."""
    from mdnc.registry import get_model_info

    return get_model_info(arch).family == "blindspot"


def default_arch(objective: str) -> str:
    """The network of a run whose ``arch`` is unset: the ``default_arch`` of the objective
    registered as ``objective`` (a blind-spot network for the self-supervised one, chosen by
    measurement: benchmarks/RESULTS.md; UNet1d for the others)."""
    return _objective_class(objective).default_arch


def _objective_class(objective: str) -> Any:
    """The objective class registered as ``objective``."""
    from .objectives import _OBJECTIVES

    return _OBJECTIVES.get(objective)


def _blocks() -> tuple[str, ...]:
    from mdnc.registry import BLOCKS

    return tuple(BLOCKS)


def _objectives() -> list[str]:
    from .objectives import list_objectives

    return list_objectives()


def _noise_models() -> list[str]:
    from mdnc.data.noise import list_noise_models

    return list_noise_models()


def _checked(check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run an argument check; its TypeError or ValueError becomes a :class:`ConfigError`."""
    try:
        return check(*args, **kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from None


def parse_snr(value: Any) -> float | list[float]:
    """An SNR in dB, or a range ``"LOW:HIGH"`` (or ``[low, high]``) with ``LOW <= HIGH``.

    Example:
        >>> parse_snr("5"), parse_snr("0:10"), parse_snr([2, 8.5])
        (5.0, [0.0, 10.0], [2.0, 8.5])

    Raises:
        ValueError: not a number of dB or such a range.
    """
    parts = value.split(":") if isinstance(value, str) else value
    if isinstance(value, str) and len(parts) == 1:
        parts = parts[0]
    try:
        if isinstance(parts, (list, tuple)):
            if len(parts) != 2:
                raise ValueError
            low, high = (_db(p) for p in parts)
            if low > high:
                raise ValueError
            return [low, high]
        return _db(parts)
    except (TypeError, ValueError):
        raise ValueError(
            f"snr_db must be a number of dB or a range LOW:HIGH with LOW <= HIGH, within "
            f"[{SNR_RANGE_DB[0]:g}, {SNR_RANGE_DB[1]:g}], got {value!r}."
        ) from None


def _db(value: Any) -> float:
    """A number of dB within :data:`SNR_RANGE_DB` (raises ValueError/TypeError otherwise)."""
    low, high = SNR_RANGE_DB
    number = float(value) if isinstance(value, str) else value
    return check_real("snr_db", number, low=low, high=high)


def _document(cls: type) -> type:
    """Append an ``Attributes:`` section, made from the fields' help, to the docstring."""
    lines = ["", "Attributes:"]
    for f in dataclasses.fields(cls):
        lines.append(f"    {f.name}: {f.metadata['help']}")
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n" + "\n".join(lines) + "\n"
    return cls


@_document
@dataclass(kw_only=True)
class TrainConfig:
    """Options of a training run (JSON- and TOML-serialisable; stored with the checkpoint).

    Every check runs when the object is made: a bad value raises :class:`ConfigError`
    naming the option.
    """

    arch: str | None = option(
        None,
        group="model",
        choices=signal_networks,
        metavar="CLASS",
        help="network class: a 1-D network of mdnc.registry whose output has the input's "
        "shape (default: BlindSpotNet1d for the self-supervised objective, UNet1d otherwise; "
        "self-supervised training of another network masks its input instead).",
    )
    channel: int = option(16, group="model", help="width (channels) of the first stage.")
    layers: list[int] = option(
        group="model",
        default_factory=lambda: [2, 2, 2, 2],
        nargs="+",
        metavar="N",
        help="residual blocks per stage, e.g. 2 2 2 2.",
    )
    block: str = option(
        "bottleneck",
        group="model",
        choices=_blocks,
        help="residual block: bottleneck (1, k, 1 convolutions) or plain (k, k).",
    )
    kernel_size: int = option(3, group="model", help="odd kernel size of the blocks.")
    window: int = option(512, group="data", help="samples per training window.")
    hop: int | None = option(
        None, group="data", help="samples between window starts (default: window // 2)."
    )
    val_fraction: float = option(
        0.2,
        group="data",
        help="fraction of the recordings held out for validation (at least one when there "
        "are several; the tail of the recording when there is one).",
    )
    standardize: bool = option(
        True,
        group="data",
        help="standardise every window by its own mean and std (the output is mapped back "
        "with the input's statistics).",
    )
    objective: str = option(
        "supervised",
        group="objective",
        choices=_objectives,
        help="how windows become (input, target) pairs and a loss: supervised (noise added "
        "to clean recordings, or paired noisy recordings; with neither, reconstruction), "
        "self-supervised (noisy recordings only, a blind-spot network) or noise2noise (pairs "
        "of noisy recordings, --noisy-pair).",
    )
    noise: str = option(
        "gaussian",
        group="objective",
        choices=_noise_models,
        help="noise model added to clean recordings at snr_db.",
    )
    snr_db: float | list[float] | None = option(
        None,
        group="objective",
        metavar="DB|LOW:HIGH",
        type=parse_snr,
        help="SNR in dB of the noise added to clean recordings, or a range LOW:HIGH drawn "
        "per window (default: none: paired noisy recordings, or a reconstruction "
        "auto-encoder; 5 for the synthetic data).",
    )
    hum_hz: float = option(
        50.0,
        group="objective",
        metavar="HZ",
        help="mains frequency of the hum noise model (50 or 60 Hz).",
    )
    sample_rate: float = option(
        1000.0,
        group="objective",
        metavar="HZ",
        help="sampling rate of the recordings, for the hum noise model (the rate the "
        "recordings' files say, when they say one).",
    )
    blind_spot: int = option(
        1,
        group="objective",
        metavar="SAMPLES",
        help="self-supervised: samples hidden from each output sample (BlindSpotNet1d: the "
        "sample and blind_spot // 2 on each side; masking: samples per masked run); more than "
        "1 for noise correlated over a few samples.",
    )
    prior_components: int = option(
        3,
        group="objective",
        metavar="K",
        help="self-supervised, BlindSpotNet1d: gaussians in the distribution it predicts for "
        "each sample from its surroundings; the output is the clean sample's mean given that "
        "distribution and the noisy sample (0: one predicted value, blended with the noisy "
        "sample by a weight estimated on the held-out recordings).",
    )
    mask_fraction: float = option(
        0.0625,
        group="objective",
        metavar="F",
        help="self-supervised masking (a network that is not a blind-spot one): the fraction "
        "of samples masked per window, in (0, 0.5].",
    )
    mask_radius: int = option(
        4,
        group="objective",
        metavar="SAMPLES",
        help="self-supervised masking: a masked sample is replaced by one at most this far "
        "beside its run.",
    )
    pair_mixing: int | None = option(
        None,
        group="objective",
        metavar="SAMPLES",
        help="noise2noise: recombine the two recordings of a pair in runs of this many "
        "samples, the input's runs from one recording and the target's from the other "
        "(new noise combinations at every step); 0: whole windows. Default: 1 when the "
        "difference of the pairs (their noise alone) is white, else 0.",
    )
    batch_size: int = option(
        16,
        group="optimisation",
        help="windows per optimizer step (the global batch under torchrun).",
    )
    epochs: int | None = option(
        None,
        group="optimisation",
        help="passes over the training windows (default: about 4000 optimizer steps, 10 to "
        "60 epochs; self-supervised: about 8000 steps, up to 200 epochs); with --resume: "
        "extend the schedule to this.",
    )
    steps_per_epoch: int | None = option(
        None, group="optimisation",
        help="optimizer steps per epoch at most (default: every training window once); for "
        "data sets too large to go through in an epoch: each epoch draws this many batches "
        "of windows afresh.",
    )  # fmt: skip
    lr: float = option(
        2e-3, group="optimisation", help="peak learning rate of Adam (cosine decay to 5%)."
    )
    seed: int = option(
        0, group="optimisation", help="seed of the split, the noise and the initialisation."
    )
    device: str = option("auto", group="optimisation", help="auto, cpu, cuda or cuda:N.")
    amp: bool = option(False, group="optimisation", help="bfloat16 autocast on GPU.")
    workers: int = option(0, group="optimisation", help="DataLoader worker processes.")
    init_from: str | None = option(
        None,
        group="optimisation",
        metavar="RUN_DIR",
        help="start from the weights of another run (fine-tuning); its network must be the "
        "one these options describe.",
    )
    examples: int = option(
        4, group="report", help="number of held-out windows shown in examples.png."
    )
    tensorboard: bool = option(
        False, group="report",
        help="also log the epoch metrics and examples.png to RUN/tensorboard for TensorBoard "
        "(needs mdnc[tensorboard]).",
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.arch is not None:
            self.arch = _checked(check_choice, "arch", self.arch, signal_networks())
        self.block = _checked(check_choice, "block", self.block, _blocks())
        if not isinstance(self.tensorboard, bool):
            raise ConfigError(f"tensorboard must be true or false, got {self.tensorboard!r}.")
        self.objective = _checked(check_choice, "objective", self.objective, _objectives())
        self.noise = _checked(check_choice, "noise", self.noise, _noise_models())
        for name in ("channel", "kernel_size", "window", "batch_size"):
            setattr(self, name, _checked(check_int, name, getattr(self, name), 1))
        if self.pair_mixing is not None:
            self.pair_mixing = _checked(check_int, "pair_mixing", self.pair_mixing, 0)
        for name in ("hop", "epochs", "steps_per_epoch"):
            if getattr(self, name) is not None:
                setattr(self, name, _checked(check_int, name, getattr(self, name), 1))
        self.seed = _checked(check_int, "seed", self.seed, 0)
        if self.seed > MAX_SEED:
            raise ConfigError(f"seed must be an int in [0, 2**63 - 1], got {self.seed!r}.")
        self.workers = _checked(check_int, "workers", self.workers, 0)
        self.examples = _checked(check_int, "examples", self.examples, 0)
        self.layers = _check_layers(self.layers)
        self.val_fraction = _checked(
            check_real, "val_fraction", self.val_fraction, low=0.0, high=1.0, high_open=True
        )
        self.lr = _checked(check_real, "lr", self.lr, low=0.0, low_open=True, what="a number")
        if self.snr_db is not None:
            self.snr_db = _checked(parse_snr, self.snr_db)
        self.sample_rate = _check_sample_rate(self.sample_rate)
        self.hum_hz = _check_hum(self.hum_hz, self.sample_rate, self.noise)
        self.blind_spot = _checked(check_int, "blind_spot", self.blind_spot, 1)
        self.mask_radius = _checked(check_int, "mask_radius", self.mask_radius, 1)
        self.prior_components = _checked(check_int, "prior_components", self.prior_components, 0)
        self.mask_fraction = _checked(
            check_real, "mask_fraction", self.mask_fraction, low=0.0, high=0.5, low_open=True
        )
        for name in ("standardize", "amp"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}.")
        for name in ("device", "init_from"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigError(f"{name} must be a non-empty string, got {value!r}.")

    def noise_params(self) -> dict[str, Any]:
        """The options that parametrise the noise model ``noise`` names."""
        if self.noise == "hum":
            return {"hum_hz": self.hum_hz, "sample_rate": self.sample_rate}
        return {}

    def model_config(self, channels: int) -> dict[str, Any]:
        """The checkpoint recipe of the network for recordings of ``channels`` channels."""
        from mdnc.checkpoint import model_config

        arch = self.arch or default_arch(self.objective)
        shape = {"channel": self.channel, "layers": list(self.layers)}
        if is_blind_spot(arch):
            shape["blind_spot"] = self.blind_spot
            # Absent from recipes older than the option; only an objective that trains a
            # distribution by its likelihood asks for one.
            if self.prior_components and _objective_class(self.objective).trains_prior:
                shape["components"] = self.prior_components
        else:
            shape["block"] = self.block
        return model_config(arch, **shape, kernel_size=self.kernel_size, in_planes=channels,
                            out_planes=channels)  # fmt: skip


def _check_sample_rate(value: Any) -> float:
    """The sampling rate: a whole number of Hz > 0 (an int, or a float such as ``1000.0``)."""
    what = "a whole number of Hz"
    rate = _checked(check_real, "sample_rate", value, low=0.0, low_open=True, what=what)
    if not rate.is_integer():
        raise ConfigError(f"sample_rate must be {what} > 0, got {value!r}.")
    return rate


def _check_hum(value: Any, sample_rate: float, noise: str) -> float:
    """The mains frequency: a finite number of Hz > 0; below the Nyquist frequency
    ``sample_rate / 2`` when the hum noise model uses it (else unused, and not compared)."""
    hum_hz = _checked(check_real, "hum_hz", value, low=0.0, low_open=True)
    if noise == "hum" and not hum_hz < sample_rate / 2:
        raise ConfigError(
            f"hum_hz must be a number of Hz below sample_rate / 2 = {sample_rate / 2:g} (the "
            f"Nyquist frequency) for the hum noise model, got {value!r}."
        )
    return hum_hz


def _check_layers(layers: Any) -> list[int]:
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or not layers:
        raise ConfigError(f"layers must be a non-empty list of ints >= 1, got {layers!r}.")
    return [_checked(check_int, "layers", n, 1) for n in layers]


@_document
@dataclass(kw_only=True)
class DataConfig:
    """Where the recordings of a run come from (files, or the built-in synthetic set)."""

    paths: list[str] = option(
        group="data",
        default_factory=list,
        positional=True,
        metavar="DATA",
        help="files or folders of recordings (none: the built-in synthetic data set).",
    )
    noisy: list[str] = option(
        group="data",
        default_factory=list,
        nargs="+",
        metavar="FILE",
        aliases=["--noisy-pair"],
        help="paired recordings, one per DATA recording, in the same order: the noisy inputs "
        "of clean DATA (supervised), or a second noisy recording of the same signal "
        "(noise2noise).",
    )
    noise_files: list[str] = option(
        group="data",
        default_factory=list,
        nargs="+",
        metavar="NOISE",
        help="recorded noise-only files (or folders), mixed into clean DATA at snr_db "
        "instead of the noise model.",
    )
    key: str | None = option(
        None, group="data",
        help="what to read of each file: the array of an .npz, the dataset of an .h5, EDF "
        "signal labels or seismic trace ids (comma-separated).",
    )  # fmt: skip
    split_channels: bool = option(
        False, group="data",
        help="take every channel of multichannel files as a one-channel recording of its own "
        "(a one-channel run then denoises recordings of any channel count, channel by channel).",
    )  # fmt: skip
    any_rate: bool = option(
        False, group="data",
        help="train on recordings of different sampling rates (refused otherwise, when the "
        "files say their rates).",
    )  # fmt: skip
    synthetic: list[int] = option(
        group="data",
        default_factory=lambda: [100, 2000],
        nargs=2,
        metavar=("N", "LENGTH"),
        help="size of the synthetic data set: recordings, samples.",
    )
    channels: int = option(1, group="data", help="channels of the synthetic data set.")
    loading: str = option(
        "auto",
        group="data",
        choices=LOADING_MODES,
        help="how DATA is read for training: 'memory' (every recording read first), 'lazy' "
        "(each window read from disk when it is drawn, for data sets larger than memory; "
        ".csv files and compressed .npz arrays are still read whole) or 'auto' (lazy above "
        "512 MiB of samples or an eighth of the available memory or MDNC_MAX_MEMORY).",
    )

    def __post_init__(self) -> None:
        for name in ("paths", "noisy", "noise_files"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                raise ConfigError(f"{name} must be a list of paths, got {value!r}.")
            if not all(isinstance(p, (str, os.PathLike)) for p in value):
                raise ConfigError(f"{name} must be a list of paths, got {value!r}.")
            setattr(self, name, [os.fspath(p) for p in value])
        if self.key is not None and not isinstance(self.key, str):
            raise ConfigError(f"key must be a string, got {self.key!r}.")
        synthetic = self.synthetic
        listed = isinstance(synthetic, Sequence) and not isinstance(synthetic, (str, bytes))
        if not listed or len(synthetic) != 2:
            raise ConfigError(f"synthetic must be two ints N LENGTH, got {self.synthetic!r}.")
        self.synthetic = [
            _checked(check_int, "synthetic N", self.synthetic[0], 1),
            _checked(check_int, "synthetic LENGTH", self.synthetic[1], 1),
        ]
        self.channels = _checked(check_int, "channels", self.channels, 1)
        self.loading = _checked(check_choice, "loading", self.loading, LOADING_MODES)
        for name in ("split_channels", "any_rate"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}.")
        if self.noisy and not self.paths:
            raise ConfigError("noisy (paired recordings) needs the clean recordings as DATA.")

    def resolved(self) -> DataConfig:
        """A copy with every path absolute (so that a saved configuration works anywhere)."""
        return dataclasses.replace(
            self,
            paths=[str(Path(p).resolve()) for p in self.paths],
            noisy=[str(Path(p).resolve()) for p in self.noisy],
            noise_files=[str(Path(p).resolve()) for p in self.noise_files],
        )


def option_help(f: dataclasses.Field) -> str:
    """The ``--help`` text of a field: its documentation and its default."""
    text = f.metadata["help"].rstrip(".")
    default = f.default
    if f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    if "(default" in text or default is None or default is dataclasses.MISSING or default == []:
        return text
    if isinstance(default, bool):
        default = "on" if default else "off"
    elif isinstance(default, list):
        default = " ".join(map(str, default))
    return f"{text} (default {default})"


# ---------------------------------------------------------------------------------------
# TOML files
# ---------------------------------------------------------------------------------------

SECTIONS: dict[str, type] = {"data": DataConfig, "train": TrainConfig}


def _toml_module() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib


def _coerce(cls: type, name: str, value: Any) -> Any:
    """A TOML value as the field's type wants it (an int where a float is expected)."""
    hint = typing.get_type_hints(cls)[name]
    if float in typing.get_args(hint) or hint is float:
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # beyond the float range: the option's check says so
                return value
    return value


def read_toml(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The options in a TOML file, checked against the known sections and options.

    Args:
        path: a file with tables ``[data]`` and/or ``[train]`` (the ``config.toml`` of a
            run folder is one).

    Returns:
        ``{"data": {...}, "train": {...}}``: the options given, by section.

    Raises:
        ConfigError: the file is missing, not TOML, or names an unknown section or option
            (the message names the file and lists the valid names).
    """
    path = Path(path)
    tomllib = _toml_module()
    try:
        text = path.read_text(encoding="utf-8")
        document = tomllib.loads(text)
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror or err}).") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not a valid TOML file ({err}).") from None
    found: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    for section, table in document.items():
        cls = SECTIONS.get(section)
        if cls is None or not isinstance(table, dict):
            raise ConfigError(
                f"{path}: unknown section {section!r}; valid sections: "
                f"{', '.join(f'[{s}]' for s in SECTIONS)}."
            )
        names = [f.name for f in dataclasses.fields(cls)]
        for name, value in table.items():
            if name not in names:
                raise ConfigError(
                    f"{path}: unknown option {name!r} in [{section}]; valid options: "
                    f"{', '.join(names)}."
                )
            found[section][name] = _coerce(cls, name, value)
    if text.startswith(TOML_HEADER) and found["train"]:  # written by mdnc, maybe an older one
        unset = _unset_names(text)
        legacy = {k: v for k, v in LEGACY_OPTIONS.items() if k not in unset}
        found["train"] = {**legacy, **found["train"]}
    return found


def _unset_names(text: str) -> set[str]:
    """The options a ``config.toml`` says it left unset (none in files before the line)."""
    for line in text.splitlines():
        if line.startswith(TOML_UNSET):
            return {name.strip() for name in line[len(TOML_UNSET) :].split(",")}
    return set()


def toml_text(sections: Mapping[str, Any], notes: Sequence[str] = ()) -> str:
    """TOML text of dataclass instances by section (``None`` values are left out).

    Args:
        sections: dataclass instances by table name, e.g. ``{"train": config}``.
        notes: comment lines appended at the end (e.g. what an unset option resolved to).
    """
    import tomli_w

    document = {
        name: {k: v for k, v in dataclasses.asdict(obj).items() if v is not None}
        for name, obj in sections.items()
    }
    unset = [k for obj in sections.values() for k, v in dataclasses.asdict(obj).items()
             if v is None]  # fmt: skip
    header = (
        TOML_HEADER + "#   mdnc train --config THIS_FILE --out NEW_RUN_DIR\n"
        "# (options given on the command line override those in the file).\n"
        + (TOML_UNSET + ", ".join(unset) + "\n") * bool(unset)
        + "\n"
    )
    footer = "".join(f"# {note}\n" for note in notes)
    return header + tomli_w.dumps(document) + footer


def write_toml(
    path: str | os.PathLike[str], sections: Mapping[str, Any], notes: Sequence[str] = ()
) -> Path:
    """Write dataclass instances by section (e.g. ``{"train": config}``) as TOML, atomically.

    Args:
        path: the file to write.
        sections: dataclass instances by table name, e.g. ``{"data": DataConfig(...),
            "train": TrainConfig(...)}``; options that are ``None`` are left out.
        notes: comment lines appended at the end.
    """
    from mdnc._utils import write_text_atomic

    return write_text_atomic(path, toml_text(sections, notes))
