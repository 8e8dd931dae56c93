"""The options of a training run, each documented once: in its field's metadata.

Two dataclasses hold them: :class:`TrainConfig` (the network, the windows, the objective
and the optimisation: what :func:`mdnc.training.train` needs) and :class:`DataConfig`
(where the recordings come from, for the command line and configuration files). The
command line (``mdnc train --help``), the docstrings' ``Attributes`` sections and the
TOML files all read the field metadata made by :func:`option`. Each objective owns its
options (:mod:`mdnc.training.objectives`: a small dataclass per objective, held as
``TrainConfig.objective_options``); the ``[train]`` table and ``mdnc train`` list them
beside the others (:meth:`TrainConfig.flat`, :meth:`TrainConfig.from_flat`). The
objectives do not import this module.

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
    mdnc.training.options.ConfigError: window must be an int >= 1, got 0.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mdnc._utils import check_choice, check_int, check_real
from mdnc.data.index import LOADING_MODES
from mdnc.registry import is_blind_spot

from .options import ConfigError, ObjectiveOptions, option, option_help
from .options import checked as _checked
from .options import document as _document

__all__ = [
    "ConfigError",
    "DataConfig",
    "TrainConfig",
    "default_arch",
    "objective_option_fields",
    "option",
    "option_help",
    "parse_snr",
    "read_toml",
    "settle_legacy",
    "signal_networks",
    "write_toml",
]


#: The SNRs (dB) that noise can be added at: beyond, the noise overflows float32 (or is 0).
SNR_RANGE_DB = (-100.0, 200.0)
#: The largest seed (what ``torch.manual_seed`` takes as a signed 64-bit integer).
MAX_SEED = 2**63 - 1


def signal_networks() -> list[str]:
    """Network classes that map ``(batch, channels, samples)`` to the same shape (1-D)."""
    from mdnc.registry import list_models

    return [
        name
        for family in ("unet", "ae", "blindspot")
        for name in list_models(kind="network", family=family, order=1)
    ]


#: The first line of the ``config.toml`` files mdnc writes (which list every option).
TOML_HEADER = "# The options of an mdnc training run. Repeat the run with\n"
#: The comment line of a ``config.toml`` naming the options left unset (derived when the
#: run starts): those are not options the file predates.
TOML_UNSET = "# Left unset (derived when the run starts, or not used): "


def default_arch(objective: str) -> str:
    """The network of a run whose ``arch`` is unset: the ``default_arch`` of the objective
    registered as ``objective`` (a blind-spot network for the self-supervised one, chosen by
    measurement: benchmarks/RESULTS.md; UNet1d for the others)."""
    return _objective_class(objective).default_arch


def _objective_class(objective: str) -> Any:
    """The objective class registered as ``objective`` (the objectives do not import this
    module: the dependency runs one way)."""
    from .objectives import objective_class

    return _checked(objective_class, objective)


def _blocks() -> tuple[str, ...]:
    from mdnc.registry import BLOCKS

    return tuple(BLOCKS)


def _objectives() -> list[str]:
    from .objectives import list_objectives

    return list_objectives()


def _noise_models() -> list[str]:
    from mdnc.data.noise import list_noise_models

    return list_noise_models()


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
    objective_options: ObjectiveOptions | Mapping[str, Any] | None = field(
        default=None,
        metadata={
            "help": "the options the objective owns, an instance of its options class (e.g. "
            "SelfSupervisedOptions) or a dict of them (default: its defaults); in TOML files "
            "and on the command line they stand beside the other options.",
            "group": "objective",
            "nested": True,
        },
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
        self.objective_options = _objective_options(self.objective, self.objective_options)
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
            shape.update(self.objective_options.network_shape())
        else:
            shape["block"] = self.block
        return model_config(arch, **shape, kernel_size=self.kernel_size, in_planes=channels,
                            out_planes=channels)  # fmt: skip

    def flat(self, objective_options: bool = True) -> dict[str, Any]:
        """The options as one flat dict, as the ``[train]`` table and ``mdnc train`` have
        them: the objective's own options beside the others (after the objective group).

        Args:
            objective_options: include the objective's options.

        Example:
            >>> TrainConfig(objective="noise2noise").flat()["pair_mixing"] is None
            True
        """
        values: dict[str, Any] = {}
        flat = [f for f in dataclasses.fields(self) if not f.metadata.get("nested")]
        last = [f.name for f in flat if f.metadata["group"] == "objective"][-1]
        for f in flat:
            values[f.name] = _copied(getattr(self, f.name))
            if f.name == last and objective_options:
                values.update(dataclasses.asdict(self.objective_options))
        return values

    @classmethod
    def from_flat(cls, values: Mapping[str, Any], *, legacy: bool = False) -> TrainConfig:
        """The options from one flat dict (:meth:`flat`, a ``[train]`` table): the names
        of the objective's options go to ``objective_options``.

        Args:
            values: option values by name.
            legacy: the values were saved by mdnc (a run's ``config.json``), maybe by an
                older release: options of other objectives are dropped (releases before
                0.2 saved every objective's), and options the run predates take the value
                it behaved by (:func:`settle_legacy`).

        Raises:
            ConfigError: an unknown option, or an option of another objective (the
                message names its objective).
        """
        values = dict(values)
        if legacy:
            values = settle_legacy(values)
        own = {f.name for f in dataclasses.fields(cls) if not f.metadata.get("nested")}
        top = {k: v for k, v in values.items() if k in own}
        rest = {k: v for k, v in values.items() if k not in own}
        nested = rest.pop("objective_options", None)
        if isinstance(nested, Mapping):
            rest = {**nested, **rest}
        elif nested is not None:
            raise ConfigError(f"objective_options must be a dict of options, got {nested!r}.")
        return cls(**top, objective_options=rest)

    def with_options(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes``, options of the objective included (flat names).

        Example:
            >>> c = TrainConfig(objective="self-supervised").with_options(blind_spot=3, lr=1e-3)
            >>> c.objective_options.blind_spot, c.lr
            (3, 0.001)
        """
        if "objective" in changes and changes["objective"] != self.objective:
            return TrainConfig.from_flat({**self.flat(objective_options=False), **changes})
        return TrainConfig.from_flat({**self.flat(), **changes})


def _copied(value: Any) -> Any:
    """A list option copied (as ``dataclasses.asdict`` does), other values as they are."""
    return list(value) if isinstance(value, list) else value


def objective_option_fields() -> dict[str, list[tuple[str, type, dataclasses.Field]]]:
    """The options the registered objectives own, by name: ``[(objective, options class,
    field), ...]`` (an objective's options may share a name with another's)."""
    from .objectives import list_objectives

    found: dict[str, list[tuple[str, type, dataclasses.Field]]] = {}
    for name in list_objectives():
        cls = _objective_class(name).options_class
        for f in dataclasses.fields(cls):
            found.setdefault(f.name, []).append((name, cls, f))
    return found


def _objective_options(objective: str, given: Any) -> ObjectiveOptions:
    """The options of ``objective``: ``given`` as its options class, from a mapping of
    them, or its defaults (``None``, or another objective's options left at their
    defaults, as ``dataclasses.replace(config, objective=...)`` leaves them)."""
    cls = _objective_class(objective).options_class
    if given is None:
        return cls()
    if isinstance(given, Mapping):
        names = [f.name for f in dataclasses.fields(cls)]
        for name in given:
            if name not in names:
                raise ConfigError(_not_an_option(name, objective, names))
        return cls(**given)
    if isinstance(given, ObjectiveOptions) and given == type(given)():
        # Another objective's defaults, e.g. dataclasses.replace(config, objective=...).
        return cls()
    if type(given) is not cls:
        raise ConfigError(
            f"objective_options must be {cls.__name__} (the options of the {objective} "
            f"objective) or a dict of them, got {type(given).__name__}."
        )
    return given


def _not_an_option(name: str, objective: str, names: Sequence[str]) -> str:
    """Why ``name`` is no option of ``objective``: it is another objective's, or unknown."""
    owners = [o for o, _, _ in objective_option_fields().get(name, [])]
    if owners:
        return (
            f"{name} is an option of the {' and '.join(owners)} objective, not of "
            f"{objective} (objective = {objective!r}); leave it out or change the objective."
        )
    flat = [f.name for f in dataclasses.fields(TrainConfig) if not f.metadata.get("nested")]
    return f"unknown option {name!r}; valid options: {', '.join([*flat, *names])}."


def settle_legacy(values: Mapping[str, Any], unset: Sequence[str] = ()) -> dict[str, Any]:
    """Options saved by mdnc, maybe by an older release, as this release reads them: the
    options of objectives other than the run's are dropped (older releases saved every
    objective's options), and the run's objective's options missing from ``values`` (and
    not named in ``unset``) take its ``legacy`` value (how runs behaved before the option).
    """
    objective = values.get("objective", "supervised")
    try:
        cls = _objective_class(objective).options_class
    except ConfigError:
        return dict(values)  # the objective's own check names it
    own = {f.name for f in dataclasses.fields(cls)}
    foreign = set(objective_option_fields()) - own
    kept = {k: v for k, v in values.items() if k not in foreign}
    legacy = {k: v for k, v in cls.legacy.items() if k not in unset}
    return {**legacy, **kept}


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


def _section_hints(cls: type) -> dict[str, Any]:
    """The options of a TOML table and their type annotations: the fields of ``cls``; for
    ``[train]``, also the options the objectives own (a nested field is no option)."""
    hints = typing.get_type_hints(cls)
    names = {f.name: hints[f.name] for f in dataclasses.fields(cls) if not f.metadata.get("nested")}
    if cls is TrainConfig:
        for name, owners in objective_option_fields().items():
            names.setdefault(name, typing.get_type_hints(owners[0][1])[name])
    return names


def _coerce(hint: Any, value: Any) -> Any:
    """A TOML value as the field's type wants it (an int where a float is expected)."""
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
        hints = _section_hints(cls)
        for name, value in table.items():
            if name not in hints:
                raise ConfigError(
                    f"{path}: unknown option {name!r} in [{section}]; valid options: "
                    f"{', '.join(hints)}."
                )
            found[section][name] = _coerce(hints[name], value)
    if text.startswith(TOML_HEADER) and found["train"]:  # written by mdnc, maybe an older one
        found["train"] = settle_legacy(found["train"], sorted(_unset_names(text)))
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

    flat = {name: _flat(obj) for name, obj in sections.items()}
    document = {name: {k: v for k, v in values.items() if v is not None}
                for name, values in flat.items()}  # fmt: skip
    unset = [k for values in flat.values() for k, v in values.items() if v is None]
    header = (
        TOML_HEADER + "#   mdnc train --config THIS_FILE --out NEW_RUN_DIR\n"
        "# (options given on the command line override those in the file).\n"
        + (TOML_UNSET + ", ".join(unset) + "\n") * bool(unset)
        + "\n"
    )
    footer = "".join(f"# {note}\n" for note in notes)
    return header + tomli_w.dumps(document) + footer


def _flat(obj: Any) -> dict[str, Any]:
    """The options of a section's dataclass as its TOML table has them."""
    return obj.flat() if isinstance(obj, TrainConfig) else dataclasses.asdict(obj)


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
