"""Installed plugins (entry-point group ``mdnc.plugins``) add options to the command."""

from __future__ import annotations

import importlib.metadata
import sys

import pytest

from mdnc.cli import PLUGIN_GROUP, build_parser, load_plugins
from mdnc.data import noise


def _train_help() -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices["train"].format_help()


@pytest.fixture
def plugins(monkeypatch):
    entries = [
        importlib.metadata.EntryPoint("square", "tests.cli.plugin_example", PLUGIN_GROUP),
        importlib.metadata.EntryPoint("broken", "tests.cli.no_such_module", PLUGIN_GROUP),
    ]

    def entry_points(group: str) -> list:
        return [e for e in entries if e.group == group]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    yield
    noise._NOISE_MODELS.unregister("plugin-square")
    sys.modules.pop("tests.cli.plugin_example", None)


def test_a_plugin_noise_model_becomes_a_choice_and_a_broken_one_warns(plugins) -> None:
    with pytest.warns(RuntimeWarning, match="plugin 'broken' .* was not loaded: Module"):
        assert load_plugins() == ["square"]
    with pytest.warns(RuntimeWarning):
        assert "plugin-square" in _train_help()
    assert noise.get_noise_model("plugin-square").name == "plugin-square"


def test_without_plugins_the_choices_are_the_built_in_ones() -> None:
    assert "plugin-square" not in _train_help()
