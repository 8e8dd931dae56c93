"""The private PyTorch internals that the fused kernels' gate reads are still there.

These tests fail on a PyTorch version that was not checked: read
``mdnc/modules/_fused/_torch_compat.py`` against the new version (do the names still exist,
do they still mean the same?), then add it to ``CHECKED_TORCH``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.modules.module as torch_module
from torch import nn

from mdnc.modules._fused import _torch_compat as compat


def test_the_installed_torch_was_checked() -> None:
    major_minor = ".".join(torch.__version__.split("+")[0].split(".")[:2])
    assert major_minor in compat.CHECKED_TORCH, (
        f"PyTorch {torch.__version__} was not checked: re-read the internals that "
        "mdnc/modules/_fused/_torch_compat.py uses, then add it to CHECKED_TORCH."
    )


@pytest.mark.parametrize(
    ("owner", "name", "kind"),
    compat.PRIVATE_ATTRIBUTES,
    ids=lambda v: str(getattr(v, "__name__", v)),
)
def test_each_private_name_exists_with_its_type(owner: object, name: str, kind: type) -> None:
    assert isinstance(getattr(owner, name, None), kind)


def test_the_gate_is_open() -> None:
    assert compat._READY
    module = nn.Module()
    for name in compat.MODULE_HOOKS:
        assert isinstance(getattr(module, name), dict) and not getattr(module, name)


REGISTER: list[tuple[str, Callable[[nn.Module], object]]] = [
    ("_forward_hooks", lambda m: m.register_forward_hook(lambda *a: None)),
    ("_forward_pre_hooks", lambda m: m.register_forward_pre_hook(lambda *a: None)),
    ("_backward_hooks", lambda m: m.register_full_backward_hook(lambda *a: None)),
    ("_backward_pre_hooks", lambda m: m.register_full_backward_pre_hook(lambda *a: None)),
]


@pytest.mark.parametrize(("name", "register"), REGISTER, ids=[n for n, _ in REGISTER])
def test_module_hooks_land_in_the_dictionaries_read(name: str, register: Callable) -> None:
    module = nn.PReLU()
    handle = register(module)
    assert getattr(module, name)
    handle.remove()
    assert not getattr(module, name)


GLOBAL_REGISTER = [
    ("_global_forward_hooks", lambda: torch_module.register_module_forward_hook(print)),
    ("_global_forward_pre_hooks", lambda: torch_module.register_module_forward_pre_hook(print)),
    ("_global_backward_hooks", lambda: torch_module.register_module_full_backward_hook(print)),
    (
        "_global_backward_pre_hooks",
        lambda: torch_module.register_module_full_backward_pre_hook(print),
    ),
]


@pytest.mark.parametrize(("name", "register"), GLOBAL_REGISTER, ids=[n for n, _ in GLOBAL_REGISTER])
def test_global_hooks_land_in_the_dictionaries_read(name: str, register: Callable) -> None:
    handle = register()
    try:
        assert getattr(torch_module, name)
    finally:
        handle.remove()
    assert not getattr(torch_module, name)


def test_forward_ad_level_and_functorch_wrappers() -> None:
    assert fwAD._current_level == -1
    with fwAD.dual_level():
        assert fwAD._current_level >= 0
    assert fwAD._current_level == -1
    wrapped = torch._C._functorch.is_functorch_wrapped_tensor
    seen: list[bool] = []
    torch.func.vmap(lambda t: seen.append(wrapped(t)) or t)(torch.randn(2, 3))
    assert seen == [True] and not wrapped(torch.randn(2))


def _args(dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    x = torch.randn(2, 3, 8, dtype=dtype, requires_grad=True)
    gamma, beta = torch.ones(3, dtype=dtype), torch.zeros(3, dtype=dtype)
    return x, (gamma, beta, torch.full((1,), 0.25, dtype=dtype))


def test_fused_call_allowed_answers_each_condition() -> None:
    x, params = _args()
    norm, act = nn.InstanceNorm1d(3, affine=True), nn.PReLU()
    allowed = compat.fused_call_allowed
    assert allowed(x, params, ndim=3, watched=(norm, act), recording=True)
    assert allowed(*_args(torch.float64))
    assert not allowed(*_args(torch.bfloat16))
    assert not allowed(x, params, ndim=4)
    assert not allowed(x[..., :1], params)  # one spatial element
    assert not allowed(x[:, :2], params)  # channels differ from the parameters
    assert not allowed(x, (params[0], params[1], torch.ones(2)))
    assert not allowed(nn.Parameter(x.detach()), params)  # not a plain tensor
    assert not allowed(x.detach(), params, recording=True)  # nothing needs a gradient
    with torch.no_grad():
        assert allowed(x, params) and not allowed(x, params, recording=True)
    handle = act.register_forward_hook(lambda *a: None)
    assert allowed(x, params, watched=(norm,)) and not allowed(x, params, watched=(norm, act))
    handle.remove()
    handle = torch_module.register_module_forward_pre_hook(lambda *a: None)
    try:
        assert not allowed(x, params, watched=(norm,))
        assert allowed(x, params)  # the functional form replaces no module
    finally:
        handle.remove()
    with fwAD.dual_level():
        assert not allowed(x, params)
    seen: list[bool] = []
    torch.func.vmap(lambda t: seen.append(allowed(t, params)) or t)(x.detach()[None])
    assert seen == [False]
    assert allowed(x, params)
