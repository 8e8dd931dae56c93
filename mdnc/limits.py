"""Resource bounds: sizes are checked against what they imply before anything is allocated.

A network recipe (a checkpoint's ``config.json``, the options of a training) and the sizes
a user asks for (a window, a batch, an export length) imply an amount of memory. mdnc
checks it before allocating, and refuses with a :class:`ResourceError` that names the
size, what it implies and how to change it, instead of running out of memory (a process
killed without a word, or a swap storm) minutes later.

The bounds (:class:`Limits`) have defaults a user can raise, process-wide with
:func:`set_limits` or from the environment:

* ``MDNC_MAX_STAGES`` (12): stages of a network (``len(layers)``);
* ``MDNC_MAX_CHANNELS`` (65536): channels of its widest stage;
* ``MDNC_MAX_PARAMETERS`` (2e9): its parameters;
* ``MDNC_MAX_MEMORY`` (the memory this process can get now: the RAM available, less
  under a cgroup limit or ``ulimit -v``): the memory one call may need, in bytes or with a
  unit, e.g. ``64G``.

Example:
    >>> from mdnc.limits import get_limits
    >>> get_limits().max_stages
    12
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import MdncError

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "Limits",
    "ResourceError",
    "available_memory",
    "check_forward_memory",
    "check_memory",
    "check_recipe",
    "format_bytes",
    "forward_bytes",
    "get_limits",
    "set_limits",
]


class ResourceError(MdncError, ValueError):
    """A size implies more memory (or a larger network) than the limits allow."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """The bounds checked before allocating (see the module's description).

    Args:
        max_stages: the most stages a network may have.
        max_channels: the most channels of a network's widest stage.
        max_parameters: the most parameters of a network.
        max_memory: the most bytes one call may need; None: :func:`available_memory`.
    """

    max_stages: int = 12
    max_channels: int = 65536
    max_parameters: int = 2_000_000_000
    max_memory: int | None = None


_ENV = {
    "max_stages": "MDNC_MAX_STAGES",
    "max_channels": "MDNC_MAX_CHANNELS",
    "max_parameters": "MDNC_MAX_PARAMETERS",
    "max_memory": "MDNC_MAX_MEMORY",
}
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_current: Limits | None = None


def _parse_size(name: str, text: str) -> int:
    found = re.fullmatch(r"\s*([0-9.E+]+)\s*([KMGT]?)I?B?\s*", text.upper())
    value = float(found[1]) if found else math.nan
    if not found or not math.isfinite(value) or value <= 0:
        raise ResourceError(f"{name} must be a positive size such as 64G or 5e9, got {text!r}.")
    return int(value * _UNITS[found[2]])


def get_limits() -> Limits:
    """The limits in force: those of :func:`set_limits`, else the environment's, else the
    defaults.

    Raises:
        ResourceError: an ``MDNC_MAX_*`` variable is not a positive number.
    """
    if _current is not None:
        return _current
    found = {}
    for field, env in _ENV.items():
        if os.environ.get(env, "").strip():
            found[field] = _parse_size(env, os.environ[env])
    return Limits(**found)


def set_limits(limits: Limits | None = None, **changes: int | None) -> Limits:
    """Set the limits of this process; return the previous ones (to restore them).

    Args:
        limits: the limits to use (None: the current ones, or with no ``changes``, back
            to the environment's).
        **changes: fields of :class:`Limits` to change, e.g. ``max_memory=64 * 2**30``.

    Example:
        >>> old = set_limits(max_stages=20)
        >>> get_limits().max_stages
        20
        >>> _ = set_limits(old)
    """
    global _current
    if limits is None and not changes:  # back to the environment's (not read here)
        previous, _current = _current or Limits(), None
        return previous
    previous = get_limits()
    _current = dataclasses.replace(limits or previous, **changes)
    return previous


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().split()[0]
    except (OSError, IndexError):
        return None
    return int(text) if text.isdigit() else None


def _proc_field(path: str, field: str) -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_memory() -> int:
    """The bytes this process can still get: the RAM available, less under a cgroup
    memory limit or an address-space limit (``ulimit -v``)."""
    found = [_proc_field("/proc/meminfo", "MemAvailable")]
    for limit, usage in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
         "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):  # fmt: skip
        cap, used = _read_int(limit), _read_int(usage)
        if cap is not None and used is not None and cap < 2**60:
            found.append(max(cap - used, 0))
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            found.append(max(soft - (_proc_field("/proc/self/status", "VmSize") or 0), 0))
    except (ImportError, OSError, ValueError):
        pass
    known = [n for n in found if n is not None]
    if not known:  # not Linux: the physical memory
        try:
            return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            return 2**62
    return min(known)


def check_memory(needed: float, what: str, advice: str) -> None:
    """Raise unless ``needed`` bytes fit ``max_memory`` (default: :func:`available_memory`).

    Args:
        needed: the bytes the request implies.
        what: the request, e.g. ``"window 1000000 x batch_size 64"``.
        advice: what to change, e.g. ``"lower batch_size or window"``.

    Raises:
        ResourceError: it does not fit (the message names both figures and the limit).
    """
    limits = get_limits()
    limit = limits.max_memory if limits.max_memory is not None else available_memory()
    if needed > limit:
        source = "MDNC_MAX_MEMORY" if limits.max_memory is not None else "the memory available"
        raise ResourceError(
            f"{what} needs about {format_bytes(needed)}, more than the {format_bytes(limit)} "
            f"allowed ({source}); {advice}, or set MDNC_MAX_MEMORY (e.g. 64G) to allow more."
        )


def _widest(layers: Any, channel: Any) -> tuple[int, int] | None:
    if not isinstance(layers, (list, tuple)) or isinstance(channel, bool):
        return None
    if not isinstance(channel, int):
        return len(layers), 0
    return len(layers), channel * 2 ** max(len(layers) - 1, 0)


def check_recipe(name: str, kwargs: Mapping[str, Any]) -> None:
    """Check a network recipe against the limits before it is built.

    The stages and the widest stage are checked from the arguments alone; then the
    network is built without memory (on the ``meta`` device) to count its parameters.
    Arguments the constructor would refuse are left to it.

    Raises:
        ResourceError: too many stages, channels or parameters (the message names them).
    """
    limits = get_limits()
    shape = _widest(kwargs.get("layers"), kwargs.get("channel"))
    if shape is not None:
        stages, widest = shape
        for value, limit, field, env in (
            (stages, limits.max_stages, "stages (len(layers))", "MDNC_MAX_STAGES"),
            (widest, limits.max_channels, "channels in the widest stage", "MDNC_MAX_CHANNELS"),
        ):
            if value > limit:
                raise ResourceError(
                    f"{name}(**{dict(kwargs)!r}) has {value} {field}, more than the limit of "
                    f"{limit}; set {env} to allow more."
                )
    count = _parameter_count(name, kwargs)
    if count is not None and count > limits.max_parameters:
        raise ResourceError(
            f"{name}(**{dict(kwargs)!r}) has {count:,} parameters, more than the limit of "
            f"{limits.max_parameters:,}; set MDNC_MAX_PARAMETERS to allow more."
        )
    if count is not None:
        check_memory(8 * count, f"{name} with {count:,} parameters", "use a smaller network")


def _parameter_count(name: str, kwargs: Mapping[str, Any]) -> int | None:
    import torch

    from .registry import get_model

    try:
        with torch.device("meta"):
            model = get_model(name)(**kwargs)
    except (TypeError, ValueError, RuntimeError):
        return None  # the real construction reports it
    return sum(p.numel() for p in model.parameters())


class _LiveBytes:
    """Counts the bytes of the tensors alive during a computation, and their peak."""

    def __init__(self) -> None:
        self.live = 0
        self.peak = 0

    def add(self, tensor: Any) -> None:
        n = tensor.untyped_storage().nbytes()
        self.live += n
        self.peak = max(self.peak, self.live)
        weakref.finalize(tensor, self._free, n)

    def _free(self, n: int) -> None:
        self.live -= n


def _measured_bytes(model: nn.Module, shape: tuple[int, ...], training: bool) -> int:
    """The peak bytes of the tensors one forward (and backward) of ``shape`` creates."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    counter = _LiveBytes()

    class Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            out = func(*args, **(kwargs or {}))
            if not getattr(func, "is_view", False):
                for t in tree_flatten(out)[0]:
                    if isinstance(t, torch.Tensor):
                        counter.add(t)
            return out

    param = next(model.parameters())
    x = torch.zeros(shape, dtype=param.dtype, device=param.device)
    with torch.set_grad_enabled(training), Mode():
        y = model(x)
        if training:
            y.float().sum().backward()
    del x, y
    if training:
        model.zero_grad(set_to_none=True)
    return counter.peak


def _output_bytes(model: nn.Module, shape: tuple[int, ...], training: bool) -> int:
    """The bytes of every leaf module's output in one forward of ``shape``: an upper bound
    of the peak of an inference forward, cheap to get (forward hooks, no dispatch mode)."""
    import torch

    total = [0]

    def hook(module: Any, inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            total[0] += output.nelement() * output.element_size()

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    param = next(model.parameters())
    try:
        with torch.no_grad():
            model(torch.zeros(shape, dtype=param.dtype, device=param.device))
    finally:
        for h in handles:
            h.remove()
    # A training step also keeps what backward needs and makes the gradients.
    return total[0] * (3 if training else 1)


#: The measured bytes of each model's forward at a reference size, by model (weakly held).
_MEMORY_CACHE: weakref.WeakKeyDictionary[Any, dict[Any, int]] = weakref.WeakKeyDictionary()


def forward_bytes(
    model: nn.Module,
    batch: int,
    spatial: tuple[int, ...],
    training: bool = False,
    precise: bool = True,
) -> int | None:
    """About the bytes a forward (``training``: and backward) of ``(batch, C, *spatial)``
    needs, from one measured at a small size and scaled (activations grow linearly with
    the batch and the spatial size); None when the model cannot be measured.

    Args:
        model: a network of :mod:`mdnc.modules` (``in_planes`` and ``min_size``).
        batch: the batch size.
        spatial: the spatial size, e.g. ``(window,)``.
        training: a training step (forward and backward) rather than an inference forward.
        precise: count the tensors alive at the peak (the first such count in a process
            costs about a second); else the sum of the layers' outputs (an upper bound).

    With ``precise`` the figure runs about 1.3 times above the process's measured growth
    on CPU.
    """
    import torch

    planes = getattr(model, "in_planes", None)
    min_size = getattr(model, "min_size", None)
    if not isinstance(planes, int) or not isinstance(min_size, tuple):
        return None
    if next(model.parameters(), None) is None or len(min_size) != len(spatial):
        return None
    ref = tuple(max(int(m), min(int(s), 256)) for m, s in zip(min_size, spatial, strict=True))
    key = (training, precise, ref)
    # Beside the model, not in its __dict__: torch.jit.script would try to type the cache.
    cache = _MEMORY_CACHE.setdefault(model, {})
    if key not in cache:
        measure = _measured_bytes if precise else _output_bytes
        try:
            cache[key] = measure(model, (1, planes, *ref), training)
        except (RuntimeError, ValueError, TypeError, torch.cuda.OutOfMemoryError):
            return None
    return int(cache[key] * batch * math.prod(spatial) / math.prod(ref))


def check_forward_memory(
    model: nn.Module,
    batch: int,
    spatial: tuple[int, ...],
    what: str,
    advice: str,
    training: bool = False,
    factor: float = 1.0,
) -> None:
    """Raise unless a forward of ``(batch, C, *spatial)`` (times ``factor``) fits the
    memory limit; the cheap bound first, the precise count only when that does not fit.

    Raises:
        ResourceError: it does not fit (see :func:`check_memory`).
    """
    for precise in (False, True):
        needed = forward_bytes(model, batch, spatial, training, precise)
        if needed is None:
            return
        try:
            check_memory(needed * factor, what, advice)
            return
        except ResourceError:
            if precise:
                raise
