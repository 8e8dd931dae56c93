"""The branch unit: an ``nn.Sequential`` whose instance norm + PReLU pair runs fused on CPU.

:class:`BranchUnit` is an ``nn.Sequential`` in every way that shows: the same children,
``state_dict`` keys and outputs. Its forward runs each adjacent ``[InstanceNormNd (affine,
no running statistics), PReLU]`` pair through :func:`mdnc.modules._fused.instance_norm_prelu`
(and such an instance norm without a PReLU after it, as a PReLU of slope 1: the projection
shortcut ``[(Upsample,) Conv, InstanceNorm]``) when nothing can observe the difference,
that is when

* neither module has hooks (``mdnc.contribs.torchsummary`` hooks every module, and then
  sees every row) and no global module hooks are registered;
* the input is a plain CPU float32/float64 tensor of shape ``(B, C, *spatial)``;
* the code is not being scripted, traced, compiled or exported, nor run under ``torch.func``
  transforms or forward-mode AD;
* autograd records the forward (grad mode on, and the input or the norm's weight needs a
  gradient): without gradients (inference) the stock layers run, so that the eager model
  gives bit for bit what its TorchScript or exported copy gives;
* the fused kernels are enabled (no ``MDNC_FAST=0``) and could be built.

Otherwise every child runs in turn, as in ``nn.Sequential``. A scripted ``BranchUnit``
always runs its children in turn.
"""

from __future__ import annotations

import torch
import torch.nn.modules.module as _module
from torch import Tensor, nn

from . import _fused

__all__ = ["BranchUnit"]

_NORMS = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)


def _hooked(m: nn.Module) -> bool:
    return bool(
        m._forward_hooks or m._forward_pre_hooks or m._backward_hooks or m._backward_pre_hooks
    )


def _global_hooks() -> bool:
    return bool(
        _module._global_forward_hooks
        or _module._global_forward_pre_hooks
        or _module._global_backward_hooks
        or _module._global_backward_pre_hooks
    )


def _in_graph_capture() -> bool:
    return torch.jit.is_tracing() or torch.compiler.is_compiling()


def _fusable_norm(norm: nn.Module, x: Tensor) -> bool:
    """Whether ``norm`` is an affine instance norm without running stats, unhooked, for ``x``."""
    return (
        isinstance(norm, _NORMS)
        and norm.affine
        and not norm.track_running_stats
        and x.dim() == norm._get_no_batch_dim() + 1
        and x.size(1) == norm.num_features
        and not _hooked(norm)
    )


_IDENTITY_SLOPES: dict[torch.dtype, Tensor] = {}


def _identity_slope(dtype: torch.dtype) -> Tensor:
    """A PReLU weight of 1: the fused kernel then computes the instance norm alone."""
    slope = _IDENTITY_SLOPES.get(dtype)
    if slope is None:
        slope = _IDENTITY_SLOPES.setdefault(dtype, torch.ones(1, dtype=dtype))
    return slope


class BranchUnit(nn.Sequential):
    """``nn.Sequential`` of a branch unit, with a fused instance norm + PReLU on CPU.

    Built like ``nn.Sequential`` (``BranchUnit(norm, act, conv)``); see the module
    docstring for when the fused kernels run.
    """

    def forward(self, input: Tensor) -> Tensor:
        if not torch.jit.is_scripting():
            if _fused.enabled() and torch.is_grad_enabled():
                if not (_in_graph_capture() or _global_hooks()):
                    return self._forward_fused(input)
        for module in self:
            input = module(input)
        return input

    def _forward_fused(self, x: Tensor) -> Tensor:
        """The forward, with each fusable norm (+ PReLU) in one call."""
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            m = modules[i]
            if _fusable_norm(m, x) and (x.requires_grad or m.weight.requires_grad):
                act = modules[i + 1] if i + 1 < len(modules) else None
                pair = isinstance(act, nn.PReLU) and not _hooked(act)
                # An instance norm alone is one followed by a PReLU of slope 1.
                slope = act.weight if pair else _identity_slope(x.dtype)
                if _fused.fusable(x, m.weight, m.bias, slope) and _fused.available():
                    x = _fused.fused_instance_norm_prelu(x, m.weight, m.bias, slope, m.eps)
                    i += 2 if pair else 1
                    continue
            x = m(x)
            i += 1
        return x
