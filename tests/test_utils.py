"""mdnc._utils: atomic writes, evaluation mode, device resolution and argument checks."""

from __future__ import annotations

import json
import os
import stat
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from mdnc._utils import (
    atomic_path,
    check_choice,
    check_int,
    check_order,
    check_real,
    eval_mode,
    is_int,
    resolve_device,
    staged_files,
    write_json_atomic,
    write_text_atomic,
)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ----------------------------------------------------------------------------- staging


def test_staged_files_rename_in_staging_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed: list[str] = []
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        renamed.append(Path(dst).name)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with staged_files() as stage:
        for name in ("c.bin", "a.bin", "b.json"):
            tmp = stage(tmp_path / name)
            assert tmp.parent == tmp_path and tmp.name.startswith(f".{name}.")
            assert tmp.name.endswith(".tmp") and tmp.exists()
            tmp.write_text(name)
            assert not (tmp_path / name).exists()  # nothing in place before the block ends
    assert renamed == ["c.bin", "a.bin", "b.json"]
    assert names(tmp_path) == ["a.bin", "b.json", "c.bin"]
    assert (tmp_path / "a.bin").read_text() == "a.bin"


def test_staged_files_exception_leaves_old_targets(tmp_path: Path) -> None:
    old = {"a.bin": b"\x00old a\xff", "b.txt": b"old b\n"}
    for name, content in old.items():
        (tmp_path / name).write_bytes(content)
    with pytest.raises(RuntimeError, match="midway"), staged_files() as stage:
        stage(tmp_path / "a.bin").write_bytes(b"new a")
        stage(tmp_path / "b.txt").write_bytes(b"half of new")
        raise RuntimeError("midway")
    assert names(tmp_path) == ["a.bin", "b.txt"]  # no temporary file
    for name, content in old.items():
        assert (tmp_path / name).read_bytes() == content


def test_staged_files_failed_rename_removes_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(dst).name == "config.json":
            raise OSError(5, "crash before the config")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="crash before the config"), staged_files() as stage:
        stage(tmp_path / "weights").write_text("w")
        stage(tmp_path / "config.json").write_text("{}")
    assert names(tmp_path) == ["weights"]


def test_concurrent_stagings_of_one_target_differ(tmp_path: Path) -> None:
    target = tmp_path / "x.npy"
    with staged_files() as first, staged_files() as second:
        a, b = first(target, ".npy"), second(target, ".npy")
        assert a != b
        a.write_text("first")
        b.write_text("second")
    assert target.read_text() == "first"  # the outer block finishes last
    assert names(tmp_path) == ["x.npy"]


def test_staged_file_has_the_mode_of_a_new_file(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    reference.write_bytes(b"")
    with atomic_path(tmp_path / "out") as tmp:
        tmp.write_bytes(b"data")
    assert stat.S_IMODE(os.stat(tmp_path / "out").st_mode) == stat.S_IMODE(
        os.stat(reference).st_mode
    )  # not mkstemp's 0600


def test_atomic_path_suffix(tmp_path: Path) -> None:
    target = tmp_path / "net.so"
    with atomic_path(target, ".so") as tmp:
        assert tmp.name.startswith(".net.so.") and tmp.name.endswith(".tmp.so")
        tmp.write_bytes(b"elf")
    assert names(tmp_path) == ["net.so"]
    assert target.read_bytes() == b"elf"


def test_atomic_path_lets_numpy_keep_the_name(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "a.npy", ".npy") as tmp:
        np.save(tmp, np.arange(3))  # np.save appends .npy to other names
    assert names(tmp_path) == ["a.npy"]
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.arange(3))


def test_write_text_and_json_atomic(tmp_path: Path) -> None:
    assert write_text_atomic(tmp_path / "t.txt", "héllo\n") == tmp_path / "t.txt"
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo\n"
    write_json_atomic(tmp_path / "c.json", {"a": [1, 2]})
    assert json.loads((tmp_path / "c.json").read_text()) == {"a": [1, 2]}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_write_json_atomic_writes_non_finite_numbers_as_null(tmp_path: Path, value: float) -> None:
    write_json_atomic(tmp_path / "c.json", {"value": value, "list": [1.0, value]})
    text = (tmp_path / "c.json").read_text()
    assert "NaN" not in text and "Infinity" not in text  # strict JSON
    assert json.loads(text) == {"value": None, "list": [1.0, None]}


@pytest.mark.parametrize("bad", [{"k": object()}, object()])
def test_write_json_atomic_refuses_and_keeps_the_old_file(tmp_path: Path, bad: Any) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"old": true}\n')
    with pytest.raises((ValueError, TypeError)):
        write_json_atomic(path, {"value": bad})
    assert path.read_text() == '{"old": true}\n'
    assert names(tmp_path) == ["c.json"]


def test_write_json_atomic_default_hook(tmp_path: Path) -> None:
    write_json_atomic(tmp_path / "c.json", {"s": {3, 1}}, default=sorted)
    assert json.loads((tmp_path / "c.json").read_text()) == {"s": [1, 3]}


# ----------------------------------------------------------------------------- eval_mode


def mixed() -> nn.Sequential:
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(), nn.Linear(2, 2))).train()
    net[1][0].eval()  # one submodule frozen in evaluation mode
    return net


def modes(net: nn.Module) -> dict[str, bool]:
    return {name: m.training for name, m in net.named_modules()}


def test_eval_mode_restores_mixed_modes() -> None:
    net = mixed()
    before = modes(net)
    with eval_mode(net) as inside:
        assert inside is net and not any(modes(net).values())
    assert modes(net) == before


def test_eval_mode_restores_mixed_modes_when_the_block_raises() -> None:
    net = mixed()
    before = modes(net)
    with pytest.raises(KeyError), eval_mode(net):
        raise KeyError("boom")
    assert modes(net) == before


# ----------------------------------------------------------------------------- devices


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.parametrize("name", ["gpu7", "", "cuda:x"])
def test_resolve_device_rejects_other_names(name: str) -> None:
    message = f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {name!r}."
    with pytest.raises(ValueError) as info:
        resolve_device(name)
    assert str(info.value) == message


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_resolve_device_without_cuda() -> None:
    with pytest.raises(ValueError) as info:
        resolve_device("cuda:0")
    assert str(info.value) == "device 'cuda:0' was asked for, but CUDA is not available here."


# ----------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3, True), (np.int64(3), True), (True, False), (3.0, False), ("3", False), (None, False)],
)
def test_is_int(value: Any, expected: bool) -> None:
    assert is_int(value) is expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("n", 3, 1), 3),
        (("n", np.int32(7), 0), 7),
        (("n", -5), -5),
        (("n", 2**70, 1), 2**70),
    ],
)
def test_check_int_accepts(args: tuple, expected: int) -> None:
    got = check_int(*args)
    assert got == expected and type(got) is int


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("window", 0, 1), ValueError, "window must be an int >= 1, got 0."),
        (("window", 2.0, 1), TypeError, "window must be an int >= 1, got 2.0 (float)."),
        (("seed", True, 0), TypeError, "seed must be an int >= 0, got True (bool)."),
        (("seed", "3", 0), TypeError, "seed must be an int >= 0, got '3' (str)."),
        (("n", None), TypeError, "n must be an int, got None (NoneType)."),
        (
            ("window", 4, 5, ", the smallest length AE1d accepts"),
            ValueError,
            "window must be an int >= 5, the smallest length AE1d accepts, got 4.",
        ),
        (("k", np.int64(-1), 0), ValueError, f"k must be an int >= 0, got {np.int64(-1)!r}."),
    ],
)
def test_check_int_messages(args: tuple, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        check_int(*args)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (0.5, {"low": 0.0, "high": 1.0, "high_open": True}, 0.5),
        (0, {"low": 0.0, "high": 1.0, "high_open": True}, 0.0),
        (np.float32(-3.5), {"what": "a number of dB"}, -3.5),
        (Fraction(1, 4), {"low": 0.0}, 0.25),
        (5, {"high": 5}, 5.0),
    ],
)
def test_check_real_accepts(value: Any, kwargs: dict, expected: float) -> None:
    got = check_real("x", value, **kwargs)
    assert got == expected and type(got) is float


OVERLAP = {"low": 0.0, "high": 1.0, "high_open": True}


@pytest.mark.parametrize(
    ("value", "kwargs", "error", "message"),
    [
        (1.0, OVERLAP, ValueError, "overlap must be a number in [0, 1), got 1.0."),
        (-0.1, OVERLAP, ValueError, "overlap must be a number in [0, 1), got -0.1."),
        (float("nan"), OVERLAP, ValueError, "overlap must be a number in [0, 1), got nan."),
        ("half", OVERLAP, TypeError, "overlap must be a number in [0, 1), got 'half' (str)."),
        (True, OVERLAP, TypeError, "overlap must be a number in [0, 1), got True (bool)."),
        (0.0, {"low": 0.0, "low_open": True}, ValueError, "overlap must be a number > 0, got 0.0."),
        (-1, {"low": 0.0}, ValueError, "overlap must be a number >= 0, got -1."),
        (2, {"high": 1.5, "high_open": True}, ValueError, "overlap must be a number < 1.5, got 2."),
        (2, {"high": 1.5}, ValueError, "overlap must be a number <= 1.5, got 2."),
        (
            0.0,
            {"low": 0.0, "high": 1.0, "low_open": True, "what": "a probability"},
            ValueError,
            "overlap must be a probability in (0, 1], got 0.0.",
        ),
        (float("inf"), {}, ValueError, "overlap must be a finite number, got inf."),
        (10**400, {}, ValueError, f"overlap must be a finite number, got {10**400!r}."),
        (
            float("nan"),
            {"what": "a number of dB"},
            ValueError,
            "overlap must be a finite number of dB, got nan.",
        ),
        (
            "10",
            {"what": "an amount of dB"},
            TypeError,
            "overlap must be a finite amount of dB, got '10' (str).",
        ),
    ],
)
def test_check_real_messages(value: Any, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        check_real("overlap", value, **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("value", "casefold", "error", "message"),
    [
        ("edge", False, ValueError, "padding must be one of 'reflect', 'zeros', got 'edge'."),
        ("Zeros", False, ValueError, "padding must be one of 'reflect', 'zeros', got 'Zeros'."),
        (None, False, TypeError, "padding must be one of 'reflect', 'zeros', got None (NoneType)."),
        (
            "edge",
            True,
            ValueError,
            "padding must be one of 'reflect', 'zeros' (case-insensitive), got 'edge'.",
        ),
        (3, True, TypeError, "padding must be one of 'reflect', 'zeros', got 3 (int)."),
    ],
)
def test_check_choice_messages(value: Any, casefold: bool, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        check_choice("padding", value, ("reflect", "zeros"), casefold=casefold)
    assert str(info.value) == message


def test_check_choice_returns() -> None:
    assert check_choice("padding", "zeros", ("reflect", "zeros")) == "zeros"
    assert check_choice("padding", "ZeRoS", ("reflect", "zeros"), casefold=True) == "zeros"


def test_check_order() -> None:
    assert [check_order(n) for n in (1, 2, np.int64(3))] == [1, 2, 3]
    assert type(check_order(np.int64(3))) is int
    for bad in (0, 4, True, 2.0, "2", None):
        with pytest.raises(ValueError) as info:
            check_order(bad)
        assert str(info.value) == (
            f"order must be 1, 2 or 3 (the number of spatial axes), got {bad!r}."
        )
    with pytest.raises(ValueError, match=r"^a network's order must be 1, 2 or 3 \(the"):
        check_order(None, "a network's order")


def test_name_registry_registers_lists_and_refuses() -> None:
    from mdnc._utils import NameRegistry

    shapes = NameRegistry("shape")

    @shapes.register
    class Square:
        name = "square"

    class Circle:
        name = "circle"

    shapes.register(Circle)
    assert shapes.names() == ["square", "circle"] and shapes.get("circle") is Circle
    with pytest.raises(ValueError, match="^unknown shape 'cube'; valid shapes: square, circle.$"):
        shapes.get("cube")
    with pytest.raises(ValueError, match="a shape named 'square' is already registered"):
        shapes.register(Square)

    class Nameless:
        pass

    with pytest.raises(ValueError, match="Nameless needs a class attribute 'name'"):
        shapes.register(Nameless)
    shapes.unregister("square")
    assert shapes.names() == ["circle"]
