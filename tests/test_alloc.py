"""mdnc._alloc: when the malloc thresholds are set, to what, and when malloc is left alone."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from typing import Any

import pytest

from mdnc import _alloc

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "MDNC_"))}
CLEAN.pop("GLIBC_TUNABLES", None)


class FakeLibc:
    def __init__(self, answer: int = 1) -> None:
        self.calls: list[tuple[int, int]] = []
        self.answer = answer

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.answer


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeLibc:
    libc = FakeLibc()
    monkeypatch.setattr(_alloc, "_state", None)
    monkeypatch.setattr(_alloc.ctypes, "CDLL", lambda name: libc)
    monkeypatch.setattr(os, "environ", dict(CLEAN))
    return libc


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_sets_both_thresholds_once(fake: FakeLibc) -> None:
    assert _alloc.retain_freed_memory() is True
    assert _alloc.retain_freed_memory() is True
    assert fake.calls == [(-3, 32 << 20), (-1, 256 << 20)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD


@pytest.mark.parametrize(
    "env",
    [
        {"MDNC_FAST": "0"},
        {"MDNC_MALLOC": "0"},
        {"MDNC_MALLOC": " 0 "},
        {"MALLOC_MMAP_THRESHOLD_": "65536"},
        {"MALLOC_TRIM_THRESHOLD_": "0"},
        {"MALLOC_TOP_PAD_": "0"},
        {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"},
    ],
)
def test_leaves_malloc_alone(
    fake: FakeLibc, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "environ", {**CLEAN, **env})
    assert _alloc.retain_freed_memory() is False
    assert fake.calls == []


def test_other_c_libraries_are_left_alone(fake: FakeLibc, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_alloc.platform, "libc_ver", lambda: ("", ""))
    assert _alloc.retain_freed_memory() is False
    assert fake.calls == []


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_a_refused_value_reports_false(fake: FakeLibc) -> None:
    fake.answer = 0
    assert _alloc.retain_freed_memory() is False


def test_no_mallopt_reports_false(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: Any) -> Any:
        raise OSError("no C library")

    monkeypatch.setattr(_alloc, "_state", None)
    monkeypatch.setattr(os, "environ", dict(CLEAN))
    monkeypatch.setattr(_alloc.ctypes, "CDLL", missing)
    assert _alloc.retain_freed_memory() is False


@pytest.mark.skipif(not GLIBC, reason="glibc only")
@pytest.mark.parametrize(("extra", "want"), [({}, "True"), ({"MDNC_MALLOC": "0"}, "False")])
def test_the_first_forward_on_the_fast_path_sets_them(extra: dict[str, str], want: str) -> None:
    code = (
        "import torch, mdnc; from mdnc import _alloc; from mdnc.modules.resnet import AE1d\n"
        "net = AE1d(4, [1, 1]).eval(); print(_alloc._state)\n"
        "with torch.no_grad(): net(torch.randn(2, 1, 32))\n"
        "print(_alloc._state)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={**CLEAN, **extra},
    )  # fmt: skip
    assert done.stdout.split() == ["None", want]
