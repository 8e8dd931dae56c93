"""Property tests of the run options: any value in, a ConfigError naming the option out.

``TrainConfig`` and ``DataConfig`` are built from fuzzed keyword arguments (each option
valid, or any of a wide set of Python values: booleans, huge and non-finite numbers,
fractional counts, strings, lists). Either the constructor raises :class:`ConfigError` (a
``ValueError``) whose one-line message starts with the option's name, or the object holds
checked values (ints where counts are expected, finite floats, an SNR in range, a whole
sampling rate) and survives a round trip through its TOML file. The examples are
derandomized: CI runs the same ones each time.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdnc.training.config import (
    SNR_RANGE_DB,
    ConfigError,
    DataConfig,
    TrainConfig,
    read_toml,
    signal_networks,
    toml_text,
)
from tests.conftest import property_settings

SETTINGS = property_settings(250)

#: Numbers of every kind: booleans, huge ints (beyond the float range too), non-finite,
#: tiny and fractional floats.
NUMBERS = st.one_of(
    st.booleans(), st.integers(-(2**70), 2**70),
    st.sampled_from([10**400, -(10**400), 2**63, 1e308, -1e308, 5e-324, -0.0, 0.5, 2.5]),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e4, 1e4),
)  # fmt: skip
#: Any value at all: what a caller (or a hand-written TOML file) might pass.
JUNK = st.one_of(
    NUMBERS, st.none(), st.text(max_size=6), st.binary(max_size=3),
    st.lists(st.one_of(st.integers(-3, 9), st.floats(-1e3, 1e3), st.text(max_size=2)),
             max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)  # fmt: skip

COUNT = st.integers(1, 64)
#: The flat options of a self-supervised run: TrainConfig's and the objective's own.
FLAT = TrainConfig(objective="self-supervised").flat()
#: Valid values of each option.
TRAIN_VALID: dict[str, st.SearchStrategy[Any]] = {
    "arch": st.sampled_from([None, *signal_networks()]),
    "channel": COUNT, "kernel_size": COUNT, "window": COUNT, "batch_size": COUNT,
    "hop": st.one_of(st.none(), COUNT), "epochs": st.one_of(st.none(), COUNT),
    "layers": st.lists(st.integers(1, 4), min_size=1, max_size=4),
    "block": st.sampled_from(["plain", "bottleneck"]),
    "val_fraction": st.floats(0.0, 0.99),
    "standardize": st.booleans(), "amp": st.booleans(),
    "objective": st.sampled_from(["supervised", "self-supervised", "noise2noise"]),
    "noise": st.sampled_from(["gaussian", "pink", "brown", "hum", "impulsive"]),
    "snr_db": st.one_of(
        st.none(), st.floats(*SNR_RANGE_DB),
        st.lists(st.floats(*SNR_RANGE_DB), min_size=2, max_size=2).map(sorted),
        st.sampled_from(["5", "0:10", "-3.5:2"]),
    ),
    "hum_hz": st.floats(1.0, 100.0),
    "sample_rate": st.one_of(st.integers(1, 48000), st.integers(1, 48000).map(float)),
    "blind_spot": COUNT, "mask_radius": COUNT, "prior_components": st.integers(0, 8),
    "mask_fraction": st.floats(0.01, 0.5),
    "lr": st.floats(1e-6, 1.0), "seed": st.integers(0, 2**63 - 1),
    "device": st.sampled_from(["auto", "cpu"]), "workers": st.integers(0, 4),
    "examples": st.integers(0, 8), "init_from": st.sampled_from([None, "runs/a"]),
}  # fmt: skip
DATA_VALID: dict[str, st.SearchStrategy[Any]] = {
    "paths": st.lists(st.sampled_from(["a.npy", "b.wav", "dir"]), max_size=2),
    "noisy": st.just([]),
    "noise_files": st.lists(st.sampled_from(["n.npy"]), max_size=1),
    "key": st.sampled_from([None, "ecg"]),
    "synthetic": st.lists(st.integers(1, 100), min_size=2, max_size=2),
    "channels": st.integers(1, 4),
}  # fmt: skip


@st.composite
def _kwargs(draw: st.DrawFn, valid: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """Some options with valid values, and up to two of them (or none) junk."""
    kwargs = draw(st.fixed_dictionaries({}, optional=valid))
    for name in draw(st.lists(st.sampled_from(sorted(valid)), max_size=2, unique=True)):
        kwargs[name] = draw(JUNK)
    return kwargs


def _build(cls: type, kwargs: dict[str, Any]) -> Any:
    """``cls(**kwargs)``, or ``None`` after a ConfigError that names an option. A
    TrainConfig is made from the flat options (as TOML and the command line give them),
    for the self-supervised objective unless ``kwargs`` names one: the options it owns are
    drawn too."""
    try:
        if cls is TrainConfig:
            return TrainConfig.from_flat({"objective": "self-supervised", **kwargs})
        return cls(**kwargs)
    except ConfigError as err:
        message = str(err)
        assert "\n" not in message, message
        names = list(FLAT) if cls is TrainConfig else [f.name for f in dataclasses.fields(cls)]
        assert any(message.startswith(n) for n in names), message
        return None


def _round_trip(section: str, config: Any) -> Any:
    """``config`` written to a TOML file and read back."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_text(toml_text({section: config}), encoding="utf-8")
        found = read_toml(path)[section]
        return TrainConfig.from_flat(found) if section == "train" else type(config)(**found)


def _check_train(config: TrainConfig) -> None:
    """The invariants of an accepted TrainConfig (and of its objective's options)."""
    flat = config.flat()
    for name in ("channel", "kernel_size", "window", "batch_size", "blind_spot", "mask_radius",
                 "prior_components", "seed", "workers", "examples"):  # fmt: skip
        if name not in flat:  # an option of another objective
            continue
        value = flat[name]
        assert type(value) is int and value >= 0, (name, value)
    for name in ("hop", "epochs"):
        value = getattr(config, name)
        assert value is None or (type(value) is int and value >= 1), (name, value)
    assert all(type(n) is int and n >= 1 for n in config.layers) and config.layers
    for name in ("lr", "hum_hz", "sample_rate", "val_fraction", "mask_fraction"):
        if name not in flat:
            continue
        value = flat[name]
        assert type(value) is float and math.isfinite(value), (name, value)
    assert config.lr > 0 and config.sample_rate.is_integer() and config.sample_rate >= 1
    if config.noise == "hum":
        assert config.hum_hz < config.sample_rate / 2
    low, high = SNR_RANGE_DB
    snr = config.snr_db
    snrs = [] if snr is None else (snr if isinstance(snr, list) else [snr])
    assert all(type(v) is float and low <= v <= high for v in snrs), snr
    assert len(snrs) != 2 or snrs[0] <= snrs[1]


@SETTINGS
@given(kwargs=_kwargs(TRAIN_VALID))
def test_train_config_accepts_checked_values_only(kwargs: dict[str, Any]) -> None:
    config = _build(TrainConfig, kwargs)
    if config is None:
        return
    _check_train(config)
    assert _round_trip("train", config) == config


NUMERIC = sorted(n for n in FLAT
                 if n not in ("arch", "block", "objective", "noise", "device", "init_from",
                              "layers", "standardize", "amp"))  # fmt: skip


@SETTINGS
@given(name=st.sampled_from(NUMERIC), value=NUMBERS)
def test_each_numeric_option_takes_checked_numbers_only(name: str, value: Any) -> None:
    config = _build(TrainConfig, {name: value})
    if config is not None:
        _check_train(config)


@SETTINGS
@given(hum_hz=st.floats(0.5, 2000.0), sample_rate=st.one_of(st.integers(1, 4000), NUMBERS))
def test_the_hum_stays_below_the_nyquist_frequency(hum_hz: float, sample_rate: Any) -> None:
    config = _build(TrainConfig, {"noise": "hum", "hum_hz": hum_hz, "sample_rate": sample_rate})
    if config is not None:
        _check_train(config)


@SETTINGS
@given(kwargs=_kwargs(DATA_VALID))
def test_data_config_accepts_checked_values_only(kwargs: dict[str, Any]) -> None:
    config = _build(DataConfig, kwargs)
    if config is None:
        return
    for name in ("paths", "noisy", "noise_files"):
        assert all(type(p) is str for p in getattr(config, name))
    assert all(type(n) is int and n >= 1 for n in config.synthetic)
    assert len(config.synthetic) == 2
    assert type(config.channels) is int and config.channels >= 1
    assert _round_trip("data", config) == config


@SETTINGS
@given(name=st.sampled_from(sorted(TRAIN_VALID)), value=JUNK)
def test_toml_values_go_through_the_same_checks(name: str, value: Any) -> None:
    # The value as a TOML file holds it (where TOML can write it), read back: the
    # options read from a file meet the checks of the constructor.
    import tomli_w

    try:
        text = tomli_w.dumps({"train": {name: value}})
    except (TypeError, ValueError):
        return  # not a TOML value (None, bytes, mixed lists...)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.toml"
        path.write_text(text, encoding="utf-8")
        found = read_toml(path)["train"]
    config = _build(TrainConfig, found)
    if config is not None:
        _check_train(config)


# ---------------------------------------------------------------------------------------
# Plain regressions: each case of the reliability issue and what the properties found

REJECTED = [
    ({"epochs": True}, "epochs must be an int >= 1, got True (bool)."),
    ({"batch_size": True}, "batch_size must be an int >= 1, got True (bool)."),
    ({"lr": True}, "lr must be a number > 0, got True (bool)."),
    ({"lr": float("inf")}, "lr must be a number > 0, got inf."),
    ({"lr": float("nan")}, "lr must be a number > 0, got nan."),
    ({"lr": 10**400}, "lr must be a number > 0, got 1000"),
    ({"snr_db": 1e308}, "snr_db must be a number of dB or a range LOW:HIGH with LOW <= HIGH, "
     "within [-100, 200], got 1e+308."),
    ({"snr_db": [0.0, 1e308]}, "snr_db must be a number of dB or a range"),
    ({"snr_db": [-1e308, 0.0]}, "snr_db must be a number of dB or a range"),
    ({"snr_db": "0:inf"}, "snr_db must be a number of dB or a range"),
    ({"epochs": 2.5}, "epochs must be an int >= 1, got 2.5 (float)."),
    ({"batch_size": 3.0}, "batch_size must be an int >= 1, got 3.0 (float)."),
    ({"sample_rate": 500.5}, "sample_rate must be a whole number of Hz > 0, got 500.5."),
    ({"sample_rate": float("inf")}, "sample_rate must be a whole number of Hz > 0, got inf."),
    ({"sample_rate": True}, "sample_rate must be a whole number of Hz > 0, got True (bool)."),
    ({"hum_hz": float("nan")}, "hum_hz must be a number > 0, got nan."),
    ({"noise": "hum", "hum_hz": 600.0}, "hum_hz must be a number of Hz below sample_rate / 2 "
     "= 500 (the Nyquist frequency) for the hum noise model, got 600.0."),
    ({"noise": "hum", "hum_hz": 50, "sample_rate": 100}, "hum_hz must be a number of Hz below "
     "sample_rate / 2 = 50"),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "message"), REJECTED)
def test_bad_numbers_are_a_config_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig(**kwargs)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    "kwargs",
    [{"sample_rate": 500}, {"sample_rate": 44100.0}, {"noise": "hum", "hum_hz": 60.5,
     "sample_rate": 500}, {"sample_rate": 100}],  # the hum_hz default is unused here
)  # fmt: skip
def test_whole_sample_rates_and_sub_nyquist_hums_are_accepted(kwargs: dict[str, Any]) -> None:
    config = TrainConfig(**kwargs)
    assert type(config.sample_rate) is float and config.sample_rate.is_integer()


def test_a_huge_toml_integer_is_a_config_error_not_an_overflow(tmp_path: Path) -> None:
    # Was: OverflowError (int too large to convert to float) out of read_toml.
    path = tmp_path / "c.toml"
    path.write_text("[train]\nlr = 1" + "0" * 400 + "\n", encoding="utf-8")
    found = read_toml(path)["train"]
    with pytest.raises(ConfigError, match=r"^lr must be a number > 0, got 1000"):
        TrainConfig.from_flat(found)


def test_toml_fractional_sample_rate_and_counts_are_rejected(tmp_path: Path) -> None:
    for text, message in [("sample_rate = 500.5", "sample_rate must be a whole number"),
                          ("epochs = 3.0", "epochs must be an int >= 1, got 3.0 (float)."),
                          ("lr = inf", "lr must be a number > 0, got inf."),
                          ("epochs = true",
                           "epochs must be an int >= 1, got True (bool).")]:  # fmt: skip
        path = tmp_path / "c.toml"
        path.write_text(f"[train]\n{text}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="^" + re.escape(message)):
            TrainConfig.from_flat(read_toml(path)["train"])


def test_synthetic_as_a_string_is_named_as_such() -> None:
    # Was: "synthetic N must be an int >= 1, got 'a' (str)." for synthetic="ab".
    with pytest.raises(ConfigError, match=r"^synthetic must be two ints N LENGTH, got 'ab'\.$"):
        DataConfig(synthetic="ab")
