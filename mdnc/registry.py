"""The one list of the networks and presets of :mod:`mdnc.modules.resnet`.

Every network class and every preset function of ``mdnc.modules.resnet`` is registered
here by the decorator :func:`register_model`, when that module is imported. Everything
that needs the list of models reads it from here: the checkpoint classes
(:func:`mdnc.checkpoint.valid_classes`), the command line (``--arch``, ``--preset``), the
API reference and the tests. Adding a preset takes one decorated function in
``resnet.py``.

The residual blocks (``BlockPlain1d``, ...) are building blocks, not models: they are not
registered.

This module imports only the standard library and :mod:`mdnc._utils` (no torch); the
lookups import ``mdnc.modules.resnet`` themselves, so they work on their own.

Example:
    >>> from mdnc.registry import get_model, get_model_info, list_models
    >>> list_models(kind="network", order=1)
    ['UNet1d', 'AE1d', 'EncoderNet1d', 'DecoderNet1d', 'BlindSpotNet1d']
    >>> list_models(kind="preset", family="unet")
    ['unet16', 'unet32', 'unet44', 'unet65', 'unet83']
    >>> info = get_model_info("unet32")
    >>> info.block, info.layers, info.channel
    ('bottleneck', (2, 2, 2), 64)
    >>> get_model("unet32")(order=1).nlayers
    32
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ._utils import check_choice, check_int, check_order, is_int

__all__ = [
    "BLOCKS",
    "MODEL_MODULES",
    "FAMILIES",
    "KINDS",
    "ModelInfo",
    "get_model",
    "get_model_info",
    "is_blind_spot",
    "list_models",
    "register_model",
]

KINDS = ("network", "preset")
"""A network is a class (its order fixed); a preset is a function taking ``order=``."""
FAMILIES = ("ae", "unet", "encoder", "decoder", "blindspot")
"""Auto-encoders, U-Nets, encoders (to a vector), decoders (from a vector) and blind-spot
networks (:mod:`mdnc.modules.blindspot`: no output sample sees its own input sample)."""
BLOCKS = ("plain", "bottleneck")
"""The residual blocks a preset may use."""

# The modules whose import registers the models: the documented family, then the others.
MODEL_MODULES = ("mdnc.modules.resnet", "mdnc.modules.blindspot")

_Builder = TypeVar("_Builder", bound=Callable)


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows of one model.

    Attributes:
        name: the public name in ``mdnc.modules.resnet`` (``"AE1d"``, ``"unet32"``).
        builder: the network class, or the preset function.
        kind: ``"network"`` (a class) or ``"preset"`` (a function taking ``order=``).
        family: ``"ae"``, ``"unet"``, ``"encoder"``, ``"decoder"`` or ``"blindspot"``.
        order: the number of spatial axes of a network; None for a preset.
        block: a preset's residual block, ``"plain"`` or ``"bottleneck"``; None for a
            network.
        layers: a preset's number of blocks per stage; None for a network.
        channel: a preset's width of the first stage; None for a network.
    """

    name: str
    builder: Callable
    kind: str
    family: str
    order: int | None = None
    block: str | None = None
    layers: tuple[int, ...] | None = None
    channel: int | None = None

    @property
    def same_size(self) -> bool:
        """Whether the model maps signals to signals of the same size (``(B, C, L)`` in and
        out): auto-encoders and U-Nets do, encoders and decoders do not."""
        return self.family in ("ae", "unet", "blindspot")


_REGISTRY: dict[str, ModelInfo] = {}


def _check_preset_fields(
    block: str | None, layers: tuple[int, ...] | None, channel: int | None
) -> tuple[str, tuple[int, ...], int]:
    """The checked block, layers (ints, a tuple) and channel of a preset."""
    block = check_choice("block", block, BLOCKS)
    if not layers or not all(is_int(n) and n >= 1 for n in layers):
        raise ValueError(f"layers must be a non-empty sequence of ints >= 1, got {layers!r}.")
    return block, tuple(int(n) for n in layers), check_int("channel", channel, 1)


def _make_info(name: str, builder: Callable, fields: dict) -> ModelInfo:
    """The checked :class:`ModelInfo` of one registration."""
    check_choice("kind", fields["kind"], KINDS)
    check_choice("family", fields["family"], FAMILIES)
    if fields["kind"] == "network":
        fields["order"] = check_order(fields["order"], "a network's order")
        extra = [k for k in ("block", "layers", "channel") if fields[k] is not None]
        if extra:
            raise ValueError(f"a network takes no {', '.join(extra)} (presets do).")
    else:
        if fields["order"] is not None:
            raise ValueError("a preset takes no order: it is an argument of the function.")
        checked = _check_preset_fields(fields["block"], fields["layers"], fields["channel"])
        fields["block"], fields["layers"], fields["channel"] = checked
    return ModelInfo(name=name, builder=builder, **fields)


def register_model(
    name: str | None = None,
    *,
    kind: str,
    family: str,
    order: int | None = None,
    block: str | None = None,
    layers: tuple[int, ...] | None = None,
    channel: int | None = None,
) -> Callable[[_Builder], _Builder]:
    """Decorator: register a network class or a preset function under ``name``.

    Args:
        name: the public name; the ``__name__`` of the decorated object if None.
        kind: ``"network"`` for a class, ``"preset"`` for a function taking ``order=``.
        family: ``"ae"``, ``"unet"``, ``"encoder"``, ``"decoder"`` or ``"blindspot"``.
        order: a network's number of spatial axes (1, 2 or 3); None for a preset.
        block: a preset's residual block, ``"plain"`` or ``"bottleneck"``.
        layers: a preset's number of blocks per stage.
        channel: a preset's width of the first stage.

    Returns:
        The decorator; it returns the decorated object unchanged.

    Raises:
        ValueError: the name is registered already, or the fields do not fit the kind
            (a network needs an order, a preset needs block, layers and channel).
        TypeError: ``kind``, ``family`` or ``block`` is not a string, or ``channel`` is
            not an int.

    Example:
        >>> from mdnc.registry import register_model
        >>> @register_model(kind="preset", family="ae", block="plain", layers=(1, 1),
        ...                 channel=64)
        ... def tiny_ae(order=2, **kwargs): ...                  # doctest: +SKIP
    """
    fields = {"kind": kind, "family": family, "order": order, "block": block,
              "layers": layers, "channel": channel}  # fmt: skip

    def decorate(builder: _Builder) -> _Builder:
        key = name if name is not None else builder.__name__
        if key in _REGISTRY:
            raise ValueError(f"model {key!r} is registered already.")
        _REGISTRY[key] = _make_info(key, builder, dict(fields))
        return builder

    return decorate


def _load() -> None:
    """Import the modules that register the models (a no-op once they are imported)."""
    for module in MODEL_MODULES:
        importlib.import_module(module)


def list_models(
    *, kind: str | None = None, family: str | None = None, order: int | None = None
) -> list[str]:
    """The names of the registered models, in registration order, filtered.

    The order is the documented one of ``mdnc.modules.resnet.__all__`` (blocks left out),
    then the other modules of :data:`MODEL_MODULES`, then models registered later.

    Args:
        kind: only ``"network"`` or only ``"preset"`` models; None for both.
        family: only models of this family (``"ae"``, ``"unet"``, ``"encoder"``,
            ``"decoder"``); None for all.
        order: only networks of this number of spatial axes (presets have none, so
            they are left out); None for all.

    Returns:
        The names, such as ``['UNet1d', 'UNet2d', 'UNet3d', 'unet16', ...]``.

    Raises:
        ValueError: ``kind`` or ``family`` is not one of the valid values.
        TypeError: ``kind`` or ``family`` is not a string.
    """
    if kind is not None:
        check_choice("kind", kind, KINDS)
    if family is not None:
        check_choice("family", family, FAMILIES)
    _load()
    return [
        info.name
        for info in _REGISTRY.values()
        if (kind is None or info.kind == kind)
        and (family is None or info.family == family)
        and (order is None or info.order == order)
    ]


def get_model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of the model registered as ``name``.

    Args:
        name: a registered name, such as ``"AE1d"`` or ``"unet32"``.

    Returns:
        Its name, builder, kind, family, order, and for presets block, layers, channel.

    Raises:
        ValueError: no model has that name (the message lists the valid ones).
    """
    _load()
    info = _REGISTRY.get(name) if isinstance(name, str) else None
    if info is None:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(_REGISTRY)}.")
    return info


def is_blind_spot(name: str) -> bool:
    """Whether the model registered as ``name`` is a blind-spot network (no output sample
    sees its own input sample, so self-supervised training needs no masking).

    Args:
        name: a registered model name, such as ``"BlindSpotNet1d"``.

    Raises:
        ValueError: no model has that name.

    Example:
        >>> is_blind_spot("BlindSpotNet1d"), is_blind_spot("UNet1d")
        (True, False)
    """
    return get_model_info(name).family == "blindspot"


def get_model(name: str) -> Callable:
    """The network class or the preset function registered as ``name``.

    Args:
        name: a registered name, such as ``"AE1d"`` or ``"unet32"``.

    Returns:
        The class (called with its constructor arguments) or the preset function
        (called with ``order=`` and keyword arguments; decoders take ``out_size`` first).

    Raises:
        ValueError: no model has that name (the message lists the valid ones).
    """
    return get_model_info(name).builder


def _registered_in(module: str) -> list[str]:
    """The names registered so far whose builder is defined in ``module``, in registration
    order; unlike :func:`list_models` it imports nothing (``resnet`` builds its ``__all__``
    with it while it is being imported)."""
    return [name for name, info in _REGISTRY.items() if info.builder.__module__ == module]


def _unregister(name: str) -> None:
    """Forget the model registered as ``name`` (for tests that register their own)."""
    del _REGISTRY[name]
