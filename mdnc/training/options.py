"""How an option is declared and documented once, shared by the training options and the
objectives' own options.

An option is a dataclass field made by :func:`option`: its ``help`` feeds the docstring
(:func:`document`), ``mdnc train --help`` and the TOML files; its ``group`` is the heading
it is listed under. :class:`ObjectiveOptions` is the base of the small options class each
objective owns (:mod:`mdnc.training.objectives`), which :class:`~mdnc.training.TrainConfig`
holds as ``objective_options`` and the ``[train]`` table keeps beside the other options.

This module imports neither :mod:`mdnc.training.config` nor the objectives: both import it.

Example:
    >>> from dataclasses import dataclass
    >>> @document
    ... @dataclass(kw_only=True)
    ... class Options(ObjectiveOptions):
    ...     '''Options of a toy objective.'''
    ...     strength: float = option(1.0, group="toy", help="how hard it tries.")
    >>> Options().strength, "strength: how hard it tries." in Options.__doc__
    (1.0, True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from mdnc.errors import MdncError

__all__ = [
    "ConfigError",
    "ObjectiveOptions",
    "RunOptions",
    "checked",
    "document",
    "option",
    "option_help",
]


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


def document(cls: type) -> type:
    """Append an ``Attributes:`` section, made from the fields' help, to the docstring."""
    lines = ["", "Attributes:"]
    for f in dataclasses.fields(cls):
        lines.append(f"    {f.name}: {f.metadata['help']}")
    doc = (cls.__doc__ or "").rstrip()
    head, example, tail = doc.partition("\n\n    Example:")  # Attributes before the example
    cls.__doc__ = head + "\n" + "\n".join(lines) + "\n" + (example + tail + "\n") * bool(example)
    return cls


def checked(check: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run an argument check; its TypeError or ValueError becomes a :class:`ConfigError`."""
    try:
        return check(*args, **kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(str(err)) from None


@dataclass(kw_only=True)
class ObjectiveOptions:
    """The options one objective owns (none here): a dataclass of :func:`option` fields,
    checked when made, that the objective names as its ``options`` class.

    Their names are those of the ``[train]`` table and of ``mdnc train``; an objective's
    options take no name of :class:`~mdnc.training.TrainConfig`'s.
    """

    #: Options added after runs were saved without them, with the value those runs
    #: behaved by: a resumed run, or one repeated from a ``config.toml`` mdnc wrote, takes
    #: it when its saved options lack the option.
    legacy: ClassVar[dict[str, Any]] = {}

    def network_shape(self) -> dict[str, Any]:
        """The keyword arguments these options give a blind-spot network (default: none)."""
        return {}


class RunOptions(Protocol):
    """What an objective reads of a run's options (a :class:`~mdnc.training.TrainConfig`
    is one): the objectives depend on this, not on the config module."""

    arch: str | None
    window: int
    hop: int | None
    standardize: bool
    seed: int
    objective: str
    noise: str
    snr_db: float | list[float] | None
    objective_options: Any

    def noise_params(self) -> dict[str, Any]:
        """The options of the noise model."""
        ...

    def with_options(self, **changes: Any) -> RunOptions:
        """A copy with ``changes`` (the objective's options included)."""
        ...
