"""Property-based tests of the command line: whatever the arguments, ``mdnc`` ends with
exit code 0 or 2 (130 never arises here), never with an exception, and a failure prints
one line.

Training itself is replaced by its set-up (every option, data and memory check runs,
no epoch does), so that hundreds of argument lists take seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given
from hypothesis import strategies as st

from mdnc.checkpoint import build_model, model_config, save_checkpoint
from mdnc.cli import main
from tests.conftest import property_settings

SETTINGS = property_settings(150, HealthCheck.function_scoped_fixture, HealthCheck.too_slow)

#: Values an option may get: sensible ones (half the draws), absurd ones, the wrong kind.
VALUES = st.one_of(
    st.sampled_from(["1", "2", "3", "4", "8", "64", "0.5", "0.1", "5", "0:10", "cpu", "auto",
                     "gaussian", "pink", "hum", "supervised", "self-supervised", "UNet1d",
                     "AE1d", "plain", "bottleneck", "50", "500", "best", "last", "torch"]),
    st.sampled_from(["0", "-1", "1e308", "nan", "inf", "-inf", "1.5", "5:2", "none", "",
                     " ", "abc", "cuda", "meta", "10000000000", "--", "-", "../x", "\x00",
                     "é", "1" * 40, "noise2noise", "onnxruntime", "brown", "impulsive"]),
)  # fmt: skip


def _argv(options: list[str], values: st.SearchStrategy = VALUES) -> st.SearchStrategy:
    pair = st.tuples(st.sampled_from(options), st.lists(values, max_size=2))
    return st.lists(pair, max_size=5).map(lambda ps: [t for o, vs in ps for t in (o, *vs)])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run and two recordings (one too short for a window)."""
    root = tmp_path_factory.mktemp("cli-properties")
    torch.manual_seed(0)
    save_checkpoint(root / "run", build_model(model_config("AE1d", channel=4, layers=[1, 1])),
                    extra={"window": 64})  # fmt: skip
    rng = np.random.default_rng(0)
    np.save(root / "a.npy", rng.standard_normal((1, 300)).astype(np.float32))
    np.save(root / "short.npy", rng.standard_normal((1, 5)).astype(np.float32))
    (root / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    return root


def _exit_code(argv: list[str], capsys: pytest.CaptureFixture[str]) -> int:
    try:
        code = main(argv)
    except SystemExit as parser_exit:  # argparse: --help (0) or a bad argument (2)
        code = parser_exit.code
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err)
    event(f"exit code {code}")
    if code == 2:
        lines = [line for line in err.strip().splitlines() if "%|" not in line]
        assert len(lines) == 1 and "error" in lines[-1], (argv, err)
    return code


DENOISE = ["--window", "--overlap", "--batch-size", "--device", "--weights", "--engine",
           "--threads", "--key", "--quiet"]  # fmt: skip


@SETTINGS
@given(
    inputs=st.lists(
        st.sampled_from(["a.npy", "short.npy", "bad.npy", "missing.npy", "."]),
        min_size=1,
        max_size=2,
    ),  # fmt: skip
    output=st.sampled_from(["out.npy", "out", "a.npy", "run/config.json"]),
    extra=_argv(DENOISE),
)
def test_denoise_never_escapes(
    world: Path, tmp_path: Path, inputs: list[str], output: str, extra: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    before = (world / "a.npy").read_bytes()
    argv = ["denoise", "--checkpoint", str(world / "run"), *(str(world / i) for i in inputs),
            "--output", str(world / output), "--quiet", *extra]  # fmt: skip
    try:
        _exit_code(argv, capsys)
    finally:
        for out in (world / "out.npy", world / "out"):
            if out.is_dir():
                for p in out.iterdir():
                    p.unlink()
                out.rmdir()
            out.unlink(missing_ok=True)
    assert (world / "a.npy").read_bytes() == before  # an input is never written


SUMMARY = ["--arch", "--preset", "--order", "--channel", "--layers", "--block",
           "--kernel-size", "--in-planes", "--out-planes", "--out-size", "--out-length",
           "--in-length", "--input-size", "--batch-size"]  # fmt: skip
SIZES = st.sampled_from(["AE1d", "UNet1d", "UNet2d", "unet32", "ae16", "1", "2", "3", "0",
                         "-4", "16", "plain", "bottleneck", "x", "1e9", "100000"])  # fmt: skip


@SETTINGS
@given(argv=_argv(SUMMARY, SIZES))
def test_summary_never_escapes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _exit_code(["summary", *argv], capsys)


TRAIN = ["--window", "--hop", "--val-fraction", "--channel", "--layers", "--batch-size",
         "--epochs", "--lr", "--seed", "--snr-db", "--noise", "--objective", "--hum-hz",
         "--sample-rate", "--blind-spot", "--mask-fraction", "--mask-radius", "--device",
         "--synthetic", "--channels", "--kernel-size", "--examples", "--arch", "--block",
         "--noisy", "--resume", "--config", "--init-from", "--workers"]  # fmt: skip


@SETTINGS
@given(argv=_argv(TRAIN))
def test_train_set_up_never_escapes(
    world: Path, tmp_path_factory: pytest.TempPathFactory, argv: list[str],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from mdnc.training import Trainer

    def set_up_only(self: Trainer) -> dict:
        try:
            self.setup()
        finally:
            self.close()
        return {}

    monkeypatch.setattr(Trainer, "fit", set_up_only)
    out = tmp_path_factory.mktemp("train")
    base = ["train", "--synthetic", "4", "300", "--window", "64", "--channel", "4", "--layers",
            "1", "1", "--batch-size", "4", "--quiet", "--out", str(out / "run")]  # fmt: skip
    _exit_code([*base, *argv], capsys)
