"""The command line under clumsy and hostile use: every failure a user can cause ends in
one line on stderr with exit code 2 and loses nothing; a bug says it is one (exit code 1).

One test (or one table) per class of the reliability issue: data lost, silently wrong,
memory without bound, tracebacks instead of one-line errors, leftovers.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from mdnc._utils import folder_lock
from mdnc.checkpoint import build_model, load, model_config, save_checkpoint
from mdnc.cli import main

TINY = ["--window", "128", "--channel", "4", "--layers", "1", "1", "--batch-size", "4"]
SMALL = ["--synthetic", "6", "600", "--quiet", *TINY]


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its content."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _one_line_error(capsys: pytest.CaptureFixture[str], command: str, *needles: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"mdnc {command}: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained run (1 channel, window 128) of `mdnc train`."""
    out = tmp_path_factory.mktemp("reliability") / "run"
    assert main(["train", "--out", str(out), *SMALL, "--epochs", "1"]) == 0
    return out


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "a.npy"
    np.save(path, np.random.default_rng(0).standard_normal((1, 600)).astype(np.float32))
    return path


# ------------------------------------------------------------------------- data lost


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda a: ([str(a)], str(a)), id="file-onto-itself"),
        pytest.param(lambda a: ([str(a)], str(a.parent / "." / a.name)), id="dot-path"),
        pytest.param(lambda a: ([str(a.parent)], str(a.parent)), id="folder-onto-itself"),
        pytest.param(
            lambda a: (os.link(a, a.parent / "hard.npy"), [str(a.parent / "hard.npy")], str(a))[1:],
            id="hard-link",
        ),
        pytest.param(
            lambda a: (os.symlink(a, a.parent / "soft.npy"), [str(a)], str(a.parent / "soft.npy"))[
                1:
            ],
            id="symbolic-link",
        ),
    ],
)
def test_denoise_never_writes_over_an_input(
    run_dir: Path, recording: Path, make: Callable, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs, output = make(recording)
    before = _tree(recording.parent)
    assert main(["denoise", "--checkpoint", str(run_dir), *inputs, "--output", output]) == 2
    _one_line_error(capsys, "denoise", "would overwrite the input")
    assert _tree(recording.parent) == before


def test_train_refuses_a_folder_of_other_files_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / "metrics.json").write_text("mine too")
    before = _tree(folder)
    assert main(["train", "--out", str(folder), *SMALL, "--epochs", "1"]) == 2
    _one_line_error(capsys, "train", "notes.txt", "not a run", "--force")
    assert _tree(folder) == before
    assert main(["train", "--out", str(folder), *SMALL, "--epochs", "1", "--force"]) == 0
    assert (folder / "notes.txt").read_text() == "mine"
    assert load(folder) is not None


def test_a_run_being_written_is_locked(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = tmp_path / "fresh"
    with folder_lock(fresh):  # as a training running there holds it
        assert main(["train", "--out", str(fresh), *SMALL, "--epochs", "1"]) == 2
        _one_line_error(capsys, "train", "being written by another process")
        assert list(fresh.iterdir()) == []
        # Before its first checkpoint a running run is still "in use", not "not a run".
        assert main(["train", "--resume", str(fresh), "--quiet"]) == 2
        _one_line_error(capsys, "train", "being written by another process")
    before = _tree(run_dir)
    with folder_lock(run_dir):
        assert main(["train", "--resume", str(run_dir), "--epochs", "2"]) == 2
        _one_line_error(capsys, "train", "being written by another process")
    assert _tree(run_dir) == before


def test_a_failed_start_leaves_no_folder(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *SMALL, "--window", "100000"]) == 2
    capsys.readouterr()
    assert not out.exists()


def test_leftovers_of_killed_writes_are_removed_by_the_next_run(
    run_dir: Path, tmp_path: Path, recording: Path
) -> None:
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *SMALL, "--epochs", "1"]) == 0
    mine = run / ".model.safetensors.0123456789ab.tmp"
    mine.write_bytes(b"half a checkpoint")
    (run / ".keep.me").write_text("not ours")
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 0
    assert not mine.exists() and (run / ".keep.me").exists()
    out = tmp_path / "out"
    out.mkdir()
    half = out / ".a.npy.abcdef012345.tmp.npy"
    half.write_bytes(b"half an output")
    other = out / ".b.npy.abcdef012345.tmp.npy"  # another target's: not this run's business
    other.write_bytes(b"x")
    assert main(["denoise", "--checkpoint", str(run_dir), str(recording), "--output",
                 str(out), "--quiet"]) == 0  # fmt: skip
    assert not half.exists() and other.exists() and (out / "a.npy").is_file()


def test_every_file_of_a_run_has_the_same_permissions(run_dir: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in run_dir.iterdir() if p.is_file()}
    assert set(modes.values()) == {0o666 & ~umask}, modes


# -------------------------------------------------------------------- silently wrong


def test_a_diverged_run_fails_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *SMALL, "--lr", "1e30", "--epochs", "2"]) == 2
    _one_line_error(capsys, "train", "training diverged", "loss is nan", "no checkpoint", "--lr")
    assert not (out / "config.json").exists() and not (out / "metrics.json").exists()
    # A run that diverges later keeps the checkpoint of its last good epoch.
    assert main(["train", "--out", str(tmp_path / "good"), *SMALL, "--epochs", "1"]) == 0
    before = _tree(tmp_path / "good")
    from mdnc.training.objectives import SupervisedObjective

    real = SupervisedObjective.loss
    monkeypatch.setattr(SupervisedObjective, "loss", lambda *a, **k: real(*a, **k) * np.inf)
    assert main(["train", "--resume", str(tmp_path / "good"), "--epochs", "2"]) == 2
    _one_line_error(capsys, "train", "the checkpoint of epoch 1", "is kept")
    assert _tree(tmp_path / "good") == before


def test_metrics_and_config_are_strict_json(tmp_path: Path) -> None:
    net = build_model(model_config("AE1d", channel=4, layers=[1, 1]))
    save_checkpoint(tmp_path, net, extra={"loss": float("nan"), "h": [np.float32("inf"), 1.0]})
    text = (tmp_path / "config.json").read_text()

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in config.json")

    assert json.loads(text, parse_constant=refuse)["extra"] == {"loss": None, "h": [None, 1.0]}


def test_export_refuses_a_model_that_is_not_finite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = build_model(model_config("AE1d", channel=4, layers=[1, 1]))
    with torch.no_grad():
        next(net.parameters()).fill_(float("nan"))
    save_checkpoint(tmp_path / "nan", net)
    args = ["export", "--checkpoint", str(tmp_path / "nan"), "--out", str(tmp_path / "x")]
    assert main(args) == 2
    _one_line_error(capsys, "export", "not finite", "was not written")
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_a_flipped_byte_in_the_weights_is_found(
    run_dir: Path, tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    for name, weights in (("model.safetensors", "last"), ("best.safetensors", "best")):
        run = tmp_path / name
        shutil.copytree(run_dir, run)
        data = bytearray((run / name).read_bytes())
        data[-7] ^= 0x01
        (run / name).write_bytes(bytes(data))
        args = ["denoise", "--checkpoint", str(run), str(recording), "--weights", weights]
        assert main([*args, "--output", str(tmp_path / "y.npy")]) == 2
        _one_line_error(capsys, "denoise", name, "does not match the SHA-256")
        assert not (tmp_path / "y.npy").exists()


@pytest.mark.parametrize(
    "data_files, noisy_files",
    [pytest.param(2, 3, id="more-noisy-than-data"), pytest.param(3, 2, id="fewer-noisy")],
)
def test_noisy_counts_must_match_data(
    tmp_path: Path, data_files: int, noisy_files: int, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    for folder, n in (("clean", data_files), ("noisy", noisy_files)):
        (tmp_path / folder).mkdir()
        for i in range(n):
            np.save(tmp_path / folder / f"r{i}.npy", rng.standard_normal((1, 600)).astype("f4"))
    args = [str(tmp_path / "clean"), "--noisy", str(tmp_path / "noisy")]
    assert main(["train", *args, "--out", str(tmp_path / "run"), "--quiet", *TINY]) == 2
    _one_line_error(capsys, "train", f"{noisy_files} recordings for {data_files} DATA")
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------ memory without bound


def test_absurd_sizes_are_refused_before_allocating(
    run_dir: Path, tmp_path: Path, recording: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("MDNC_MAX_MEMORY", "2G")
    exported = tmp_path / "exported"
    assert main(["export", "--checkpoint", str(run_dir), "--out", str(exported),
                 "--length", "100000000"]) == 2  # fmt: skip
    _one_line_error(capsys, "export", "--length 100000000", "more than the 2.0 GiB", "MDNC_MAX")
    assert not exported.exists()
    out = tmp_path / "y.npy"
    assert main(["denoise", "--checkpoint", str(run_dir), str(recording), "--output", str(out),
                 "--batch-size", "100000", "--window", "500", "--quiet"]) == 0  # fmt: skip
    args = ["--synthetic", "6", "60000", "--window", "50000", "--batch-size", "64", "--quiet"]
    assert main(["train", "--out", str(tmp_path / "big"), *args]) == 2
    _one_line_error(capsys, "train", "batch_size 64 x window 50000", "lower batch_size")
    assert not (tmp_path / "big").exists()


def test_a_window_longer_than_the_recording_costs_no_more_than_the_recording(
    run_dir: Path, tmp_path: Path, recording: Path
) -> None:
    base = ["denoise", "--checkpoint", str(run_dir), str(recording), "--quiet", "--output"]
    assert main([*base, str(tmp_path / "huge.npy"), "--window", "100000000"]) == 0
    assert main([*base, str(tmp_path / "fit.npy"), "--window", "600"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "huge.npy"), np.load(tmp_path / "fit.npy"))


@pytest.mark.parametrize(
    "edit, needle",
    [
        pytest.param({"layers": [1] * 30}, "30 stages", id="stages"),
        pytest.param({"channel": 10**6}, "channels in the widest stage", id="channels"),
        pytest.param({"channel": 512, "layers": [1] * 6}, "parameters", id="parameters"),
    ],
)
def test_an_edited_recipe_is_refused_before_building(
    run_dir: Path, tmp_path: Path, recording: Path, edit: dict, needle: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import shutil

    monkeypatch.setenv("MDNC_MAX_PARAMETERS", "100000000")
    run = tmp_path / "edited"
    shutil.copytree(run_dir, run)
    document = json.loads((run / "config.json").read_text())
    document["kwargs"].update(edit)
    (run / "config.json").write_text(json.dumps(document))
    out = tmp_path / "y.npy"
    assert main(["denoise", "--checkpoint", str(run), str(recording), "--output", str(out)]) == 2
    _one_line_error(capsys, "denoise", needle, "MDNC_MAX_")
    assert not out.exists()


# ------------------------------------------------- tracebacks instead of one-line errors


def _failing_save(code: int) -> Callable:
    def save(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), str(Path(args[0]) / "model.safetensors"))

    return save


@pytest.mark.parametrize(
    "code, needle",
    [
        pytest.param(errno.ENOSPC, "the disk is full", id="full-disk"),
        pytest.param(errno.EROFS, "read-only", id="read-only"),
        pytest.param(errno.EACCES, "permission denied", id="permissions"),
    ],
)
def test_disk_errors_are_one_line_and_keep_the_last_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, needle: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *SMALL, "--epochs", "1"]) == 0
    before = _tree(run)
    monkeypatch.setattr("mdnc.training.trainer.save_checkpoint", _failing_save(code))
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 2
    _one_line_error(capsys, "train", "model.safetensors", needle)
    assert _tree(run) == before


def test_a_failing_clean_up_does_not_mask_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mdnc._utils import staged_files

    real_unlink = Path.unlink

    def unlink(self: Path, missing_ok: bool = False) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "unlink", unlink)
    with pytest.raises(OSError) as caught, staged_files() as stage:
        stage(tmp_path / "a.txt").write_text("x")
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "a.txt"))
    assert caught.value.errno == errno.ENOSPC
    monkeypatch.setattr(Path, "unlink", real_unlink)


@pytest.mark.parametrize(
    "args, needle",
    [
        pytest.param(["train", "--out", "{t}/r", *SMALL, "--device", "meta"], "got 'meta'",
                     id="device-meta"),
        pytest.param(["summary", "--arch", "UNet1d", "--channel", "4", "--layers", "1", "1",
                      "--input-size", "1", "0"], "--input-size 1 0", id="summary-zero-size"),
        pytest.param(["train", "--out", "{t}/r", *SMALL, "--snr-db", "1e308"], "--snr-db",
                     id="snr-1e308"),
        pytest.param(["train", "--resume", "{t}/nothing"], "nothing", id="resume-nothing"),
        pytest.param(["denoise", "--checkpoint", "{t}", "{t}/missing.npy", "--output", "{t}/o"],
                     "", id="denoise-no-checkpoint"),
    ],
)  # fmt: skip
def test_bad_options_are_one_line_errors(
    tmp_path: Path, args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a.replace("{t}", str(tmp_path)) for a in args]
    try:
        code = main(args)
    except SystemExit as parser_exit:  # argparse's own checks exit from parse_args
        code = parser_exit.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error:" in err[0] and needle in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_tampered_training_options_are_a_checkpoint_error(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    for tamper in ({"bogus": 1}, {"window": "many"}, {"lr": None}):
        run = tmp_path / "run"
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(run_dir, run)
        document = json.loads((run / "config.json").read_text())
        document["extra"]["train"].update(tamper)
        (run / "config.json").write_text(json.dumps(document))
        before = _tree(run)
        assert main(["train", "--resume", str(run), "--epochs", "2"]) == 2
        _one_line_error(capsys, "train", "config.json", "not valid")
        assert _tree(run) == before


def test_out_of_memory_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def exhausted(self: object, epoch: int) -> float:
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 GB")

    monkeypatch.setattr("mdnc.training.trainer.Trainer.train_epoch", exhausted)
    assert main(["train", "--out", str(tmp_path / "r"), *SMALL, "--epochs", "1"]) == 2
    _one_line_error(capsys, "train", "out of memory", "--batch-size")


# ------------------------------------- found by the independent sweep (held-out cases)


def _disk_full_on_write(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    """Writes by Python of a temporary sibling of ``target`` fail as on a full disk: with
    no file name, as a write to an open file does."""
    real = Path.write_bytes

    def write_bytes(self: Path, data: bytes) -> int:
        if self.name.startswith(f".{target}."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def test_a_full_disk_during_a_torchscript_export_names_the_file(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    out = tmp_path / "exported"
    _disk_full_on_write(monkeypatch, "model.pt")
    args = ["export", "--checkpoint", str(run_dir), "--out", str(out), "--format", "torchscript"]
    assert main(args) == 2
    _one_line_error(capsys, "export", str(out / "model.pt"), "the disk is full")
    assert not out.exists() or not any(out.iterdir())


def test_disk_errors_while_staging_name_the_target(tmp_path: Path) -> None:
    from mdnc._utils import staged_files

    target = tmp_path / "model.safetensors"
    with pytest.raises(OSError) as caught, staged_files() as stage:
        stage(target)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a write: no file name
    assert caught.value.filename == os.fspath(target)
    assert list(tmp_path.iterdir()) == []
    missing = tmp_path / "gone" / "model.safetensors"  # no temporary can be made there
    with pytest.raises(FileNotFoundError) as caught, staged_files() as stage:
        stage(missing)
    assert caught.value.filename == os.fspath(missing)


def test_a_synthetic_data_set_is_checked_against_the_memory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MDNC_MAX_MEMORY", "100M")
    args = ["--synthetic", "1000000", "1000000", "--epochs", "1", "--quiet", *TINY]
    assert main(["train", "--out", str(tmp_path / "r"), *args]) == 2
    _one_line_error(capsys, "train", "--synthetic 1000000 1000000", "MDNC_MAX_MEMORY")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "edit, needle",
    [
        pytest.param({"window": "abc"}, "'abc'", id="window-text"),
        pytest.param({"window": 0}, "window must be an int >= 1", id="window-zero"),
        pytest.param({"standardize": "yes"}, "'yes'", id="standardize-text"),
        pytest.param({"sample_rate": -5}, "sample_rate must be a number of Hz > 0",
                     id="rate-negative"),
        pytest.param({"legacy": True, "window": "abc"}, "'abc'", id="legacy-window-text"),
        pytest.param({"legacy": True, "standardize": 1}, "standardize must be a bool",
                     id="legacy-standardize-int"),
    ],
)
def test_edited_saved_options_of_denoise_are_a_checkpoint_error(
    run_dir: Path, tmp_path: Path, recording: Path, edit: dict, needle: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    config = json.loads((run / "config.json").read_text())
    if edit.pop("legacy", False):  # a run of the previous release: no inference spec
        del config["extra"]["inference"]
        config["extra"].update(edit)
    else:
        config["extra"]["inference"].update(edit)
    (run / "config.json").write_text(json.dumps(config))
    out = tmp_path / "y.npy"
    assert main(["denoise", "--checkpoint", str(run), str(recording), "--output", str(out)]) == 2
    _one_line_error(capsys, "denoise", str(run / "config.json"), needle)
    assert not out.exists()


def test_denoise_window_zero_is_refused(
    run_dir: Path, tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "y.npy"
    args = ["denoise", "--checkpoint", str(run_dir), str(recording), "--output", str(out)]
    assert main([*args, "--window", "0"]) == 2
    _one_line_error(capsys, "denoise", "window must be")
    assert not out.exists()


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda c: c.pop("sha256"), id="removed"),
        pytest.param(lambda c: c.update(sha256={}), id="empty"),
        pytest.param(lambda c: c.update(sha256="abc"), id="text"),
        pytest.param(lambda c: c["sha256"].update({"best.safetensors": None}), id="none"),
        pytest.param(lambda c: c["sha256"].update({"best.safetensors": "0" * 63}), id="short"),
    ],
)
def test_a_missing_or_malformed_hash_is_a_checkpoint_error(
    run_dir: Path, tmp_path: Path, recording: Path, edit: Callable,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    config = json.loads((run / "config.json").read_text())
    edit(config)
    (run / "config.json").write_text(json.dumps(config))
    out = tmp_path / "y.npy"
    assert main(["denoise", "--checkpoint", str(run), str(recording), "--output", str(out)]) == 2
    _one_line_error(capsys, "denoise", "config.json", "no valid SHA-256 of best.safetensors")
    assert not out.exists()


def test_a_checkpoint_of_before_hashes_still_loads(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = build_model(model_config("AE1d", channel=4, layers=[1, 1]))
    save_checkpoint(tmp_path / "old", net)
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    del config["sha256"]
    config["format_version"] = 1
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    x = torch.randn(1, 1, 64)
    torch.testing.assert_close(load(tmp_path / "old")(x), net.eval()(x))


def test_resume_refuses_force(run_dir: Path, tmp_path: Path, capsys) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    before = _tree(run)
    assert main(["train", "--resume", str(run), "--force", "--epochs", "2", "--quiet"]) == 2
    _one_line_error(capsys, "train", "not --force")
    assert _tree(run) == before


def test_a_refused_training_writes_nothing_into_a_locked_folder(
    tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    with folder_lock(busy):  # as a training in its first epoch holds it
        args = [str(recording), "--snr-db", "5", "--loading", "lazy", "--out", str(busy)]
        assert main(["train", *args, "--quiet", *TINY]) == 2
        _one_line_error(capsys, "train", "being written by another process")
        assert list(busy.iterdir()) == []


def test_saved_extra_that_is_not_an_object_is_a_checkpoint_error(
    run_dir: Path, tmp_path: Path, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    config = json.loads((run / "config.json").read_text())
    config["extra"] = []
    (run / "config.json").write_text(json.dumps(config))
    out = tmp_path / "y.npy"
    assert main(["denoise", "--checkpoint", str(run), str(recording), "--output", str(out)]) == 2
    _one_line_error(capsys, "denoise", "'extra' must be a JSON object")
    assert not out.exists()


def test_data_read_into_memory_is_checked_against_the_memory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    np.save(tmp_path / "big.npy", np.zeros((1, 3_000_000), np.float32))  # 12 MB
    monkeypatch.setenv("MDNC_MAX_MEMORY", "8M")
    args = [str(tmp_path / "big.npy"), "--snr-db", "5", "--quiet", *TINY]
    assert main(["train", *args, "--loading", "memory", "--out", str(tmp_path / "a")]) == 2
    _one_line_error(capsys, "train", "--loading memory of 1 DATA", "use --loading lazy")
    assert not (tmp_path / "a").exists()
    from mdnc.data.index import describe_recording, use_lazy

    assert use_lazy("auto", [describe_recording(tmp_path / "big.npy")])  # 12 MB > 8M / 8
