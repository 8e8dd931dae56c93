"""Command-line options generated from the fields of an options dataclass.

Each field made by :func:`mdnc.training.config.option` becomes one option: ``--name-with-
dashes``, its type from the annotation (``int``, ``float``, ``str``, ``bool`` as
``--x/--no-x``, lists as several values; an optional value takes ``none`` to unset it,
e.g. over a configuration file), its help text and default from the field.
Options are added with ``default=SUPPRESS``, so that :func:`given` tells exactly which
ones the user typed (those override a configuration file).
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any

from mdnc.training.options import option_help

__all__ = ["add_dataclass_options", "flag", "given", "given_all"]


def flag(name: str) -> str:
    """The command-line spelling of an option: ``snr_db`` -> ``--snr-db``."""
    return "--" + name.replace("_", "-")


def _value_type(hint: Any) -> tuple[Any, bool]:
    """``(element type, is a list)`` of a field annotation such as ``list[int] | None``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is list:
        return typing.get_args(hint)[0], True
    if args and typing.get_origin(hint) is not list and len(args) == 1:
        return _value_type(args[0])
    return hint, False


def _or_none(kind: type) -> Any:
    """An argparse type for an optional value: ``none`` unsets it (back to its default)."""

    def convert(text: str) -> Any:
        return None if text.strip().lower() == "none" else kind(text)

    convert.__name__ = kind.__name__  # argparse names the type in its error messages
    return convert


def _parser(parse: Any) -> Any:
    """An argparse type whose ValueError message is shown as it is."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = parse.__name__
    return convert


def _argument(f: dataclasses.Field, hint: Any) -> tuple[list[str], dict[str, Any]]:
    """The ``add_argument`` call for one field."""
    cli = dict(f.metadata.get("cli", {}))
    kind, many = _value_type(hint)
    kwargs: dict[str, Any] = {
        "help": option_help(f).replace("%", "%%"),
        "default": argparse.SUPPRESS,
        "dest": f.name,
    }
    if "metavar" in cli:
        kwargs["metavar"] = cli["metavar"]
    choices = cli.get("choices")
    if choices is not None:
        kwargs["choices"] = list(choices() if callable(choices) else choices)
    if kind is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
        return [flag(f.name)], kwargs
    optional = type(None) in typing.get_args(hint) and not many
    if "type" in cli:  # a parser of its own, e.g. for a value or a range
        kind, many = _parser(cli["type"]), False
    kwargs["type"] = _or_none(kind) if optional else kind
    if optional:
        kwargs["help"] += "; 'none' unsets it"
    if many:
        kwargs["nargs"] = cli.get("nargs", "+")
    if cli.get("positional"):
        kwargs["nargs"] = "*"
        del kwargs["dest"]
        return [f.name], kwargs
    return [flag(f.name), *cli.get("aliases", [])], kwargs


def add_dataclass_options(
    parser: argparse.ArgumentParser, cls: type, groups: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Add one option per field of ``cls``, under argument groups named by the fields.

    Args:
        parser: the parser of a subcommand.
        cls: a dataclass whose fields were made by ``option``.
        groups: argument groups already made, by name (shared between dataclasses).

    Returns:
        The argument groups by name (pass them on for the next dataclass).
    """
    groups = {} if groups is None else groups
    hints = typing.get_type_hints(cls)
    taken = {a.dest for g in groups.values() for a in g._group_actions}
    for f in dataclasses.fields(cls):
        if f.metadata.get("nested") or f.name in taken:  # an options object; a shared name
            continue
        name = f.metadata["group"]
        if name not in groups:
            groups[name] = parser.add_argument_group(name)
        names, kwargs = _argument(f, hints[f.name])
        groups[name].add_argument(*names, **kwargs)
    return groups


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The options of ``cls`` that were given on the command line, by field name."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}


def given_all(args: argparse.Namespace, classes: typing.Iterable[type]) -> dict[str, Any]:
    """:func:`given` over several dataclasses, merged."""
    found: dict[str, Any] = {}
    for cls in classes:
        found.update(given(args, cls))
    return found
