"""The model registry: one list of networks and presets that everything reads."""

from __future__ import annotations

import doctest
import inspect
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from torch import nn

import mdnc
from mdnc import registry
from mdnc.checkpoint import CheckpointError, build_model, model_config, valid_classes
from mdnc.cli import main
from mdnc.modules import _blocks, _nets, blindspot, resnet
from mdnc.registry import (
    ModelInfo,
    _unregister,
    get_model,
    get_model_info,
    list_models,
    register_model,
)

BLOCKS = [n for n in resnet.__all__ if n.startswith("Block")]
PRESETS = list_models(kind="preset")
# The implementation of each family (a U-Net is also an auto-encoder: checked exactly).
FAMILY_BASES = {
    "ae": _nets._AENd,
    "unet": _nets._UNetNd,
    "encoder": _nets._EncoderNetNd,
    "decoder": _nets._DecoderNetNd,
    "blindspot": blindspot.BlindSpotNet1d,
}
BLOCK_TYPES = {"plain": _blocks._BlockPlainNd, "bottleneck": _blocks._BlockBottleneckNd}


def test_registration_order_is_the_documented_order() -> None:
    assert BLOCKS == [
        "BlockPlain1d", "BlockPlain2d", "BlockPlain3d",
        "BlockBottleneck1d", "BlockBottleneck2d", "BlockBottleneck3d",
    ]  # fmt: skip
    # The documented family, then the blind-spot network of mdnc.modules.blindspot.
    assert list_models() == [n for n in resnet.__all__ if n not in BLOCKS] + ["BlindSpotNet1d"]
    assert len(list_models(kind="network")) == 13 and len(PRESETS) == 18
    for name in BLOCKS:  # building blocks, not models
        with pytest.raises(ValueError, match=f"unknown model '{name}'"):
            get_model_info(name)


def test_filters() -> None:
    assert list_models(kind="network", family="unet") == ["UNet1d", "UNet2d", "UNet3d"]
    assert list_models(order=2) == ["UNet2d", "AE2d", "EncoderNet2d", "DecoderNet2d"]
    assert list_models(kind="preset", family="decoder") == [
        "decnet13", "decnet33", "decnet48", "decnet63",
    ]  # fmt: skip
    assert list_models(family="encoder") == [
        "EncoderNet1d", "EncoderNet2d", "EncoderNet3d",
        "encnet12", "encnet32", "encnet47", "encnet62",
    ]  # fmt: skip
    assert list_models(kind="preset", order=1) == []  # presets take order as an argument
    assert list_models(kind="network") == valid_classes()
    with pytest.raises(ValueError, match="kind must be one of 'network', 'preset', got 'class'"):
        list_models(kind="class")
    with pytest.raises(ValueError, match="family must be one of 'ae', 'unet', 'encoder'"):
        list_models(family="resnet")


@pytest.mark.parametrize("name", list_models(kind="network"))
def test_network_info(name: str) -> None:
    info = get_model_info(name)
    module = resnet if info.family != "blindspot" else blindspot
    cls = getattr(module, name)
    assert info.builder is cls and get_model(name) is cls
    assert (info.kind, info.block, info.layers, info.channel) == ("network", None, None, None)
    assert cls.order == info.order and name.endswith(f"{info.order}d")
    assert issubclass(cls, FAMILY_BASES[info.family])
    assert issubclass(cls, _nets._UNetNd) == (info.family == "unet")
    assert info.same_size == (info.family in ("ae", "unet", "blindspot"))


def test_unknown_name_lists_the_valid_ones() -> None:
    valid = ", ".join(list_models())
    for name in ("resnet50", "ae16 ", None):
        with pytest.raises(ValueError) as err:
            get_model(name)  # type: ignore[arg-type]
        assert str(err.value) == f"unknown model {name!r}; valid models: {valid}."
    assert "\n" not in valid and valid.startswith("UNet1d, UNet2d") and "decnet63" in valid


def test_registering_a_name_twice_raises() -> None:
    before = list_models()
    with pytest.raises(ValueError, match="model 'AE1d' is registered already"):
        register_model(kind="network", family="ae", order=1)(resnet.AE1d)
    with pytest.raises(ValueError, match="model 'unet32' is registered already"):
        register_model("unet32", kind="preset", family="unet", block="plain", layers=(1,),
                       channel=8)(resnet.unet16)  # fmt: skip
    assert list_models() == before and get_model("unet32") is resnet.unet32


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "model", "family": "ae"}, "kind must be one of"),
        ({"kind": "network", "family": "vae", "order": 1}, "family must be one of"),
        ({"kind": "network", "family": "ae"},
         r"a network's order must be 1, 2 or 3 \(the number of spatial axes\), got None\."),
        ({"kind": "network", "family": "ae", "order": True}, "order must be 1, 2 or 3"),
        ({"kind": "network", "family": "ae", "order": 1, "layers": (1,)}, "takes no layers"),
        ({"kind": "preset", "family": "ae", "order": 1, "block": "plain", "layers": (1,),
          "channel": 4}, "a preset takes no order"),
        ({"kind": "preset", "family": "ae", "block": "dense", "layers": (1,), "channel": 4},
         "block must be one of 'plain', 'bottleneck'"),
        ({"kind": "preset", "family": "ae", "block": "plain", "channel": 4}, "layers must be"),
        ({"kind": "preset", "family": "ae", "block": "plain", "layers": (1, 0), "channel": 4},
         "layers must be"),
        ({"kind": "preset", "family": "ae", "block": "plain", "layers": (1,), "channel": 0},
         "channel must be an int >= 1, got 0"),
    ],
)  # fmt: skip
def test_register_model_checks_its_fields(fields: dict[str, Any], message: str) -> None:
    def builder() -> None: ...

    with pytest.raises(ValueError, match=message):
        register_model("not_registered", **fields)(builder)
    assert "not_registered" not in list_models()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": None, "family": "ae"}, "kind must be one of 'network', 'preset', got None"),
        ({"kind": "preset", "family": "ae", "layers": (1,), "channel": 4},
         "block must be one of 'plain', 'bottleneck', got None"),
        ({"kind": "preset", "family": "ae", "block": "plain", "layers": (1,)},
         r"channel must be an int >= 1, got None \(NoneType\)"),
        ({"kind": "preset", "family": "ae", "block": "plain", "layers": (1,), "channel": 4.0},
         "channel must be an int >= 1, got 4.0"),
    ],
)  # fmt: skip
def test_register_model_refuses_wrong_types(fields: dict[str, Any], message: str) -> None:
    def builder() -> None: ...

    with pytest.raises(TypeError, match=message):
        register_model("not_registered", **fields)(builder)
    assert "not_registered" not in list_models()


def test_register_model_accepts_numpy_ints_and_stores_python_ones() -> None:
    np = pytest.importorskip("numpy")

    def builder() -> None: ...

    register_model("numpy_net1d", kind="network", family="ae", order=np.int64(1))(builder)
    register_model("numpy_preset", kind="preset", family="ae", block="plain",
                   layers=[np.int64(2), 1], channel=np.int32(8))(builder)  # fmt: skip
    try:
        net, preset = get_model_info("numpy_net1d"), get_model_info("numpy_preset")
        assert type(net.order) is int and net.order == 1
        assert preset.layers == (2, 1) and all(type(n) is int for n in preset.layers)
        assert type(preset.channel) is int and preset.channel == 8
    finally:
        _unregister("numpy_net1d")
        _unregister("numpy_preset")


def test_the_command_line_asks_a_decoder_for_its_output_size(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--out-size`` is required by the family of the model, whatever its name."""
    for model in (["--preset", "decnet13", "--order", "1"],
                  ["--arch", "DecoderNet1d", "--channel", "4", "--layers", "1", "1"]):  # fmt: skip
        assert main(["summary", *model, "--input-size", "2"]) == 2
        assert "needs --out-size" in capsys.readouterr().err
        assert main(["summary", *model, "--out-size", "64", "--input-size", "2"]) == 0
        assert "DecoderNet1d-" in capsys.readouterr().out


def test_the_command_line_summarises_the_blind_spot_network(
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = ["--arch", "BlindSpotNet1d", "--channel", "4", "--layers", "1", "1"]
    assert main(["summary", *model, "--input-size", "1", "64"]) == 0
    assert "CausalConv1d-" in capsys.readouterr().out
    assert main(["summary", *model, "--block", "plain", "--input-size", "1", "64"]) == 2
    assert capsys.readouterr().err == (
        "mdnc summary: error: --block does not apply to BlindSpotNet1d (it has no residual "
        "blocks).\n"
    )


def _width(net: nn.Module, family: str) -> int:
    """The width of the first stage: a decoder's last one, the others' first one."""
    convs = [m for m in net.modules() if isinstance(m, nn.modules.conv._ConvNd)]
    return convs[-1].in_channels if family == "decoder" else convs[0].out_channels


@pytest.mark.parametrize("name", PRESETS)
def test_preset_info_matches_the_network_it_builds(name: str) -> None:
    info = get_model_info(name)
    assert info.builder is getattr(resnet, name) and info.kind == "preset"
    assert info.order is None and info.channel == 64
    net = info.builder(64, order=1) if info.family == "decoder" else info.builder(order=1)
    assert type(net) is get_model(list_models(kind="network", family=info.family, order=1)[0])
    assert net.nlayers == int(re.sub(r"\D", "", name))  # the number in the name
    assert net._layers == list(info.layers)
    blocks = [m for m in net.modules() if isinstance(m, _blocks._BlockNd)]
    assert isinstance(blocks[0], BLOCK_TYPES[info.block])
    assert all(type(b) is type(blocks[0]) for b in blocks)
    assert _width(net, info.family) == info.channel


@pytest.mark.parametrize(
    ("name", "per_stage"),
    [
        ("ae16", [2, 1, 1, 1, 2]),  # down, the middle, up (mirrored)
        ("unet44", [2] * 7),
        ("encnet47", [3] * 5),
        ("decnet13", [1] * 5),
    ],
)
def test_stages_of_some_presets(name: str, per_stage: list[int]) -> None:
    info = get_model_info(name)
    net = info.builder(64, order=2) if info.family == "decoder" else info.builder(order=2)
    if info.same_size:  # in the order of the forward pass
        stages = [*net.conv_down_list, net.conv_middle_up, *net.conv_up_list]
    else:
        stages = [m for m in net.netbody if isinstance(m, _blocks._BlockResStkNd)]
    assert len(stages) == len([m for m in net.modules() if isinstance(m, _blocks._BlockResStkNd)])
    assert [len(s.conv_list) + 1 for s in stages] == per_stage


def test_each_preset_has_its_own_docstring() -> None:
    docs = {name: inspect.getdoc(get_model(name)) or "" for name in PRESETS}
    assert len(set(docs.values())) == len(PRESETS)
    stems = {"ae": "AE", "unet": "UNet", "encoder": "EncoderNet", "decoder": "DecoderNet"}
    for name, doc in docs.items():
        info = get_model_info(name)
        first = doc.splitlines()[0]
        assert first == (
            f"{stems[info.family]} preset: channel {info.channel}, block {info.block!r}, "
            f"layers {list(info.layers)}."
        ), name
        for section in ("Args:", "Returns:", "Raises:", "Example:"):
            assert f"\n{section}\n" in doc, (name, section)
        assert f">>> net = {name}(" in doc, name


def _run_doctests(obj: object, name: str, globs: dict[str, Any]) -> doctest.TestResults:
    finder, runner = doctest.DocTestFinder(recurse=False), doctest.DocTestRunner()
    for test in finder.find(obj, name, globs=globs):
        runner.run(test)
    return runner.summarize(verbose=False)


def test_the_examples_of_the_docstrings_run() -> None:
    globs = vars(resnet).copy()
    attempted = 0
    for name in PRESETS:
        failed, tried = _run_doctests(get_model(name), name, globs)
        assert failed == 0 and tried == 2, name
        attempted += tried
    failed, tried = doctest.testmod(registry, verbose=False)
    assert failed == 0 and tried >= 6
    assert attempted == 2 * len(PRESETS)


# ---------------------------------------------------------------------------------------
# A new preset in one file: one decorated function, found by everything that reads the
# registry. (Registered here for the test, forgotten afterwards.)
# ---------------------------------------------------------------------------------------

TINY = "aetiny_test"


@pytest.fixture
def tiny_preset() -> Iterator[str]:
    @register_model(TINY, kind="preset", family="ae", block="plain", layers=(1, 1), channel=4)
    def aetiny_test(order: int = 2, **kwargs: Any) -> nn.Module:
        """AE preset: channel 4, block 'plain', layers [1, 1]."""
        return resnet._build_preset(TINY, order, kwargs)

    yield TINY
    _unregister(TINY)


def test_a_new_preset_is_found_everywhere(
    tiny_preset: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert list_models()[-1] == tiny_preset
    assert tiny_preset in list_models(kind="preset", family="ae")
    info = get_model_info(tiny_preset)
    assert (info.block, info.layers, info.channel) == ("plain", (1, 1), 4)
    net = get_model(tiny_preset)(order=1)
    assert type(net) is resnet.AE1d and net.nlayers == 8 and net._layers == [1, 1]
    # The command line offers it (its parser is built from the registry).
    cmd = ["summary", "--preset", tiny_preset, "--order", "1", "--input-size", "1", "64"]
    assert main(cmd) == 0
    out = capsys.readouterr().out
    assert "AE1d-" in out and f"Total params: {sum(p.numel() for p in net.parameters())}" in out
    # A checkpoint names a class, not a preset: it stores the class the preset builds.
    with pytest.raises(CheckpointError, match=f"unknown network class '{tiny_preset}'"):
        build_model({"class": tiny_preset, "kwargs": {}})
    assert tiny_preset not in valid_classes()


def test_unregister_forgets_a_model(capsys: pytest.CaptureFixture[str]) -> None:
    name = "aegone_test"
    register_model(name, kind="preset", family="ae", block="plain", layers=(2, 1, 1),
                   channel=64)(resnet.ae16)  # fmt: skip
    try:
        assert list_models()[-1] == name
    finally:
        _unregister(name)
    assert name not in list_models()
    with pytest.raises(ValueError, match=f"unknown model '{name}'"):
        get_model(name)
    with pytest.raises(SystemExit) as exit_:
        main(["summary", "--preset", name, "--input-size", "1", "64"])
    assert exit_.value.code == 2
    assert f"invalid choice: '{name}'" in capsys.readouterr().err


class TinyNet1d(resnet.AE1d):
    """A network class registered by a test."""


@pytest.fixture
def tiny_network() -> Iterator[str]:
    register_model(kind="network", family="ae", order=1)(TinyNet1d)
    yield "TinyNet1d"
    _unregister("TinyNet1d")


def test_a_new_network_class_is_a_checkpoint_class(tiny_network: str) -> None:
    assert tiny_network in valid_classes() and tiny_network in list_models(kind="network")
    net = build_model(model_config(tiny_network, channel=4, layers=[1, 1]))
    assert type(net) is TinyNet1d and net.mdnc_config["class"] == tiny_network
    # The presets keep building the first network of their family and order.
    assert type(resnet.ae16(order=1)) is resnet.AE1d
    assert isinstance(get_model_info(tiny_network), ModelInfo)


def test_the_registry_module_imports_only_the_standard_library_and_utils() -> None:
    """``mdnc.registry`` loads ``mdnc._utils`` (and ``mdnc.errors``) and nothing else of mdnc,
    nor torch/numpy.

    ``import mdnc`` itself loads torch (it makes ``mdnc.modules`` reachable), so the
    package is stood in for by an empty one of the same folder.
    """
    assert mdnc.registry is registry
    code = (
        "import sys, types\n"
        "package = sys.modules['mdnc'] = types.ModuleType('mdnc')\n"
        f"package.__path__ = [{str(Path(mdnc.__file__).parent)!r}]\n"
        "import mdnc.registry\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'mdnc')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['mdnc', 'mdnc._utils', 'mdnc.errors', 'mdnc.registry']"


# Today's documented surface of mdnc.modules.resnet, written out: its __all__ is computed
# from the registrations, so a change to it shows here.
RESNET_ALL = [
    "BlockPlain1d", "BlockPlain2d", "BlockPlain3d",
    "BlockBottleneck1d", "BlockBottleneck2d", "BlockBottleneck3d",
    "UNet1d", "UNet2d", "UNet3d", "unet16", "unet32", "unet44", "unet65", "unet83",
    "AE1d", "AE2d", "AE3d", "ae16", "ae32", "ae44", "ae65", "ae83",
    "EncoderNet1d", "EncoderNet2d", "EncoderNet3d",
    "encnet12", "encnet32", "encnet47", "encnet62",
    "DecoderNet1d", "DecoderNet2d", "DecoderNet3d",
    "decnet13", "decnet33", "decnet48", "decnet63",
]  # fmt: skip


def test_the_documented_names_of_resnet_do_not_drift() -> None:
    assert resnet.__all__ == RESNET_ALL
    namespace: dict[str, Any] = {}
    exec("from mdnc.modules.resnet import *", namespace)
    assert [n for n in namespace if n != "__builtins__"] == RESNET_ALL
    assert all(namespace[n] is getattr(resnet, n) for n in RESNET_ALL)
