"""The one place that reads PyTorch's private internals: may a fused kernel run for this call?

The fused instance norm + PReLU must stay invisible: it runs only when nothing could tell it
from the stock layers. Public PyTorch answers part of that (grad mode, tracing, compiling);
the rest needs private state: the module hooks (``nn.Module._forward_hooks`` and its
siblings, the global ``torch.nn.modules.module._global_*_hooks``), forward-mode AD
(``torch.autograd.forward_ad._current_level``) and ``torch.func`` wrappers
(``torch._C._functorch.is_functorch_wrapped_tensor``). :func:`fused_call_allowed` is the
only function that reads them, and :data:`PRIVATE_ATTRIBUTES` lists each one.

The internals were read against the PyTorch versions of :data:`CHECKED_TORCH`;
``tests/modules/test_torch_compat.py`` fails on any other version (re-check the names, and
what they mean, then add the version) and when a listed name is gone or changed type. Should
a name be missing at import, nothing breaks: :func:`fused_call_allowed` then always answers
``False`` and the stock layers run.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import BuiltinFunctionType, ModuleType

import torch
import torch.autograd.forward_ad as _forward_ad
import torch.nn.modules.module as _module
from torch import Tensor, nn

__all__ = [
    "CHECKED_TORCH",
    "PRIVATE_ATTRIBUTES",
    "MODULE_HOOKS",
    "fused_call_allowed",
    "layout_call_allowed",
]

CHECKED_TORCH = frozenset({"2.13"})
"""The ``major.minor`` PyTorch versions whose internals below were checked by hand."""

_GLOBAL_HOOKS = (
    "_global_forward_hooks",
    "_global_forward_pre_hooks",
    "_global_backward_hooks",
    "_global_backward_pre_hooks",
)
MODULE_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
"""The hook dictionaries of every ``nn.Module`` instance (set in ``nn.Module.__init__``)."""

_functorch = getattr(torch._C, "_functorch", None)

PRIVATE_ATTRIBUTES: tuple[tuple[object, str, type | tuple[type, ...]], ...] = (
    *((_module, name, dict) for name in _GLOBAL_HOOKS),
    (_forward_ad, "_current_level", int),
    (torch._C, "_functorch", ModuleType),
    (_functorch, "is_functorch_wrapped_tensor", BuiltinFunctionType),
)
"""``(owner, name, type)`` of each module-level private name read here."""

_FLOATS = (torch.float32, torch.float64)
_READY = all(isinstance(getattr(o, n, None), t) for o, n, t in PRIVATE_ATTRIBUTES)
_is_functorch_wrapped = getattr(_functorch, "is_functorch_wrapped_tensor", None)


def _shapes_fit(x: Tensor, gamma: Tensor, beta: Tensor, a: Tensor, ndim: int | None) -> bool:
    """Plain CPU float32/64 ``x`` of shape ``(B, C, *spatial)``, parameters to match."""
    if type(x) is not Tensor or not x.is_cpu or x.dtype not in _FLOATS:
        return False
    dims = x.dim()
    if dims < 3 or (ndim is not None and dims != ndim):
        return False
    if x.numel() == 0 or x.numel() // (x.size(0) * x.size(1)) < 2:
        return False
    for p in (gamma, beta, a):
        if p.dtype != x.dtype or not p.is_cpu:
            return False
    channels = x.size(1)
    return gamma.numel() == channels and beta.numel() == channels and a.numel() in (1, channels)


def _observed(tensors: tuple[Tensor, ...], watched: Sequence[nn.Module]) -> bool:
    """Whether hooks, forward-mode AD or ``torch.func`` would see the stock operators."""
    if _forward_ad._current_level >= 0:
        return True
    assert _is_functorch_wrapped is not None
    if any(_is_functorch_wrapped(t) for t in tensors):
        return True
    if not watched:  # the functional form replaces no module: no module hook can miss it
        return False
    if any(getattr(_module, name) for name in _GLOBAL_HOOKS):
        return True
    return any(getattr(m, name) for m in watched for name in MODULE_HOOKS)


def fused_call_allowed(
    x: Tensor,
    params: tuple[Tensor, Tensor, Tensor],
    *,
    ndim: int | None = None,
    watched: Sequence[nn.Module] = (),
    recording: bool = False,
) -> bool:
    """Whether the fused kernel may stand in for the stock operators in this call.

    Every condition that is only known at call time is here: no tracing or compiling (a
    graph must hold the stock operators), the tensors' type, device, dtype and shapes, no
    forward-mode AD nor ``torch.func`` transforms, no hooks on the replaced modules nor
    global module hooks (when it replaces modules), and (with ``recording``) autograd
    recording the call.

    Args:
        x: the input, ``(B, C, *spatial)``.
        params: the instance-norm weight and bias (``C`` elements each) and the PReLU
            weight (1 or ``C`` elements).
        ndim: the number of dimensions ``x`` must have; ``None``: any, at least 3.
        watched: the modules the fused kernel replaces; none may have hooks, and no global
            module hooks may be registered. Empty: no module hooks are looked at.
        recording: also require grad mode on and ``x`` or the instance-norm weight to
            need a gradient, for a caller that fuses training steps only (the branch
            units fuse at inference too).

    Returns:
        ``True`` if the fused kernel may run (whether it is built is not checked here).
    """
    if not _READY or torch.jit.is_tracing() or torch.compiler.is_compiling():
        return False
    gamma, beta, a = params
    if recording and not (torch.is_grad_enabled() and (x.requires_grad or gamma.requires_grad)):
        return False
    if not _shapes_fit(x, gamma, beta, a, ndim):
        return False
    return not _observed((x, gamma, beta, a), watched)


def layout_call_allowed(x: Tensor) -> bool:
    """Whether a network's forward on ``x`` may run its activations channels-last
    (:mod:`mdnc.modules._layout`): an eager inference call on a plain CPU tensor, with
    autograd off (no grad mode or inference mode), no tracing, compiling or exporting,
    no forward-mode AD and no ``torch.func`` transform. Module hooks may be registered:
    they see the same values, in another memory layout."""
    if not _READY or torch.is_grad_enabled() or torch.jit.is_tracing():
        return False
    if torch.compiler.is_compiling() or torch.compiler.is_exporting():
        return False
    if type(x) is not Tensor or not x.is_cpu or _forward_ad._current_level >= 0:
        return False
    assert _is_functorch_wrapped is not None
    return not _is_functorch_wrapped(x)
