"""mdnc.training.config: options documented once, generated --help, TOML files."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from mdnc.cli import build_parser
from mdnc.training import (
    ConfigError,
    DataConfig,
    Noise2NoiseOptions,
    SelfSupervisedOptions,
    TrainConfig,
    read_toml,
    write_toml,
)
from mdnc.training.options import option_help


def _train_help() -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices["train"].format_help()


@pytest.mark.parametrize(
    "cls", [TrainConfig, DataConfig, SelfSupervisedOptions, Noise2NoiseOptions]
)
def test_every_field_is_an_option_whose_help_is_the_field_doc(cls: type) -> None:
    """The fields of the configs and of every objective's options are options of
    ``mdnc train`` (an options object, ``objective_options``, is documented only)."""
    text = " ".join(_train_help().split())
    for f in dataclasses.fields(cls):
        assert f"{f.name}: {f.metadata['help']}" in " ".join(cls.__doc__.split())
        if f.metadata.get("nested"):
            assert "--objective-options" not in text
            continue
        name = "DATA" if f.name == "paths" else "--" + f.name.replace("_", "-")
        assert name in text, name
        # The help of the option is the field's documentation, whitespace aside.
        assert " ".join(option_help(f).split()) in text, f.name


def test_help_shows_defaults_and_choices_from_the_registries() -> None:
    text = " ".join(_train_help().split())
    assert "(default 512)" in text and "(default 2 2 2 2)" in text
    assert "--standardize, --no-standardize" in text
    assert "{supervised" in text and "{gaussian" in text
    assert "cosine decay to 5%)" in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window": "512"}, "window must be an int >= 1, got '512' (str)."),
        ({"layers": []}, "layers must be a non-empty list of ints >= 1, got []."),
        ({"layers": [2, 0]}, "layers must be an int >= 1, got 0."),
        ({"block": "dense"}, "block must be one of 'plain', 'bottleneck', got 'dense'."),
        ({"objective": "magic"}, "objective must be one of 'supervised'"),
        ({"noise": "purple"}, "noise must be one of 'gaussian', 'pink', 'brown', 'hum'"),
        (
            {"snr_db": float("nan")},
            "snr_db must be a number of dB or a range LOW:HIGH with LOW "
            "<= HIGH, within [-100, 200], got nan.",
        ),
        ({"amp": "yes"}, "amp must be true or false, got 'yes'."),
        ({"seed": -1}, "seed must be an int >= 0, got -1."),
        ({"examples": 1.5}, "examples must be an int >= 0, got 1.5 (float)."),
    ],
)
def test_bad_options_raise_config_error_naming_the_option(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        TrainConfig(**kwargs)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, ValueError)


def test_data_config_checks_and_resolves_paths(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(ConfigError, match="noisy .* needs the clean recordings as DATA"):
        DataConfig(noisy=["a.npy"])
    with pytest.raises(ConfigError, match=r"synthetic must be two ints N LENGTH, got \[5\]"):
        DataConfig(synthetic=[5])
    monkeypatch.chdir(tmp_path)
    source = DataConfig(paths=["a.npy"], noisy=["b.npy"]).resolved()
    assert source.paths == [str(tmp_path / "a.npy")] and source.noisy == [str(tmp_path / "b.npy")]


def test_toml_round_trip(tmp_path: Path) -> None:
    config = TrainConfig(layers=[1, 2], snr_db=3.5, epochs=7, lr=1e-3, standardize=False)
    source = DataConfig(paths=["/x/a.npy"], key="ecg")
    path = write_toml(tmp_path / "config.toml", {"data": source, "train": config})
    assert path.read_text().startswith("# The options of an mdnc training run.")
    found = read_toml(path)
    assert TrainConfig.from_flat(found["train"]) == config
    assert DataConfig(**found["data"]) == source
    assert "init_from" not in found["train"]  # None is left out (TOML has no null)


def test_a_toml_file_of_an_older_mdnc_repeats_its_run(tmp_path: Path) -> None:
    """A config.toml that mdnc wrote before an option existed gives that option the value
    its run behaved by (the ``legacy`` values of the objective's options); a file written
    by hand gets today's default."""
    config = TrainConfig(objective="self-supervised", epochs=7)
    path = write_toml(tmp_path / "config.toml", {"train": config})
    old = path.read_text().replace("prior_components = 3\n", "")
    assert "prior_components" not in old
    path.write_text(old)
    assert read_toml(path)["train"]["prior_components"] == 0
    assert TrainConfig.from_flat(read_toml(path)["train"]) == config.with_options(
        prior_components=0
    )
    hand = tmp_path / "hand.toml"
    hand.write_text("[train]\nobjective = 'self-supervised'\n")
    assert "prior_components" not in read_toml(hand)["train"]


def test_options_a_toml_file_leaves_unset_are_not_taken_for_older_ones(tmp_path: Path) -> None:
    """Unset options are left out of the file and named in its header: they stay unset
    when it is read back; a file of an mdnc before ``pair_mixing`` (no such line) gets
    the value its runs behaved by (whole windows, 0)."""
    config = TrainConfig(objective="noise2noise")
    path = write_toml(tmp_path / "config.toml", {"train": config})
    text = path.read_text()
    (line,) = [line for line in text.splitlines() if line.startswith("# Left unset (")]
    assert line.endswith(": arch, hop, snr_db, pair_mixing, epochs, steps_per_epoch, init_from")
    assert TrainConfig.from_flat(read_toml(path)["train"]) == config
    older = text.replace(line + "\n", "")
    path.write_text(older)
    assert TrainConfig.from_flat(read_toml(path)["train"]) == config.with_options(pair_mixing=0)
    path.write_text(older.replace("[train]\n", "[train]\npair_mixing = 4\n"))
    assert read_toml(path)["train"]["pair_mixing"] == 4


def test_toml_ints_are_accepted_where_floats_are_expected(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[train]\nlr = 1\nsnr_db = 5\n")
    found = read_toml(path)["train"]
    assert found == {"lr": 1.0, "snr_db": 5.0} and isinstance(found["lr"], float)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("[train]\nwindw = 3\n", r"unknown option 'windw' in \[train\]; valid options: arch, "),
        ("[model]\nx = 1\n", r"unknown section 'model'; valid sections: \[data\], \[train\]"),
        ("[train\n", r"not a valid TOML file"),
        ("window = 3\n", r"unknown section 'window'"),
    ],
)
def test_bad_toml_files_name_the_file(tmp_path: Path, text: str, pattern: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(str(path)) + ": " + pattern):
        read_toml(path)


def test_missing_toml_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.toml: cannot be read"):
        read_toml(tmp_path / "nope.toml")
