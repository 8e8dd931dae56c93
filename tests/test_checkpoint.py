"""Checkpoints: round trips, config.json contents, atomic saves, and every error case."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import mdnc
from mdnc import checkpoint as ckpt
from mdnc.checkpoint import (
    CheckpointError,
    build_model,
    load,
    load_checkpoint,
    load_training_state,
    model_config,
    read_config,
    save_checkpoint,
)
from mdnc.modules.resnet import AE1d, UNet1d

AE_CONFIG = model_config("AE1d", channel=4, layers=[1, 1], kernel_size=3, in_planes=2)
UNET_CONFIG = model_config("UNet1d", channel=4, layers=(1, 2), block="plain", out_planes=2)


def trained(config: dict) -> nn.Module:
    """A network whose weights differ from a fresh initialisation (one Adam step)."""
    net = build_model(config)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    net(torch.randn(2, net.in_planes, 32)).square().mean().backward()
    opt.step()
    return net


def files(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.mark.parametrize("config", [AE_CONFIG, UNET_CONFIG], ids=["AE1d", "UNet1d"])
def test_round_trip_gives_identical_outputs(tmp_path: Path, config: dict) -> None:
    net = trained(config).eval()
    save_checkpoint(tmp_path, net, extra={"epoch": 3})
    model, cfg = load_checkpoint(tmp_path)
    assert type(model) is type(net) and not model.training
    x = torch.randn(3, net.in_planes, 45)
    with torch.no_grad():
        assert torch.equal(model(x), net(x))
    for key, value in net.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    assert cfg["extra"] == {"epoch": 3} and cfg["class"] == config["class"]
    # The loaded network remembers its config: it saves again without one.
    save_checkpoint(tmp_path / "again", model)
    assert torch.equal(load(tmp_path / "again")(x), model(x))


@pytest.mark.parametrize("target", ["folder", "config.json", "model.safetensors"])
def test_load_accepts_the_folder_the_config_or_the_weights(tmp_path: Path, target: str) -> None:
    net = trained(AE_CONFIG).eval()
    save_checkpoint(tmp_path, net)
    path = tmp_path if target == "folder" else tmp_path / target
    x = torch.randn(1, 2, 40)
    with torch.no_grad():
        assert torch.equal(load(str(path))(x), net(x))


def test_config_json_contents(tmp_path: Path) -> None:
    net = build_model(UNET_CONFIG)
    extra = {"epoch": 7, "mean": np.float32(0.5), "std": np.array([1.0, 2.0]), "t": torch.ones(2)}
    save_checkpoint(tmp_path, net, extra=extra)
    assert files(tmp_path) == ["config.json", "model.safetensors"]
    doc = json.loads((tmp_path / "config.json").read_text())
    assert doc["format"] == "mdnc-checkpoint" and doc["format_version"] == 2
    assert doc["mdnc_version"] == mdnc.__version__
    assert doc["class"] == "UNet1d" and doc["module"] == "mdnc.modules.resnet"
    assert doc["kwargs"] == {
        "channel": 4, "layers": [1, 2], "block": "plain", "out_planes": 2,
    }  # fmt: skip
    assert doc["weights"] == "model.safetensors" and doc["training_state"] is None
    assert doc["extra"] == {"epoch": 7, "mean": 0.5, "std": [1.0, 2.0], "t": [1.0, 1.0]}
    assert re.fullmatch(r"[0-9a-f]{32}", doc["checkpoint_id"])
    assert read_config(tmp_path) == doc
    from safetensors import safe_open

    with safe_open(str(tmp_path / "model.safetensors"), framework="pt") as f:
        assert f.metadata()["checkpoint_id"] == doc["checkpoint_id"]
        assert set(f.keys()) == set(net.state_dict())


def test_training_state_round_trip(tmp_path: Path) -> None:
    net = trained(AE_CONFIG)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    net(torch.randn(2, 2, 32)).mean().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2)
    rng = torch.get_rng_state()
    save_checkpoint(
        tmp_path, net, optimizer=opt, extra={"epoch": 4},
        training_state={"scheduler": sched.state_dict(), "step": 12, "rng": rng},
    )  # fmt: skip
    assert files(tmp_path) == ["config.json", "model.safetensors", "optimizer.pt"]
    state = load_training_state(tmp_path)
    assert state["extra"] == {"epoch": 4}
    assert state["training_state"]["step"] == 12
    assert torch.equal(state["training_state"]["rng"], rng)
    model = load(tmp_path)
    model.train()
    opt2 = torch.optim.Adam(model.parameters(), lr=0.01)
    opt2.load_state_dict(state["optimizer"])
    for a, b in zip(opt.state.values(), opt2.state.values(), strict=True):
        assert torch.equal(a["exp_avg"], b["exp_avg"])
    # Saving later without an optimizer removes the stale training state.
    save_checkpoint(tmp_path, model)
    assert files(tmp_path) == ["config.json", "model.safetensors"]
    with pytest.raises(CheckpointError, match=r"config\.json: this checkpoint has no training"):
        load_training_state(tmp_path)


def test_wrapped_models_are_unwrapped(tmp_path: Path) -> None:
    net = build_model(AE_CONFIG)
    save_checkpoint(tmp_path, nn.DataParallel(net))
    assert set(load(tmp_path).state_dict()) == set(net.state_dict())


# ----------------------------------------------------------------------------- atomicity


def saved_pair(folder: Path) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """Save a first checkpoint; return its network, an input and the output to expect."""
    net = trained(AE_CONFIG).eval()
    save_checkpoint(folder, net, optimizer=torch.optim.SGD(net.parameters(), lr=1.0))
    x = torch.randn(1, 2, 40)
    with torch.no_grad():
        return net, x, net(x)


def assert_previous_intact(folder: Path, x: torch.Tensor, expected: torch.Tensor) -> None:
    assert files(folder) == ["config.json", "model.safetensors", "optimizer.pt"]  # no temp
    with torch.no_grad():
        assert torch.equal(load(folder)(x), expected)
    assert load_training_state(folder)["optimizer"] is not None


def _failing_write(monkeypatch: pytest.MonkeyPatch, name: str, error: Exception) -> None:
    """Make the checkpoint's writes of ``name`` stop halfway with ``error``."""
    import mdnc.checkpoint as checkpoint

    write = checkpoint._write_bytes

    def half_write(path: Path, data: bytes) -> None:
        if Path(path).name.startswith(f".{name}."):
            Path(path).write_bytes(data[:100])
            raise error
        write(path, data)

    monkeypatch.setattr(checkpoint, "_write_bytes", half_write)


def test_failing_weights_writer_keeps_previous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, x, expected = saved_pair(tmp_path)
    _failing_write(monkeypatch, "model.safetensors", OSError(28, "No space left on device"))
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(tmp_path, trained(AE_CONFIG), extra={"epoch": 99})
    assert_previous_intact(tmp_path, x, expected)


def test_failing_optimizer_writer_keeps_previous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, x, expected = saved_pair(tmp_path)
    _failing_write(monkeypatch, "optimizer.pt", RuntimeError("killed midway"))
    other = trained(AE_CONFIG)
    with pytest.raises(RuntimeError, match="killed midway"):
        save_checkpoint(tmp_path, other, optimizer=torch.optim.SGD(other.parameters(), lr=1.0))
    assert_previous_intact(tmp_path, x, expected)


def test_failing_config_writer_keeps_previous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net, x, expected = saved_pair(tmp_path)

    def failing(text: str):  # noqa: ANN202
        def write(path: str) -> None:
            Path(path).write_text(text[:20])
            raise OSError(5, "Input/output error")

        return write

    monkeypatch.setattr(ckpt, "_write_text", failing)
    other = trained(AE_CONFIG)
    with pytest.raises(OSError, match="Input/output error"):
        save_checkpoint(tmp_path, other, optimizer=torch.optim.SGD(other.parameters(), lr=1.0))
    assert_previous_intact(tmp_path, x, expected)


def test_unserialisable_extra_writes_nothing(tmp_path: Path) -> None:
    net, x, expected = saved_pair(tmp_path)
    with pytest.raises(TypeError, match="must be JSON serialisable: object is not JSON"):
        save_checkpoint(tmp_path, net, extra={"bad": object()})
    assert_previous_intact(tmp_path, x, expected)


def test_crash_between_renames_loads_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved_pair(tmp_path)
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        if str(dst).endswith("config.json"):
            raise OSError(5, "crash before the config")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    new = trained(AE_CONFIG).eval()
    with pytest.raises(OSError, match="crash before the config"):
        save_checkpoint(tmp_path, new, optimizer=torch.optim.SGD(new.parameters(), lr=1.0))
    monkeypatch.undo()
    assert files(tmp_path) == ["config.json", "model.safetensors", "optimizer.pt"]
    with pytest.warns(
        RuntimeWarning, match="model.safetensors and config.json come from different"
    ):
        model = load(tmp_path)
    x = torch.randn(1, 2, 40)
    with torch.no_grad():
        assert torch.equal(model(x), new(x))  # the weights that made it


# ----------------------------------------------------------------------------- errors


def test_save_needs_a_matching_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"save_checkpoint needs config=model_config\('AE1d'"):
        save_checkpoint(tmp_path, AE1d(4, [1, 1]))
    with pytest.raises(ValueError, match="config describes a UNet1d but the model is a AE1d"):
        save_checkpoint(
            tmp_path, AE1d(4, [1, 1]), config=model_config("UNet1d", channel=4, layers=[1, 1])
        )
    with pytest.raises(
        ValueError, match=r"does not describe the model: shape mismatch.*\[8, 1, 5\] vs \[4, 1, 5\]"
    ):
        save_checkpoint(
            tmp_path, AE1d(8, [1, 1]), config=model_config("AE1d", channel=4, layers=[1, 1])
        )
    with pytest.raises(
        CheckpointError, match=r"cannot build AE1d.*channel must be an int >= 1, got 0"
    ):
        save_checkpoint(
            tmp_path, AE1d(4, [1, 1]), config=model_config("AE1d", channel=0, layers=[1, 1])
        )
    assert files(tmp_path) == []


def test_model_config_and_build_model_errors() -> None:
    with pytest.raises(
        CheckpointError, match=r"unknown network class 'ResNet'; valid classes: .*UNet1d.*AE1d"
    ):
        model_config("ResNet", channel=4)
    with pytest.raises(
        CheckpointError, match="unknown network class 'ae16'"
    ):  # a preset, not a class
        model_config("ae16")
    with pytest.raises(TypeError, match="kwargs must be JSON serialisable"):
        model_config("AE1d", channel=4, layers=[1, 1], block=object())
    with pytest.raises(CheckpointError, match="has no 'kwargs' entry"):
        build_model({"class": "AE1d"})
    with pytest.raises(CheckpointError, match="names module 'os'"):
        build_model({"class": "AE1d", "module": "os", "kwargs": {}})
    with pytest.raises(CheckpointError, match=r"cannot build AE1d\(\*\*\{'channel': 4\}\)"):
        build_model({"class": "AE1d", "kwargs": {"channel": 4}})
    assert isinstance(build_model(model_config("UNet1d", channel=4, layers=[1, 1])), UNet1d)


def test_a_block_is_not_a_checkpoint_class() -> None:
    """A residual block is a public class of resnet but not a network: refused by name."""
    valid = ckpt.valid_classes()
    assert "BlockPlain1d" not in valid and "AE1d" in valid
    listed = re.escape(", ".join(valid))
    with pytest.raises(
        CheckpointError, match=rf"^unknown network class 'BlockPlain1d'; valid classes: {listed}\.$"
    ):
        build_model({"class": "BlockPlain1d", "kwargs": {"in_planes": 2, "out_planes": 2}})
    with pytest.raises(CheckpointError, match="unknown network class 'BlockBottleneck3d'"):
        model_config("BlockBottleneck3d", in_planes=2, out_planes=2)


def edit_config(folder: Path, **changes: object) -> None:
    path = folder / "config.json"
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    run = tmp_path / "run"
    cfg, weights = re.escape(str(run / "config.json")), re.escape(str(run / "model.safetensors"))

    with pytest.raises(CheckpointError, match=f"{re.escape(str(run))}: no such checkpoint"):
        load(run)
    run.mkdir()
    with pytest.raises(
        CheckpointError, match=f"{cfg}: not found; .* not an mdnc checkpoint folder"
    ):
        load(run)
    (run / "notes.txt").write_text("x")
    with pytest.raises(CheckpointError, match="notes.txt: expected a checkpoint folder"):
        load(run / "notes.txt")

    save_checkpoint(run, build_model(AE_CONFIG))
    (run / "model.safetensors").rename(run / "moved.safetensors")
    with pytest.raises(
        CheckpointError, match=f"{weights}: not found \\(the weights named by {cfg}"
    ):
        load(run)
    (run / "moved.safetensors").rename(run / "model.safetensors")

    (run / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match=f"{weights}: corrupt or not a safetensors file"):
        load(run)
    save_checkpoint(run, build_model(AE_CONFIG))
    data = (run / "model.safetensors").read_bytes()
    (run / "model.safetensors").write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(CheckpointError, match=f"{weights}: corrupt or not a safetensors file"):
        load(run)
    (run / "model.safetensors").write_bytes(data)

    good = (run / "config.json").read_text()
    (run / "config.json").write_text(good[:-30])
    with pytest.raises(CheckpointError, match=f"{cfg}: corrupt JSON"):
        load(run)
    (run / "config.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CheckpointError, match=f"{cfg}: (not a text file|corrupt JSON)"):
        load(run)
    (run / "config.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match=f"{cfg}: expected a JSON object"):
        load(run)
    (run / "config.json").write_text('{"class": "AE1d"}')
    with pytest.raises(CheckpointError, match=f"{cfg}: not an mdnc checkpoint config"):
        load(run)

    (run / "config.json").write_text(good)
    edit_config(run, format_version=3)
    with pytest.raises(CheckpointError, match=f"{cfg}: format_version 3 is not readable"):
        load(run)
    (run / "config.json").write_text(good)
    edit_config(run, **{"class": "Transformer"})
    with pytest.raises(
        CheckpointError, match=f"{cfg}: unknown network class 'Transformer'; valid classes: "
    ):
        load(run)
    (run / "config.json").write_text(good)
    edit_config(run, weights="../elsewhere.safetensors")
    with pytest.raises(CheckpointError, match=f"{cfg}: bad 'weights' entry"):
        load(run)
    (run / "config.json").write_text(good)
    edit_config(run, kwargs={"channel": 4, "layers": [1, 1], "in_planes": "two"})
    with pytest.raises(
        CheckpointError, match=f"{cfg}: cannot build AE1d.*in_planes must be an int"
    ):
        load(run)

    os.remove(run / "config.json")
    with pytest.raises(
        CheckpointError, match=f"{cfg}: not found; model.safetensors needs the config"
    ):
        load(run / "model.safetensors")


def test_state_dict_mismatch_names_the_keys(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, build_model(AE_CONFIG))
    weights = re.escape(str(tmp_path / "model.safetensors"))
    edit_config(tmp_path, **{"class": "UNet1d"})  # another architecture, same kwargs
    with pytest.raises(
        CheckpointError,
        match=f"{weights}: does not fit UNet1d.*another architecture.*missing keys: conv_up_list",
    ):
        load(tmp_path)
    edit_config(
        tmp_path, **{"class": "AE1d"}, kwargs={"channel": 8, "layers": [1, 1], "in_planes": 2}
    )
    with pytest.raises(
        CheckpointError,
        match=r"shape mismatch \(checkpoint vs network\): conv_first.weight "
        r"\[4, 2, 5\] vs \[8, 2, 5\]",
    ):
        load(tmp_path)
    edit_config(tmp_path, kwargs={"channel": 4, "layers": [1, 1, 1], "in_planes": 2})
    with pytest.raises(CheckpointError, match=r"missing keys: .*\(\+\d+ more\)"):
        load(tmp_path)
    edit_config(tmp_path, kwargs={"channel": 4, "layers": [1], "in_planes": 2})
    with pytest.raises(CheckpointError, match="cannot build AE1d"):
        load(tmp_path)


def test_training_state_errors_name_the_file(tmp_path: Path) -> None:
    net = build_model(AE_CONFIG)
    save_checkpoint(tmp_path, net, optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    state = re.escape(str(tmp_path / "optimizer.pt"))
    data = (tmp_path / "optimizer.pt").read_bytes()
    (tmp_path / "optimizer.pt").write_bytes(data[:50])
    with pytest.raises(CheckpointError, match=f"{state}: its content does not match the SHA"):
        load_training_state(tmp_path)
    # A checkpoint without hashes (an older one) still names what is wrong with the file.
    document = json.loads((tmp_path / "config.json").read_text())
    del document["sha256"]
    document["format_version"] = 1  # hashes came with format version 2
    (tmp_path / "config.json").write_text(json.dumps(document))
    with pytest.raises(CheckpointError, match=f"{state}: corrupt or unreadable"):
        load_training_state(tmp_path)
    os.remove(tmp_path / "optimizer.pt")
    with pytest.raises(CheckpointError, match=f"{state}: not found \\(the training state named by"):
        load_training_state(tmp_path)
    torch.save({"something": 1}, tmp_path / "optimizer.pt")
    with pytest.raises(CheckpointError, match=f"{state}: not an mdnc training state"):
        load_training_state(tmp_path)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_training_state(tmp_path / "missing")
