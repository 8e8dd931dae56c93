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

Fused only where it is faster: :func:`chosen` says, per path (``"training"``,
``"inference"``, ``"channels_last"``), whether the fused kernels run there, as timed on
this host when the library was built (:mod:`mdnc.modules._fused.choice`; the timing runs
on the first load if the library has no record yet). ``MDNC_FAST=1`` forces the fused
kernels on every path, ``MDNC_FAST=0`` the stock layers.

Whether the fused kernel may run for a given call (no tracing, hooks, ``torch.func``...) is
decided by :func:`mdnc.modules._fused._torch_compat.fused_call_allowed`, the one place that
reads PyTorch's private internals.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from ..._alloc import retain_freed_memory
from ._torch_compat import fused_call_allowed

__all__ = [
    "available", "chosen", "enabled", "forced", "fused_path", "loaded", "instance_norm_prelu",
    "record",
]  # fmt: skip

_lock = threading.Lock()
_record_lock = threading.Lock()
_ops: tuple[Any, Any] | None = None
_failure: str | None = None
_library: Path | None = None
_record: dict[str, Any] | None = None
_override: dict[str, bool] | None = None


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


def chosen(path: str) -> bool:
    """Whether the fused kernels run on ``path`` now: ``"training"`` (autograd records),
    ``"inference"`` (it does not) or ``"channels_last"`` (a network's channels-last
    inference). Builds the library, and times it on this host, on the first call.

    ``MDNC_FAST=1``: whenever the library loads; otherwise as the host's record decided
    (:mod:`mdnc.modules._fused.choice`). ``MDNC_FAST=0`` is read where the fast paths are
    built (:func:`enabled`): a branch unit or network built under it never asks.
    """
    if _override is not None:
        return _override[path] and loaded()
    if not loaded():
        return False
    if os.environ.get("MDNC_FAST", "").strip() == "1":
        return True
    return bool(record()["choice"][path])


def fused_path(x: Tensor, params: tuple[Tensor, ...] | list[Tensor]) -> str:
    """The path of a fused call on ``x`` with ``params`` (see :func:`chosen`): ``"training"``
    when autograd records it, else ``"inference"``, or ``"channels_last"`` for an input
    laid out channels-last (the networks' channels-last inference)."""
    if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params)):
        return "training"
    return "inference" if x.is_contiguous() else "channels_last"


@contextlib.contextmanager
def forced(choice: dict[str, bool]) -> Iterator[None]:
    """Within the block, :func:`chosen` answers ``choice`` (the timing uses it)."""
    global _override
    previous, _override = _override, dict(choice)
    try:
        yield
    finally:
        _override = previous


def record(remeasure: bool = False) -> dict[str, Any]:
    """This host's record of fused against stock (read, or timed and saved when missing).

    If the timing fails, every path takes the stock layers and one ``RuntimeWarning`` says
    why. ``remeasure=True`` times again.
    """
    global _record
    if _record is not None and not remeasure:
        return _record
    if not loaded():
        raise RuntimeError(f"the fused kernels are not loaded: {_failure}")
    from . import choice
    from .build import locked

    assert _library is not None
    with _record_lock, locked(_library):
        found = None if remeasure else choice.read_record(_library)
        if found is None:
            try:
                found = choice.measure(fused_instance_norm_prelu, forced)
                choice.save(_library, found)
            except Exception as exc:  # keep the stock layers, say why
                warnings.warn(
                    f"mdnc: timing the fused CPU kernels failed, the stock layers are used: "
                    f"{type(exc).__name__}: {exc}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                found = {"choice": dict.fromkeys(choice.PATHS, False), "error": str(exc)}
        _record = found
    return _record


def _load() -> bool:
    global _ops, _failure, _library
    with _lock:
        if _ops is None and _failure is None:
            try:
                from .build import build

                _library = build()
                torch.ops.load_library(str(_library))
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
    if fusable(x, gamma, beta, a) and enabled() and chosen(fused_path(x, (gamma, beta, a))):
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
