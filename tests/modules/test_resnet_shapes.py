"""Shape tables: (constructor, kwargs, input shape, expected output shape)."""

from __future__ import annotations

import math

import pytest
import torch

from mdnc.modules import resnet

AE_UNET = [resnet.AE1d, resnet.UNet1d]
BLOCKS = ["plain", "bottleneck"]

CASES_1D = [
    (cls, {"channel": 4, "layers": layers, "block": block, "kernel_size": k}, (2, 1, length))
    for cls in AE_UNET
    for block in BLOCKS
    for k in (1, 3, 5, 7)
    for layers, length in (([1, 2], 37), ([2, 1, 1], 64), ([1, 1, 1, 2], 45))
]

CASES_ND = [
    (cls, {"channel": 2, "layers": [1, 1], "block": block, "kernel_size": k}, shape)
    for cls in (resnet.AE2d, resnet.UNet2d)
    for block in BLOCKS
    for k, shape in ((3, (1, 1, 9, 8)), ((3, 1), (1, 1, 16, 11)), ((1, 5), (1, 1, 3, 13)))
] + [
    (cls, {"channel": 2, "layers": [1, 2], "block": block, "kernel_size": k}, shape)
    for cls in (resnet.AE3d, resnet.UNet3d)
    for block in BLOCKS
    for k, shape in ((3, (1, 1, 5, 6, 7)), ((3, 1, 5), (1, 1, 6, 4, 9)))
]


@pytest.mark.parametrize(("cls", "kwargs", "shape"), CASES_1D + CASES_ND)
def test_autoencoders_keep_the_input_size(cls: type, kwargs: dict, shape: tuple) -> None:
    net = cls(**kwargs, in_planes=shape[1], out_planes=3)
    y = net(torch.randn(*shape))
    assert y.shape == (shape[0], 3, *shape[2:])


@pytest.mark.parametrize("layers", [[2, 1, 2], [1, 1, 1], [3, 1, 1, 2], [2, 2, 1, 1]])
def test_unet_accepts_inner_stages_of_one_block(layers: list[int]) -> None:
    net = resnet.UNet1d(4, layers, in_planes=2, out_planes=1)
    y = net(torch.randn(2, 2, 50))
    assert y.shape == (2, 1, 50)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape", "expected"),
    [
        (resnet.EncoderNet1d, {"layers": [1, 2], "out_length": 3}, (2, 1, 33), (2, 3)),
        (resnet.EncoderNet1d, {"layers": [1, 1, 1]}, (2, 2, 40), (2, 2)),
        (resnet.EncoderNet1d, {"layers": [1, 2], "out_length": None}, (2, 1, 33), (2, 8, 9)),
        (resnet.EncoderNet2d, {"layers": [1, 1], "out_length": 0}, (2, 1, 9, 8), (2, 8, 3, 2)),
        (
            resnet.EncoderNet2d,
            {"layers": [1, 1], "kernel_size": (3, 1), "out_length": None},
            (2, 1, 9, 8),
            (2, 8, 3, 8),
        ),
        (resnet.EncoderNet3d, {"layers": [2, 1], "out_length": 5}, (1, 1, 6, 5, 7), (1, 5)),
    ],
)
def test_encoder_output_shapes(cls: type, kwargs: dict, shape: tuple, expected: tuple) -> None:
    net = cls(4, **kwargs, in_planes=shape[1], block="plain")
    assert net(torch.randn(*shape)).shape == expected


@pytest.mark.parametrize(
    ("cls", "kwargs", "input_size", "expected"),
    [
        (resnet.DecoderNet1d, {"out_size": 30, "in_length": 5}, (5,), (2, 1, 30)),
        (resnet.DecoderNet1d, {"out_size": 33, "in_length": None}, (8, 9), (2, 1, 33)),
        (resnet.DecoderNet1d, {"out_size": 31, "kernel_size": 5, "in_length": 2}, (2,), (2, 1, 31)),
        (
            resnet.DecoderNet2d,
            {"out_size": (12, 9), "in_length": None, "out_planes": 3},
            (8, 3, 3),
            (2, 3, 12, 9),
        ),
        (
            resnet.DecoderNet2d,
            {"out_size": (12, 9), "kernel_size": (3, 1), "in_length": 4},
            (4,),
            (2, 1, 12, 9),
        ),
        (resnet.DecoderNet3d, {"out_size": 7, "in_length": 3}, (3,), (2, 1, 7, 7, 7)),
    ],
)
def test_decoder_shapes(cls: type, kwargs: dict, input_size: tuple, expected: tuple) -> None:
    net = cls(4, [1, 2], **kwargs)
    assert net.input_size == input_size
    assert net(torch.randn(2, *input_size)).shape == expected


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "shape", "expected", "nlayers"),
    [
        ("ae16", (), {"order": 1}, (1, 1, 24), (1, 1, 24), 2 * 1 + 2 * 2 * 3 + 2),
        ("unet16", (), {"order": 2, "out_planes": 2}, (1, 1, 8, 9), (1, 2, 8, 9), 16),
        ("ae32", (), {"order": 1, "in_planes": 2}, (1, 2, 20), (1, 1, 20), 32),
        ("unet44", (), {"order": 1}, (1, 1, 20), (1, 1, 20), 44),
        ("encnet12", (), {"order": 1, "out_length": 3}, (1, 1, 64), (1, 3), 12),
        ("decnet13", (64,), {"order": 1}, (1, 2), (1, 1, 64), 13),
    ],
)
def test_presets(name: str, args: tuple, kwargs: dict, shape: tuple, expected: tuple,
                 nlayers: int) -> None:  # fmt: skip
    net = getattr(resnet, name)(*args, **kwargs)
    assert net.nlayers == nlayers
    assert net(torch.randn(*shape)).shape == expected


@pytest.mark.parametrize(
    ("name", "nlayers", "cls"),
    [
        ("unet65", 65, resnet.UNet2d), ("unet83", 83, resnet.UNet2d), ("ae44", 44, resnet.AE2d),
        ("ae65", 65, resnet.AE2d), ("ae83", 83, resnet.AE2d),
        ("unet32", 32, resnet.UNet2d), ("encnet32", 32, resnet.EncoderNet2d),
        ("encnet47", 47, resnet.EncoderNet2d), ("encnet62", 62, resnet.EncoderNet2d),
    ],
)  # fmt: skip
def test_preset_depths(name: str, nlayers: int, cls: type) -> None:
    net = getattr(resnet, name)()
    assert type(net) is cls and net.nlayers == nlayers


@pytest.mark.parametrize(
    ("name", "nlayers"), [("decnet33", 33), ("decnet48", 48), ("decnet63", 63)]
)
def test_decoder_preset_depths(name: str, nlayers: int) -> None:
    net = getattr(resnet, name)((64, 64), order=2)
    assert type(net) is resnet.DecoderNet2d and net.nlayers == nlayers


BLOCK_CASES = [
    ({"stride": 1}, 12, 12),
    ({"stride": 2}, 13, 7),
    ({"stride": 2, "scaler": "up"}, 13, 26),
    ({"stride": 1, "scaler": "up"}, 13, 13),
    ({"output_size": 30, "scaler": "up"}, 13, 30),
    ({"kernel_size": 5, "padding": 2, "stride": 2}, 16, 8),
]


@pytest.mark.parametrize("cls", [resnet.BlockPlain1d, resnet.BlockBottleneck1d])
@pytest.mark.parametrize(("kwargs", "length", "expected"), BLOCK_CASES)
def test_block_shapes_1d(cls: type, kwargs: dict, length: int, expected: int) -> None:
    block = cls(4, 6, **kwargs)
    assert block(torch.randn(2, 4, length)).shape == (2, 6, expected)


@pytest.mark.parametrize(
    ("cls", "kwargs", "shape", "expected"),
    [
        (resnet.BlockPlain2d, {"stride": (2, 1)}, (1, 3, 9, 8), (1, 5, 5, 8)),
        (resnet.BlockBottleneck2d, {"stride": 2, "scaler": "up"}, (1, 3, 4, 5), (1, 5, 8, 10)),
        (resnet.BlockPlain3d, {"stride": 2}, (1, 3, 4, 5, 6), (1, 5, 2, 3, 3)),
        (
            resnet.BlockBottleneck3d,
            {"output_size": (5, 6, 7), "scaler": "up"},
            (1, 3, 3, 3, 3),
            (1, 5, 5, 6, 7),
        ),
    ],
)
def test_block_shapes_nd(cls: type, kwargs: dict, shape: tuple, expected: tuple) -> None:
    assert cls(3, 5, **kwargs)(torch.randn(*shape)).shape == expected


@pytest.mark.parametrize(
    ("cls", "layers", "block", "nlayers"),
    [
        (resnet.AE1d, [2, 2, 2, 2, 3], "bottleneck", 59),
        (resnet.UNet1d, [1, 2, 3], "plain", 2 * 3 + 2 * 2 * 3 + 2),
        (resnet.EncoderNet1d, [1, 2, 3], "plain", 2 * 6 + 2),
    ],
)
def test_nlayers(cls: type, layers: list[int], block: str, nlayers: int) -> None:
    assert cls(2, layers, block=block).nlayers == nlayers


def test_min_size_is_the_smallest_accepted_length() -> None:
    net = resnet.AE1d(2, [1, 1, 1, 1, 1])
    assert net.min_size == (2**4 + 1,)
    net(torch.randn(1, 1, net.min_size[0]))
    with pytest.raises(ValueError, match="at least 17 samples"):
        net(torch.randn(1, 1, net.min_size[0] - 1))


def test_minimum_for_2d_counts_all_axes() -> None:
    net = resnet.UNet2d(2, [1, 1, 1], kernel_size=(3, 1))
    assert net.min_size == (5, 1)
    # (4, 2) shrinks to (1, 2): two elements are enough for instance normalization.
    assert net(torch.randn(1, 1, 4, 2)).shape == (1, 1, 4, 2)
    with pytest.raises(ValueError, match=r"shrink the spatial size \(4, 1\) to \(1, 1\)"):
        net(torch.randn(1, 1, 4, 1))
    assert math.prod(net.min_size) == 5
