"""Fused only where faster: the per-host timing record, and the paths that follow it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from mdnc import _host
from mdnc.modules import _fused
from mdnc.modules._fused import build, choice
from mdnc.modules._units import BranchUnit
from mdnc.modules.resnet import UNet1d
from tests.conftest import rel

ALL_FUSED = dict.fromkeys(choice.PATHS, True)


def fake_record(**paths: bool) -> dict[str, Any]:
    picked = {**ALL_FUSED, **paths}
    return {
        "version": choice.VERSION,
        "host": _host.host_info(),
        "threshold": choice.THRESHOLD,
        "speedup": {p: {"(8, 16, 8192)": 2.0 if v else 0.8} for p, v in picked.items()},
        "choice": picked,
    }


@pytest.fixture
def auto(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """MDNC_FAST unset (the per-host choice rules), the library loaded."""
    assert _fused.loaded()
    monkeypatch.delenv("MDNC_FAST", raising=False)
    return monkeypatch


def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the fused calls made from now on."""
    calls: list[str] = []
    real = _fused.fused_instance_norm_prelu

    def counting(x: torch.Tensor, *args: Any) -> torch.Tensor:
        calls.append(_fused.fused_path(x, args[:3]))
        return real(x, *args)

    monkeypatch.setattr(_fused, "fused_instance_norm_prelu", counting)
    return calls


def unit() -> BranchUnit:
    return BranchUnit(torch.nn.InstanceNorm1d(4, affine=True), torch.nn.PReLU(4))


@pytest.mark.parametrize("training", [True, False])
def test_a_path_found_slower_runs_the_stock_layers(
    auto: pytest.MonkeyPatch, training: bool
) -> None:
    u = unit()
    x = torch.randn(2, 4, 64, requires_grad=training)
    auto.setattr(_fused, "_record", fake_record(training=not training, inference=training))
    calls = spy(auto)
    with torch.set_grad_enabled(training):
        out = u(x)
    assert calls == []
    stock = F.prelu(F.instance_norm(x, weight=u[0].weight, bias=u[0].bias), u[1].weight)
    assert torch.equal(out, stock)
    # The other path fuses.
    with torch.set_grad_enabled(not training):
        u(x.detach().requires_grad_(not training))
    assert calls == ["inference" if training else "training"]


def test_mdnc_fast_1_forces_every_path(auto: pytest.MonkeyPatch) -> None:
    auto.setattr(_fused, "_record", fake_record(training=False, inference=False))
    assert not _fused.chosen("training")
    auto.setenv("MDNC_FAST", "1")
    assert all(_fused.chosen(p) for p in choice.PATHS)
    calls = spy(auto)
    unit()(torch.randn(2, 4, 64, requires_grad=True))
    assert calls == ["training"]


def test_channels_last_inference_follows_the_choice(auto: pytest.MonkeyPatch) -> None:
    from mdnc.modules import _layout

    net = UNet1d(4, [1, 1]).eval()
    x = torch.randn(2, 1, 64)
    ran: list[bool] = []
    real = _layout.run_channels_last
    auto.setattr("mdnc.modules._nets.run_channels_last", lambda f, t: ran.append(1) or real(f, t))
    auto.setattr(_fused, "_record", fake_record(channels_last=False))
    with torch.no_grad():
        slow = net(x)
    assert ran == []
    auto.setattr(_fused, "_record", fake_record(channels_last=True))
    with torch.no_grad():
        fast = net(x)
    assert ran == [1] and rel(fast, slow) < 1e-5


def test_the_functional_op_follows_the_choice(auto: pytest.MonkeyPatch) -> None:
    x = torch.randn(2, 3, 32)
    ps = (torch.rand(3) + 0.5, torch.randn(3), torch.full((3,), 0.25))
    calls = spy(auto)
    auto.setattr(_fused, "_record", fake_record(inference=False))
    _fused.instance_norm_prelu(x, *ps, 1e-5)
    auto.setattr(_fused, "_record", fake_record(inference=True))
    _fused.instance_norm_prelu(x, *ps, 1e-5)
    assert calls == ["inference"]


def test_the_path_of_a_call() -> None:
    x = torch.randn(2, 3, 8)
    p = (torch.ones(3, requires_grad=True),)
    assert _fused.fused_path(x, p) == "training"
    with torch.no_grad():
        assert _fused.fused_path(x, p) == "inference"
        assert _fused.fused_path(x.transpose(1, 2).contiguous().transpose(1, 2), p) == (
            "channels_last"
        )
    assert _fused.fused_path(x, (torch.ones(3),)) == "inference"


def _tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(choice, "OP_SHAPES", ((2, 16, 1024),))
    monkeypatch.setattr(choice, "NETWORKS", (("UNet1d", (2, 1, 256)),))


def test_a_kernel_slower_than_stock_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    _tiny(monkeypatch)

    def slow(x: torch.Tensor, *args: Any) -> torch.Tensor:
        time.sleep(0.004)
        return F.prelu(F.instance_norm(x, weight=args[0], bias=args[1], eps=args[3]), args[2])

    found = choice.measure(slow, _fused.forced)
    assert found["choice"]["training"] is False and found["choice"]["inference"] is False
    assert all(v < 1 for p in ("training", "inference") for v in found["speedup"][p].values())
    assert set(found["speedup"]["channels_last"]) == {"UNet1d (2, 1, 256)"}
    assert found["host"]["cpu"] == _host.host_info()["cpu"]


def test_a_kernel_faster_than_stock_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    _tiny(monkeypatch)

    def free(x: torch.Tensor, *args: Any) -> torch.Tensor:  # no work at all
        return x.detach().requires_grad_(x.requires_grad)

    found = choice.measure(free, _fused.forced)
    assert found["choice"]["training"] is True and found["choice"]["inference"] is True


def test_the_record_round_trips_and_bad_ones_are_ignored(tmp_path: Path) -> None:
    library = tmp_path / "mdnc_fused_0123.so"
    assert choice.read_record(library) is None
    record = fake_record(channels_last=False)
    choice.save(library, record)
    assert choice.record_path(library) == tmp_path / "mdnc_fused_0123.choice.json"
    assert choice.read_record(library) == json.loads(json.dumps(record))
    for bad in ("{", "[]", json.dumps({**record, "version": 0}), json.dumps({"choice": {}})):
        choice.record_path(library).write_text(bad, encoding="utf-8")
        assert choice.read_record(library) is None


def test_a_failed_timing_keeps_the_stock_layers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(*args: Any) -> dict:
        raise RuntimeError("timer broke")

    monkeypatch.setattr(choice, "measure", broken)
    monkeypatch.setattr(_fused, "_record", None)
    monkeypatch.setattr(_fused, "_library", tmp_path / "mdnc_fused_x.so")
    with pytest.warns(RuntimeWarning, match="timer broke"):
        found = _fused.record()
    assert found["choice"] == dict.fromkeys(choice.PATHS, False)
    assert not (tmp_path / "mdnc_fused_x.choice.json").exists()


def test_a_missing_record_is_timed_once_and_saved(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    timed: list[int] = []

    def measure(*args: Any) -> dict:
        timed.append(1)
        return fake_record(training=False)

    monkeypatch.setattr(choice, "measure", measure)
    monkeypatch.setattr(_fused, "_record", None)
    monkeypatch.setattr(_fused, "_library", tmp_path / "mdnc_fused_y.so")
    assert _fused.record()["choice"]["training"] is False
    assert _fused.record() is _fused.record() and timed == [1]
    monkeypatch.setattr(_fused, "_record", None)  # a new process reads the saved record
    assert _fused.record()["choice"]["training"] is False and timed == [1]


def test_the_build_command_says_the_choice_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(_fused, "record", lambda remeasure=False: fake_record(inference=False))
    assert build.main([]) == 0
    lines = capsys.readouterr().out.strip().split("\n")
    assert len(lines) == 2 and "already built" in lines[0] and "-march=native" in lines[0]
    assert lines[1].startswith("mdnc: fused vs stock on ")
    assert (
        "training 2.00x -> fused; inference 0.80x -> stock; channels-last 2.00x -> fused"
        in lines[1]
    )
    assert _host.host_info()["cpu"] in lines[1]


def test_the_target_is_part_of_the_cache_key(monkeypatch: pytest.MonkeyPatch) -> None:
    native = build.library_path()
    monkeypatch.setenv("MDNC_MARCH", "x86-64-v3")
    assert "-march=x86-64-v3" in build.cflags() and build.library_path() != native


def test_host_info_names_the_cpu_and_its_vector_extensions() -> None:
    info = _host.host_info()
    assert set(info["vector_extensions"]) <= set(_host.VECTOR_EXTENSIONS)
    assert info["cores"] >= 1 and info["torch"] == torch.__version__
    line = _host.host_line(info)
    assert info["cpu"] in line and f"{info['threads']} threads" in line
    assert json.loads(json.dumps(info)) == info
