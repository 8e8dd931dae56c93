"""Self-describing checkpoints: weights, the recipe to rebuild the network, training state.

A checkpoint is a folder (a run folder) holding:

* ``model.safetensors``: the weights (``state_dict``), contiguous CPU tensors;
* ``config.json``: the class name (from ``mdnc.modules.resnet``) and constructor arguments
  of the network, the mdnc and format versions, and ``extra``: JSON data of your choice
  (epoch, window length, normalisation statistics, ...);
* ``optimizer.pt`` (optional): ``torch.save`` of the optimizer's ``state_dict`` and of any
  further training state (scheduler, step, RNG states), for resuming;
* ``best.safetensors`` (optional, :data:`BEST_NAME`): the weights of the best save so far
  (``save_checkpoint(best=True)``; a training run's epoch of lowest validation loss),
  which :func:`load` gives by default (``weights="last"``: ``model.safetensors``).

Every file is written to a temporary file in the same folder, flushed to disk and renamed
over the old one; all files are staged before the first rename, in the order weights
(and best weights), training state, config, so a failed save leaves the previous
checkpoint as it was and a config never names weights that are not there yet. The files
of one save share a ``checkpoint_id``; loading warns when they come from different saves
(a crash between two renames), except for the best weights, which come from an earlier
save by design.

``config.json`` holds the SHA-256 of every weight and state file (``"sha256"``); loading
verifies the file it reads and refuses one that was corrupted or changed
(:class:`CheckpointError` naming it). A recipe is checked against
:mod:`mdnc.limits` (stages, channels, parameters, memory) before the network is built.
``config.json`` is strict JSON: a value that is not finite (a diverged loss) is ``null``.

Networks do not record their constructor arguments, so they are given with ``config``
(see :func:`model_config`); a network built by :func:`build_model` or loaded by
:func:`load_checkpoint` carries its config (attribute ``mdnc_config``) and needs none.

Example:
    >>> import mdnc
    >>> from mdnc.checkpoint import build_model, load, model_config, save_checkpoint
    >>> net = build_model(model_config("AE1d", channel=8, layers=[1, 1]))
    >>> save_checkpoint("run", net, extra={"epoch": 3})        # doctest: +SKIP
    >>> net2 = load("run")                                     # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import re
import struct
import uuid
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._utils import check_choice, finite_json, staged_files
from .errors import MdncError

__all__ = [
    "BEST_NAME",
    "CONFIG_NAME",
    "FORMAT_VERSION",
    "HASHES_KEY",
    "TRAINING_NAME",
    "WEIGHTS_NAME",
    "CheckpointError",
    "build_model",
    "load",
    "load_checkpoint",
    "load_training_state",
    "model_config",
    "read_config",
    "save_checkpoint",
    "valid_classes",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
#: The entry of ``config.json`` with the SHA-256 of each file, by file name.
HASHES_KEY = "sha256"
#: The weights of the epoch with the lowest validation loss, beside the last ones.
BEST_NAME = "best.safetensors"
TRAINING_NAME = "optimizer.pt"
FORMAT = "mdnc-checkpoint"
FORMAT_VERSION = 2
#: Checkpoints of this format version and later record the SHA-256 of every file
#: (version 1 checkpoints without hashes, from before, are still read).
HASHED_SINCE = 2

PathLike = str | os.PathLike[str]


class CheckpointError(MdncError, ValueError):
    """A checkpoint is missing, unreadable, corrupt or does not fit its network."""


# ---------------------------------------------------------------------------------------
# The network recipe
# ---------------------------------------------------------------------------------------


def valid_classes() -> list[str]:
    """The network classes a checkpoint may name: the networks of ``mdnc.registry``.

    That is ``list_models(kind="network")``, in the documented order. Presets are not
    among them (a checkpoint stores the class a preset builds), nor are the residual
    blocks (not networks).
    """
    from .registry import list_models

    return list_models(kind="network")


def _jsonable(value: Any) -> Any:
    """``json.dumps`` hook: numpy/torch scalars and arrays, paths and sets."""
    if isinstance(value, torch.Tensor):
        return finite_json(value.detach().cpu().tolist())
    if hasattr(value, "tolist") and type(value).__module__ == "numpy":
        return finite_json(value.tolist())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _to_json(value: Any, what: str) -> str:
    try:
        text = json.dumps(finite_json(value), indent=2, default=_jsonable, allow_nan=False)
        return text + "\n"
    except (TypeError, ValueError) as err:
        raise TypeError(f"{what} must be JSON serialisable: {err}.") from None


def _module_of(name: str) -> str:
    """The module that defines the registered network class ``name``."""
    from .registry import get_model

    return get_model(name).__module__


def _check_class(name: Any) -> str:
    valid = valid_classes()
    if not isinstance(name, str) or name not in valid:
        raise CheckpointError(f"unknown network class {name!r}; valid classes: {', '.join(valid)}.")
    return name


def model_config(cls_name: str, /, **kwargs: Any) -> dict[str, Any]:
    """The recipe of a network of ``mdnc.modules.resnet``: its class and constructor kwargs.

    Args:
        cls_name: a class of ``mdnc.modules.resnet``, e.g. ``"AE1d"`` or ``"UNet1d"``.
        **kwargs: the constructor's keyword arguments; JSON values (tuples become lists).

    Returns:
        ``{"class": cls_name, "module": "mdnc.modules.resnet", "kwargs": {...}}``.

    Raises:
        CheckpointError: ``cls_name`` is not such a class (the message lists them).
        TypeError: a keyword value cannot be written as JSON.

    Example:
        >>> model_config("AE1d", channel=16, layers=(2, 2, 2, 2))["kwargs"]
        {'channel': 16, 'layers': [2, 2, 2, 2]}
    """
    _check_class(cls_name)
    kwargs = json.loads(_to_json(kwargs, "kwargs"))
    return {"class": cls_name, "module": _module_of(cls_name), "kwargs": kwargs}


def _model_part(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    if not isinstance(config, Mapping):
        raise CheckpointError(f"a model config must be a dict, got {type(config).__name__}.")
    for key in ("class", "kwargs"):
        if key not in config:
            raise CheckpointError(f"the model config has no {key!r} entry.")
    name = _check_class(config["class"])
    home = _module_of(name)
    module = config.get("module", home)
    if module != home:
        raise CheckpointError(
            f"the model config names module {module!r} for {name}; it is in {home!r}."
        )
    kwargs = config["kwargs"]
    if not isinstance(kwargs, Mapping):
        raise CheckpointError(f"the model config's 'kwargs' must be a dict, got {kwargs!r}.")
    return name, dict(kwargs)


def build_model(config: Mapping[str, Any]) -> nn.Module:
    """Construct the network a config describes (see :func:`model_config`).

    The network remembers its config (attribute ``mdnc_config``), so that
    :func:`save_checkpoint` needs no ``config`` for it.

    Args:
        config: a dict with ``"class"`` and ``"kwargs"`` (and optionally ``"module"``),
            such as a checkpoint's ``config.json``.

    Returns:
        The network, freshly initialised.

    Raises:
        CheckpointError: the class is unknown, the kwargs do not fit its constructor, or
            the network would exceed the limits of :mod:`mdnc.limits`.
    """
    from .limits import ResourceError, check_recipe
    from .registry import get_model

    name, kwargs = _model_part(config)
    try:
        check_recipe(name, kwargs)
    except ResourceError as err:
        raise CheckpointError(str(err)) from None
    try:
        model = get_model(name)(**kwargs)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"cannot build {name}(**{kwargs!r}): {err}") from None
    model.mdnc_config = {"class": name, "module": _module_of(name), "kwargs": kwargs}
    return model


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------


def _unwrap(model: nn.Module) -> nn.Module:
    """The network inside DataParallel/DistributedDataParallel and ``torch.compile``."""
    while True:
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def _state_shapes(state: Mapping[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in state.items()}


def _mismatch(expected: Mapping[str, tuple], got: Mapping[str, tuple], labels: str) -> str:
    """A short description of how two ``{key: shape}`` maps differ ('' when they match)."""

    def listing(keys: list[str]) -> str:
        more = f" (+{len(keys) - 3} more)" if len(keys) > 3 else ""
        return ", ".join(keys[:3]) + more

    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    shapes = [
        f"{k} {list(got[k])} vs {list(expected[k])}"
        for k in expected
        if k in got and tuple(got[k]) != tuple(expected[k])
    ]
    parts = []
    if missing:
        parts.append(f"missing keys: {listing(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {listing(unexpected)}")
    if shapes:
        parts.append(f"shape mismatch ({labels}): {listing(shapes)}")
    return "; ".join(parts)


def _write_text(text: str) -> Callable[[str], None]:
    """A writer of ``text`` (UTF-8) to the path it is given (the config's writer)."""

    def write(path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    return write


def _cpu_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies of a ``state_dict``'s tensors, none sharing memory."""
    tensors: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for key, value in state.items():
        t = value.detach().to("cpu").contiguous()
        ptr = t.untyped_storage().data_ptr()
        # safetensors refuses tensors sharing memory (tied weights): store copies.
        tensors[key] = t.clone() if ptr in seen else t
        seen.add(ptr)
    return tensors


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def _kept_best_hash(folder: Path) -> dict[str, str]:
    """The hash of the best weights an earlier save wrote (kept when this save is not the
    best), read from the folder's config; empty when unknown."""
    try:
        previous = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
        digest = previous[HASHES_KEY][BEST_NAME]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {BEST_NAME: digest} if (folder / BEST_NAME).is_file() and isinstance(digest, str) else {}


def _write_files(
    folder: Path,
    tensors: dict[str, torch.Tensor],
    metadata: dict[str, str],
    training: dict[str, Any] | None,
    document: dict[str, Any],
    best: bool = False,
) -> None:
    """Write a checkpoint's files into ``folder`` (created if needed), atomically.

    All files are staged first, then renamed in the order weights (and best weights),
    training state, config: the config goes last, since it is what makes a folder a
    checkpoint, and it records the other files' hashes. On any error the previous files
    are left as they were and no temporary file remains.
    """
    from safetensors.torch import save

    folder.mkdir(parents=True, exist_ok=True)
    hashes = {} if best else _kept_best_hash(folder)
    with staged_files() as stage:
        weights = save(tensors, metadata=metadata)
        _write_bytes(stage(folder / WEIGHTS_NAME), weights)
        hashes[WEIGHTS_NAME] = _sha256(weights)
        if best:
            best_weights = save(tensors, metadata={**metadata, "role": "best"})
            _write_bytes(stage(folder / BEST_NAME), best_weights)
            hashes[BEST_NAME] = _sha256(best_weights)
        if training is not None:
            buffer = io.BytesIO()
            torch.save(training, buffer)
            _write_bytes(stage(folder / TRAINING_NAME), buffer.getvalue())
            hashes[TRAINING_NAME] = _sha256(buffer.getvalue())
        text = _to_json({**document, HASHES_KEY: hashes}, "config (kwargs and extra)")
        _write_text(text)(str(stage(folder / CONFIG_NAME)))
    if training is None:
        # A training state left from an earlier save would not match these weights.
        (folder / TRAINING_NAME).unlink(missing_ok=True)


def save_checkpoint(
    path_dir: PathLike,
    model: nn.Module,
    *,
    config: Mapping[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    extra: Mapping[str, Any] | None = None,
    training_state: Mapping[str, Any] | None = None,
    best: bool = False,
) -> Path:
    """Write a checkpoint of ``model`` into the folder ``path_dir`` (created if needed).

    Files are replaced atomically; on any error the previous checkpoint in the folder is
    left as it was and no temporary file remains.

    Args:
        path_dir: the checkpoint (run) folder.
        model: the network (also inside ``DistributedDataParallel``/``torch.compile``).
        config: its recipe, from :func:`model_config`; default: ``model.mdnc_config``,
            which networks from :func:`build_model`/:func:`load_checkpoint` have.
        optimizer: when given, its ``state_dict`` is saved to ``optimizer.pt``.
        extra: JSON data stored in ``config.json`` under ``"extra"`` (numpy and torch
            scalars/arrays are converted), e.g. ``{"epoch": 3, "window": 512}``.
        training_state: further state for resuming, saved in ``optimizer.pt`` with
            ``torch.save`` (tensors, numbers, strings, lists, dicts: what
            ``torch.load(weights_only=True)`` reads back), e.g. a scheduler's state.
        best: also write the weights as ``best.safetensors`` (the best so far; it stays
            when later saves are not the best, and ``load_checkpoint(weights="best")``
            reads it).

    Returns:
        The folder.

    Raises:
        ValueError: no config is known for ``model``, or the config does not describe it
            (another class, or parameters of other names or shapes).
        TypeError: ``extra`` or the kwargs cannot be written as JSON.
        OSError: the folder cannot be written.

    Example:
        >>> net = build_model(model_config("UNet1d", channel=8, layers=[1, 1]))
        >>> opt = torch.optim.Adam(net.parameters())
        >>> save_checkpoint("run", net, optimizer=opt, extra={"epoch": 1})  # doctest: +SKIP
    """
    import mdnc

    net = _unwrap(model)
    if config is None:
        config = getattr(net, "mdnc_config", None)
        if config is None:
            raise ValueError(
                f"save_checkpoint needs config=model_config({type(net).__name__!r}, ...) "
                f"with the constructor arguments of this {type(net).__name__}: it was not "
                f"built by build_model or load_checkpoint, so they are unknown."
            )
    name, kwargs = _model_part(config)
    if name != type(net).__name__:
        raise ValueError(f"config describes a {name} but the model is a {type(net).__name__}.")
    state = net.state_dict()
    with torch.device("meta"):
        expected = build_model(config).state_dict()
    problem = _mismatch(_state_shapes(expected), _state_shapes(state), "model vs config")
    if problem:
        raise ValueError(f"config {name}(**{kwargs!r}) does not describe the model: {problem}.")
    checkpoint_id = uuid.uuid4().hex
    has_training = optimizer is not None or training_state is not None
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mdnc_version": mdnc.__version__,
        "torch_version": torch.__version__.split("+")[0],
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "checkpoint_id": checkpoint_id,
        "class": name,
        "module": _module_of(name),
        "kwargs": kwargs,
        "weights": WEIGHTS_NAME,
        "training_state": TRAINING_NAME if has_training else None,
        "extra": dict(extra) if extra is not None else {},
    }
    _to_json(document, "config (kwargs and extra)")  # refuse what JSON cannot hold first
    training = None
    if has_training:
        training = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "checkpoint_id": checkpoint_id,
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "training_state": dict(training_state) if training_state is not None else {},
        }
    folder = Path(path_dir)
    metadata = {"format": FORMAT, "checkpoint_id": checkpoint_id, "class": name}
    _write_files(folder, _cpu_tensors(state), metadata, training, document, best)
    return folder


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


def _resolve(path: PathLike) -> tuple[Path, Path | None]:
    """``(config.json, weights file given explicitly or None)`` for a checkpoint path."""
    p = Path(path)
    if p.is_dir():
        config = p / CONFIG_NAME
        if not config.is_file():
            raise CheckpointError(f"{config}: not found; {p} is not an mdnc checkpoint folder.")
        return config, None
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint folder or file.")
    if p.suffix == ".json":
        return p, None
    if p.suffix == ".safetensors":
        config = p.with_name(CONFIG_NAME)
        if not config.is_file():
            raise CheckpointError(
                f"{config}: not found; {p.name} needs the config.json beside it to be loaded."
            )
        return config, p
    raise CheckpointError(
        f"{p}: expected a checkpoint folder, its {CONFIG_NAME} or its .safetensors file."
    )


def _read_config_file(config_path: Path) -> dict[str, Any]:
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as err:
        raise CheckpointError(f"{config_path}: cannot be read ({err.strerror or err}).") from None
    except UnicodeDecodeError:
        raise CheckpointError(f"{config_path}: not a text file (corrupt?).") from None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{config_path}: corrupt JSON ({err}).") from None
    if not isinstance(config, dict):
        raise CheckpointError(
            f"{config_path}: expected a JSON object, got {type(config).__name__}."
        )
    if config.get("format") != FORMAT:
        raise CheckpointError(
            f"{config_path}: not an mdnc checkpoint config (format {config.get('format')!r})."
        )
    version = config.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{config_path}: format_version {version!r} is not readable by this mdnc "
            f"(reads 1 to {FORMAT_VERSION}); upgrade mdnc."
        )
    try:
        _model_part(config)
    except CheckpointError as err:
        raise CheckpointError(f"{config_path}: {err}") from None
    return config


def read_config(path: PathLike) -> dict[str, Any]:
    """The ``config.json`` of a checkpoint, checked, without loading any weights.

    Args:
        path: the checkpoint folder, its ``config.json`` or its ``.safetensors`` file.

    Returns:
        The config as a dict (``"class"``, ``"kwargs"``, ``"extra"``, ...).

    Raises:
        CheckpointError: the config is missing, corrupt, or names an unknown class.
    """
    return _read_config_file(_resolve(path)[0])


def _warn_if_other_save(path: Path, config: Mapping[str, Any], metadata: Mapping) -> None:
    # The best weights come from an earlier save of the same run by design.
    if metadata.get("role") != "best" and metadata.get("checkpoint_id") != config.get(
        "checkpoint_id"
    ):
        warnings.warn(
            f"{path} and {CONFIG_NAME} come from different saves (a save was interrupted "
            f"between two renames); loading {path.name} anyway.",
            RuntimeWarning,
            stacklevel=3,
        )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"{path}: cannot be read ({err.strerror or err}).") from None


def _verify(path: Path, data: bytes, config: Mapping[str, Any], config_path: Path) -> None:
    """Raise unless ``data`` has the hash that the config records for ``path`` (a config
    of before :data:`HASHED_SINCE` without hashes is not checked)."""
    hashes = config.get(HASHES_KEY)
    if hashes is None and config.get("format_version", HASHED_SINCE) < HASHED_SINCE:
        return
    expected = hashes.get(path.name) if isinstance(hashes, Mapping) else None
    if not (isinstance(expected, str) and re.fullmatch(r"[0-9a-f]{64}", expected)):
        raise CheckpointError(
            f"{config_path}: no valid SHA-256 of {path.name} under {HASHES_KEY!r} (found "
            f"{expected if isinstance(hashes, Mapping) else hashes!r}); the file was edited: "
            "restore it from a copy or retrain."
        )
    if _sha256(data) != expected:
        raise CheckpointError(
            f"{path}: its content does not match the SHA-256 that {config_path.name} records "
            f"(the file was corrupted or changed after it was saved); restore it from a copy "
            f"or retrain."
        )


def _read_weights(
    path: Path, config: Mapping[str, Any], config_path: Path
) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """``(metadata, tensors)`` of a safetensors file, verified against its hash unless it
    comes from another save (a save interrupted between renames: warned about later)."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_bytes

    data = _read_bytes(path)
    try:
        (size,) = struct.unpack("<Q", data[:8])
        metadata = json.loads(data[8 : 8 + size]).get("__metadata__") or {}
    except (struct.error, ValueError, AttributeError) as err:
        raise CheckpointError(f"{path}: corrupt or not a safetensors file ({err}).") from None
    if metadata.get("role") == "best" or metadata.get("checkpoint_id") == config.get(
        "checkpoint_id"
    ):
        _verify(path, data, config, config_path)
    try:
        state = load_bytes(data)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path}: corrupt or not a safetensors file ({err}).") from None
    return dict(metadata), state


def load_checkpoint(
    path: PathLike, *, map_location: str | torch.device = "cpu", weights: str = "last"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a network and its weights from a checkpoint.

    Args:
        path: the checkpoint folder, its ``config.json``, or a ``.safetensors`` file with a
            ``config.json`` beside it.
        map_location: the device to put the network on.
        weights: for a folder or ``config.json``: ``"last"`` (the weights the config names,
            those training resumes from) or ``"best"`` (``best.safetensors``, the epoch of
            lowest validation loss, when the folder has it; else the last).

    Returns:
        ``(model, config)``: the network in evaluation mode, and the ``config.json`` dict
        (its ``"extra"`` holds what was saved with it).

    Raises:
        CheckpointError: naming the file: the config or the weights are missing or
            corrupt, the class is unknown, or the weights do not fit the network (missing
            or unexpected keys, other shapes).

    Example:
        >>> model, config = load_checkpoint("run")                  # doctest: +SKIP
        >>> config["class"], config["extra"]["epoch"]                # doctest: +SKIP
        ('AE1d', 3)
    """
    check_choice("weights", weights, ("last", "best"))
    config_path, weights_path = _resolve(path)
    config = _read_config_file(config_path)
    if weights_path is None and weights == "best" and (config_path.parent / BEST_NAME).is_file():
        weights_path = config_path.parent / BEST_NAME
    if weights_path is None:
        weights_name = config.get("weights", WEIGHTS_NAME)
        if not isinstance(weights_name, str) or Path(weights_name).name != weights_name:
            raise CheckpointError(f"{config_path}: bad 'weights' entry {weights_name!r}.")
        weights_path = config_path.with_name(weights_name)
    if not weights_path.is_file():
        raise CheckpointError(f"{weights_path}: not found (the weights named by {config_path}).")
    metadata, state = _read_weights(weights_path, config, config_path)
    _warn_if_other_save(weights_path, config, metadata)
    try:
        model = build_model(config)
    except CheckpointError as err:
        raise CheckpointError(f"{config_path}: {err}") from None
    problem = _mismatch(
        _state_shapes(model.state_dict()), _state_shapes(state), "checkpoint vs network"
    )
    if problem:
        raise CheckpointError(
            f"{weights_path}: does not fit {config['class']}(**{config['kwargs']!r}) from "
            f"{config_path.name} (another architecture?): {problem}."
        )
    model.load_state_dict(state)
    model.to(map_location)
    model.eval()
    return model, config


def load(
    path: PathLike, *, map_location: str | torch.device = "cpu", weights: str = "best"
) -> nn.Module:
    """The network of a checkpoint, ready for inference (see :func:`load_checkpoint`).

    A training run's folder gives its best weights (lowest validation loss) by default;
    ``weights="last"`` gives those of the last epoch.

    Example:
        >>> net = load("run")                                       # doctest: +SKIP
    """
    from .inference.spec import InferenceSpec

    model, config = load_checkpoint(path, map_location=map_location, weights=weights)
    model.inference = InferenceSpec.from_config(config, path)
    return model


def _state_id(data: bytes, map_location: Any) -> str | None:
    """The ``checkpoint_id`` inside a training state's bytes, None when unreadable."""
    try:
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
    except Exception:  # noqa: BLE001 (any unreadable file: treated as corrupt)
        return None
    return state.get("checkpoint_id") if isinstance(state, dict) else None


def load_training_state(
    path: PathLike, *, map_location: str | torch.device = "cpu", weights_only: bool = True
) -> dict[str, Any]:
    """The state to resume training from a checkpoint saved with an optimizer.

    Args:
        path: the checkpoint folder (or its ``config.json``/``.safetensors`` file).
        map_location: where to put the tensors of the state.
        weights_only: passed to ``torch.load``; set to False only for a trusted file whose
            training state holds other Python objects.

    Returns:
        ``{"optimizer": state_dict or None, "training_state": dict, "extra": dict,
        "config": dict}``; load the first with ``optimizer.load_state_dict``.

    Raises:
        CheckpointError: naming the file: the checkpoint has no training state, or
            ``optimizer.pt`` is missing or unreadable.

    Example:
        >>> state = load_training_state("run")                       # doctest: +SKIP
        >>> optimizer.load_state_dict(state["optimizer"])            # doctest: +SKIP
    """
    config_path, _ = _resolve(path)
    config = _read_config_file(config_path)
    name = config.get("training_state")
    if not name:
        raise CheckpointError(
            f"{config_path}: this checkpoint has no training state (it was saved without an "
            f"optimizer); it can be loaded for inference, not resumed."
        )
    if not isinstance(name, str) or Path(name).name != name:
        raise CheckpointError(f"{config_path}: bad 'training_state' entry {name!r}.")
    state_path = config_path.with_name(name)
    if not state_path.is_file():
        raise CheckpointError(f"{state_path}: not found (the training state named by "
                              f"{config_path}).")  # fmt: skip
    data = _read_bytes(state_path)
    try:
        _verify(state_path, data, config, config_path)
    except CheckpointError:
        # A state from another save (one interrupted between renames) is warned about
        # below; one of this save that does not match is corrupt.
        if _state_id(data, map_location) in (None, config.get("checkpoint_id")):
            raise
    try:
        state = torch.load(io.BytesIO(data), map_location=map_location, weights_only=weights_only)
    except Exception as err:  # unpickling raises many kinds
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{state_path}: corrupt or unreadable ({first}).") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{state_path}: not an mdnc training state.")
    _warn_if_other_save(state_path, config, {"checkpoint_id": state.get("checkpoint_id")})
    return {
        "optimizer": state.get("optimizer"),
        "training_state": state.get("training_state", {}),
        "extra": config.get("extra", {}),
        "config": config,
    }
