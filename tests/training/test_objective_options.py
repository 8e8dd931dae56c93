"""Objectives own their options: one options class per objective, flat in TOML and on
the command line, and no import between ``training/config.py`` and the objectives."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import mdnc.training
from mdnc.cli import main
from mdnc.training import (
    ConfigError,
    Noise2NoiseOptions,
    SelfSupervisedOptions,
    TrainConfig,
    read_toml,
    write_toml,
)
from mdnc.training.objectives import list_objectives, objective_class

PACKAGE = Path(mdnc.training.__file__).parent


def _imports(path: Path) -> set[str]:
    """The modules ``path`` imports (relative ones resolved within mdnc.training), at any
    level of the file, typing-only blocks included."""
    tree = ast.parse(path.read_text())
    package = "mdnc.training" + ".objectives" * (path.parent.name == "objectives")
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            module = node.module or ""
            name = f"{base}.{module}".rstrip(".") if node.level else module
            found.add(name)
            found |= {f"{name}.{a.name}" for a in node.names}
    return found


def test_the_objectives_do_not_import_the_config_module() -> None:
    modules = sorted((PACKAGE / "objectives").glob("*.py"))
    assert {m.name for m in modules} >= {"_base.py", "supervised.py", "self_supervised.py",
                                         "noise2noise.py"}  # fmt: skip
    for module in modules:
        assert "mdnc.training.config" not in _imports(module), module.name
    # ... and the options module both import imports neither.
    options = _imports(PACKAGE / "options.py")
    assert not any(m.startswith(("mdnc.training.config", "mdnc.training.objectives"))
                   for m in options)  # fmt: skip


def test_every_objective_owns_an_options_class_of_its_own() -> None:
    builtin = ("supervised", "self-supervised", "noise2noise")
    assert list_objectives()[:3] == list(builtin)
    classes = [objective_class(name).options_class for name in builtin]
    assert len(set(classes)) == len(classes) == 3
    flat = TrainConfig().flat(objective_options=False)
    for cls in classes:
        assert not set(f.name for f in dataclasses.fields(cls)) & set(flat), cls.__name__


@pytest.mark.parametrize(
    ("objective", "options", "cls"),
    [("self-supervised", {"blind_spot": 3, "mask_fraction": 0.25}, SelfSupervisedOptions),
     ("noise2noise", {"pair_mixing": 2}, Noise2NoiseOptions)],
)  # fmt: skip
def test_flat_options_go_to_the_objective_and_back(objective, options, cls, tmp_path) -> None:
    config = TrainConfig.from_flat({"objective": objective, "window": 256, **options})
    assert config.objective_options == cls(**options) and config.window == 256
    assert TrainConfig(objective=objective, window=256, objective_options=cls(**options)) == config
    assert TrainConfig.from_flat(config.flat()) == config
    path = write_toml(tmp_path / "config.toml", {"train": config})
    table = read_toml(path)["train"]
    assert {k: table[k] for k in options} == options  # in the [train] table, flat
    assert TrainConfig.from_flat(table) == config


@pytest.mark.parametrize(
    ("make", "message"),
    [(lambda: TrainConfig.from_flat({"blind_spot": 3}),
      "blind_spot is an option of the self-supervised objective, not of supervised "
      "(objective = 'supervised'); leave it out or change the objective."),
     (lambda: TrainConfig(objective="noise2noise", objective_options={"mask_radius": 2}),
      "mask_radius is an option of the self-supervised objective, not of noise2noise"),
     (lambda: TrainConfig.from_flat({"objective": "self-supervised", "blind_spots": 3}),
      "unknown option 'blind_spots'; valid options: arch, "),
     (lambda: TrainConfig(objective="noise2noise",
                          objective_options=SelfSupervisedOptions(blind_spot=3)),
      "objective_options must be Noise2NoiseOptions (the options of the noise2noise "
      "objective) or a dict of them, got SelfSupervisedOptions."),
     (lambda: TrainConfig(objective="self-supervised", objective_options={"blind_spot": 0}),
      "blind_spot must be an int >= 1, got 0.")],
)  # fmt: skip
def test_options_of_another_objective_are_refused_naming_it(make, message) -> None:
    with pytest.raises(ConfigError) as err:
        make()
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_changing_the_objective_takes_its_defaults_unless_options_were_set() -> None:
    base = TrainConfig(window=256)
    n2n = dataclasses.replace(base, objective="noise2noise")
    assert n2n.objective_options == Noise2NoiseOptions()
    tuned = TrainConfig(objective="self-supervised", objective_options={"blind_spot": 3})
    assert tuned.with_options(objective="noise2noise").objective_options == Noise2NoiseOptions()
    with pytest.raises(ConfigError, match="must be Noise2NoiseOptions"):
        dataclasses.replace(tuned, objective="noise2noise")


def test_runs_of_older_releases_keep_only_their_objective_s_options() -> None:
    """Releases before 0.2 saved every objective's options (flat); they load as the
    run's objective's, and options the run predates take the value it behaved by."""
    saved = {"objective": "self-supervised", "blind_spot": 3, "mask_fraction": 0.125,
             "mask_radius": 4, "pair_mixing": None}  # fmt: skip
    config = TrainConfig.from_flat(saved, legacy=True)
    assert config.objective_options == SelfSupervisedOptions(
        blind_spot=3, mask_fraction=0.125, prior_components=0
    )
    with pytest.raises(ConfigError, match="pair_mixing is an option of the noise2noise"):
        TrainConfig.from_flat(saved)  # written by hand: not silently dropped


def test_the_command_line_refuses_another_objective_s_option(tmp_path, capsys) -> None:
    code = main(["train", "--synthetic", "4", "300", "--blind-spot", "3", "--quiet",
                 "--out", str(tmp_path / "run")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "blind_spot is an option of the self-supervised objective" in err[0]
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
