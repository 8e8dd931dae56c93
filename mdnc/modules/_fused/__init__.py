"""Fused CPU kernels: instance norm (affine) followed by PReLU, in a C++ extension.

The forward makes one pass over the input for the row statistics and one pass writing the
output, and keeps only the input, the per-row mean and rstd for the backward (the stock
pair also keeps the normalized tensor). The backward makes one pass for the row sums and
one pass writing ``grad_x``. The math is that of ``F.instance_norm`` (affine, input
statistics) then ``F.prelu``; results agree with it to rounding.

The library is compiled on first use, or ahead of time by
``python -m mdnc.modules._fused.build`` (see :mod:`mdnc.modules._fused.build` for the
cache folder). Importing this package compiles nothing and loads nothing. If the compiler
or the load fails, :func:`available` is ``False``, one ``RuntimeWarning`` says why, and
:func:`instance_norm_prelu` computes with the stock operators. ``MDNC_FAST=0`` turns the
fused kernels off (:class:`mdnc.modules._units.BranchUnit` reads it when it is built).

Whether the fused kernel may run for a given call (no tracing, hooks, ``torch.func``...) is
decided by :func:`mdnc.modules._fused._torch_compat.fused_call_allowed`, the one place that
reads PyTorch's private internals.
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from ..._alloc import retain_freed_memory
from ._torch_compat import fused_call_allowed

__all__ = ["available", "enabled", "loaded", "instance_norm_prelu"]

_lock = threading.Lock()
_ops: tuple[Any, Any] | None = None
_failure: str | None = None


def enabled() -> bool:
    """Whether the fused kernels are allowed (the environment has no ``MDNC_FAST=0``)."""
    return os.environ.get("MDNC_FAST", "1").strip() != "0"


def available() -> bool:
    """Whether the fused kernels are enabled and loaded; builds them on the first call."""
    return enabled() and loaded()


def loaded() -> bool:
    """Whether the fused kernels are loaded (``MDNC_FAST`` aside); builds them on the first call."""
    if _ops is not None:
        return True
    if _failure is not None:
        return False
    return _load()


def _load() -> bool:
    global _ops, _failure
    with _lock:
        if _ops is None and _failure is None:
            try:
                from .build import build

                torch.ops.load_library(str(build()))
                namespace = torch.ops.mdnc_fused
                _ops = (namespace.in_prelu_forward.default, namespace.in_prelu_backward.default)
                retain_freed_memory()  # the fast path reuses freed tensor memory
            except Exception as exc:  # any failure: keep the stock layers
                _failure = f"{type(exc).__name__}: {exc}"
                warnings.warn(
                    "mdnc: the fused CPU kernels are unavailable, the stock PyTorch layers are "
                    f"used instead (set MDNC_FAST=0 to silence this). Reason: {_failure}",
                    RuntimeWarning,
                    stacklevel=3,
                )
    return _ops is not None


class _InstanceNormPReLU(torch.autograd.Function):
    """``prelu(instance_norm(x, gamma, beta, eps), a)`` with the fused forward and backward."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: Tensor, gamma: Tensor, beta: Tensor, a: Tensor, eps: float
    ) -> Tensor:
        assert _ops is not None
        z, mean, rstd = _ops[0](x, gamma, beta, a, eps)
        ctx.save_for_backward(x, mean, rstd, gamma, beta, a)
        return z

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        assert _ops is not None
        x, mean, rstd, gamma, beta, a = ctx.saved_tensors
        need_x = bool(ctx.needs_input_grad[0])
        gx, ggamma, gbeta, ga = _ops[1](grad, x, mean, rstd, gamma, beta, a, need_x)
        return (gx if need_x else None), ggamma, gbeta, ga, None


def fusable(x: Tensor, gamma: Tensor, beta: Tensor, a: Tensor) -> bool:
    """Whether the fused kernels accept these tensors now (else the stock operators run)."""
    return fused_call_allowed(x, (gamma, beta, a))


def instance_norm_prelu(x: Tensor, gamma: Tensor, beta: Tensor, a: Tensor, eps: float) -> Tensor:
    """``F.prelu(F.instance_norm(x, weight=gamma, bias=beta, eps=eps), a)``, fused on CPU.

    Args:
        x: input of shape ``(B, C, *spatial)``.
        gamma: instance-norm weight, ``C`` elements.
        beta: instance-norm bias, ``C`` elements.
        a: PReLU weight, 1 or ``C`` elements.
        eps: added to the (biased) variance.

    Returns:
        The activated, normalized tensor, contiguous. Its backward is not differentiable
        again (no double backward) when the fused kernels ran.
    """
    if fusable(x, gamma, beta, a) and available():
        return fused_instance_norm_prelu(x, gamma, beta, a, eps)
    return F.prelu(F.instance_norm(x, weight=gamma, bias=beta, eps=eps), a)


def fused_instance_norm_prelu(
    x: Tensor, gamma: Tensor, beta: Tensor, a: Tensor, eps: float
) -> Tensor:
    """The fused op without checks: :func:`fusable` and :func:`loaded` must hold.

    When autograd does not record the call (no grad mode, or nothing needs a gradient:
    inference), the forward kernel runs alone, without the autograd node and the tensors
    it would keep for the backward.
    """
    if torch.is_grad_enabled() and (
        x.requires_grad or gamma.requires_grad or beta.requires_grad or a.requires_grad
    ):
        return _InstanceNormPReLU.apply(x.contiguous(), gamma, beta, a, float(eps))
    assert _ops is not None
    return _ops[0](x, gamma, beta, a, float(eps))[0]
