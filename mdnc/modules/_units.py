"""The branch unit: an ``nn.Sequential`` whose instance norm + PReLU pair runs fused on CPU.

:class:`BranchUnit` is an ``nn.Sequential`` in every way that shows: the same children,
``state_dict`` keys and outputs. When it is built it makes a plan (:func:`plan_steps`):
each adjacent ``[InstanceNormNd (affine, no running statistics), PReLU]`` pair, and each
such instance norm without a PReLU after it (the projection shortcut ``[(Upsample,) Conv,
InstanceNorm]``, run as a PReLU of slope 1), unless ``MDNC_FAST=0`` then turns the fused
kernels off. A unit with nothing planned runs the plain ``nn.Sequential`` forward.

At each call a planned step runs through
:func:`mdnc.modules._fused.fused_instance_norm_prelu` when
:func:`mdnc.modules._fused._torch_compat.fused_call_allowed` finds that nothing can observe
the difference, that is when

* neither module has hooks (``mdnc.contribs.torchsummary`` hooks every module, and then
  sees every row) and no global module hooks are registered;
* the input is a plain CPU float32/float64 tensor of shape ``(B, C, *spatial)``;
* the code is not being scripted, traced, compiled or exported, nor run under ``torch.func``
  transforms or forward-mode AD;

and the kernels could be built and were found faster than the stock layers on this host
for the path the call takes (:func:`mdnc.modules._fused.fused_path`,
:func:`mdnc.modules._fused.chosen`; ``MDNC_FAST=1`` forces them). This holds in training
and at inference alike: without gradients only the fused forward kernel runs (no autograd
node). The eager model then agrees with its TorchScript or exported copy (which hold the
stock operators) to rounding, within 1e-5 relative, not bit for bit; ``MDNC_FAST=0`` (or
:func:`set_fused`) gives the stock layers everywhere. Otherwise the step's modules run in
turn, as in ``nn.Sequential``. A scripted ``BranchUnit`` always runs its children in turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from . import _fused
from ._fused._torch_compat import fused_call_allowed

__all__ = ["BranchUnit", "plan_steps", "set_fused"]

_NORMS = (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)

Step = tuple[int, int, bool]
"""A planned step: the norm's index, the number of dimensions of its input, a PReLU follows."""

_Plan = tuple[tuple[nn.Module, ...], tuple[Step, ...]]


def _input_dims(m: nn.Module | None) -> int | None:
    """For an affine instance norm without running statistics, its input's dims; else ``None``."""
    for order, cls in enumerate(_NORMS, start=1):
        if isinstance(m, cls):
            return order + 2 if m.affine and not m.track_running_stats else None
    return None


def plan_steps(children: Sequence[nn.Module | None]) -> tuple[Step, ...]:
    """The steps the fused kernel may take over in a sequence of modules.

    Args:
        children: the modules, in the order they run.

    Returns:
        One ``(index, input dims, with PReLU)`` per fusable instance norm, in order: with
        ``True``, the ``nn.PReLU`` right after it belongs to the step.
    """
    steps: list[Step] = []
    i = 0
    while i < len(children):
        dims = _input_dims(children[i])
        if dims is None:
            i += 1
            continue
        with_act = i + 1 < len(children) and isinstance(children[i + 1], nn.PReLU)
        steps.append((i, dims, with_act))
        i += 2 if with_act else 1
    return tuple(steps)


_IDENTITY_SLOPES: dict[torch.dtype, Tensor] = {}


def _identity_slope(dtype: torch.dtype) -> Tensor:
    """A PReLU weight of 1: the fused kernel then computes the instance norm alone."""
    slope = _IDENTITY_SLOPES.get(dtype)
    if slope is None:
        # A normal tensor even when the first call comes under inference mode: an
        # inference tensor cached here would break every later training step.
        with torch.inference_mode(False):
            slope = _IDENTITY_SLOPES.setdefault(dtype, torch.ones(1, dtype=dtype))
    return slope


def _run_step(x: Tensor, children: tuple[nn.Module, ...], step: Step) -> tuple[Tensor, int]:
    """One planned step: fused if allowed now, else its norm alone; the next child's index."""
    start, dims, with_act = step
    norm = children[start]
    gamma, beta = norm.weight, norm.bias
    params = (gamma, beta, children[start + 1].weight if with_act else _identity_slope(x.dtype))
    watched = children[start : start + 2] if with_act else (norm,)
    if fused_call_allowed(x, params, ndim=dims, watched=watched):
        if _fused.chosen(_fused.fused_path(x, params)):
            return _fused.fused_instance_norm_prelu(x, *params, norm.eps), start + len(watched)
        return norm(x), start + 1
    # A PReLU with hooks must see its input: the norm then runs fused alone. The PReLU's
    # weight stays among the checked tensors (as when the pair was checked), so that it
    # still sends a ``torch.func`` transform of it to the stock layers.
    if with_act and fused_call_allowed(x, params, ndim=dims, watched=(norm,)):
        if _fused.chosen(_fused.fused_path(x, params)):
            slope = _identity_slope(x.dtype)
            return _fused.fused_instance_norm_prelu(x, gamma, beta, slope, norm.eps), start + 1
    return norm(x), start + 1


def _run_planned(x: Tensor, children: tuple[nn.Module, ...], steps: tuple[Step, ...]) -> Tensor:
    """The children in turn, each planned step through :func:`_run_step`."""
    i = 0
    for step in steps:
        for module in children[i : step[0]]:
            x = module(x)
        x, i = _run_step(x, children, step)
    for module in children[i:]:
        x = module(x)
    return x


class BranchUnit(nn.Sequential):
    """``nn.Sequential`` of a branch unit, with a fused instance norm + PReLU on CPU.

    Built like ``nn.Sequential`` (``BranchUnit(norm, act, conv)``); see the module
    docstring for when the fused kernels run.
    """

    # Bookkeeping, not part of the model: TorchScript leaves them out.
    __jit_ignored_attributes__: ClassVar[list[str]] = ["_fused_enabled", "_fusion_plan"]
    # An nn.Sequential turned into a BranchUnit by assigning ``__class__`` skipped
    # ``__init__``: it reads MDNC_FAST and makes its plan at its first forward.
    _fused_enabled = None
    _fusion_plan = None

    def __init__(self, *args: Any) -> None:
        """Build the unit, read ``MDNC_FAST`` and make the plan.

        Args:
            *args: the modules, or one ``OrderedDict`` of them, as for ``nn.Sequential``.
        """
        super().__init__(*args)
        self._fused_enabled = _fused.enabled()
        self._plan()

    def __getstate__(self) -> dict[str, Any]:
        # A copy (deepcopy, pickle) is a new build: the plan is derived state, made again
        # for the copied children rather than stored in the pickle.
        state = super().__getstate__()
        state.pop("_fusion_plan", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # The children may not be complete yet while unpickling: the plan waits for the
        # first forward. MDNC_FAST is read now, as when a unit is built.
        self._fused_enabled = _fused.enabled()

    def fusion_steps(self) -> tuple[Step, ...]:
        """The steps of the current plan (see :func:`plan_steps`); empty: plain forward."""
        return self._plan()[1]

    def _plan(self) -> _Plan:
        """The plan of the current children, made again if they changed since."""
        # The plan is checked against the children at each call instead of being dropped by
        # the methods that change them: ``_modules`` changes in many ways (``insert`` and
        # ``__delitem__`` bypass ``add_module``, DataParallel replicas and user code edit
        # it directly), while comparing a few children by identity costs well under a
        # microsecond. Changes inside a child (``affine``, ``track_running_stats``) are
        # not followed: they are fixed at a norm's construction.
        children = tuple(self._modules.values())
        plan = self._fusion_plan
        if plan is None or plan[0] != children:
            if self._fused_enabled is None:
                self._fused_enabled = _fused.enabled()
            plan = (children, plan_steps(children) if self._fused_enabled else ())
            self._fusion_plan = plan
        return plan

    def forward(self, input: Tensor) -> Tensor:
        """The children in turn, each planned step fused when nothing can tell.

        Args:
            input: the input of the first child.

        Returns:
            The output of the last child.
        """
        # Under torch.compile the stock layers run anyway: leaving the plan out of the
        # captured code also keeps it out of the guards (a copy's first plan would
        # otherwise force a recompilation).
        if not (torch.jit.is_scripting() or torch.compiler.is_compiling()):
            children, steps = self._plan()
            if steps:
                return _run_planned(input, children, steps)
        for module in self:
            input = module(input)
        return input


def set_fused(module: nn.Module, enabled: bool) -> int:
    """Turn the fused kernels of every :class:`BranchUnit` in ``module`` on or off.

    Off, the units run the stock layers, and the networks in ``module`` their stock NCW
    inference (no channels-last layout, :mod:`mdnc.modules._layout`), as if built under
    ``MDNC_FAST=0``: bit for bit the TorchScript/ONNX copies, the reference of the tests
    and of the inference benchmark.
    On, they fuse when :func:`~mdnc.modules._fused._torch_compat.fused_call_allowed` lets
    them (and ``MDNC_FAST=0`` is not set).

    Args:
        module: a network, a block, or any module holding branch units.
        enabled: whether the units may fuse.

    Returns:
        The number of branch units changed.

    Example:
        >>> from mdnc.modules.resnet import AE1d
        >>> set_fused(AE1d(4, [1, 1]), False)
        9
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {enabled!r}.")
    for m in module.modules():
        if hasattr(m, "_channels_last"):  # a network: its channels-last inference too
            m._channels_last = enabled
    units = [m for m in module.modules() if isinstance(m, BranchUnit)]
    for unit in units:
        unit._fused_enabled = enabled and _fused.enabled()
        unit._fusion_plan = None
    return len(units)
